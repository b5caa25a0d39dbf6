"""Posts and comments: the neighbourhood feed, giveaways, events, and `postsNear`.

A post belongs to the neighbourhood its author's household was in when it was written, and stays
there when the household moves. Its `location` is public by construction: the author household's
displaced public point, copied at creation (never the exact home), or the place of an event. One
GiST index on that column serves the cross-neighbourhood proximity search; the feed is served by
(neighbourhood_id, created_at DESC, id DESC), the keyset order of `Neighbourhood.posts`.

Claiming a giveaway is a conditional UPDATE (`... WHERE claimed_at IS NULL RETURNING`): under
concurrent claims, PostgreSQL re-checks the condition on the row the first claim committed, so
exactly one claim succeeds, with no lock taken by the application.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of db.models.POST_KINDS: a migration describes the schema as it was at this revision.
KINDS = (
    "OFFER",
    "REQUEST",
    "GIVEAWAY",
    "EVENT",
    "RECOMMENDATION",
    "DISCUSSION",
    "LOST_AND_FOUND",
)


def one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def timestamp(name: str, *, nullable: bool = True, now: bool = False) -> sa.Column[object]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=sa.text("now()") if now else None,
        nullable=nullable,
    )


def upgrade() -> None:
    # Check names go through `op.f`: they are final, the naming convention must not prefix them.
    op.create_table(
        "posts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("neighbourhood_id", sa.BigInteger(), nullable=False),
        sa.Column("household_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), server_default=sa.text("''"), nullable=False),
        timestamp("created_at", nullable=False, now=True),
        timestamp("expires_at"),
        timestamp("starts_at"),
        timestamp("ends_at"),
        sa.Column("place_name", sa.Text(), nullable=True),
        sa.Column(
            "place_location", Geometry("POINT", srid=4326, spatial_index=False), nullable=True
        ),
        sa.Column("location", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        timestamp("claimed_at"),
        sa.Column("claimed_by_household_id", sa.BigInteger(), nullable=True),
        sa.Column("claimed_by_account_id", sa.BigInteger(), nullable=True),
        timestamp("hidden_at"),
        sa.Column("hidden_reason", sa.Text(), nullable=True),
        sa.Column("hidden_by_account_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(one_of("kind", KINDS), name=op.f("ck_posts_kind")),
        sa.CheckConstraint(
            "char_length(title) BETWEEN 1 AND 120", name=op.f("ck_posts_title_length")
        ),
        sa.CheckConstraint("char_length(body) <= 5000", name=op.f("ck_posts_body_length")),
        sa.CheckConstraint(
            "kind <> 'GIVEAWAY' OR expires_at IS NOT NULL",
            name=op.f("ck_posts_giveaway_expires"),
        ),
        sa.CheckConstraint(
            "CASE WHEN kind = 'EVENT'"
            " THEN starts_at IS NOT NULL AND place_name IS NOT NULL"
            " AND (ends_at IS NULL OR ends_at >= starts_at)"
            " ELSE starts_at IS NULL AND ends_at IS NULL AND place_name IS NULL"
            " AND place_location IS NULL END",
            name=op.f("ck_posts_event_fields"),
        ),
        sa.CheckConstraint(
            "kind = 'GIVEAWAY' OR claimed_at IS NULL", name=op.f("ck_posts_claims_giveaways")
        ),
        sa.CheckConstraint(
            "(hidden_at IS NULL) = (hidden_reason IS NULL)", name=op.f("ck_posts_hidden_reason")
        ),
        sa.ForeignKeyConstraint(
            ["neighbourhood_id"],
            ["neighbourhoods.id"],
            name="fk_posts_neighbourhood_id_neighbourhoods",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name="fk_posts_household_id_households",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_posts_account_id_accounts",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["claimed_by_household_id"],
            ["households.id"],
            name="fk_posts_claimed_by_household_id_households",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["claimed_by_account_id"],
            ["accounts.id"],
            name="fk_posts_claimed_by_account_id_accounts",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["hidden_by_account_id"],
            ["accounts.id"],
            name="fk_posts_hidden_by_account_id_accounts",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_posts"),
    )
    op.create_index(
        "ix_posts_feed",
        "posts",
        ["neighbourhood_id", sa.text("created_at DESC"), sa.text("id DESC")],
    )
    op.create_index("ix_posts_household_id", "posts", ["household_id"])
    # Partial: hidden posts are never searched by distance.
    op.execute(
        sa.text(
            "CREATE INDEX ix_posts_location_geog "
            "ON posts USING gist ((location::geography)) WHERE hidden_at IS NULL"
        )
    )
    op.create_table(
        "comments",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("post_id", sa.BigInteger(), nullable=False),
        sa.Column("household_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        timestamp("created_at", nullable=False, now=True),
        timestamp("hidden_at"),
        sa.CheckConstraint(
            "char_length(body) BETWEEN 1 AND 2000", name=op.f("ck_comments_body_length")
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name="fk_comments_post_id_posts", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name="fk_comments_household_id_households",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_comments_account_id_accounts",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_comments"),
    )
    op.create_index("ix_comments_thread", "comments", ["post_id", "created_at", "id"])
    op.create_index("ix_comments_household_id", "comments", ["household_id"])


def downgrade() -> None:
    op.drop_table("comments")
    op.drop_table("posts")
