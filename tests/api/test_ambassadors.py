"""Ambassadors: the networks they animate, reports of items, skills and households, unhide,
and the live `reportFiled` feed (to ambassadors and admins of that network only)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import GraphQLClient
from tests.api.helpers import member, node_id
from tests.security.live_sockets import (
    bearer,
    data,
    error_codes,
    global_id,
    live_socket,
    sql,
)
from tests.security.live_sockets import member as live_member
from tests.security.live_sockets import post as live_post
from tests.servers import Server, running_server

CHAVENAY = {"lng": 1.99, "lat": 48.85}
NEXT_DOOR = {"lng": 1.991, "lat": 48.851}
VERSAILLES = {"lng": 2.13, "lat": 48.80}
ME = "{ me { id household { id neighbourhood { id } } } }"
ANIMATES = """{ me { animates { openReports pendingMemberships neighbourhood { id } } } }"""
CREATE_POST = """mutation ($title: String!) {
  createPost(input: {kind: DISCUSSION, title: $title, body: "Texte"}) {
    ... on CreatePostSuccess { post { id } } } }"""
CREATE_ITEM = """mutation { createItem(input: {title: "Tronçonneuse", category: TOOLS,
  condition: GOOD, terms: FREE}) { ... on CreateItemSuccess { item { id } } } }"""
OFFER_SKILL = """mutation { offerSkill(input: {title: "Cours de guitare", description: "Débutants",
  tags: ["musique"]}) { ... on OfferSkillSuccess { skill { id } } } }"""
REPORT = """mutation ($post: ID, $item: ID, $skill: ID, $household: ID) {
  reportContent(reason: SPAM, postId: $post, itemId: $item, skillId: $skill,
    householdId: $household) {
    __typename
    ... on ReportContentSuccess { report { id targetKind subject excerpt } }
    ... on MutationError { code } } }"""
RESOLVE = """mutation ($id: ID!, $outcome: ReportOutcome!) { resolveReport(id: $id, outcome: $outcome) {
  __typename ... on MutationError { code } } }"""
QUEUE = """query ($nid: ID!) { moderationQueue(neighbourhoodId: $nid) {
  totalCount edges { node { id targetKind subject } } } }"""
HIDE = """mutation ($id: ID!) { hidePost(id: $id, reason: "Hors sujet") { __typename } }"""
UNHIDE = """mutation ($id: ID!) { unhide(id: $id) {
  __typename ... on UnhideSuccess { subject } ... on MutationError { code } } }"""
FEED = """query ($nid: ID!) { neighbourhood(id: $nid) { posts { edges { node { id } } } } }"""
INBOX = "{ notifications { edges { node { kind subject } } } }"
REPORT_FILED = """subscription ($nid: ID!) { reportFiled(neighbourhoodId: $nid) {
  id targetKind reason excerpt subject } }"""


async def appoint(engine: AsyncEngine, client: GraphQLClient) -> str:
    """Make the client's account ambassador of its household's network (as appointAmbassador
    or drawing a network would); the network's global ID."""
    me = (await client.data(ME))["me"]
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO neighbourhood_roles (account_id, neighbourhood_id) "
                "VALUES (:account, :nid)"
            ),
            {"account": node_id(me["id"]), "nid": node_id(me["household"]["neighbourhood"]["id"])},
        )
    nid: str = me["household"]["neighbourhood"]["id"]
    return nid


async def report(client: GraphQLClient, **subject: str) -> dict[str, Any]:
    result: dict[str, Any] = (await client.data(REPORT, subject))["reportContent"]
    return result


async def test_me_animates_lists_my_networks_with_what_waits(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    ambassador = await member(gql, "Mairie", CHAVENAY)
    nid = await appoint(clean_db, ambassador)
    neighbour = await member(gql, "Famille Vigilante", NEXT_DOOR)
    post_id = (await ambassador.data(CREATE_POST, {"title": "Réunion publique"}))["createPost"][
        "post"
    ]["id"]
    assert (await report(neighbour, post=post_id))["__typename"] == "ReportContentSuccess"

    animates = (await ambassador.data(ANIMATES))["me"]["animates"]
    assert animates == [{"openReports": 1, "pendingMemberships": 0, "neighbourhood": {"id": nid}}]
    assert (await neighbour.data(ANIMATES))["me"]["animates"] == []


async def test_items_skills_and_households_are_reported_to_their_network(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    ambassador = await member(gql, "Mairie", CHAVENAY)
    nid = await appoint(clean_db, ambassador)
    owner = await member(gql, "Famille Bricole", NEXT_DOOR)
    reporter = await member(gql, "Famille Attentive", NEXT_DOOR)
    item_id = (await owner.data(CREATE_ITEM))["createItem"]["item"]["id"]
    skill_id = (await owner.data(OFFER_SKILL))["offerSkill"]["skill"]["id"]
    household_id = (await owner.data(ME))["me"]["household"]["id"]

    reports = {
        "ITEM": await report(reporter, item=item_id),
        "SKILL": await report(reporter, skill=skill_id),
        "HOUSEHOLD": await report(reporter, household=household_id),
    }
    for kind, subject in (("ITEM", item_id), ("SKILL", skill_id), ("HOUSEHOLD", household_id)):
        made = reports[kind]
        assert made["__typename"] == "ReportContentSuccess", made
        assert made["report"]["targetKind"] == kind and made["report"]["subject"] == subject
    assert "Tronçonneuse" in reports["ITEM"]["report"]["excerpt"]
    assert (await report(reporter, item=item_id)) == {
        "__typename": "AlreadyReportedError",
        "code": "ALREADY_REPORTED",
    }
    queue = (await ambassador.data(QUEUE, {"nid": nid}))["moderationQueue"]
    assert queue["totalCount"] == 3

    item_report = reports["ITEM"]["report"]["id"]
    hidden = await ambassador.data(RESOLVE, {"id": item_report, "outcome": "HIDE"})
    assert hidden["resolveReport"] == {"__typename": "ValidationError", "code": "BAD_USER_INPUT"}
    warned = await ambassador.data(RESOLVE, {"id": item_report, "outcome": "WARN"})
    assert warned["resolveReport"]["__typename"] == "ResolveReportSuccess"
    inbox = (await owner.data(INBOX))["notifications"]["edges"]
    assert {"kind": "CONTENT_WARNED", "subject": item_id} in [edge["node"] for edge in inbox]


async def test_my_own_household_and_strangers_are_not_reportable(gql: GraphQLClient) -> None:
    reporter = await member(gql, "Famille Seule", CHAVENAY)
    stranger = await member(gql, "Famille Versaillaise", VERSAILLES)
    mine = (await reporter.data(ME))["me"]["household"]["id"]
    theirs = (await stranger.data(ME))["me"]["household"]["id"]
    their_item = (await stranger.data(CREATE_ITEM))["createItem"]["item"]["id"]
    for subject in ({"household": mine}, {"household": theirs}, {"item": their_item}):
        assert (await report(reporter, **subject)) == {
            "__typename": "NotFoundError",
            "code": "NOT_FOUND",
        }


async def test_an_ambassador_restores_a_hidden_post(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    ambassador = await member(gql, "Mairie", CHAVENAY)
    nid = await appoint(clean_db, ambassador)
    author = await member(gql, "Famille Maladroite", NEXT_DOOR)
    post_id = (await author.data(CREATE_POST, {"title": "Un malentendu"}))["createPost"]["post"][
        "id"
    ]
    assert (await ambassador.data(HIDE, {"id": post_id}))["hidePost"]["__typename"] != (
        "ForbiddenError"
    )

    def ids(feed: dict[str, Any]) -> list[str]:
        return [edge["node"]["id"] for edge in feed["neighbourhood"]["posts"]["edges"]]

    assert post_id not in ids(await author.data(FEED, {"nid": nid}))
    assert (await author.data(UNHIDE, {"id": post_id}))["unhide"] == {
        "__typename": "NotFoundError",
        "code": "NOT_FOUND",
    }
    restored = (await ambassador.data(UNHIDE, {"id": post_id}))["unhide"]
    assert restored == {"__typename": "UnhideSuccess", "subject": post_id}
    assert post_id in ids(await author.data(FEED, {"nid": nid}))
    again = (await ambassador.data(UNHIDE, {"id": post_id}))["unhide"]
    assert again == {"__typename": "ValidationError", "code": "INVALID_TRANSITION"}


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    logs = tmp_path_factory.mktemp("ambassadors")
    with running_server(database_url, logs / "server.log") as server:
        yield server


def appoint_live(database_url: str, token: str, neighbourhood_pk: int) -> None:
    sql(
        database_url,
        "INSERT INTO neighbourhood_roles (account_id, neighbourhood_id) SELECT account_id, %s "
        "FROM access_tokens WHERE token_hash = sha256(convert_to(%s, 'UTF8'))",
        (neighbourhood_pk, token),
    )


async def test_report_filed_reaches_the_ambassador_and_not_a_member(
    server: Server, database_url: str
) -> None:
    place = {"lng": 2.25, "lat": 48.62}
    ambassador = await live_member(server, database_url, "Mairie", place)
    appoint_live(database_url, ambassador.token, ambassador.neighbourhood_pk)
    plain = await live_member(server, database_url, "Famille Simple", {**place, "lng": 2.2505})
    author = await live_member(server, database_url, "Famille Auteure", {**place, "lng": 2.251})
    post_id = await live_post(server, author.token, "Annonce douteuse")
    async with (
        live_socket(server, bearer(ambassador.token)) as watched,
        live_socket(server, bearer(plain.token)) as refused,
    ):
        await watched.subscribe("q", REPORT_FILED, {"nid": ambassador.neighbourhood_id})
        await refused.subscribe("q", REPORT_FILED, {"nid": ambassador.neighbourhood_id})
        assert error_codes(await refused.next_message("q")) == ["FORBIDDEN"]
        await asyncio.sleep(0.3)
        made = await data(server, REPORT, {"post": post_id}, token=plain.token)
        live = (await watched.next_message("q"))["payload"]["data"]["reportFiled"]
    assert live["id"] == made["reportContent"]["report"]["id"]
    assert live["targetKind"] == "POST" and live["subject"] == post_id
    assert live["excerpt"].startswith("Annonce douteuse")
    assert [m for _, m in refused.received if (m.get("payload") or {}).get("data")] == []


async def test_losing_the_role_closes_the_report_feed(server: Server, database_url: str) -> None:
    place = {"lng": 2.45, "lat": 48.62}
    ambassador = await live_member(server, database_url, "Mairie Sortante", place)
    appoint_live(database_url, ambassador.token, ambassador.neighbourhood_pk)
    async with live_socket(server, bearer(ambassador.token)) as socket:
        await socket.subscribe("q", REPORT_FILED, {"nid": ambassador.neighbourhood_id})
        await asyncio.sleep(0.3)
        sql(
            database_url,
            "DELETE FROM neighbourhood_roles WHERE neighbourhood_id = %s",
            (ambassador.neighbourhood_pk,),
        )
        await socket.wait_closed(timeout=3)
    assert socket.close_code == 4403
    assert global_id("Neighbourhood", ambassador.neighbourhood_pk) == ambassador.neighbourhood_id


async def test_the_new_moderation_examples_run_on_the_demo_seed(
    gql: GraphQLClient, database_url: str, clean_db: AsyncEngine
) -> None:
    """docs/moderation.md as written: the member reports an item, the ambassador sees it waiting
    (`Animates`), hides a post and restores it (`Unhide`), the member reads the inbox."""
    from seeds.demo import load_demo
    from tests.api.test_moderation_docs import operations, run, signed_in
    from tests.conftest import TABLES

    async with clean_db.begin() as conn:  # the live tests above leave their data behind
        await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    await load_demo(database_url)
    ops = operations()
    member_client = await signed_in(gql, ops, "membre@demo.voisinage.fr")
    ambassador = await signed_in(gql, ops, "ambassadrice@demo.voisinage.fr")
    network = (await run(member_client, ops, "MyFeed"))["me"]["household"]["neighbourhood"]
    before = (await run(ambassador, ops, "Animates"))["me"]["animates"]
    waiting = {entry["neighbourhood"]["name"]: entry for entry in before}
    assert "Chavenay" in waiting and waiting["Davron"]["pendingMemberships"] >= 1

    lenders = (await run(member_client, ops, "Lenders"))["nearestLenders"]["edges"]
    item_id = lenders[0]["node"]["id"]
    reported = (await run(member_client, ops, "ReportItem", itemId=item_id))["reportContent"]
    assert reported["__typename"] == "ReportContentSuccess", reported
    assert reported["report"]["targetKind"] == "ITEM"
    after = {
        e["neighbourhood"]["name"]: e
        for e in (await run(ambassador, ops, "Animates"))["me"]["animates"]
    }
    assert after["Chavenay"]["openReports"] == waiting["Chavenay"]["openReports"] + 1

    post_id = network["posts"]["edges"][0]["node"]["id"]
    by_post = (await run(member_client, ops, "ReportPost", postId=post_id))["reportContent"]
    hidden = (await run(ambassador, ops, "Resolve", id=by_post["report"]["id"]))["resolveReport"]
    assert hidden["report"]["outcome"] == "HIDE"
    restored = (await run(ambassador, ops, "Unhide", id=post_id))["unhide"]
    assert restored == {"__typename": "UnhideSuccess", "subject": post_id}
    inbox = await run(member_client, ops, "MyInbox")
    kinds = [edge["node"]["kind"] for edge in inbox["notifications"]["edges"]]
    assert "REPORT_RESOLVED" in kinds and inbox["unreadNotificationCount"] >= 1
