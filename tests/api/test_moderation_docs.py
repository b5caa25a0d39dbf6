"""The examples of docs/moderation.md run, in order, on the demo seed with the demo accounts.

Validation against the schema is `tests/test_docs_examples.py`; this runs them: the member
reports a post and a comment of Chavenay, the ambassador reads the queue and resolves, the
member sees the outcomes, then reviews her returned loan.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse

from api.settings import PROJECT_ROOT
from seeds.demo import load_demo
from tests.api.conftest import GraphQLClient

pytestmark = pytest.mark.usefixtures("clean_db")

DOC = PROJECT_ROOT / "docs" / "moderation.md"
BLOCKS = re.findall(r"```graphql\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def operations() -> dict[str, str]:
    """Each named operation of the doc, as a document of its own."""
    found: dict[str, str] = {}
    for block in BLOCKS:
        for definition in parse(block).definitions:
            assert isinstance(definition, OperationDefinitionNode) and definition.name
            assert definition.loc is not None
            found[definition.name.value] = block[definition.loc.start : definition.loc.end]
    return found


async def signed_in(gql: GraphQLClient, ops: dict[str, str], email: str) -> GraphQLClient:
    document = ops["SignIn"].replace("membre@demo.voisinage.fr", email)
    return gql.signed_in((await gql.data(document))["logIn"]["token"])


async def run(client: GraphQLClient, ops: dict[str, str], name: str, **variables: Any) -> Any:
    return await client.data(ops[name], variables)


async def test_the_moderation_examples_run_on_the_demo_seed(
    gql: GraphQLClient, database_url: str
) -> None:
    await load_demo(database_url)
    ops = operations()
    member = await signed_in(gql, ops, "membre@demo.voisinage.fr")
    ambassador = await signed_in(gql, ops, "ambassadrice@demo.voisinage.fr")

    network = (await run(member, ops, "MyFeed"))["me"]["household"]["neighbourhood"]
    assert network["name"] == "Chavenay"
    posts = [edge["node"] for edge in network["posts"]["edges"]]
    with_comments = next(post for post in posts if post["comments"]["edges"])
    comment = with_comments["comments"]["edges"][0]["node"]

    by_post = (await run(member, ops, "ReportPost", postId=posts[0]["id"]))["reportContent"]
    by_comment = (await run(member, ops, "ReportComment", commentId=comment["id"]))["reportContent"]
    assert by_post["__typename"] == by_comment["__typename"] == "ReportContentSuccess"

    queue = (await run(ambassador, ops, "Queue", chavenay=network["id"]))["moderationQueue"]
    reports = [edge["node"] for edge in queue["edges"]]
    assert [report["id"] for report in reports] == [
        by_post["report"]["id"],
        by_comment["report"]["id"],
    ]
    assert reports[1]["comment"]["body"] == comment["body"]
    hidden = (await run(ambassador, ops, "Resolve", id=reports[0]["id"]))["resolveReport"]
    assert hidden["report"]["outcome"] == "HIDE"
    warned = (await run(ambassador, ops, "Warn", id=reports[1]["id"]))["resolveReport"]
    assert warned["report"]["outcome"] == "WARN"
    again = (await run(ambassador, ops, "Warn", id=reports[0]["id"]))["resolveReport"]
    assert again["__typename"] == "ReportAlreadyResolvedError"
    resolved = (await run(ambassador, ops, "Resolved", chavenay=network["id"]))["moderationQueue"]
    assert resolved["totalCount"] == 2

    mine = (await run(member, ops, "MyReports"))["myReports"]["edges"]
    assert [edge["node"]["outcome"] for edge in mine] == ["WARN", "HIDE"]

    loans = (await run(member, ops, "Returned"))["myLoans"]["edges"]
    assert loans, "the demo member has a returned loan"
    loan = loans[0]["node"]
    done = (await run(member, ops, "Review", loanId=loan["id"]))["reviewLoan"]
    assert done["__typename"] == "ReviewLoanSuccess", done
    assert (await run(member, ops, "Review", loanId=loan["id"]))["reviewLoan"]["__typename"] == (
        "AlreadyReviewedError"
    )
    seen = (await run(member, ops, "Returned"))["myLoans"]["edges"][0]["node"]
    assert seen["reviews"] == [
        {"stars": 5, "comment": done["review"]["comment"], "reviewerRole": loan["viewerRole"]}
    ]
    profile = (await run(member, ops, "Profile"))["me"]["household"]
    household = (await run(ambassador, ops, "Household", id=profile["id"]))["node"]
    assert household == {"name": profile["name"], "reviews": profile["reviews"]}
