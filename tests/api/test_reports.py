"""Reports and moderation through the real GraphQL endpoint, on real PostGIS, in Chavenay.

Chavenay (lng 1.99, lat 48.85) is a network drawn by its ambassador; Versailles (lng 2.13,
lat 48.80) is another, whose ambassador is a stranger to Chavenay's reports. Live notifications
are checked by LISTENing on the events channel of the test database itself.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.runtime import libpq_url
from api.settings import Settings
from db.models import Report
from db.queries.events import CHANNEL
from tests.api.conftest import GraphQLClient, promote_to_admin
from tests.api.helpers import counting_client, member, node_id
from tests.api.test_posts import (
    CHAVENAY,
    COMMENT,
    COMMENTS,
    DELETE,
    VERSAILLES,
    feed,
    network,
    post,
    titles,
)

pytestmark = pytest.mark.usefixtures("clean_db")

REPORT_FIELDS = """
  id reason details excerpt createdAt status outcome resolvedAt resolutionNote targetKind
  targetDeleted neighbourhood { name } post { id title } comment { id body }
"""

REPORT = f"""
mutation Report($postId: ID, $commentId: ID, $reason: ReportReason!, $details: String! = "") {{
  reportContent(postId: $postId, commentId: $commentId, reason: $reason, details: $details) {{
    __typename
    ... on ReportContentSuccess {{ report {{ {REPORT_FIELDS} }} }}
    ... on MutationError {{ code message }}
    ... on ValidationError {{ field }}
  }}
}}
"""

RESOLVE = f"""
mutation Resolve($id: ID!, $outcome: ReportOutcome!, $note: String! = "") {{
  resolveReport(id: $id, outcome: $outcome, note: $note) {{
    __typename
    ... on ResolveReportSuccess {{ report {{ {REPORT_FIELDS} }} }}
    ... on ReportAlreadyResolvedError {{ outcome }}
    ... on MutationError {{ code message }}
  }}
}}
"""

QUEUE = f"""
query Queue($id: ID!, $status: ReportStatus! = OPEN, $first: Int, $after: String) {{
  moderationQueue(neighbourhoodId: $id, status: $status, first: $first, after: $after) {{
    totalCount
    pageInfo {{ hasNextPage hasPreviousPage endCursor }}
    edges {{ cursor node {{ {REPORT_FIELDS} }} }}
  }}
}}
"""

MINE = f"""
query Mine($first: Int, $after: String) {{
  myReports(first: $first, after: $after) {{
    pageInfo {{ hasNextPage endCursor }}
    edges {{ node {{ {REPORT_FIELDS} }} }}
  }}
}}
"""

NODE = f"query Node($id: ID!) {{ node(id: $id) {{ ... on Report {{ {REPORT_FIELDS} }} }} }}"


@pytest.fixture
async def chavenay(gql: GraphQLClient) -> tuple[str, GraphQLClient]:
    """Chavenay's network id and its ambassador (who drew it, and has no household)."""
    return await network(gql, "Chavenay", CHAVENAY)


@pytest.fixture
async def events(settings: Settings) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A connection LISTENing on the live events channel of the test database."""
    assert settings.database_url is not None
    conn = await psycopg.AsyncConnection.connect(libpq_url(settings.database_url), autocommit=True)
    await conn.execute(f"LISTEN {CHANNEL}")
    try:
        yield conn
    finally:
        await conn.close()


async def heard(conn: psycopg.AsyncConnection[Any], count: int) -> list[dict[str, Any]]:
    """The next `count` household notifications delivered on the channel (fewer on timeout)."""
    received: list[dict[str, Any]] = []
    async for notice in conn.notifies(timeout=5.0):
        event = json.loads(notice.payload)
        if event["type"] == "household_notification":
            received.append(event)
        if len(received) == count:
            break
    return received


async def report(client: GraphQLClient, reason: str = "ABUSE", **variables: Any) -> Any:
    data = await client.data(REPORT, {"reason": reason, **variables})
    return data["reportContent"]


async def reported(client: GraphQLClient, post_id: str, reason: str = "ABUSE") -> Any:
    result = await report(client, reason, postId=post_id)
    assert result["__typename"] == "ReportContentSuccess", result
    return result["report"]


async def resolve(client: GraphQLClient, report_id: str, outcome: str, note: str = "") -> Any:
    data = await client.data(RESOLVE, {"id": report_id, "outcome": outcome, "note": note})
    return data["resolveReport"]


async def queue(client: GraphQLClient, neighbourhood_id: str, **variables: Any) -> Any:
    body = await client.execute(QUEUE, {"id": neighbourhood_id, **variables})
    return body


async def queue_page(client: GraphQLClient, neighbourhood_id: str, **variables: Any) -> Any:
    body = await queue(client, neighbourhood_id, **variables)
    assert "errors" not in body, body
    return body["data"]["moderationQueue"]


def error_code(body: Any) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def household_id(client: GraphQLClient) -> int:
    me = (await client.data("{ me { household { id } } }"))["me"]
    return node_id(me["household"]["id"])


# Reporting and the queue


async def test_a_members_report_reaches_the_ambassadors_queue_oldest_first(
    gql: GraphQLClient, chavenay: tuple[str, GraphQLClient]
) -> None:
    neighbourhood_id, ambassador = chavenay
    martin = await member(gql, "Famille Martin", CHAVENAY)
    durand = await member(gql, "Famille Durand", CHAVENAY)
    first = await post(martin, "Achetez mes crèmes miracles", body="Livraison gratuite !")
    second = await post(martin, "Le voisin du 3 est un escroc")

    spam = await reported(durand, first["id"], "SPAM")
    abuse = await reported(durand, second["id"], "ABUSE")

    assert spam["status"] == "OPEN" and spam["outcome"] is None
    assert spam["excerpt"] == "Achetez mes crèmes miracles — Livraison gratuite !"
    assert spam["neighbourhood"] == {"name": "Chavenay"}
    page = await queue_page(ambassador, neighbourhood_id)
    assert [edge["node"]["id"] for edge in page["edges"]] == [spam["id"], abuse["id"]]
    assert page["totalCount"] == 2
    assert page["edges"][0]["node"]["post"] == {"id": first["id"], "title": first["title"]}
    assert page["edges"][0]["node"]["reason"] == "SPAM"
    mine = (await durand.data(MINE))["myReports"]["edges"]
    assert [edge["node"]["id"] for edge in mine] == [abuse["id"], spam["id"]]  # newest first


async def test_only_the_neighbourhoods_ambassadors_and_admins_read_its_queue(
    gql: GraphQLClient, chavenay: tuple[str, GraphQLClient], clean_db: AsyncEngine
) -> None:
    neighbourhood_id, ambassador = chavenay
    _, versailles_ambassador = await network(gql, "Versailles", VERSAILLES)
    martin = await member(gql, "Famille Martin", CHAVENAY)
    durand = await member(gql, "Famille Durand", CHAVENAY)
    await reported(durand, (await post(martin, "Message douteux"))["id"])
    admin = await gql.sign_up(name="Équipe")
    await promote_to_admin(clean_db, admin)

    assert error_code(await queue(durand, neighbourhood_id)) == "FORBIDDEN"  # the reporter
    assert error_code(await queue(martin, neighbourhood_id)) == "FORBIDDEN"
    assert error_code(await queue(versailles_ambassador, neighbourhood_id)) == "FORBIDDEN"
    assert error_code(await queue(gql, neighbourhood_id)) == "UNAUTHENTICATED"
    assert len((await queue_page(ambassador, neighbourhood_id))["edges"]) == 1
    assert len((await queue_page(admin, neighbourhood_id))["edges"]) == 1


async def test_an_account_reports_a_post_once(
    gql: GraphQLClient, chavenay: tuple[str, GraphQLClient], clean_db: AsyncEngine
) -> None:
    _, ambassador = chavenay
    martin = await member(gql, "Famille Martin", CHAVENAY)
    durand = await member(gql, "Famille Durand", CHAVENAY)
    leroy = await member(gql, "Famille Leroy", CHAVENAY)
    target = await post(martin, "Message douteux")
    first = await reported(durand, target["id"])

    again = await report(durand, "SPAM", postId=target["id"])
    assert again["__typename"] == "AlreadyReportedError"
    assert again["code"] == "ALREADY_REPORTED"
    await resolve(ambassador, first["id"], "KEEP")
    still = await report(durand, "SPAM", postId=target["id"])
    assert still["__typename"] == "AlreadyReportedError"  # resolved reports count too
    await reported(leroy, target["id"])  # another account may
    async with clean_db.connect() as conn:
        count = (await conn.execute(select(func.count()).select_from(Report))).scalar_one()
    assert count == 2


async def test_refuses_reports_of_what_the_reporter_cannot_read_or_bad_input(
    gql: GraphQLClient, chavenay: tuple[str, GraphQLClient], clean_db: AsyncEngine
) -> None:
    martin = await member(gql, "Famille Martin", CHAVENAY)
    stranger = await member(gql, "Famille Versaillaise", VERSAILLES)
    target = await post(martin, "Réunion des voisins")

    hidden = await report(stranger, postId=target["id"])
    assert (hidden["__typename"], hidden["code"]) == ("NotFoundError", "NOT_FOUND")
    assert (await report(gql, postId=target["id"]))["code"] == "UNAUTHENTICATED"
    neither = await report(martin)
    assert (neither["__typename"], neither["code"]) == ("ValidationError", "BAD_USER_INPUT")
    comment_id = (await martin.data(COMMENT, {"postId": target["id"], "body": "Bonne idée"}))[
        "addComment"
    ]["comment"]["id"]
    both = await report(martin, postId=target["id"], commentId=comment_id)
    assert both["code"] == "BAD_USER_INPUT"
    other = await report(martin, "OTHER", postId=target["id"])
    assert (other["code"], other["field"]) == ("BAD_USER_INPUT", "details")
    long = await report(martin, "SPAM", postId=target["id"], details="x" * 1001)
    assert (long["code"], long["field"]) == ("BAD_USER_INPUT", "details")
    wrong = await report(martin, "SPAM", postId=comment_id)
    assert (wrong["code"], wrong["field"]) == ("INVALID_ID", "postId")
    async with clean_db.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(Report))).scalar_one() == 0


# Outcomes


async def test_hide_removes_the_post_from_the_feed_and_the_reporter_sees_the_outcome(
    gql: GraphQLClient,
    chavenay: tuple[str, GraphQLClient],
    events: psycopg.AsyncConnection[Any],
) -> None:
    neighbourhood_id, ambassador = chavenay
    martin = await member(gql, "Famille Martin", CHAVENAY)
    durand = await member(gql, "Famille Durand", CHAVENAY)
    target = await post(martin, "Le voisin du 3 est un escroc")
    await post(martin, "Vide-grenier dimanche")
    opened = await reported(durand, target["id"], "ABUSE")

    done = await resolve(ambassador, opened["id"], "HIDE", note="Propos diffamatoires")

    assert done["__typename"] == "ResolveReportSuccess", done
    assert done["report"]["status"] == "RESOLVED" and done["report"]["outcome"] == "HIDE"
    assert done["report"]["resolutionNote"] == "Propos diffamatoires"
    assert titles(await feed(durand, neighbourhood_id)) == ["Vide-grenier dimanche"]
    assert (await durand.data(NODE, {"id": target["id"]}))["node"] is None
    mine = (await durand.data(MINE))["myReports"]["edges"][0]["node"]
    assert (mine["status"], mine["outcome"]) == ("RESOLVED", "HIDE")
    assert mine["resolvedAt"] is not None
    assert mine["resolutionNote"] is None  # the note is for moderators
    assert mine["post"] is None  # hidden: no longer readable by the reporter
    notified = await heard(events, 1)
    assert [(e["kind"], e["household_id"]) for e in notified] == [
        ("REPORT_RESOLVED", await household_id(durand))
    ]
    assert notified[0]["subject_type"] == "Report"
    assert notified[0]["subject_id"] == node_id(opened["id"])
    assert (await queue_page(ambassador, neighbourhood_id))["edges"] == []
    resolved = await queue_page(ambassador, neighbourhood_id, status="RESOLVED")
    assert resolved["edges"][0]["node"]["post"]["title"] == "Le voisin du 3 est un escroc"


async def test_warn_keeps_the_post_and_notifies_its_author(
    gql: GraphQLClient,
    chavenay: tuple[str, GraphQLClient],
    events: psycopg.AsyncConnection[Any],
) -> None:
    neighbourhood_id, ambassador = chavenay
    martin = await member(gql, "Famille Martin", CHAVENAY)
    durand = await member(gql, "Famille Durand", CHAVENAY)
    target = await post(martin, "Les gens du lotissement sont des idiots")
    opened = await reported(durand, target["id"])

    done = await resolve(ambassador, opened["id"], "WARN")

    assert done["report"]["outcome"] == "WARN"
    assert titles(await feed(durand, neighbourhood_id)) == [target["title"]]
    notified = {e["kind"]: e for e in await heard(events, 2)}
    assert set(notified) == {"CONTENT_WARNED", "REPORT_RESOLVED"}
    warned = notified["CONTENT_WARNED"]
    assert warned["household_id"] == await household_id(martin)
    assert (warned["subject_type"], warned["subject_id"]) == ("Post", node_id(target["id"]))
    assert notified["REPORT_RESOLVED"]["household_id"] == await household_id(durand)


async def test_keep_leaves_the_post_in_the_feed(
    gql: GraphQLClient, chavenay: tuple[str, GraphQLClient]
) -> None:
    neighbourhood_id, ambassador = chavenay
    martin = await member(gql, "Famille Martin", CHAVENAY)
    durand = await member(gql, "Famille Durand", CHAVENAY)
    target = await post(martin, "Chat trouvé rue de la Mairie", "LOST_AND_FOUND")
    opened = await reported(durand, target["id"], "SPAM")

    done = await resolve(ambassador, opened["id"], "KEEP", note="Rien à redire")

    assert done["report"]["outcome"] == "KEEP"
    assert titles(await feed(durand, neighbourhood_id)) == ["Chat trouvé rue de la Mairie"]
    mine = (await durand.data(MINE))["myReports"]["edges"][0]["node"]
    assert mine["outcome"] == "KEEP" and mine["post"]["title"] == target["title"]


async def test_a_report_is_resolved_once(
    gql: GraphQLClient, chavenay: tuple[str, GraphQLClient], clean_db: AsyncEngine
) -> None:
    _, ambassador = chavenay
    martin = await member(gql, "Famille Martin", CHAVENAY)
    durand = await member(gql, "Famille Durand", CHAVENAY)
    opened = await reported(durand, (await post(martin, "Message douteux"))["id"])
    await resolve(ambassador, opened["id"], "KEEP", note="premier avis")
    admin = await gql.sign_up(name="Équipe")
    await promote_to_admin(clean_db, admin)

    again = await resolve(admin, opened["id"], "HIDE", note="second avis")

    assert again["__typename"] == "ReportAlreadyResolvedError"
    assert (again["code"], again["outcome"]) == ("INVALID_TRANSITION", "KEEP")
    seen = (await ambassador.data(NODE, {"id": opened["id"]}))["node"]
    assert (seen["outcome"], seen["resolutionNote"]) == ("KEEP", "premier avis")


async def test_only_moderators_resolve_and_others_do_not_see_the_report(
    gql: GraphQLClient, chavenay: tuple[str, GraphQLClient]
) -> None:
    _, ambassador = chavenay
    _, versailles_ambassador = await network(gql, "Versailles", VERSAILLES)
    martin = await member(gql, "Famille Martin", CHAVENAY)
    durand = await member(gql, "Famille Durand", CHAVENAY)
    opened = await reported(durand, (await post(martin, "Message douteux"))["id"])

    by_reporter = await resolve(durand, opened["id"], "HIDE")
    assert (by_reporter["__typename"], by_reporter["code"]) == ("ForbiddenError", "FORBIDDEN")
    for outsider in (martin, versailles_ambassador):
        refused = await resolve(outsider, opened["id"], "HIDE")
        assert (refused["__typename"], refused["code"]) == ("NotFoundError", "NOT_FOUND")
        assert (await outsider.data(NODE, {"id": opened["id"]}))["node"] is None
    assert (await durand.data(NODE, {"id": opened["id"]}))["node"]["status"] == "OPEN"
    assert (await ambassador.data(NODE, {"id": opened["id"]}))["node"]["status"] == "OPEN"


async def test_hiding_a_reported_comment_removes_it_from_its_thread(
    gql: GraphQLClient, chavenay: tuple[str, GraphQLClient]
) -> None:
    neighbourhood_id, ambassador = chavenay
    martin = await member(gql, "Famille Martin", CHAVENAY)
    durand = await member(gql, "Famille Durand", CHAVENAY)
    target = await post(martin, "Fête des voisins samedi")
    rude = (await durand.data(COMMENT, {"postId": target["id"], "body": "Encore vous ?"}))[
        "addComment"
    ]["comment"]["id"]
    await durand.data(COMMENT, {"postId": target["id"], "body": "J'apporte une tarte"})
    result = await report(martin, "ABUSE", commentId=rude, details="Ton agressif")
    assert result["__typename"] == "ReportContentSuccess", result
    opened = result["report"]
    assert (opened["targetKind"], opened["excerpt"]) == ("COMMENT", "Encore vous ?")
    assert opened["comment"]["id"] == rude and opened["post"]["id"] == target["id"]

    done = await resolve(ambassador, opened["id"], "HIDE")

    assert done["report"]["comment"] == {"id": rude, "body": "Encore vous ?"}  # moderators see it
    thread = (await martin.data(COMMENTS, {"id": target["id"]}))["node"]["comments"]["edges"]
    assert [edge["node"]["body"] for edge in thread] == ["J'apporte une tarte"]
    assert titles(await feed(martin, neighbourhood_id)) == ["Fête des voisins samedi"]
    mine = (await martin.data(MINE))["myReports"]["edges"][0]["node"]
    assert mine["outcome"] == "HIDE" and mine["comment"] is None


# Nothing is dropped


async def test_every_report_appears_when_paging_the_queue(
    gql: GraphQLClient, chavenay: tuple[str, GraphQLClient], clean_db: AsyncEngine
) -> None:
    neighbourhood_id, ambassador = chavenay
    author = await member(gql, "Famille Martin", CHAVENAY)
    reporters = [await member(gql, f"Famille {n}", CHAVENAY) for n in ("A", "B", "C")]
    posts = [await post(author, f"Annonce {n}") for n in range(10)]
    expected = [
        (await reported(reporter, target["id"], "SPAM"))["id"]
        for target in posts
        for reporter in reporters
    ]
    async with clean_db.begin() as conn:  # a month-old report is still there
        await conn.execute(
            text("UPDATE reports SET created_at = created_at - interval '30 days' WHERE id = :id"),
            {"id": node_id(expected[-1])},
        )
    expected = [expected[-1], *expected[:-1]]

    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = await queue_page(ambassador, neighbourhood_id, first=7, after=after)
        assert page["totalCount"] == 30
        seen += [edge["node"]["id"] for edge in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert seen == expected
    assert pages == 5


async def test_a_report_stays_in_the_queue_when_its_post_is_deleted(
    gql: GraphQLClient, chavenay: tuple[str, GraphQLClient]
) -> None:
    neighbourhood_id, ambassador = chavenay
    martin = await member(gql, "Famille Martin", CHAVENAY)
    durand = await member(gql, "Famille Durand", CHAVENAY)
    target = await post(martin, "Numéro de téléphone de Mme X : 06...")
    opened = await reported(durand, target["id"], "PERSONAL_DATA")
    deleted = (await martin.data(DELETE, {"id": target["id"]}))["deletePost"]
    assert deleted["__typename"] == "DeletePostSuccess", deleted

    waiting = (await queue_page(ambassador, neighbourhood_id))["edges"]
    assert [edge["node"]["id"] for edge in waiting] == [opened["id"]]
    node = waiting[0]["node"]
    assert node["targetDeleted"] is True and node["post"] is None
    assert node["excerpt"] == "Numéro de téléphone de Mme X : 06..."
    done = await resolve(ambassador, opened["id"], "HIDE")
    assert done["__typename"] == "ResolveReportSuccess", done


async def test_the_queue_runs_a_constant_number_of_statements(
    gql: GraphQLClient, chavenay: tuple[str, GraphQLClient], settings: Settings
) -> None:
    neighbourhood_id, ambassador = chavenay
    martin = await member(gql, "Famille Martin", CHAVENAY)
    durand = await member(gql, "Famille Durand", CHAVENAY)
    document = """
    query Queue($id: ID!) {
      moderationQueue(neighbourhoodId: $id, first: 30) {
        edges { node { id excerpt neighbourhood { name } post { title author { name } }
          comment { body author { name } } } }
      }
    }
    """

    async def statements_for_queue() -> int:
        async with counting_client(settings) as (anonymous, statements):
            client = anonymous.signed_in(ambassador.headers["authorization"].split()[1])
            statements.clear()
            body = await client.data(document, {"id": neighbourhood_id})
            assert body["moderationQueue"]["edges"]
            return len(statements)

    async def add_reports(count: int) -> None:
        for n in range(count):
            target = await post(martin, f"Annonce {n}")
            await reported(durand, target["id"])
            comment = (await martin.data(COMMENT, {"postId": target["id"], "body": "Et ça ?"}))[
                "addComment"
            ]["comment"]["id"]
            assert (await report(durand, commentId=comment))["__typename"] == (
                "ReportContentSuccess"
            )

    await add_reports(2)
    few = await statements_for_queue()
    await add_reports(6)
    many = await statements_for_queue()

    assert many == few
