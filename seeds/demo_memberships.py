"""Demo memberships and partner authorisation (documented in README and docs/memberships.md).

Davron's network asks for approval: Sophie, Chavenay's ambassador, animates it too. Its newest
household waits for her decision (the planned member counts stay as they are) and one invitation is open, with a code printed in the docs. The town
hall's partner key (secret public on purpose, like the demo passwords: a local demo, never
production) may post on behalf of the household "Mairie de Chavenay", which authorised it.
Idempotent: each piece is added only when missing.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import (
    Account,
    Household,
    Neighbourhood,
    NeighbourhoodInvitation,
    PartnerAuthorisation,
    PartnerKey,
)
from db.queries import accounts, invitations, partners

DAVRON = "78196"
AMBASSADOR_EMAIL = "ambassadrice@demo.voisinage.fr"
INVITATION_CODE = "DAVR-ONDE-MO26-VOIS"
"""Printed in docs/memberships.md: register in Davron with it to be approved at once."""
PARTNER_NAME = "Mairie de Chavenay (démo)"
PARTNER_SECRET = "vsk_demo_mairie_de_chavenay"  # noqa: S105 - documented demo credential
TOWN_HALL_HOUSEHOLD = "Mairie de Chavenay"


async def scalar_id(conn: AsyncConnection, query: object) -> int | None:
    value = (await conn.execute(query)).scalar_one_or_none()  # type: ignore[call-overload]
    return int(value) if value is not None else None


async def create_demo_memberships(conn: AsyncConnection) -> None:
    davron = await scalar_id(
        conn,
        select(Neighbourhood.id).where(
            Neighbourhood.commune_code == DAVRON, Neighbourhood.kind == "POLYGON"
        ),
    )
    sophie = await scalar_id(conn, select(Account.id).where(Account.email == AMBASSADOR_EMAIL))
    assert davron is not None and sophie is not None, "run after the neighbourhoods and accounts"
    await accounts.grant_ambassador(conn, sophie, davron)
    await conn.execute(
        update(Neighbourhood).where(Neighbourhood.id == davron).values(membership_policy="APPROVAL")
    )
    await conn.execute(
        update(Household)
        .where(
            Household.id
            == select(func.max(Household.id))
            .where(Household.neighbourhood_id == davron)
            .scalar_subquery(),
            Household.membership_decided_at.is_(None),
        )
        .values(membership_status="PENDING")
    )  # the newest household of Davron waits, as if it had just moved in
    digest = invitations.code_digest(INVITATION_CODE)
    if (
        await scalar_id(
            conn,
            select(NeighbourhoodInvitation.id).where(NeighbourhoodInvitation.code_hash == digest),
        )
        is None
    ):
        await invitations.create_invitation(
            conn,
            davron,
            INVITATION_CODE,
            email="voisine.davron@example.org",
            message="Bienvenue dans le réseau de Davron ! Sophie",
            account_id=sophie,
            lifetime=timedelta(days=365),
        )
    await create_demo_partner(conn, sophie)


async def create_demo_partner(conn: AsyncConnection, granted_by: int) -> None:
    key_id = await scalar_id(conn, select(PartnerKey.id).where(PartnerKey.name == PARTNER_NAME))
    if key_id is None:
        chavenay = await scalar_id(
            conn,
            select(Neighbourhood.id).where(
                Neighbourhood.commune_code == "78152", Neighbourhood.kind == "POLYGON"
            ),
        )
        key = await partners.create_partner_key(
            conn,
            name=PARTNER_NAME,
            scopes=["POST_ON_BEHALF", "READ_AGGREGATES"],
            secret=PARTNER_SECRET,
            neighbourhood_ids=[chavenay] if chavenay is not None else [],
            territory=None,
            safelist_only=False,
            created_by_account_id=None,
        )
        key_id = key.id
    town_hall = await scalar_id(
        conn, select(Household.id).where(Household.name == TOWN_HALL_HOUSEHOLD)
    )
    assert town_hall is not None, "run after the households"
    authorised = await scalar_id(
        conn,
        select(PartnerAuthorisation.key_id).where(
            PartnerAuthorisation.household_id == town_hall, PartnerAuthorisation.key_id == key_id
        ),
    )
    if authorised is None:
        await partners.authorise_partner(conn, town_hall, key_id, account_id=granted_by)
