"""The request path of a nearest-first search: one statement and one pool checkout per page.

A page of `nearestLenders` with each lender's name and neighbourhood is one statement (the KNN
subquery with the lender and neighbourhood joined onto it), and needs no DataLoader round trip:
the nested fields resolve from the rows fetched with the items, and say the same as the loaders.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import Pool

from api.settings import Settings
from db.fastpaths.reads import OBSERVERS
from tests.api.helpers import counting_client
from tests.api.helpers import member as lender
from tests.api.test_items import CHAVENAY, lend

PAGE = """query ($near: LocationInput!, $first: Int, $after: String) {
  nearestLenders(near: $near, first: $first, after: $after) {
    edges {
      distanceMeters
      node {
        id title
        lender { name neighbourhood { id name kind } }
        neighbourhood { id name }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}"""
BY_ID = """query ($id: ID!) {
  node(id: $id) { ... on Item { lender { name neighbourhood { id name } } neighbourhood { name } } }
}"""
PLACES = [{"lng": 1.97 + 0.02 * n, "lat": 48.84 + 0.01 * n} for n in range(4)]


async def test_a_page_with_lenders_is_one_statement_on_one_connection(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    async with counting_client(settings) as (client, statements):
        for n, place in enumerate(PLACES):  # in several neighbourhoods (H3 cells)
            member = await lender(client, f"Famille {n}", place)
            for copy in range(3):
                await lend(member, f"Objet {n}.{copy}")
        checkouts: list[Any] = []

        def checkout(*args: Any) -> None:
            checkouts.append(args)

        event.listen(Pool, "checkout", checkout)  # every pool: only the app's is used meanwhile
        OBSERVERS.checkouts.append(checkout)  # and the searches' own (db.fastpaths.reads)
        pages = []
        after = None
        try:
            for _ in range(3):
                statements.clear()
                checkouts.clear()
                data = await client.data(PAGE, {"near": CHAVENAY, "first": 5, "after": after})
                page = data["nearestLenders"]
                pages.append(page)
                # A resumed page also reads its cursor's distance: one more statement, on the
                # same connection.
                assert len(statements) == (1 if after is None else 2), statements
                assert len(checkouts) == 1
                after = page["pageInfo"]["endCursor"]
                if not page["pageInfo"]["hasNextPage"]:
                    break
        finally:
            event.remove(Pool, "checkout", checkout)
            OBSERVERS.checkouts.remove(checkout)

    edges = [edge for page in pages for edge in page["edges"]]
    assert len(edges) == 12
    assert len({edge["node"]["id"] for edge in edges}) == 12  # no repeat across pages
    assert len({edge["node"]["neighbourhood"]["name"] for edge in edges}) > 1
    for edge in edges:
        node = edge["node"]
        assert node["lender"]["name"].startswith("Famille ")
        assert node["lender"]["neighbourhood"]["name"] == node["neighbourhood"]["name"]
        assert node["lender"]["neighbourhood"]["kind"] == "H3_CELL"


async def test_search_results_show_what_the_loaders_show(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    async with counting_client(settings) as (client, _):
        member = await lender(client, "Famille Lefèvre", CHAVENAY)
        await lend(member, "Taille-haie")
        data = await client.data(PAGE, {"near": CHAVENAY, "first": 1})
        found = data["nearestLenders"]["edges"][0]["node"]
        loaded = (await client.data(BY_ID, {"id": found["id"]}))["node"]
    assert loaded["lender"]["name"] == found["lender"]["name"] == "Famille Lefèvre"
    assert loaded["lender"]["neighbourhood"] == {
        "id": found["lender"]["neighbourhood"]["id"],
        "name": found["lender"]["neighbourhood"]["name"],
    }
    assert loaded["neighbourhood"]["name"] == found["neighbourhood"]["name"]
