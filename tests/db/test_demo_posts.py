"""The demo posts stage on top of the demo seed: every kind, French text, idempotent."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models import POST_KINDS
from seeds.demo import load_demo
from seeds.demo_posts import DEMO_POSTS, create_demo_posts

POSTS_BY_COMMUNE = text(
    """
    SELECT n.commune_code, p.kind, p.title, p.expires_at > now() OR p.expires_at IS NULL
      FROM posts p JOIN neighbourhoods n ON n.id = p.neighbourhood_id
    """
)

MEMBER_POSTS = text(
    """
    SELECT p.title FROM posts p JOIN accounts a ON a.id = p.account_id
     WHERE a.email = 'membre@demo.voisinage.fr'
    """
)


async def test_demo_posts_cover_every_kind_in_three_networks_once(
    clean_db: AsyncEngine, database_url: str
) -> None:
    await load_demo(database_url)
    async with clean_db.begin() as conn:
        await create_demo_posts(conn)
        await create_demo_posts(conn)  # a second run adds nothing
        rows = (await conn.execute(POSTS_BY_COMMUNE)).all()
        comments = (await conn.execute(text("SELECT count(*) FROM comments"))).scalar_one()

    assert len(rows) == len(DEMO_POSTS)
    assert {kind for _, kind, _, _ in rows} == set(POST_KINDS)
    assert {code for code, _, _, _ in rows} == {"78152", "78646", "78490"}
    assert ("78152", "LOST_AND_FOUND", "Chat perdu", True) in rows
    assert all(in_feed for _, _, _, in_feed in rows)
    assert comments == sum(len(post.comments) for post in DEMO_POSTS)


async def test_the_demo_member_authors_a_post_she_can_delete(
    clean_db: AsyncEngine, database_url: str
) -> None:
    await load_demo(database_url)
    async with clean_db.begin() as conn:
        await create_demo_posts(conn)
        titles = (await conn.execute(MEMBER_POSTS)).scalars().all()
    assert "Places de cinéma en trop" in titles
