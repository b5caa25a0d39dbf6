"""Demo accounts, so a person can sign in from GraphiQL at once (documented in the README).

The passwords are public on purpose: this is demo data for a local server, never production.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Household, Neighbourhood
from db.passwords import hash_password
from db.queries import accounts

DEMO_PASSWORD = "voisinage-demo"  # noqa: S105 - documented demo credential


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoAccount:
    email: str
    display_name: str
    household_name: str | None
    ambassador_of: str | None = None
    is_admin: bool = False


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(
        email="membre@demo.voisinage.fr",
        display_name="Claire (membre)",
        household_name=None,  # the first seeded Chavenay household, whatever its name
    ),
    DemoAccount(
        email="ambassadrice@demo.voisinage.fr",
        display_name="Sophie (ambassadrice de Chavenay)",
        household_name="Mairie de Chavenay",
        ambassador_of="78152",
    ),
    DemoAccount(
        email="admin@demo.voisinage.fr",
        display_name="Équipe Voisinage",
        household_name=None,
        is_admin=True,
    ),
)


async def first_chavenay_household(conn: AsyncConnection) -> int:
    result = await conn.execute(
        select(Household.id)
        .join(Neighbourhood, Neighbourhood.id == Household.neighbourhood_id)
        .where(Neighbourhood.commune_code == "78152", Household.name != "Mairie de Chavenay")
        .order_by(Household.id)
        .limit(1)
    )
    return int(result.scalar_one())


async def create_demo_accounts(conn: AsyncConnection) -> None:
    """Accounts not created yet (matched on e-mail), with their household and role."""
    password_hash = hash_password(DEMO_PASSWORD)
    for demo in DEMO_ACCOUNTS:
        row = await accounts.create_account(
            conn,
            email=demo.email,
            password_hash=password_hash,
            display_name=demo.display_name,
            verified=True,
        )
        if row is None:
            continue
        if demo.is_admin:
            await accounts.make_admin(conn, row.id)
            continue
        if demo.household_name is None:
            household_id = await first_chavenay_household(conn)
        else:
            household_id = int(
                (
                    await conn.execute(
                        select(Household.id).where(Household.name == demo.household_name)
                    )
                ).scalar_one()
            )
        await accounts.attach_household(conn, row.id, household_id)
        if demo.ambassador_of:
            neighbourhood_id = (
                await conn.execute(
                    select(Neighbourhood.id).where(
                        Neighbourhood.commune_code == demo.ambassador_of,
                        Neighbourhood.kind == "POLYGON",
                    )
                )
            ).scalar_one()
            await accounts.grant_ambassador(conn, row.id, int(neighbourhood_id))
