"""Ambassadors invite and approve members: policies, the pending queue, decisions and their
notifications, invitations (every refusal writes nothing), and who may do what.

Chavenay (lng 1.99, lat 48.85) and Versailles (lng 2.13, lat 48.80) are two square networks,
each drawn by its own ambassador (an account without a household).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.auth import viewer_for_token
from api.context import Context
from api.schema import build_schema
from api.settings import Settings
from db.models import Account, Household, NeighbourhoodInvitation
from tests.api.conftest import GraphQLClient, confirm_email, promote_to_admin
from tests.api.helpers import counting_client, member, node_id
from tests.api.test_neighbourhoods import REGISTER, square
from tests.api.test_posts import CHAVENAY, FEED, NODE, VERSAILLES, network, post
from tests.api.test_reports import events, heard  # noqa: F401 - `events` is a fixture

pytestmark = pytest.mark.usefixtures("clean_db")

POLICY = """mutation ($id: ID!, $policy: MembershipPolicy!) {
  setMembershipPolicy(neighbourhoodId: $id, policy: $policy) {
    __typename
    ... on MembershipPolicyChanged { policy householdsApproved neighbourhood { id } }
    ... on MutationError { code message } } }"""
MINE = """{ myMembership { status declineReason householdName neighbourhood { id } } }"""
PENDING = """query ($id: ID!, $first: Int, $after: String) {
  pendingMemberships(neighbourhoodId: $id, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { householdId householdName status requestedAt } } } }"""
APPROVE = """mutation ($id: ID!) { approveMembership(householdId: $id) {
  __typename ... on MembershipDecided { membership { status decidedAt } }
  ... on MutationError { code message } } }"""
DECLINE = """mutation ($id: ID!, $reason: String!) {
  declineMembership(householdId: $id, reason: $reason) {
    __typename ... on MembershipDecided { membership { status declineReason } }
    ... on MutationError { code message } } }"""
INVITE = """mutation ($id: ID!, $email: String, $message: String) {
  inviteNeighbour(neighbourhoodId: $id, email: $email, message: $message) {
    __typename ... on InviteNeighbourSuccess { invitationCode invitation { id status email message } }
    ... on MutationError { code message } } }"""
INVITATIONS = """query ($id: ID!) { invitations(neighbourhoodId: $id) {
  edges { node { id status email } } } }"""
REVOKE = """mutation ($id: ID!) { revokeInvitation(id: $id) {
  __typename ... on RevokeInvitationSuccess { invitation { status } }
  ... on MutationError { code message } } }"""
APPOINT = """mutation ($id: ID!) { appointAmbassador(householdId: $id) {
  __typename ... on AppointAmbassadorSuccess { accountsAppointed }
  ... on MutationError { code message } } }"""
REGISTER_INVITED = """mutation ($name: String!, $lng: Float!, $lat: Float!, $code: String) {
  registerHousehold(input: {name: $name, location: {lng: $lng, lat: $lat},
                            invitationCode: $code}) {
    __typename ... on RegisterHouseholdSuccess { household { id } }
    ... on ValidationError { code message field } } }"""
SIGN_UP_INVITED = """mutation ($email: String!, $code: String) {
  signUp(input: {email: $email, password: "correct horse battery", displayName: "Nouvelle",
                 invitationCode: $code}) {
    __typename ... on SignUpSuccess { email } ... on ValidationError { code field } } }"""
BOUNDARY = """mutation ($id: ID!, $boundary: GeoJSON!) {
  updateNeighbourhoodBoundary(id: $id, boundary: $boundary) { __typename } }"""
SUBSCRIBE = """subscription ($nid: ID!) { postCreated(neighbourhoodId: $nid) { id } }"""
ACCEPT_MOVE = "mutation { acceptNeighbourhoodMove { __typename } }"


class Networks:
    """Chavenay (one member who posted) and Versailles, each with its ambassador."""

    async def build(self, gql: GraphQLClient) -> Networks:
        self.gql = gql
        self.chavenay, self.ambassador = await network(gql, "Chavenay", CHAVENAY)
        self.versailles, self.other_ambassador = await network(gql, "Versailles", VERSAILLES)
        self.member = await member(gql, "Famille Martin", CHAVENAY)
        self.post = await post(self.member, "Fête des voisins samedi")
        self.member_household = await household_global_id(self.member)
        return self

    async def require_approval(self) -> None:
        result = (await self.ambassador.data(POLICY, {"id": self.chavenay, "policy": "APPROVAL"}))[
            "setMembershipPolicy"
        ]
        assert result["policy"] == "APPROVAL", result

    async def newcomer(self, name: str = "Famille Nouvelle") -> tuple[GraphQLClient, str]:
        return await self.newcomer_at({"lng": 1.991, "lat": 48.851}, name)

    async def newcomer_at(
        self, place: dict[str, float], name: str = "Famille Nouvelle"
    ) -> tuple[GraphQLClient, str]:
        client = await member(self.gql, name, place)
        return client, await household_global_id(client)

    async def invite(self, neighbourhood_id: str | None = None) -> str:
        data = await self.ambassador.data(
            INVITE, {"id": neighbourhood_id or self.chavenay, "message": "Bienvenue !"}
        )
        result = data["inviteNeighbour"]
        assert result["__typename"] == "InviteNeighbourSuccess", result
        return str(result["invitationCode"])


@pytest.fixture
async def nets(gql: GraphQLClient) -> Networks:
    return await Networks().build(gql)


async def household_global_id(client: GraphQLClient) -> str:
    return str((await client.data("{ me { household { id } } }"))["me"]["household"]["id"])


async def status(client: GraphQLClient) -> str:
    return str((await client.data(MINE))["myMembership"]["status"])


async def pending_names(client: GraphQLClient, neighbourhood_id: str) -> list[str]:
    data = await client.data(PENDING, {"id": neighbourhood_id})
    return [edge["node"]["householdName"] for edge in data["pendingMemberships"]["edges"]]


async def db_status(engine: AsyncEngine, household_id: str) -> str:
    async with engine.connect() as conn:
        query = select(Household.membership_status).where(Household.id == node_id(household_id))
        return str((await conn.execute(query)).scalar_one())


async def counts(engine: AsyncEngine) -> tuple[int, int, int]:
    """(accounts, households, used invitations): what a refused code must leave unchanged."""
    async with engine.connect() as conn:
        accounts = (await conn.execute(select(func.count()).select_from(Account))).scalar_one()
        homes = (await conn.execute(select(func.count()).select_from(Household))).scalar_one()
        used = (
            await conn.execute(
                select(func.count())
                .select_from(NeighbourhoodInvitation)
                .where(NeighbourhoodInvitation.used_at.isnot(None))
            )
        ).scalar_one()
    return int(accounts), int(homes), int(used)


def error_code(body: Any) -> str:
    return str(body["errors"][0]["extensions"]["code"])


# Policies and the approval flow


async def test_an_open_network_admits_newcomers_by_geography(nets: Networks) -> None:
    newcomer, _ = await nets.newcomer()
    assert await status(newcomer) == "APPROVED"
    feed = (await newcomer.data(FEED, {"id": nets.chavenay}))["neighbourhood"]["posts"]
    assert [edge["node"]["title"] for edge in feed["edges"]] == ["Fête des voisins samedi"]


async def test_under_approval_a_newcomer_waits_and_sees_no_members_content(
    nets: Networks, settings: Settings, clean_db: AsyncEngine
) -> None:
    await nets.require_approval()
    newcomer, household = await nets.newcomer()

    assert await status(nets.member) == "APPROVED"  # members before the switch stay members
    assert await status(newcomer) == "PENDING"
    assert error_code(await newcomer.execute(FEED, {"id": nets.chavenay})) == "FORBIDDEN"
    assert (await newcomer.data(NODE, {"id": nets.post["id"]}))["node"] is None
    other = "query ($id: ID!) { node(id: $id) { ... on Household { name } } }"
    assert (await newcomer.data(other, {"id": nets.member_household}))["node"] is None
    own = (await newcomer.data(other, {"id": household}))["node"]
    assert own == {"name": "Famille Nouvelle"}  # its own household, still
    created = (await newcomer.data(CREATE_POST_MIN, {"title": "Bonjour"}))["createPost"]
    assert created["code"] == "NOT_A_MEMBER"
    assert await subscription_error(settings, clean_db, newcomer, nets.chavenay) == "FORBIDDEN"


CREATE_POST_MIN = """mutation ($title: String!) { createPost(input: {kind: DISCUSSION,
  title: $title}) { __typename ... on MutationError { code } } }"""


async def subscription_error(
    settings: Settings, engine: AsyncEngine, client: GraphQLClient, neighbourhood_id: str
) -> str | None:
    """The code a `postCreated` subscription of this neighbourhood is refused with, if any."""
    token = client.headers["authorization"].removeprefix("Bearer ")
    context = Context(
        settings=settings,
        engine=engine,
        request_id="test",
        viewer=await viewer_for_token(engine, token),
    )
    schema = build_schema(settings)
    result = await schema.subscribe(
        SUBSCRIBE, variable_values={"nid": neighbourhood_id}, context_value=context
    )
    if not isinstance(result, AsyncIterator):
        errors = result.errors or []
    else:
        first = await anext(result)
        errors = first.errors or []
        await result.aclose()  # type: ignore[attr-defined]
    return str(errors[0].extensions["code"]) if errors and errors[0].extensions else None


async def test_ambassadors_list_pending_households_oldest_first_and_approve(
    nets: Networks,
    events: psycopg.AsyncConnection[Any],  # noqa: F811 - the fixture imported above
) -> None:
    await nets.require_approval()
    first, first_id = await nets.newcomer("Famille Arrivée")
    await nets.newcomer("Famille Suivante")
    assert await pending_names(nets.ambassador, nets.chavenay) == [
        "Famille Arrivée",
        "Famille Suivante",
    ]
    page = (await nets.ambassador.data(PENDING, {"id": nets.chavenay, "first": 1}))[
        "pendingMemberships"
    ]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await nets.ambassador.data(
        PENDING, {"id": nets.chavenay, "first": 5, "after": page["pageInfo"]["endCursor"]}
    )
    assert [e["node"]["householdName"] for e in rest["pendingMemberships"]["edges"]] == [
        "Famille Suivante"
    ]

    approved = (await nets.ambassador.data(APPROVE, {"id": first_id}))["approveMembership"]
    assert approved["membership"]["status"] == "APPROVED"
    assert approved["membership"]["decidedAt"] is not None
    [notice] = await heard(events, 1)
    assert notice["kind"] == "MEMBERSHIP_APPROVED"
    assert notice["household_id"] == node_id(first_id)

    assert await status(first) == "APPROVED"
    feed = (await first.data(FEED, {"id": nets.chavenay}))["neighbourhood"]["posts"]
    assert len(feed["edges"]) == 1
    assert await pending_names(nets.ambassador, nets.chavenay) == ["Famille Suivante"]
    again = (await nets.ambassador.data(APPROVE, {"id": first_id}))["approveMembership"]
    assert again["code"] == "INVALID_TRANSITION"


async def test_a_declined_household_is_told_why_and_stays_out(
    nets: Networks,
    events: psycopg.AsyncConnection[Any],  # noqa: F811
) -> None:
    await nets.require_approval()
    newcomer, household = await nets.newcomer()
    reason = "Adresse hors du quartier"
    declined = (await nets.ambassador.data(DECLINE, {"id": household, "reason": reason}))[
        "declineMembership"
    ]
    assert declined["membership"] == {"status": "DECLINED", "declineReason": reason}
    [notice] = await heard(events, 1)
    assert notice["kind"] == "MEMBERSHIP_DECLINED" and reason in notice["message"]

    mine = (await newcomer.data(MINE))["myMembership"]
    assert mine["status"] == "DECLINED" and mine["declineReason"] == reason
    assert error_code(await newcomer.execute(FEED, {"id": nets.chavenay})) == "FORBIDDEN"
    assert await pending_names(nets.ambassador, nets.chavenay) == []
    twice = await nets.ambassador.data(DECLINE, {"id": household, "reason": "encore"})
    assert twice["declineMembership"]["code"] == "INVALID_TRANSITION"
    # An ambassador may change their mind.
    assert (await nets.ambassador.data(APPROVE, {"id": household}))["approveMembership"][
        "membership"
    ]["status"] == "APPROVED"


async def test_opening_the_network_again_approves_the_pending_households(nets: Networks) -> None:
    await nets.require_approval()
    newcomer, _ = await nets.newcomer()
    opened = (await nets.ambassador.data(POLICY, {"id": nets.chavenay, "policy": "OPEN"}))[
        "setMembershipPolicy"
    ]
    assert opened["householdsApproved"] == 1
    assert await status(newcomer) == "APPROVED"


async def test_moving_in_resets_the_status_for_the_new_neighbourhood(
    nets: Networks, clean_db: AsyncEngine
) -> None:
    await nets.require_approval()
    # A household east of Chavenay's square, in its own H3 cell (OPEN): a member there.
    outside, household = await nets.newcomer_at({"lng": 2.03, "lat": 48.85})
    assert await status(outside) == "APPROVED"
    grown = {"id": nets.chavenay, "boundary": square(2.01, 48.85, 0.03)}
    assert (await nets.ambassador.data(BOUNDARY, grown))["updateNeighbourhoodBoundary"][
        "__typename"
    ] == "NeighbourhoodChanged"
    assert await status(outside) == "APPROVED"  # invited, not moved (docs/neighbourhoods.md)
    await outside.data(ACCEPT_MOVE)
    assert await db_status(clean_db, household) == "PENDING"  # moved in: waits
    assert await status(outside) == "PENDING"
    shrunk = {"id": nets.chavenay, "boundary": square(1.99, 48.85, 0.02)}
    await nets.ambassador.data(BOUNDARY, shrunk)
    await outside.data(ACCEPT_MOVE)
    assert await status(outside) == "APPROVED"  # moved out to an OPEN cell again


# Who may do what


async def test_members_and_other_ambassadors_cannot_decide(
    nets: Networks, clean_db: AsyncEngine
) -> None:
    await nets.require_approval()
    _, household = await nets.newcomer()
    for outsider in (nets.member, nets.other_ambassador):
        for query, variables, field in (
            (APPROVE, {"id": household}, "approveMembership"),
            (DECLINE, {"id": household, "reason": "non"}, "declineMembership"),
            (APPOINT, {"id": nets.member_household}, "appointAmbassador"),
            (POLICY, {"id": nets.chavenay, "policy": "OPEN"}, "setMembershipPolicy"),
            (INVITE, {"id": nets.chavenay}, "inviteNeighbour"),
        ):
            result = (await outsider.data(query, variables))[field]
            assert result["code"] == "FORBIDDEN", (field, result)
        assert error_code(await outsider.execute(PENDING, {"id": nets.chavenay})) == "FORBIDDEN"
        assert error_code(await outsider.execute(INVITATIONS, {"id": nets.chavenay})) == (
            "FORBIDDEN"
        )
    assert await db_status(clean_db, household) == "PENDING"
    anonymous = (await nets.gql.data(APPROVE, {"id": household}))["approveMembership"]
    assert anonymous["code"] == "UNAUTHENTICATED"
    invitation = (await nets.ambassador.data(INVITE, {"id": nets.chavenay}))["inviteNeighbour"]
    revoked = await nets.other_ambassador.data(REVOKE, {"id": invitation["invitation"]["id"]})
    assert revoked["revokeInvitation"]["code"] == "FORBIDDEN"


async def test_an_admin_approves_anywhere(nets: Networks, clean_db: AsyncEngine) -> None:
    await nets.require_approval()
    _, household = await nets.newcomer()
    admin = await nets.gql.sign_up()
    await promote_to_admin(clean_db, admin)
    assert await pending_names(admin, nets.chavenay) == ["Famille Nouvelle"]
    result = (await admin.data(APPROVE, {"id": household}))["approveMembership"]
    assert result["membership"]["status"] == "APPROVED"


async def test_an_ambassador_appoints_an_approved_member_only(nets: Networks) -> None:
    await nets.require_approval()
    _, pending = await nets.newcomer()
    refused = (await nets.ambassador.data(APPOINT, {"id": pending}))["appointAmbassador"]
    assert refused["code"] == "NOT_A_MEMBER"
    appointed = (await nets.ambassador.data(APPOINT, {"id": nets.member_household}))[
        "appointAmbassador"
    ]
    assert appointed["accountsAppointed"] == 1
    assert await pending_names(nets.member, nets.chavenay) == ["Famille Nouvelle"]


# Invitations


async def test_an_invited_neighbour_is_approved_at_once(nets: Networks) -> None:
    await nets.require_approval()
    code = await nets.invite()
    typed = code.lower().replace("-", " ")  # read out over the phone
    client = await nets.gql.sign_up()
    place = {"lng": 1.991, "lat": 48.851}
    result = (
        await client.data(REGISTER_INVITED, {"name": "Famille Invitée", **place, "code": typed})
    )["registerHousehold"]
    assert result["__typename"] == "RegisterHouseholdSuccess", result
    assert await status(client) == "APPROVED"
    invitations = (await nets.ambassador.data(INVITATIONS, {"id": nets.chavenay}))["invitations"]
    assert [edge["node"]["status"] for edge in invitations["edges"]] == ["USED"]


async def test_a_code_given_at_sign_up_approves_the_household_later(nets: Networks) -> None:
    await nets.require_approval()
    code = await nets.invite()
    signed = (await nets.gql.data(SIGN_UP_INVITED, {"email": "invitee@example.org", "code": code}))[
        "signUp"
    ]
    assert signed == {"__typename": "SignUpSuccess", "email": "invitee@example.org"}
    await confirm_email(nets.gql.http, "invitee@example.org")
    logged_in = await nets.gql.data(
        'mutation { logIn(email: "invitee@example.org", password: "correct horse battery") '
        "{ ... on AuthSuccess { token } } }"
    )
    client = nets.gql.signed_in(logged_in["logIn"]["token"])
    registered = (await client.data(REGISTER, {"name": "Famille Invitée", **CHAVENAY}))[
        "registerHousehold"
    ]
    assert registered["__typename"] == "RegisterHouseholdSuccess"
    assert await status(client) == "APPROVED"


@pytest.mark.parametrize("case", ["unknown", "other_network", "expired", "used", "revoked"])
async def test_an_unusable_invitation_is_refused_and_nothing_is_written(
    nets: Networks, clean_db: AsyncEngine, case: str
) -> None:
    await nets.require_approval()
    expected = {
        "unknown": "INVITATION_INVALID",
        "other_network": "INVITATION_WRONG_NEIGHBOURHOOD",
        "expired": "INVITATION_EXPIRED",
        "used": "INVITATION_USED",
        "revoked": "INVITATION_REVOKED",
    }[case]
    code = "AAAA-BBBB-CCCC-DDDD"
    if case == "other_network":
        data = await nets.other_ambassador.data(INVITE, {"id": nets.versailles})
        code = data["inviteNeighbour"]["invitationCode"]
    elif case != "unknown":
        code = await nets.invite()
    if case == "expired":
        async with clean_db.begin() as conn:
            await conn.execute(text("UPDATE neighbourhood_invitations SET expires_at = now()"))
    elif case == "used":
        first = await nets.gql.sign_up()
        place = {"name": "Famille Première", **CHAVENAY, "code": code}
        assert (await first.data(REGISTER_INVITED, place))["registerHousehold"][
            "__typename"
        ] == "RegisterHouseholdSuccess"
    elif case == "revoked":
        listed = await nets.ambassador.data(INVITATIONS, {"id": nets.chavenay})
        invitation_id = listed["invitations"]["edges"][0]["node"]["id"]
        revoked = (await nets.ambassador.data(REVOKE, {"id": invitation_id}))["revokeInvitation"]
        assert revoked["invitation"]["status"] == "REVOKED"

    client = await nets.gql.sign_up()
    before = await counts(clean_db)
    place = {"name": "Famille Refusée", "lng": 1.991, "lat": 48.851, "code": code}
    result = (await client.data(REGISTER_INVITED, place))["registerHousehold"]
    assert result == {
        "__typename": "ValidationError",
        "code": expected,
        "message": result["message"],
        "field": "invitationCode",
    }
    assert await counts(clean_db) == before
    assert (await client.data("{ me { household { id } } }"))["me"]["household"] is None

    signed = await nets.gql.data(SIGN_UP_INVITED, {"email": f"{case}@example.org", "code": code})
    if case == "other_network":  # valid code: the neighbourhood is checked at registration
        assert signed["signUp"]["__typename"] == "SignUpSuccess"
    else:
        assert signed["signUp"] == {
            "__typename": "ValidationError",
            "code": expected,
            "field": "invitationCode",
        }
        assert await counts(clean_db) == before


async def test_invitation_input_is_checked(nets: Networks) -> None:
    bad = await nets.ambassador.data(INVITE, {"id": nets.chavenay, "email": "pas-un-courriel"})
    assert bad["inviteNeighbour"]["code"] == "BAD_USER_INPUT"
    body = await nets.ambassador.execute(INVITE, {"id": nets.post["id"]})
    assert body["data"]["inviteNeighbour"]["code"] == "INVALID_ID"


async def test_the_pending_queue_runs_a_constant_number_of_statements(
    nets: Networks, settings: Settings
) -> None:
    await nets.require_approval()
    token = nets.ambassador.headers["authorization"].removeprefix("Bearer ")
    query = """query ($id: ID!) { pendingMemberships(neighbourhoodId: $id) {
      edges { node { householdName neighbourhood { name } } } } }"""

    async def statements_for_queue() -> int:
        async with counting_client(settings) as (client, statements):
            data = await client.signed_in(token).data(query, {"id": nets.chavenay})
            assert data["pendingMemberships"]["edges"], data
            return len(statements)

    await nets.newcomer("Famille Une")
    one = await statements_for_queue()
    for number in range(4):
        await nets.newcomer(f"Famille {number}")
    assert await statements_for_queue() == one
