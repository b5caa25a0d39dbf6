"""Items to lend, French full-text search, and the proximity index behind `nearestLenders`.

An item has no place of its own: it is at its lender's public (displaced) location. That point is
copied onto the item (`items.public_location`) so that one partial GiST index on this table serves
the proximity search: KNN (`<->`) for the order and `ST_DWithin` for the bound, with availability,
category and text filtered in the same scan. Ordering through `households` instead would walk the
nearest households one by one and throw away every one lending nothing that matches. Two triggers
keep the copy right whoever writes: one fills it on insert (or a change of lender), one follows a
household whose public location changes.

Text search uses `voisinage_fr`: the `french` configuration with `unaccent` in front of the
stemmer, so "perceuse" matches "Perceuses à percussion" and "electrique" matches "électrique".

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of db.models' tuples: a migration describes the schema as it was at this revision.
CATEGORIES = (
    "TOOLS",
    "GARDEN",
    "KITCHEN",
    "DIY",
    "CLEANING",
    "SPORTS",
    "KIDS",
    "BOOKS",
    "GAMES",
    "MUSIC",
    "CAMPING",
    "VEHICLES",
    "BIKES",
    "APPLIANCES",
    "ELECTRONICS",
    "PARTY",
    "FURNITURE",
    "MOVING",
    "LADDERS",
    "SEWING",
    "PETS",
    "TRAVEL",
    "PHOTO",
    "COMPUTING",
    "HEALTH",
    "BABY",
    "COSTUMES",
    "WINTER",
    "BEACH",
    "OTHER",
)
CONDITIONS = ("NEW", "GOOD", "FAIR", "WORN")
TERMS = ("FREE", "DEPOSIT", "PRICE_PER_DAY")


def one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


SEARCH_CONFIG = (
    "CREATE TEXT SEARCH CONFIGURATION voisinage_fr (COPY = french)",
    "ALTER TEXT SEARCH CONFIGURATION voisinage_fr "
    "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem",
)

COPY_LOCATION = """
CREATE FUNCTION items_copy_public_location() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT h.public_location INTO NEW.public_location FROM households h
     WHERE h.id = NEW.household_id;
    RETURN NEW;
END
$$
"""
COPY_LOCATION_TRIGGER = """
CREATE TRIGGER items_copy_public_location
BEFORE INSERT OR UPDATE OF household_id, public_location ON items
FOR EACH ROW EXECUTE FUNCTION items_copy_public_location()
"""
FOLLOW_HOUSEHOLD = """
CREATE FUNCTION households_move_items() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE items SET public_location = NEW.public_location WHERE household_id = NEW.id;
    RETURN NULL;
END
$$
"""
FOLLOW_HOUSEHOLD_TRIGGER = """
CREATE TRIGGER households_move_items
AFTER UPDATE OF public_location ON households
FOR EACH ROW WHEN (NOT ST_OrderingEquals(OLD.public_location, NEW.public_location))
EXECUTE FUNCTION households_move_items()
"""


def upgrade() -> None:
    # Check names go through `op.f`: they are final, the metadata's naming convention must not
    # prefix them a second time.
    for statement in SEARCH_CONFIG:
        op.execute(sa.text(statement))
    op.create_table(
        "items",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("household_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("condition", sa.String(16), nullable=False),
        sa.Column("terms", sa.String(16), nullable=False),
        sa.Column("deposit_cents", sa.Integer(), nullable=True),
        sa.Column("price_per_day_cents", sa.Integer(), nullable=True),
        sa.Column(
            "photo_urls",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("available", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "public_location", Geometry("POINT", srid=4326, spatial_index=False), nullable=False
        ),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(
                "to_tsvector('voisinage_fr'::regconfig, title || ' ' || description)",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(one_of("category", CATEGORIES), name=op.f("ck_items_category")),
        sa.CheckConstraint(one_of("condition", CONDITIONS), name=op.f("ck_items_condition")),
        sa.CheckConstraint(one_of("terms", TERMS), name=op.f("ck_items_terms")),
        sa.CheckConstraint(
            "CASE terms"
            " WHEN 'FREE' THEN deposit_cents IS NULL AND price_per_day_cents IS NULL"
            " WHEN 'DEPOSIT' THEN deposit_cents IS NOT NULL AND price_per_day_cents IS NULL"
            " ELSE price_per_day_cents IS NOT NULL END",
            name=op.f("ck_items_terms_amounts"),
        ),
        sa.CheckConstraint("deposit_cents > 0", name=op.f("ck_items_deposit_positive")),
        sa.CheckConstraint("price_per_day_cents > 0", name=op.f("ck_items_price_positive")),
        sa.CheckConstraint(
            "char_length(title) BETWEEN 1 AND 120", name=op.f("ck_items_title_length")
        ),
        sa.CheckConstraint(
            "char_length(description) <= 2000", name=op.f("ck_items_description_length")
        ),
        sa.CheckConstraint(
            "cardinality(photo_urls) <= 8"
            " AND array_position(photo_urls, NULL) IS NULL"
            " AND array_to_string(photo_urls, ' ') ~ '^(https://[^[:space:]]+( |$))*$'",
            name=op.f("ck_items_photo_urls_https"),
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name="fk_items_household_id_households",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_items"),
    )
    op.create_index("ix_items_household_id", "items", ["household_id"])
    op.create_index("ix_items_search", "items", ["search"], postgresql_using="gin")
    # Partial: only available items are ever searched by distance, so lent-out ones cost nothing.
    op.execute(
        sa.text(
            "CREATE INDEX ix_items_public_location_geog "
            "ON items USING gist ((public_location::geography)) WHERE available"
        )
    )
    for statement in (COPY_LOCATION, COPY_LOCATION_TRIGGER, FOLLOW_HOUSEHOLD):
        op.execute(sa.text(statement))
    op.execute(sa.text(FOLLOW_HOUSEHOLD_TRIGGER))


def downgrade() -> None:
    op.execute(sa.text("DROP TRIGGER households_move_items ON households"))
    op.execute(sa.text("DROP FUNCTION households_move_items()"))
    op.drop_table("items")  # drops its trigger too
    op.execute(sa.text("DROP FUNCTION items_copy_public_location()"))
    op.execute(sa.text("DROP TEXT SEARCH CONFIGURATION voisinage_fr"))
