"""Households through GraphQL: moving home, renaming, several accounts in one home, leaving."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from geo.coords import LngLat
from geo.distance import great_circle_m
from tests.api.conftest import GraphQLClient
from tests.api.test_loans import BORROWER_HOME, LENDER_HOME, lend
from tests.api.test_neighbourhoods import CREATE, REGISTER, square
from tests.api.test_reviews import REVIEW, returned_loan

pytestmark = pytest.mark.usefixtures("clean_db")

CHAVENAY = {"lng": 1.99, "lat": 48.85}
VERSAILLES = {"lng": 2.1301, "lat": 48.8049}
MOVE = """
mutation Move($lng: Float!, $lat: Float!) {
  moveHousehold(location: {lng: $lng, lat: $lat}) {
    __typename
    ... on MoveHouseholdSuccess {
      changedNeighbourhood
      household { id name exactLocation { lng lat } neighbourhood { id } }
      neighbourhood { id name kind h3Cell }
    }
    ... on MutationError { code message }
    ... on ValidationError { field }
  }
}
"""
RENAME = """mutation ($name: String!) { renameHousehold(name: $name) {
  __typename ... on RenameHouseholdSuccess { household { name } } ... on MutationError { code } } }"""
INVITE = """mutation { inviteToHousehold { __typename
  ... on HouseholdInvitationCode { invitationCode expiresAt } ... on MutationError { code } } }"""
JOIN = """mutation ($code: String!) { joinHousehold(code: $code) { __typename
  ... on JoinHouseholdSuccess { household { id name members { displayName isYou } } }
  ... on MutationError { code message } } }"""
LEAVE = """mutation { leaveHousehold { __typename ... on LeaveHouseholdSuccess { dissolved }
  ... on MutationError { code } } }"""
ME = "{ me { household { id name members { displayName isYou } } } }"
MOVE_PROPOSAL = "{ myNeighbourhoodMove { h3Cell } }"


async def registered(gql: GraphQLClient, name: str, home: dict[str, float]) -> GraphQLClient:
    client = await gql.sign_up(name=name)
    data = await client.data(REGISTER, {"name": f"Famille {name}", **home})
    assert data["registerHousehold"]["__typename"] == "RegisterHouseholdSuccess", data
    return client


def database_id(global_id: str) -> int:
    type_name, _, value = base64.b64decode(global_id).decode().partition(":")
    assert type_name == "Household"
    return int(value)


async def home_and_public(engine: AsyncEngine, household_gid: str) -> tuple[LngLat, LngLat]:
    """The household's exact and public points, straight from the database."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT ST_X(home_location) hx, ST_Y(home_location) hy, "
                    "ST_X(public_location) px, ST_Y(public_location) py FROM households "
                    "WHERE id = :id"
                ),
                {"id": database_id(household_gid)},
            )
        ).one()
    return LngLat(lng=row.hx, lat=row.hy), LngLat(lng=row.px, lat=row.py)


async def snapshot(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        result = await conn.execute(
            text(
                "SELECT id, name, neighbourhood_id, h3_cell, ST_AsText(home_location), "
                "ST_AsText(public_location), membership_status FROM households ORDER BY id"
            )
        )
        return [tuple(row) for row in result]


async def test_moving_joins_the_new_homes_network_with_a_new_public_point(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    martin = await registered(gql, "Martin", CHAVENAY)
    before = (await martin.data(ME))["me"]["household"]
    old_home, old_public = await home_and_public(clean_db, before["id"])
    data = await martin.data(MOVE, VERSAILLES)
    moved = data["moveHousehold"]
    assert moved["__typename"] == "MoveHouseholdSuccess", moved
    assert moved["changedNeighbourhood"] is True
    assert moved["household"]["exactLocation"] == VERSAILLES
    assert moved["household"]["neighbourhood"]["id"] == moved["neighbourhood"]["id"]
    assert moved["neighbourhood"]["kind"] == "H3_CELL"
    new_home, new_public = await home_and_public(clean_db, before["id"])
    assert new_home == LngLat(**VERSAILLES)
    # The exact point is not inferable from the public one: ≥ 150 m away, and a new offset
    # (the old offset carried over would let someone who knew the old home find the new one).
    assert great_circle_m(new_home, new_public) >= 150
    old_offset = (old_public.lng - old_home.lng, old_public.lat - old_home.lat)
    new_offset = (new_public.lng - new_home.lng, new_public.lat - new_home.lat)
    assert old_offset != pytest.approx(new_offset, abs=1e-7)


async def test_moving_into_a_drawn_network_ends_the_old_membership(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    drawer = await registered(gql, "Durand", VERSAILLES)
    drawn = await drawer.data(
        CREATE, {"name": "Versailles", "boundary": square(2.13, 48.80, 0.02), "code": None}
    )
    network = drawn["createNeighbourhood"]["neighbourhood"]
    martin = await registered(gql, "Martin", CHAVENAY)
    moved = (await martin.data(MOVE, {"lng": 2.125, "lat": 48.805}))["moveHousehold"]
    assert moved["neighbourhood"] == {
        "id": network["id"],
        "name": "Versailles",
        "kind": "POLYGON",
        "h3Cell": None,
    }
    again = (await martin.data(MOVE, {"lng": 2.126, "lat": 48.806}))["moveHousehold"]
    assert again["changedNeighbourhood"] is False


async def test_moving_withdraws_a_pending_move(gql: GraphQLClient, clean_db: AsyncEngine) -> None:
    martin = await registered(gql, "Martin", CHAVENAY)
    drawer = await registered(gql, "Durand", {"lng": 1.991, "lat": 48.851})
    await drawer.data(
        CREATE, {"name": "Chavenay", "boundary": square(1.99, 48.85, 0.02), "code": None}
    )
    assert (await martin.data(MOVE_PROPOSAL))["myNeighbourhoodMove"] is not None
    await martin.data(MOVE, VERSAILLES)
    assert (await martin.data(MOVE_PROPOSAL))["myNeighbourhoodMove"] is None


@pytest.mark.parametrize(
    ("location", "code", "hint"),
    [
        ({"lng": 48.85, "lat": 1.99}, "OUTSIDE_SERVICE_AREA", "Latitude and longitude swapped?"),
        ({"lng": -0.1276, "lat": 51.5072}, "OUTSIDE_SERVICE_AREA", "France"),
        ({"lng": 1.99, "lat": 91.0}, "INVALID_COORDINATES", "outside"),
    ],
)
async def test_a_bad_new_address_is_refused_and_nothing_changes(
    gql: GraphQLClient, clean_db: AsyncEngine, location: dict[str, float], code: str, hint: str
) -> None:
    martin = await registered(gql, "Martin", CHAVENAY)
    before = await snapshot(clean_db)
    moved = (await martin.data(MOVE, location))["moveHousehold"]
    assert moved["__typename"] == "ValidationError"
    assert moved["code"] == code
    assert moved["field"] == "location"
    assert hint in moved["message"]
    assert await snapshot(clean_db) == before


async def test_moving_needs_a_household(gql: GraphQLClient) -> None:
    anonymous = (await gql.data(MOVE, VERSAILLES))["moveHousehold"]
    assert anonymous["code"] == "UNAUTHENTICATED"
    homeless = await gql.sign_up()
    assert (await homeless.data(MOVE, VERSAILLES))["moveHousehold"]["code"] == "NOT_FOUND"


async def test_renaming(gql: GraphQLClient, clean_db: AsyncEngine) -> None:
    martin = await registered(gql, "Martin", CHAVENAY)
    renamed = (await martin.data(RENAME, {"name": "  Les Martin  "}))["renameHousehold"]
    assert renamed == {"__typename": "RenameHouseholdSuccess", "household": {"name": "Les Martin"}}
    before = await snapshot(clean_db)
    refused = (await martin.data(RENAME, {"name": "x" * 81}))["renameHousehold"]
    assert refused == {"__typename": "ValidationError", "code": "BAD_USER_INPUT"}
    assert await snapshot(clean_db) == before


async def test_a_second_account_joins_with_a_single_use_code(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    martin = await registered(gql, "Martin", CHAVENAY)
    invitation = (await martin.data(INVITE))["inviteToHousehold"]
    assert invitation["__typename"] == "HouseholdInvitationCode"
    code = invitation["invitationCode"]
    async with clean_db.connect() as conn:
        stored = (await conn.execute(text("SELECT code_hash FROM household_invitations"))).one()
    assert code.encode() not in bytes(stored.code_hash)  # only the digest is stored
    claire = await gql.sign_up(name="Claire")
    joined = (await claire.data(JOIN, {"code": code}))["joinHousehold"]
    assert joined["__typename"] == "JoinHouseholdSuccess", joined
    assert joined["household"]["name"] == "Famille Martin"
    members = (await claire.data(ME))["me"]["household"]["members"]
    assert members == [
        {"displayName": "Martin", "isYou": False},
        {"displayName": "Claire", "isYou": True},
    ]
    # Single use: a third account is refused, nothing written.
    third = await gql.sign_up(name="Paul")
    again = (await third.data(JOIN, {"code": code}))["joinHousehold"]
    assert again["code"] == "INVITATION_USED"
    assert (await third.data(ME))["me"]["household"] is None


async def test_join_refusals(gql: GraphQLClient, clean_db: AsyncEngine) -> None:
    martin = await registered(gql, "Martin", CHAVENAY)
    code = (await martin.data(INVITE))["inviteToHousehold"]["invitationCode"]
    paul = await gql.sign_up(name="Paul")
    unknown = (await paul.data(JOIN, {"code": "foyer_nope"}))["joinHousehold"]
    assert unknown["code"] == "INVITATION_INVALID"
    already = (await martin.data(JOIN, {"code": code}))["joinHousehold"]
    assert already["code"] == "ALREADY_IN_HOUSEHOLD"
    async with clean_db.begin() as conn:
        await conn.execute(text("UPDATE household_invitations SET expires_at = now()"))
    expired = (await paul.data(JOIN, {"code": code}))["joinHousehold"]
    assert expired["code"] == "INVITATION_EXPIRED"
    assert (await paul.data(ME))["me"]["household"] is None


async def test_members_are_shown_to_the_household_only(gql: GraphQLClient) -> None:
    martin = await registered(gql, "Martin", CHAVENAY)
    household_id = (await martin.data(ME))["me"]["household"]["id"]
    neighbour = await registered(gql, "Durand", {"lng": 1.991, "lat": 48.851})
    seen = await neighbour.data(
        "query ($id: ID!) { node(id: $id) { ... on Household { name members { displayName } } } }",
        {"id": household_id},
    )
    assert seen["node"] == {"name": "Famille Martin", "members": None}


async def test_leaving_keeps_the_home_until_the_last_member_goes(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    martin = await registered(gql, "Martin", CHAVENAY)
    code = (await martin.data(INVITE))["inviteToHousehold"]["invitationCode"]
    claire = await gql.sign_up(name="Claire")
    await claire.data(JOIN, {"code": code})
    assert (await claire.data(LEAVE))["leaveHousehold"] == {
        "__typename": "LeaveHouseholdSuccess",
        "dissolved": False,
    }
    assert (await claire.data(ME))["me"]["household"] is None
    household = (await martin.data(ME))["me"]["household"]
    assert household["members"] == [{"displayName": "Martin", "isYou": True}]
    assert (await martin.data(LEAVE))["leaveHousehold"]["dissolved"] is True
    async with clean_db.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT name, erased_at IS NOT NULL AS erased, "
                    "ST_Equals(home_location, public_location) AS home_hidden FROM households "
                    "WHERE id = :id"
                ),
                {"id": database_id(household["id"])},
            )
        ).one()
    assert row.name != "Famille Martin"
    assert row.erased and row.home_hidden
    assert (await martin.data(LEAVE))["leaveHousehold"]["code"] == "NOT_FOUND"


async def test_a_household_reviews_a_loan_once_whatever_its_number_of_accounts(
    gql: GraphQLClient,
) -> None:
    lender = await registered(gql, "Martin", LENDER_HOME)
    borrower = await registered(gql, "Durand", BORROWER_HOME)
    code = (await borrower.data(INVITE))["inviteToHousehold"]["invitationCode"]
    second = await gql.sign_up(name="Durand fils")
    await second.data(JOIN, {"code": code})
    loan_id = await returned_loan(lender, borrower, await lend(lender))
    first = (await borrower.data(REVIEW, {"loan": loan_id, "stars": 5}))["reviewLoan"]
    assert first["__typename"] == "ReviewLoanSuccess", first
    again = (await second.data(REVIEW, {"loan": loan_id, "stars": 1}))["reviewLoan"]
    assert again["code"] == "ALREADY_REVIEWED"


async def test_a_code_is_not_spent_by_an_account_that_has_a_household_by_then(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    """The race the resolver's check cannot see: the account registered a household between
    reading its viewer and redeeming. The code stays unused."""
    from db.queries.households import redeem_household_invitation

    martin = await registered(gql, "Martin", CHAVENAY)
    code = (await martin.data(INVITE))["inviteToHousehold"]["invitationCode"]
    await registered(gql, "Durand", VERSAILLES)
    async with clean_db.begin() as conn:
        account_id = (
            await conn.execute(text("SELECT id FROM accounts WHERE display_name = 'Durand'"))
        ).scalar_one()
        redemption = await redeem_household_invitation(conn, code=code, account_id=account_id)
    assert redemption.status == "ALREADY"
    async with clean_db.connect() as conn:
        unused = (
            await conn.execute(text("SELECT used_at IS NULL FROM household_invitations"))
        ).scalar_one()
    assert unused
