"""Posts and comments through the real GraphQL endpoint on real PostGIS, with real places.

Two networks about 11 km apart: Chavenay (lng 1.99, lat 48.85) and Versailles (lng 2.13,
lat 48.80), each a square around its centre, so that a lng/lat swap puts homes nowhere near.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import graphql
import httpx
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.schema import export_sdl
from api.settings import PROJECT_ROOT, Settings
from api.types.post import PostKind
from db.models import POST_KINDS, Post
from db.queries import posts as post_queries
from geo.coords import LngLat
from tests.api.conftest import GraphQLClient, promote_to_admin
from tests.api.helpers import counting_client, member, node_id
from tests.api.test_neighbourhoods import create, square

pytestmark = pytest.mark.usefixtures("clean_db")

CHAVENAY = {"lng": 1.99, "lat": 48.85}
VERSAILLES = {"lng": 2.13, "lat": 48.80}
SALLE_DES_FETES = {"lng": 1.9853, "lat": 48.8521}  # Chavenay, near the church

CREATE_POST = """
mutation Create($input: CreatePostInput!) {
  createPost(input: $input) {
    __typename
    ... on CreatePostSuccess {
      post {
        id kind title body createdAt expiresAt startsAt placeName placeLocation { lng lat }
        author { name neighbourhoodName } neighbourhood { id name }
      }
    }
    ... on MutationError { code message }
    ... on ValidationError { field }
  }
}
"""

FEED = """
query Feed($id: ID!, $kinds: [PostKind!], $first: Int, $after: String) {
  neighbourhood(id: $id) {
    posts(kinds: $kinds, first: $first, after: $after) {
      pageInfo { hasNextPage hasPreviousPage endCursor }
      edges { cursor node { id title kind } }
    }
  }
}
"""

NEAR = """
query Near($near: LocationInput!, $kinds: [PostKind!], $first: Int, $after: String, $max: Int) {
  postsNear(near: $near, kinds: $kinds, first: $first, after: $after, maxDistanceMeters: $max) {
    searchedRadiusMeters
    pageInfo { hasNextPage endCursor }
    edges { cursor distanceMeters node { postId kind title createdAt neighbourhoodName } }
  }
}
"""

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename
    ... on Post { id title hiddenAt comments(first: 10) { edges { node { id body } } } }
    ... on Comment { id body author { name } post { title } }
  }
}
"""

CLAIM = """
mutation Claim($id: ID!) {
  claimGiveaway(id: $id) {
    __typename
    ... on ClaimGiveawaySuccess { post { claimedAt claimedBy { name } } }
    ... on MutationError { code message }
  }
}
"""

COMMENT = """
mutation Comment($postId: ID!, $body: String!) {
  addComment(postId: $postId, body: $body) {
    __typename
    ... on AddCommentSuccess { comment { id body author { name neighbourhoodName } } }
    ... on MutationError { code message }
  }
}
"""

COMMENTS = """
query Comments($id: ID!, $first: Int, $after: String) {
  node(id: $id) {
    ... on Post {
      comments(first: $first, after: $after) {
        pageInfo { hasNextPage endCursor }
        edges { node { body author { name } } }
      }
    }
  }
}
"""

HIDE = """
mutation Hide($id: ID!, $reason: String!) {
  hidePost(id: $id, reason: $reason) {
    __typename
    ... on HidePostSuccess { post { hiddenAt } }
    ... on MutationError { code message }
  }
}
"""

DELETE = """
mutation Delete($id: ID!) {
  deletePost(id: $id) { __typename ... on MutationError { code message } }
}
"""


async def network(gql: GraphQLClient, name: str, centre: dict[str, float]) -> tuple[str, Any]:
    """A square network around `centre`; returns its ID and its ambassador (the creator)."""
    ambassador = await gql.sign_up(name=f"Ambassadeur de {name}")
    created = await create(ambassador, name, square(centre["lng"], centre["lat"], 0.02))
    return created["neighbourhood"]["id"], ambassador


async def post(client: GraphQLClient, title: str, kind: str = "DISCUSSION", **extra: Any) -> Any:
    data = await client.data(CREATE_POST, {"input": {"kind": kind, "title": title, **extra}})
    result = data["createPost"]
    assert result["__typename"] == "CreatePostSuccess", result
    return result["post"]


async def feed(client: GraphQLClient, neighbourhood_id: str, **variables: Any) -> Any:
    data = await client.data(FEED, {"id": neighbourhood_id, **variables})
    return data["neighbourhood"]["posts"]


def titles(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["title"] for edge in connection["edges"]]


async def post_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(Post))).scalar_one())


@pytest.fixture
async def chavenay(gql: GraphQLClient) -> tuple[str, Any]:
    return await network(gql, "Chavenay", CHAVENAY)


async def test_a_post_lands_in_the_authors_neighbourhood_with_names_only(
    gql: GraphQLClient, chavenay: tuple[str, Any]
) -> None:
    neighbourhood_id, _ = chavenay
    martin = await member(gql, "Famille Martin", CHAVENAY)
    created = await post(martin, "Places de cinéma en trop", "OFFER", body="Deux places, ce soir.")
    assert created["neighbourhood"] == {"id": neighbourhood_id, "name": "Chavenay"}
    assert created["author"] == {"name": "Famille Martin", "neighbourhoodName": "Chavenay"}
    assert created["placeLocation"] is None and created["expiresAt"] is None


async def test_feed_is_newest_first_and_pages_stably_while_posts_arrive(
    gql: GraphQLClient, chavenay: tuple[str, Any]
) -> None:
    neighbourhood_id, _ = chavenay
    martin = await member(gql, "Famille Martin", CHAVENAY)
    for n in range(7):
        await post(martin, f"Annonce {n}")
    expected = [f"Annonce {n}" for n in range(6, -1, -1)]

    seen: list[str] = []
    after = None
    while True:
        page = await feed(martin, neighbourhood_id, first=3, after=after)
        seen += titles(page)
        if after is None:
            await post(martin, "Arrivée pendant la lecture")  # newer than every page
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert seen == expected
    assert titles(await feed(martin, neighbourhood_id, first=1)) == ["Arrivée pendant la lecture"]


async def test_posts_of_the_same_instant_page_by_id(
    gql: GraphQLClient, chavenay: tuple[str, Any], clean_db: AsyncEngine
) -> None:
    neighbourhood_id, _ = chavenay
    martin = await member(gql, "Famille Martin", CHAVENAY)
    for n in range(5):
        await post(martin, f"Annonce {n}")
    async with clean_db.begin() as conn:
        await conn.execute(update(Post).values(created_at=datetime(2026, 11, 27, 9, 0, tzinfo=UTC)))

    seen: list[str] = []
    after = None
    for _ in range(3):
        page = await feed(martin, neighbourhood_id, first=2, after=after)
        seen += titles(page)
        after = page["pageInfo"]["endCursor"]
    assert seen == [f"Annonce {n}" for n in (4, 3, 2, 1, 0)]


async def test_kinds_filter_keeps_only_those_kinds(
    gql: GraphQLClient, chavenay: tuple[str, Any]
) -> None:
    neighbourhood_id, _ = chavenay
    martin = await member(gql, "Famille Martin", CHAVENAY)
    await post(martin, "Chat perdu rue de la Mairie", "LOST_AND_FOUND")
    await post(martin, "Perceuse à prêter", "OFFER")
    await post(martin, "Vélo enfant à donner", "GIVEAWAY")

    only = await feed(martin, neighbourhood_id, kinds=["LOST_AND_FOUND", "GIVEAWAY"])
    assert titles(only) == ["Vélo enfant à donner", "Chat perdu rue de la Mairie"]
    assert len((await feed(martin, neighbourhood_id, kinds=[]))["edges"]) == 3


async def test_a_giveaway_expires_in_14_days_by_default_and_then_leaves_the_feed(
    gql: GraphQLClient, chavenay: tuple[str, Any], clean_db: AsyncEngine
) -> None:
    neighbourhood_id, _ = chavenay
    martin = await member(gql, "Famille Martin", CHAVENAY)
    giveaway = await post(martin, "Poussette à donner", "GIVEAWAY")
    created = datetime.fromisoformat(giveaway["createdAt"])
    expires = datetime.fromisoformat(giveaway["expiresAt"])
    assert timedelta(days=14) - timedelta(minutes=1) < expires - created <= timedelta(days=14)
    assert titles(await feed(martin, neighbourhood_id)) == ["Poussette à donner"]

    async with clean_db.begin() as conn:
        await conn.execute(update(Post).values(expires_at=func.now() - timedelta(seconds=1)))

    assert titles(await feed(martin, neighbourhood_id)) == []
    near = (await gql.data(NEAR, {"near": CHAVENAY}))["postsNear"]
    assert near["edges"] == []
    claimer = await member(gql, "Famille Petit", CHAVENAY)
    claim = (await claimer.data(CLAIM, {"id": giveaway["id"]}))["claimGiveaway"]
    assert claim["__typename"] == "ValidationError"


async def test_concurrent_claims_have_exactly_one_winner(
    gql: GraphQLClient, chavenay: tuple[str, Any], clean_db: AsyncEngine
) -> None:
    martin = await member(gql, "Famille Martin", CHAVENAY)
    giveaway = await post(martin, "Canapé à donner", "GIVEAWAY")
    claimers = [await member(gql, f"Famille {n}", CHAVENAY) for n in range(4)]

    results = await asyncio.gather(
        *(claimer.data(CLAIM, {"id": giveaway["id"]}) for claimer in claimers)
    )

    outcomes = [result["claimGiveaway"] for result in results]
    winners = [o for o in outcomes if o["__typename"] == "ClaimGiveawaySuccess"]
    losers = [o for o in outcomes if o["__typename"] == "AlreadyClaimedError"]
    assert len(winners) == 1 and len(losers) == 3, outcomes
    assert losers[0]["code"] == "ALREADY_CLAIMED"
    async with clean_db.connect() as conn:
        claimed_by = (await conn.execute(select(Post.claimed_by_household_id))).scalar_one()
    assert claimed_by is not None
    again = (await claimers[0].data(CLAIM, {"id": giveaway["id"]}))["claimGiveaway"]
    assert again["__typename"] == "AlreadyClaimedError"


async def test_authors_cannot_claim_their_own_giveaway_nor_anyone_a_discussion(
    gql: GraphQLClient, chavenay: tuple[str, Any]
) -> None:
    martin = await member(gql, "Famille Martin", CHAVENAY)
    giveaway = await post(martin, "Canapé à donner", "GIVEAWAY")
    discussion = await post(martin, "Fête des voisins ?")
    own = (await martin.data(CLAIM, {"id": giveaway["id"]}))["claimGiveaway"]
    assert own["__typename"] == "ValidationError"
    other = await member(gql, "Famille Petit", CHAVENAY)
    wrong_kind = (await other.data(CLAIM, {"id": discussion["id"]}))["claimGiveaway"]
    assert wrong_kind["__typename"] == "ValidationError"


async def test_members_of_another_neighbourhood_cannot_read_its_posts(
    gql: GraphQLClient, chavenay: tuple[str, Any], clean_db: AsyncEngine
) -> None:
    chavenay_id, _ = chavenay
    await network(gql, "Versailles", VERSAILLES)
    martin = await member(gql, "Famille Martin", CHAVENAY)
    neighbour = await member(gql, "Famille Petit", CHAVENAY)
    outsider = await member(gql, "Famille Durand", VERSAILLES)
    secret = await post(martin, "Chat perdu", "LOST_AND_FOUND", body="Il s'appelle Filou.")
    giveaway = await post(martin, "Livres à donner", "GIVEAWAY")
    comment = (await neighbour.data(COMMENT, {"postId": secret["id"], "body": "Vu au lavoir"}))[
        "addComment"
    ]["comment"]

    body = await outsider.execute(FEED, {"id": chavenay_id})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["data"]["neighbourhood"] == {"posts": None}
    anonymous = await gql.execute(FEED, {"id": chavenay_id})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await outsider.data(NODE, {"id": secret["id"]}))["node"] is None
    assert (await outsider.data(NODE, {"id": comment["id"]}))["node"] is None
    refused = await outsider.data(COMMENT, {"postId": secret["id"], "body": "Coucou"})
    assert refused["addComment"]["__typename"] == "NotFoundError"
    claim = (await outsider.data(CLAIM, {"id": giveaway["id"]}))["claimGiveaway"]
    assert claim["__typename"] == "NotFoundError"

    seen = await neighbour.data(NODE, {"id": comment["id"]})
    assert seen["node"]["post"]["title"] == "Chat perdu"
    admin = await gql.sign_up()
    await promote_to_admin(clean_db, admin)
    assert titles(await feed(admin, chavenay_id)) == ["Livres à donner", "Chat perdu"]


async def test_comments_are_oldest_first_and_for_members_only(
    gql: GraphQLClient, chavenay: tuple[str, Any]
) -> None:
    martin = await member(gql, "Famille Martin", CHAVENAY)
    petit = await member(gql, "Famille Petit", CHAVENAY)
    signed_in_only = await gql.sign_up()
    question = await post(martin, "Qui connaît un bon plombier ?", "REQUEST")
    for n, client in enumerate((petit, martin, petit)):
        result = await client.data(COMMENT, {"postId": question["id"], "body": f"Réponse {n}"})
        assert result["addComment"]["__typename"] == "AddCommentSuccess"
    no_household = await signed_in_only.data(COMMENT, {"postId": question["id"], "body": "Moi"})
    assert no_household["addComment"]["__typename"] == "NotFoundError"

    first = (await petit.data(COMMENTS, {"id": question["id"], "first": 2}))["node"]["comments"]
    assert [edge["node"]["body"] for edge in first["edges"]] == ["Réponse 0", "Réponse 1"]
    assert first["edges"][1]["node"]["author"] == {"name": "Famille Martin"}
    after = first["pageInfo"]["endCursor"]
    rest = await petit.data(COMMENTS, {"id": question["id"], "first": 2, "after": after})
    assert [edge["node"]["body"] for edge in rest["node"]["comments"]["edges"]] == ["Réponse 2"]


async def test_hidden_posts_leave_feeds_and_only_moderators_can_hide(
    gql: GraphQLClient, chavenay: tuple[str, Any]
) -> None:
    chavenay_id, ambassador = chavenay
    martin = await member(gql, "Famille Martin", CHAVENAY)
    petit = await member(gql, "Famille Petit", CHAVENAY)
    rude = await post(martin, "Message désagréable")
    await post(martin, "Vide-grenier dimanche")

    refused = (await petit.data(HIDE, {"id": rude["id"], "reason": "insultant"}))["hidePost"]
    assert refused["__typename"] == "ForbiddenError"
    hidden = (await ambassador.data(HIDE, {"id": rude["id"], "reason": "insultant"}))["hidePost"]
    assert hidden["__typename"] == "HidePostSuccess" and hidden["post"]["hiddenAt"]

    assert titles(await feed(petit, chavenay_id)) == ["Vide-grenier dimanche"]
    near = (await petit.data(NEAR, {"near": CHAVENAY}))["postsNear"]
    assert [edge["node"]["title"] for edge in near["edges"]] == ["Vide-grenier dimanche"]
    assert (await petit.data(NODE, {"id": rude["id"]}))["node"] is None
    moderated = (await ambassador.data(NODE, {"id": rude["id"]}))["node"]
    assert moderated["hiddenAt"] is not None


async def test_only_the_author_can_delete_a_post(
    gql: GraphQLClient, chavenay: tuple[str, Any], clean_db: AsyncEngine
) -> None:
    martin = await member(gql, "Famille Martin", CHAVENAY)
    petit = await member(gql, "Famille Petit", CHAVENAY)
    created = await post(martin, "Tondeuse à prêter", "OFFER")
    await petit.data(COMMENT, {"postId": created["id"], "body": "Je veux bien !"})

    refused = (await petit.data(DELETE, {"id": created["id"]}))["deletePost"]
    assert refused == {
        "__typename": "ForbiddenError",
        "code": "FORBIDDEN",
        "message": refused["message"],
    }
    deleted = (await martin.data(DELETE, {"id": created["id"]}))["deletePost"]
    assert deleted["__typename"] == "DeletePostSuccess"
    assert await post_count(clean_db) == 0
    async with clean_db.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM comments"))).scalar_one() == 0


async def test_a_post_stays_in_its_neighbourhood_when_the_author_moves(
    gql: GraphQLClient,
) -> None:
    martin = await member(gql, "Famille Martin", CHAVENAY)  # no network yet: an H3 cell
    before = await post(martin, "Bienvenue aux nouveaux")
    cell_id = before["neighbourhood"]["id"]
    chavenay_id, _ = await network(gql, "Chavenay", CHAVENAY)  # Martin is invited into it
    accepted = await martin.data("mutation { acceptNeighbourhoodMove { __typename } }")
    assert accepted["acceptNeighbourhoodMove"]["__typename"] == "NeighbourhoodMoveAccepted", (
        accepted
    )

    assert titles(await feed(martin, chavenay_id)) == []
    still = (await martin.data(NODE, {"id": before["id"]}))["node"]
    assert still["title"] == "Bienvenue aux nouveaux"
    after = await post(martin, "Premier message à Chavenay")
    assert after["neighbourhood"]["id"] == chavenay_id != cell_id


async def test_an_event_has_a_place_and_leaves_the_feed_when_it_ends(
    gql: GraphQLClient, chavenay: tuple[str, Any]
) -> None:
    martin = await member(gql, "Famille Martin", CHAVENAY)
    starts = datetime.now(UTC) + timedelta(days=3)
    event_post = await post(
        martin,
        "Fête des voisins",
        "EVENT",
        startsAt=starts.isoformat(),
        endsAt=(starts + timedelta(hours=5)).isoformat(),
        placeName="Salle des fêtes",
        placeLocation=SALLE_DES_FETES,
    )
    assert event_post["placeLocation"] == SALLE_DES_FETES
    assert datetime.fromisoformat(event_post["expiresAt"]) == starts + timedelta(hours=5)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kind": "EVENT", "placeName": "Salle des fêtes"}, "startsAt"),
        ({"kind": "OFFER", "placeName": "Salle des fêtes"}, "placeName"),
        ({"kind": "GIVEAWAY", "expiresAt": "2020-01-01T00:00:00+00:00"}, "expiresAt"),
        ({"kind": "GIVEAWAY", "expiresAt": "2030-01-01T00:00:00"}, "expiresAt"),
    ],
)
async def test_refuses_posts_that_break_the_kind_rules(
    gql: GraphQLClient,
    chavenay: tuple[str, Any],
    clean_db: AsyncEngine,
    overrides: dict[str, Any],
    field: str,
) -> None:
    martin = await member(gql, "Famille Martin", CHAVENAY)
    data = await martin.data(CREATE_POST, {"input": {"title": "Test", **overrides}})
    assert data["createPost"]["__typename"] == "ValidationError"
    assert data["createPost"]["field"] == field
    assert await post_count(clean_db) == 0


@pytest.fixture
async def roomy(settings: Settings, clean_db: AsyncEngine) -> AsyncIterator[GraphQLClient]:
    """A client of an app accepting 3 MB bodies, so that 1 MB reaches the resolver."""
    app = create_app(dataclasses.replace(settings, max_body_bytes=3_000_000))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield GraphQLClient(http)
    await app.state.reads.close()
    await app.state.engine.dispose()


@pytest.mark.parametrize(
    ("title", "body", "field"),
    [
        ("", "", "title"),
        ("   ", "", "title"),
        ("Poussette", "x" * 1_000_000, "body"),
        ("Poussette\x00", "", "title"),
        ("Poussette", "à donner\x00", "body"),
    ],
    ids=["empty-title", "blank-title", "1-MB-body", "NUL-in-title", "NUL-in-body"],
)
async def test_refuses_bad_text_and_writes_nothing(
    roomy: GraphQLClient, clean_db: AsyncEngine, title: str, body: str, field: str
) -> None:
    await network(roomy, "Chavenay", CHAVENAY)
    martin = await member(roomy, "Famille Martin", CHAVENAY)
    variables = {"input": {"kind": "GIVEAWAY", "title": title, "body": body}}
    data = await martin.data(CREATE_POST, variables)
    assert data["createPost"]["__typename"] == "ValidationError"
    assert data["createPost"]["code"] == "BAD_USER_INPUT"
    assert data["createPost"]["field"] == field
    assert await post_count(clean_db) == 0


async def test_a_1_mb_request_is_refused_before_graphql(
    gql: GraphQLClient, chavenay: tuple[str, Any], clean_db: AsyncEngine
) -> None:
    martin = await member(gql, "Famille Martin", CHAVENAY)
    variables = {"input": {"kind": "OFFER", "title": "Gros", "body": "x" * 1_000_000}}
    response = await martin.http.post(
        "/graphql", json={"query": CREATE_POST, "variables": variables}, headers=martin.headers
    )
    assert response.status_code == 413
    assert await post_count(clean_db) == 0


async def test_anonymous_and_householdless_accounts_cannot_post(gql: GraphQLClient) -> None:
    anonymous = await gql.data(CREATE_POST, {"input": {"kind": "OFFER", "title": "Test"}})
    assert anonymous["createPost"]["__typename"] == "UnauthenticatedError"
    lonely = await gql.sign_up()
    refused = await lonely.data(CREATE_POST, {"input": {"kind": "OFFER", "title": "Test"}})
    assert refused["createPost"]["__typename"] == "NotAMemberError"
    assert refused["createPost"]["code"] == "NOT_A_MEMBER"


async def test_posts_near_refuses_a_radius_below_the_floor(gql: GraphQLClient) -> None:
    body = await gql.execute(NEAR, {"near": CHAVENAY, "max": 100})
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "500" in error["message"]


async def test_posts_near_crosses_networks_with_rounded_distances_and_no_coordinates(
    gql: GraphQLClient, chavenay: tuple[str, Any], clean_db: AsyncEngine
) -> None:
    await network(gql, "Versailles", VERSAILLES)
    martin = await member(gql, "Famille Martin", CHAVENAY)
    durand = await member(gql, "Famille Durand", VERSAILLES)
    await post(martin, "Chat perdu", "LOST_AND_FOUND", body="Téléphone : 06 12 34 56 78")
    starts = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    await post(
        martin,
        "Pique-nique",
        "EVENT",
        startsAt=starts,
        placeName="Salle des fêtes",
        placeLocation=SALLE_DES_FETES,
    )
    await post(durand, "Places de cinéma en trop", "OFFER")

    response = await gql.http.post(
        "/graphql", json={"query": NEAR, "variables": {"near": CHAVENAY, "first": 10}}
    )
    raw = response.text
    near = response.json()["data"]["postsNear"]
    assert [edge["node"]["neighbourhoodName"] for edge in near["edges"]] == [
        "Chavenay",
        "Chavenay",
        "Versailles",
    ]
    async with clean_db.connect() as conn:
        points = (
            await conn.execute(
                select(
                    Post.title,
                    func.ST_X(Post.location),
                    func.ST_Y(Post.location),
                    func.ST_Distance(
                        func.Geography(Post.location),
                        func.Geography(func.ST_SetSRID(func.ST_MakePoint(1.99, 48.85), 4326)),
                        False,  # on the sphere, as the search's `<->` measures
                    ),
                )
            )
        ).all()
    exact = {str(title): float(distance) for title, _, _, distance in points}
    for edge in near["edges"]:
        shown = edge["distanceMeters"]
        true_m = exact[edge["node"]["title"]]
        assert shown >= 100 and shown % 100 == 0
        assert abs(shown - true_m) <= (50 if true_m < 2_000 else 250)
    for _, lng, lat, _ in points:
        assert f"{lng:.4f}" not in raw and f"{lat:.4f}" not in raw
    for forbidden_text in ('"lng"', '"lat"', "Location", "06 12 34", "Famille", "body"):
        assert forbidden_text not in raw
    assert near["searchedRadiusMeters"] == 50_000


async def test_posts_near_pages_nearest_first_without_repeats(
    gql: GraphQLClient, chavenay: tuple[str, Any]
) -> None:
    martin = await member(gql, "Famille Martin", CHAVENAY)
    starts = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    for step in range(1, 6):  # events 0.7 to 3.7 km east of Chavenay
        place = {"lng": 1.99 + 0.01 * step, "lat": 48.85}
        await post(
            martin,
            f"Événement {step}",
            "EVENT",
            startsAt=starts,
            placeName=f"Lieu {step}",
            placeLocation=place,
        )
    seen: list[str] = []
    after = None
    while True:
        page = (await gql.data(NEAR, {"near": CHAVENAY, "first": 2, "after": after}))["postsNear"]
        seen += [edge["node"]["title"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [f"Événement {step}" for step in range(1, 6)]
    only = (await gql.data(NEAR, {"near": CHAVENAY, "kinds": ["OFFER"]}))["postsNear"]
    assert only["edges"] == []


async def test_a_feed_page_of_50_costs_a_constant_number_of_statements(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    async with counting_client(settings) as (client, statements):
        neighbourhood_id, _ = await network(client, "Chavenay", CHAVENAY)
        authors = [await member(client, f"Famille {n}", CHAVENAY) for n in range(5)]
        async with clean_db.begin() as conn:
            ids = (await conn.execute(text("SELECT id FROM households ORDER BY id"))).scalars()
            for household_id in list(ids):
                for copy in range(12):
                    await post_queries.create_post(
                        conn,
                        int(household_id),
                        account_id=None,
                        kind=POST_KINDS[copy % len(POST_KINDS)],
                        title=f"Annonce {household_id}.{copy}",
                        body="",
                        expires_at=datetime.now(UTC) + timedelta(days=1),
                        starts_at=datetime.now(UTC) if copy % len(POST_KINDS) == 3 else None,
                        place_name="Salle des fêtes" if copy % len(POST_KINDS) == 3 else None,
                    )
        query = """
        query Feed($id: ID!, $first: Int) {
          neighbourhood(id: $id) {
            name
            posts(first: $first) {
              edges { node { title author { name neighbourhoodName } neighbourhood { name } } }
            }
          }
        }
        """
        counts = {}
        for first in (5, 50):
            statements.clear()
            data = await authors[0].data(query, {"id": neighbourhood_id, "first": first})
            assert len(data["neighbourhood"]["posts"]["edges"]) == first
            counts[first] = len(statements)
        names = {edge["node"]["author"]["name"] for edge in data["neighbourhood"]["posts"]["edges"]}

    assert len(names) > 1
    assert counts[50] == counts[5] <= 5, statements


async def test_posts_after_catches_up_oldest_first(
    gql: GraphQLClient, chavenay: tuple[str, Any], clean_db: AsyncEngine
) -> None:
    chavenay_id, _ = chavenay
    martin = await member(gql, "Famille Martin", CHAVENAY)
    for n in range(4):
        await post(martin, f"Annonce {n}")
    async with clean_db.connect() as conn:
        everything = await post_queries.posts_after(
            conn, node_id(chavenay_id), after=None, kinds=None, limit=10
        )
        assert [row.title for row in everything] == [f"Annonce {n}" for n in range(4)]
        cursor = (everything[1].created_at, everything[1].id)
        rest = await post_queries.posts_after(
            conn, node_id(chavenay_id), after=cursor, kinds=["DISCUSSION"], limit=10
        )
        none = await post_queries.posts_after(
            conn, node_id(chavenay_id), after=cursor, kinds=["EVENT"], limit=10
        )
    assert [row.title for row in rest] == ["Annonce 2", "Annonce 3"]
    assert none == []


async def test_feed_and_proximity_plans_use_their_indexes(clean_db: AsyncEngine) -> None:
    async with clean_db.connect() as conn:  # closed without commit: the SET is rolled back
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
        feed_plan = await explain(
            conn,
            select(Post.id)
            .where(Post.neighbourhood_id == 1, *post_queries.in_feeds())
            .order_by(Post.created_at.desc(), Post.id.desc())
            .limit(10),
        )
        near_plan = await explain(
            conn,
            post_queries.nearest_posts_query(
                LngLat(**CHAVENAY), kinds=["OFFER"], limit=10, after=(1234.5, 7), max_distance_m=5e4
            ),
        )
    assert "ix_posts_feed" in feed_plan and "Sort" not in feed_plan
    assert "ix_posts_location_geog" in near_plan and "Sort" not in near_plan


async def explain(conn: Any, statement: Any) -> str:
    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    rows = (await conn.execute(text(f"EXPLAIN {compiled}"))).scalars()
    return "\n".join(str(row) for row in rows)


async def test_graphql_kinds_match_the_database_check() -> None:
    assert tuple(kind.name for kind in PostKind) == POST_KINDS


def test_the_documented_examples_are_valid_against_the_schema() -> None:
    schema = graphql.build_schema(export_sdl())
    doc = (PROJECT_ROOT / "docs" / "posts.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```graphql\n(.*?)```", doc, re.DOTALL)
    assert len(blocks) >= 5
    for block in blocks:
        assert graphql.validate(schema, graphql.parse(block)) == [], block


async def test_listing_networks_shows_posts_of_ones_own_and_null_elsewhere(
    gql: GraphQLClient, chavenay: tuple[str, Any]
) -> None:
    await network(gql, "Versailles", VERSAILLES)
    martin = await member(gql, "Famille Martin", CHAVENAY)
    await post(martin, "Chat perdu", "LOST_AND_FOUND")
    query = """
    { neighbourhoods(near: {lng: 1.99, lat: 48.85}, first: 2) {
        edges { node { name posts(first: 5) { edges { node { title } } } } } } }
    """
    body = await martin.execute(query)
    nodes = [edge["node"] for edge in body["data"]["neighbourhoods"]["edges"]]
    assert nodes == [
        {"name": "Chavenay", "posts": {"edges": [{"node": {"title": "Chat perdu"}}]}},
        {"name": "Versailles", "posts": None},
    ]
    assert [error["extensions"]["code"] for error in body["errors"]] == ["FORBIDDEN"]
