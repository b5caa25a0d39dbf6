"""A household moving again and again to (nearly) the same address must not publish a new public
point each time: the average of many points drawn around one door converges on the door.

The attacker here is anyone who reads public points (a neighbour's distances, a search): what
matters is how many independent draws around one home exist. Moves shorter than the smallest
offset (150 m) keep the published point while it stays 150-400 m from the new home; a real move
draws afresh (tests/api/test_households.py checks that the new point is ≥ 150 m away)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from geo.coords import LngLat
from geo.distance import great_circle_m
from tests.api.conftest import GraphQLClient
from tests.api.test_households import CHAVENAY, MOVE, home_and_public, registered

pytestmark = pytest.mark.usefixtures("clean_db")


async def points(engine: AsyncEngine, client: GraphQLClient) -> tuple[LngLat, LngLat]:
    household_id = (await client.data("{ me { household { id } } }"))["me"]["household"]["id"]
    return await home_and_public(engine, household_id)


async def test_repeated_moves_to_the_same_door_publish_one_point(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    martin = await registered(gql, "Martin", CHAVENAY)
    _, first_public = await points(clean_db, martin)
    published = {first_public}
    for step in range(12):
        nudge = (step % 3) * 0.00002  # 0 to ~3 m: "the same address", typed again
        moved = (await martin.data(MOVE, {"lng": 1.99 + nudge, "lat": 48.85}))["moveHousehold"]
        assert moved["__typename"] == "MoveHouseholdSuccess", moved
        home, public = await points(clean_db, martin)
        assert 150 <= great_circle_m(home, public) <= 400
        published.add(public)
    assert published == {first_public}


async def test_a_real_move_draws_a_new_point(gql: GraphQLClient, clean_db: AsyncEngine) -> None:
    martin = await registered(gql, "Martin", CHAVENAY)
    _, before = await points(clean_db, martin)
    await martin.data(MOVE, {"lng": 2.1301, "lat": 48.8049})  # Versailles, 11 km away
    home, after = await points(clean_db, martin)
    assert after != before
    assert 150 <= great_circle_m(home, after) <= 400
