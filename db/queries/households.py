"""Household queries: registration (with assignment) and lookups.

The exact home location is read here only to hand it to the API, which shows it to the household
itself; every distance others see is computed from `public_location`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Account, Household, HouseholdInvitation
from db.queries.neighbourhoods import (
    WITHDRAW_MOVES,
    covering_polygon_id,
    ensure_cell_neighbourhoods,
    insert_cell_neighbourhoods,
    lock_boundaries,
    neighbourhoods_by_id,
)
from db.rows import HouseholdRow, NeighbourhoodRow
from geo.cells import lnglat_to_cell
from geo.coords import LngLat
from geo.distance import great_circle_m
from geo.privacy import PUBLIC_OFFSET_MAX_M, PUBLIC_OFFSET_MIN_M, displace

HOUSEHOLD_COLUMNS = (
    Household.id,
    Household.name,
    Household.neighbourhood_id,
    Household.h3_cell,
    Household.created_at,
    func.ST_X(Household.home_location).label("home_lng"),
    func.ST_Y(Household.home_location).label("home_lat"),
    func.ST_X(Household.public_location).label("public_lng"),
    func.ST_Y(Household.public_location).label("public_lat"),
)

REGISTER = text(
    """
    WITH target AS (
        SELECT n.id, n.name, n.kind, n.h3_cell, n.commune_code, n.area_m2, n.created_at,
               n.membership_policy
          FROM neighbourhoods n
         WHERE n.id = COALESCE(
               (SELECT p.id FROM neighbourhoods p
                 WHERE p.kind = 'POLYGON'
                   AND ST_Covers(p.boundary, ST_SetSRID(ST_MakePoint(:lng, :lat), 4326))
                 ORDER BY p.area_m2, p.created_at, p.id LIMIT 1),
               (SELECT c.id FROM neighbourhoods c WHERE c.kind = 'H3_CELL' AND c.h3_cell = :cell))
    ),
    household AS (
        INSERT INTO households (name, home_location, public_location, h3_cell, neighbourhood_id)
        SELECT :name, ST_SetSRID(ST_MakePoint(:lng, :lat), 4326),
               ST_SetSRID(ST_MakePoint(:public_lng, :public_lat), 4326), :cell, target.id
          FROM target
        RETURNING id, created_at, membership_status
    ),
    account AS (
        UPDATE accounts SET household_id = household.id
          FROM household
         WHERE accounts.id = :account_id
    )
    SELECT household.id, household.created_at, target.id AS neighbourhood_id,
           target.name, target.kind, target.h3_cell, target.commune_code, target.area_m2,
           target.created_at AS neighbourhood_created_at, target.membership_policy,
           household.membership_status
      FROM household, target
    """
)
"""Assignment, insert, account link and the neighbourhood's row in one round trip.

The assignment rule (see `queries.neighbourhoods`): the smallest covering POLYGON (a point on
the border counts), then the oldest, then the lowest id; else the existing H3_CELL of the cell
(`COALESCE` runs the cell lookup only when no polygon covers the point). When the cell has no
neighbourhood yet, nothing is inserted and no row comes back: the caller creates the cell and
runs it again (a new statement, hence a new snapshot that sees the cell, whether this
transaction or a concurrent twin created it). Data-modifying CTEs run whether or not they are
read, so the account is linked even though `account` is never selected.
"""


@dataclass(frozen=True, slots=True)
class Registration:
    household: HouseholdRow
    neighbourhood: NeighbourhoodRow
    membership_status: str
    """Set by the arrival trigger (migration 0009): PENDING in an APPROVAL network."""


def to_row(row: Row[Any]) -> HouseholdRow:
    m = row._mapping
    return HouseholdRow(
        id=m["id"],
        name=m["name"],
        neighbourhood_id=m["neighbourhood_id"],
        h3_cell=m["h3_cell"],
        created_at=m["created_at"],
        home=LngLat(lng=m["home_lng"], lat=m["home_lat"]),
        public=LngLat(lng=m["public_lng"], lat=m["public_lat"]),
    )


async def register_account_household(
    conn: AsyncConnection, *, account_id: int | None, name: str, home: LngLat, resolution: int
) -> Registration:
    """Insert a household in its neighbourhood and make it `account_id`'s (None: no account).

    Takes the shared boundary lock first, in a statement of its own: a statement's snapshot
    predates the locks it waits for, so the assignment must start after the lock is granted to
    see a polygon that a boundary change committed meanwhile. The public offset is drawn here,
    once, and kept. Two statements (three, plus two, the first time a cell is needed).
    """
    await lock_boundaries(conn, exclusive=False)
    cell = lnglat_to_cell(home, resolution)
    public = displace(home)
    parameters = {
        "account_id": account_id,
        "name": name,
        "lng": home.lng,
        "lat": home.lat,
        "public_lng": public.lng,
        "public_lat": public.lat,
        "cell": cell,
    }
    row = (await conn.execute(REGISTER, parameters)).one_or_none()
    if row is None:
        await insert_cell_neighbourhoods(conn, [cell])
        row = (await conn.execute(REGISTER, parameters)).one()
    household = HouseholdRow(
        id=row.id,
        name=name,
        neighbourhood_id=row.neighbourhood_id,
        h3_cell=cell,
        created_at=row.created_at,
        home=home,
        public=public,
    )
    neighbourhood = NeighbourhoodRow(
        id=row.neighbourhood_id,
        name=row.name,
        kind=row.kind,
        h3_cell=row.h3_cell,
        commune_code=row.commune_code,
        area_m2=row.area_m2,
        created_at=row.neighbourhood_created_at,
        membership_policy=row.membership_policy,
    )
    return Registration(household, neighbourhood, row.membership_status)


async def register_household(
    conn: AsyncConnection, *, name: str, home: LngLat, resolution: int
) -> HouseholdRow:
    """A household without an account (seeds, fixtures): `register_account_household`'s rule."""
    registration = await register_account_household(
        conn, account_id=None, name=name, home=home, resolution=resolution
    )
    return registration.household


async def households_by_id(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, HouseholdRow]:
    if not ids:
        return {}
    result = await conn.execute(select(*HOUSEHOLD_COLUMNS).where(Household.id.in_(ids)))
    return {row.id: to_row(row) for row in result}


@dataclass(frozen=True, slots=True)
class Move:
    household: HouseholdRow
    neighbourhood: NeighbourhoodRow
    previous_neighbourhood_id: int
    membership_status: str


MOVE_HOME = text(
    """
    UPDATE households h
       SET home_location = ST_SetSRID(ST_MakePoint(:lng, :lat), 4326),
           public_location = ST_SetSRID(ST_MakePoint(:public_lng, :public_lat), 4326),
           h3_cell = :cell, neighbourhood_id = :nid
      FROM (SELECT id, neighbourhood_id FROM households WHERE id = :hid FOR UPDATE) AS old
     WHERE h.id = old.id AND h.erased_at IS NULL
    RETURNING h.name, h.created_at, h.membership_status, old.neighbourhood_id AS old_id
    """
)
"""The arrival trigger (migration 0009) ends the old membership and starts the new one per the
target's policy when `neighbourhood_id` changes; a move inside the same network keeps it."""


async def move_household(
    conn: AsyncConnection, household_id: int, *, home: LngLat, resolution: int
) -> Move | None:
    """Give the household a new home, assigned by the registration rule (None: no such household).

    Under the shared boundary lock (taken in a statement of its own, as for a registration); a
    NEW public point is drawn, so the offset of the old one tells nothing about the new home; a
    pending or declined move proposal is withdrawn (it was about the old home).
    """
    await lock_boundaries(conn, exclusive=False)
    current = (await households_by_id(conn, [household_id])).get(household_id)
    if current is None:
        return None
    cell = lnglat_to_cell(home, resolution)
    target = await covering_polygon_id(conn, home)
    if target is None:
        target = (await ensure_cell_neighbourhoods(conn, [cell]))[cell]
    public = public_point_after_move(current.home, current.public, home)
    parameters = {
        "hid": household_id,
        "lng": home.lng,
        "lat": home.lat,
        "public_lng": public.lng,
        "public_lat": public.lat,
        "cell": cell,
        "nid": target,
    }
    row = (await conn.execute(MOVE_HOME, parameters)).one_or_none()
    if row is None:
        return None
    await conn.execute(WITHDRAW_MOVES, {"ids": [household_id]})
    household = HouseholdRow(
        id=household_id,
        name=row.name,
        neighbourhood_id=target,
        h3_cell=cell,
        created_at=row.created_at,
        home=home,
        public=public,
    )
    neighbourhood = (await neighbourhoods_by_id(conn, [target]))[target]
    return Move(household, neighbourhood, int(row.old_id), row.membership_status)


def public_point_after_move(old_home: LngLat, old_public: LngLat, new_home: LngLat) -> LngLat:
    """The public point of a home that moved: a fresh draw, unless the move is shorter than the
    smallest offset and the old point is still 150-400 m from the new home.

    Why: every draw is one more sample around the door. A household "moving" to the same
    address, or a few metres away, again and again would publish as many points as it likes,
    and their average converges on the home (tests/security/test_move_averaging.py).
    """
    keeps_offset = (
        PUBLIC_OFFSET_MIN_M <= great_circle_m(old_public, new_home) <= (PUBLIC_OFFSET_MAX_M)
    )
    if great_circle_m(old_home, new_home) < PUBLIC_OFFSET_MIN_M and keeps_offset:
        return old_public
    return displace(new_home)


async def rename_household(conn: AsyncConnection, household_id: int, name: str) -> bool:
    result = await conn.execute(
        update(Household)
        .where(Household.id == household_id, Household.erased_at.is_(None))
        .values(name=name)
    )
    return bool(result.rowcount)


async def leave_household(conn: AsyncConnection, account_id: int) -> None:
    await conn.execute(update(Account).where(Account.id == account_id).values(household_id=None))


@dataclass(frozen=True, slots=True)
class HouseholdMember:
    account_id: int
    display_name: str


async def members_by_household_id(
    conn: AsyncConnection, household_ids: Sequence[int]
) -> dict[int, list[HouseholdMember]]:
    """The accounts of each household, oldest first (one statement for any number)."""
    found: dict[int, list[HouseholdMember]] = {hid: [] for hid in household_ids}
    if not household_ids:
        return found
    result = await conn.execute(
        select(Account.household_id, Account.id, Account.display_name)
        .where(Account.household_id.in_(household_ids))
        .order_by(Account.household_id, Account.created_at, Account.id)
    )
    for row in result:
        found[row.household_id].append(HouseholdMember(row.id, row.display_name))
    return found


def invitation_digest(code: str) -> bytes:
    return hashlib.sha256(code.encode()).digest()


async def create_household_invitation(
    conn: AsyncConnection, *, household_id: int, account_id: int, code: str, valid_hours: int
) -> datetime:
    """Store the digest of `code`; returns when it expires (database clock)."""
    result = await conn.execute(
        insert(HouseholdInvitation)
        .values(
            household_id=household_id,
            created_by_account_id=account_id,
            code_hash=invitation_digest(code),
            expires_at=func.now() + func.make_interval(0, 0, 0, 0, valid_hours),
        )
        .returning(HouseholdInvitation.expires_at)
    )
    expires_at: datetime = result.scalar_one()
    return expires_at


@dataclass(frozen=True, slots=True)
class Redemption:
    status: str
    """JOINED, UNKNOWN (no such code, or its household is gone), EXPIRED, USED, or ALREADY (the
    account has a household by now; nothing written)."""
    household_id: int | None = None


REDEEM = text(
    """
    UPDATE household_invitations i SET used_at = now(), used_by_account_id = :account_id
      FROM households h
     WHERE i.code_hash = :digest AND h.id = i.household_id AND h.erased_at IS NULL
       AND i.used_at IS NULL AND i.expires_at > now()
    RETURNING i.household_id
    """
)
WHY_NOT = text(
    """
    SELECT i.used_at IS NOT NULL AS used, i.expires_at <= now() AS expired
      FROM household_invitations i JOIN households h ON h.id = i.household_id
     WHERE i.code_hash = :digest AND h.erased_at IS NULL
    """
)


async def redeem_household_invitation(
    conn: AsyncConnection, *, code: str, account_id: int
) -> Redemption:
    """Use the code once and make `account_id` a member of its household.

    The UPDATE ... WHERE still usable is the single-use guarantee: a concurrent twin waits on
    the row and then finds it used.
    """
    digest = invitation_digest(code)
    row = (await conn.execute(REDEEM, {"digest": digest, "account_id": account_id})).one_or_none()
    if row is None:
        why = (await conn.execute(WHY_NOT, {"digest": digest})).one_or_none()
        if why is None:
            return Redemption("UNKNOWN")
        return Redemption("USED" if why.used else "EXPIRED")
    household_id = int(row.household_id)
    joined = await conn.execute(
        update(Account)
        .where(Account.id == account_id, Account.household_id.is_(None))
        .values(household_id=household_id)
    )
    if not joined.rowcount:
        # The account joined or registered a household meanwhile: the code stays unused.
        await conn.rollback()
        return Redemption("ALREADY")
    return Redemption("JOINED", household_id)
