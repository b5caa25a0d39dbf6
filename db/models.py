"""SQLAlchemy models: the shape of the tables, mirrored by the Alembic migrations.

Geometries are SRID 4326 (lng/lat). Distances are computed on the sphere through `::geography`
casts, served by expression GiST indexes declared in the migrations.
"""

from __future__ import annotations

from datetime import date, datetime, time

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    column,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR, ExcludeConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def one_of(column: str, values: tuple[str, ...]) -> str:
    """`column IN ('A', 'B')` for a CHECK over a fixed tuple of upper-case codes (no user input)."""
    assert all(value.replace("_", "").isalnum() for value in values)
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


MEMBERSHIP_POLICIES = ("OPEN", "APPROVAL")
MEMBERSHIP_STATUSES = ("APPROVED", "PENDING", "DECLINED")


class Neighbourhood(Base):
    """A neighbourhood network: a drawn polygon, or the H3 cell of people no polygon covers."""

    __tablename__ = "neighbourhoods"
    __table_args__ = (
        CheckConstraint("kind IN ('POLYGON', 'H3_CELL')", name="kind"),
        CheckConstraint("(kind = 'H3_CELL') = (h3_cell IS NOT NULL)", name="cell_iff_h3"),
        CheckConstraint("ST_IsValid(boundary) AND NOT ST_IsEmpty(boundary)", name="valid_boundary"),
        CheckConstraint(one_of("membership_policy", MEMBERSHIP_POLICIES), name="membership_policy"),
        Index(
            "uq_neighbourhoods_h3_cell",
            "h3_cell",
            unique=True,
            postgresql_where=text("kind = 'H3_CELL'"),
        ),
        Index("ix_neighbourhoods_boundary", "boundary", postgresql_using="gist"),
        Index(
            "ix_neighbourhoods_created_by_account_id",
            "created_by_account_id",
            "created_at",
            postgresql_where=text("created_by_account_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    boundary: Mapped[object] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False)
    )
    h3_cell: Mapped[str | None] = mapped_column(String(16))
    commune_code: Mapped[str | None] = mapped_column(String(5))
    membership_policy: Mapped[str] = mapped_column(String(16), server_default=text("'OPEN'"))
    """OPEN: living there makes a household a member; APPROVAL: an ambassador approves it."""
    area_m2: Mapped[float] = mapped_column(
        Float, Computed("ST_Area(boundary::geography)", persisted=True)
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by_account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="SET NULL", use_alter=True)
    )
    """Who drew it through the API (a quota counts these); NULL for cells, seeds, bulk imports."""


class NeighbourhoodMove(Base):
    """A move a drawn or changed boundary proposes to a household; it happens only if accepted.

    `to_neighbourhood_id` NULL: the H3_CELL neighbourhood of the household's own cell, created
    on acceptance (a proposal never creates a public row). `declined_at`: refused, kept so the
    same proposal is not made again (migration 0013)."""

    __tablename__ = "neighbourhood_moves"
    __table_args__ = (
        Index(
            "ix_neighbourhood_moves_to_neighbourhood_id",
            "to_neighbourhood_id",
            postgresql_where=text("to_neighbourhood_id IS NOT NULL"),
        ),
    )

    household_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("households.id", ondelete="CASCADE"), primary_key=True
    )
    to_neighbourhood_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("neighbourhoods.id", ondelete="CASCADE")
    )
    proposed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    declined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Household(Base):
    """A home. `home_location` is private: assignment only, shown to the household alone."""

    __tablename__ = "households"
    __table_args__ = (
        Index("ix_households_home_location", "home_location", postgresql_using="gist"),
        Index("ix_households_neighbourhood_id", "neighbourhood_id"),
        CheckConstraint(one_of("membership_status", MEMBERSHIP_STATUSES), name="membership_status"),
        Index(
            "ix_households_pending",
            "neighbourhood_id",
            "membership_requested_at",
            "id",
            postgresql_where=text("membership_status = 'PENDING'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    home_location: Mapped[object] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    public_location: Mapped[object] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False)
    )
    h3_cell: Mapped[str] = mapped_column(String(16))
    neighbourhood_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("neighbourhoods.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    membership_status: Mapped[str] = mapped_column(String(16), server_default=text("'APPROVED'"))
    """About the *current* neighbourhood; a trigger (migration 0009) resets it on every arrival."""
    membership_requested_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    membership_decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    membership_decided_by_account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="SET NULL", use_alter=True)
    )
    membership_decline_reason: Mapped[str | None] = mapped_column(Text)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Its last account was deleted: kept as an anonymous tombstone (migration 0014)."""


class Account(Base):
    """A person who signs in. Belongs to at most one household; a household may have several."""

    __tablename__ = "accounts"
    __table_args__ = (Index("ix_accounts_household_id", "household_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(Text, unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(Text)
    household_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("households.id", ondelete="SET NULL")
    )
    is_admin: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Set when the owner follows the e-mailed link; an unverified account cannot sign in."""
    digest_enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    """Opted in to the weekly digest e-mail (services.digest); off until asked for."""
    digest_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AccessToken(Base):
    """An opaque bearer token, stored only as its SHA-256 digest, with expiry and revocation."""

    __tablename__ = "access_tokens"
    __table_args__ = (Index("ix_access_tokens_account_id", "account_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="CASCADE")
    )
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NeighbourhoodRole(Base):
    """Roles beyond plain membership (which follows from the household): ambassadors."""

    __tablename__ = "neighbourhood_roles"
    __table_args__ = (CheckConstraint("role IN ('AMBASSADOR')", name="role"),)

    account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    neighbourhood_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("neighbourhoods.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16), server_default=text("'AMBASSADOR'"))


ITEM_CATEGORIES = (
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
ITEM_CONDITIONS = ("NEW", "GOOD", "FAIR", "WORN")
ITEM_TERMS = ("FREE", "DEPOSIT", "PRICE_PER_DAY")
MAX_PHOTOS = 8
SEARCH_CONFIG = "voisinage_fr"
"""French text search without accents: `french` with `unaccent` before the stemmer (0003)."""


class Item(Base):
    """Something a household lends. Its place is the lender's `public_location`, copied here.

    The copy is what lets one GiST index on `items` serve `nearest_lenders`: KNN (`<->`) and
    `ST_DWithin` on this table's own column, filtered by availability, category and text in the
    same index scan. Going through `households` instead would walk the nearest *households* and
    discard those lending nothing that matches, unboundedly. Triggers (migration 0003) fill the
    copy on insert and follow the household if its public location ever changes, so no writer
    can get it wrong. Never the exact home: only the displaced point is copied.
    """

    __tablename__ = "items"
    __table_args__ = (
        CheckConstraint(one_of("category", ITEM_CATEGORIES), name="category"),
        CheckConstraint(one_of("condition", ITEM_CONDITIONS), name="condition"),
        CheckConstraint(one_of("terms", ITEM_TERMS), name="terms"),
        CheckConstraint(
            "CASE terms"
            " WHEN 'FREE' THEN deposit_cents IS NULL AND price_per_day_cents IS NULL"
            " WHEN 'DEPOSIT' THEN deposit_cents IS NOT NULL AND price_per_day_cents IS NULL"
            " ELSE price_per_day_cents IS NOT NULL END",
            name="terms_amounts",
        ),
        CheckConstraint("deposit_cents > 0", name="deposit_positive"),
        CheckConstraint("price_per_day_cents > 0", name="price_positive"),
        CheckConstraint("char_length(title) BETWEEN 1 AND 120", name="title_length"),
        CheckConstraint("char_length(description) <= 2000", name="description_length"),
        CheckConstraint(
            f"cardinality(photo_urls) <= {MAX_PHOTOS}"
            " AND array_position(photo_urls, NULL) IS NULL"
            " AND array_to_string(photo_urls, ' ') ~ '^(https://[^[:space:]]+( |$))*$'",
            name="photo_urls_https",
        ),
        Index("ix_items_household_id", "household_id"),
        Index("ix_items_search", "search", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    household_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("households.id", ondelete="CASCADE")
    )
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default=text("''"))
    category: Mapped[str] = mapped_column(String(16))
    condition: Mapped[str] = mapped_column(String(16))
    terms: Mapped[str] = mapped_column(String(16))
    deposit_cents: Mapped[int | None] = mapped_column(Integer)
    price_per_day_cents: Mapped[int | None] = mapped_column(Integer)
    photo_urls: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    available: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    public_location: Mapped[object] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False)
    )
    search: Mapped[str] = mapped_column(
        TSVECTOR,
        Computed(
            f"to_tsvector('{SEARCH_CONFIG}'::regconfig, title || ' ' || description)",
            persisted=True,
        ),
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


POST_KINDS = (
    "OFFER",
    "REQUEST",
    "GIVEAWAY",
    "EVENT",
    "RECOMMENDATION",
    "DISCUSSION",
    "LOST_AND_FOUND",
)


class Post(Base):
    """A post in the feed of the neighbourhood its author's household was in when writing it.

    `location` is public by construction (migration 0004): the household's displaced public
    point copied at creation, or the event's place. It is what `postsNear` measures from, and it
    stays put when the household moves, like `neighbourhood_id`. A giveaway is claimed by the
    first conditional UPDATE that finds `claimed_at` NULL (see `db.queries.posts`).
    """

    __tablename__ = "posts"
    __table_args__ = (
        CheckConstraint(one_of("kind", POST_KINDS), name="kind"),
        CheckConstraint("char_length(title) BETWEEN 1 AND 120", name="title_length"),
        CheckConstraint("char_length(body) <= 5000", name="body_length"),
        CheckConstraint("kind <> 'GIVEAWAY' OR expires_at IS NOT NULL", name="giveaway_expires"),
        CheckConstraint(
            "CASE WHEN kind = 'EVENT'"
            " THEN starts_at IS NOT NULL AND place_name IS NOT NULL"
            " AND (ends_at IS NULL OR ends_at >= starts_at)"
            " ELSE starts_at IS NULL AND ends_at IS NULL AND place_name IS NULL"
            " AND place_location IS NULL END",
            name="event_fields",
        ),
        CheckConstraint("kind = 'GIVEAWAY' OR claimed_at IS NULL", name="claims_giveaways"),
        CheckConstraint("(hidden_at IS NULL) = (hidden_reason IS NULL)", name="hidden_reason"),
        CheckConstraint(
            "posted_via_key_id IS NULL OR posted_via IS NOT NULL", name="posted_via_named"
        ),
        Index("ix_posts_feed", "neighbourhood_id", text("created_at DESC"), text("id DESC")),
        Index("ix_posts_household_id", "household_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    neighbourhood_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("neighbourhoods.id", ondelete="CASCADE")
    )
    household_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("households.id", ondelete="CASCADE")
    )
    account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, server_default=text("''"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    place_name: Mapped[str | None] = mapped_column(Text)
    place_location: Mapped[object | None] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False)
    )
    location: Mapped[object] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by_household_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("households.id", ondelete="SET NULL")
    )
    claimed_by_account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    hidden_by_account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    posted_via_key_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("partner_keys.id", ondelete="SET NULL")
    )
    posted_via: Mapped[str | None] = mapped_column(Text)
    """The partner's name, copied when it posted on the household's behalf (0009)."""


class Comment(Base):
    """A reply under a post, oldest first; readable where the post is."""

    __tablename__ = "comments"
    __table_args__ = (
        CheckConstraint("char_length(body) BETWEEN 1 AND 2000", name="body_length"),
        Index("ix_comments_thread", "post_id", "created_at", "id"),
        Index("ix_comments_household_id", "household_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    post_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("posts.id", ondelete="CASCADE"))
    household_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("households.id", ondelete="CASCADE")
    )
    account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


LOAN_STATES = ("REQUESTED", "ACCEPTED", "DECLINED", "CANCELLED", "HANDED_OVER", "RETURNED")
BOOKED_LOAN_STATES = ("ACCEPTED", "HANDED_OVER")
"""States in which a loan holds its item's dates: no two such loans of one item may overlap."""
MAX_LOAN_DAYS = 60
"""Longest loan, in calendar days counting both the first and the last."""
MAX_SKILL_TAGS = 10


class Loan(Base):
    """A household borrowing another's item for calendar days `starts_on`..`ends_on` (inclusive).

    The state machine lives in the UPDATEs of `db.queries.loans` (each `WHERE state = ...`); the
    checks below keep the timestamps consistent with the state whoever writes. Double booking is
    refused by the exclusion constraint `ex_loans_item_booked` (migration 0005), atomically.
    """

    __tablename__ = "loans"
    __table_args__ = (
        CheckConstraint(one_of("state", LOAN_STATES), name="state"),
        CheckConstraint(
            f"ends_on >= starts_on AND ends_on - starts_on < {MAX_LOAN_DAYS}", name="dates"
        ),
        CheckConstraint("borrower_household_id <> lender_household_id", name="not_own_item"),
        CheckConstraint("char_length(message) <= 1000", name="message_length"),
        CheckConstraint(
            "(state = 'CANCELLED') = (cancelled_by IS NOT NULL)"
            " AND (cancelled_by IS NULL OR cancelled_by IN ('BORROWER', 'LENDER'))",
            name="cancelled_by",
        ),
        CheckConstraint(
            "(handed_over_at IS NOT NULL) = (state IN ('HANDED_OVER', 'RETURNED'))",
            name="handed_over",
        ),
        CheckConstraint(
            "(state = 'RETURNED')"
            " = (borrower_returned_at IS NOT NULL AND lender_returned_at IS NOT NULL)"
            " AND (state IN ('HANDED_OVER', 'RETURNED')"
            " OR (borrower_returned_at IS NULL AND lender_returned_at IS NULL))",
            name="returned",
        ),
        ExcludeConstraint(
            (column("item_id"), "="),
            (text("daterange(starts_on, ends_on, '[]')"), "&&"),
            name="ex_loans_item_booked",
            using="gist",
            where=text(one_of("state", BOOKED_LOAN_STATES)),
        ),
        Index(
            "ix_loans_borrower_household_id_created_at",
            "borrower_household_id",
            text("created_at DESC"),
            text("id DESC"),
        ),
        Index(
            "ix_loans_lender_household_id_created_at",
            "lender_household_id",
            text("created_at DESC"),
            text("id DESC"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("items.id", ondelete="CASCADE"))
    borrower_household_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("households.id", ondelete="CASCADE")
    )
    lender_household_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("households.id", ondelete="CASCADE")
    )
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), server_default=text("'REQUESTED'"))
    message: Mapped[str] = mapped_column(Text, server_default=text("''"))
    cancelled_by: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    handed_over_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    borrower_returned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lender_returned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Skill(Base):
    """Something a household offers to do or teach ("réparation de vélos", "cours de guitare").

    Tags are lower-cased, at most 10, each 1 to 40 characters without commas; the GIN index
    serves the `tags @> ARRAY[...]` filter.
    """

    __tablename__ = "skills"
    __table_args__ = (
        CheckConstraint("char_length(title) BETWEEN 1 AND 120", name="title_length"),
        CheckConstraint("char_length(description) <= 2000", name="description_length"),
        CheckConstraint(
            f"cardinality(tags) <= {MAX_SKILL_TAGS}"
            " AND array_position(tags, NULL) IS NULL"
            " AND array_to_string(tags, ',') = lower(array_to_string(tags, ','))"
            " AND array_to_string(tags, ',') ~ '^([^,]{1,40}(,|$))*$'",
            name="tags",
        ),
        Index("ix_skills_household_id", "household_id"),
        Index("ix_skills_tags", "tags", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    household_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("households.id", ondelete="CASCADE")
    )
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default=text("''"))
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


GARDEN_KINDS = ("COMMUNITY", "PRIVATE")
CARPOOL_TIMEZONE = "Europe/Paris"
"""Weekly departure times are wall-clock times in France, DST included."""


class Garden(Base):
    """A community garden, or a private garden its owner shares, with plots and a waiting list.

    `location` is exact (for a boundary, `ST_PointOnSurface`); `public_location` is what is
    searched and shown: the garden's point when COMMUNITY, the owner's public (displaced)
    location when PRIVATE, as a private garden is usually the owner's home. Triggers
    (migration 0006) fill both, so no writer can get the privacy rule wrong.
    """

    __tablename__ = "gardens"
    __table_args__ = (
        CheckConstraint(one_of("kind", GARDEN_KINDS), name="kind"),
        CheckConstraint("char_length(name) BETWEEN 1 AND 120", name="name_length"),
        CheckConstraint("char_length(description) <= 2000", name="description_length"),
        CheckConstraint(
            "boundary IS NULL OR (ST_IsValid(boundary) AND NOT ST_IsEmpty(boundary))",
            name="valid_boundary",
        ),
        CheckConstraint("plots_total BETWEEN 1 AND 1000", name="plots_total"),
        CheckConstraint("plots_free BETWEEN 0 AND plots_total", name="plots_free"),
        Index("ix_gardens_household_id", "household_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    household_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("households.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default=text("''"))
    location: Mapped[object] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    boundary: Mapped[object | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False)
    )
    public_location: Mapped[object] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False)
    )
    plots_total: Mapped[int] = mapped_column(Integer)
    plots_free: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class GardenWaitlistEntry(Base):
    """A household waiting for a plot; its position is its rank by (joined_at, id)."""

    __tablename__ = "garden_waitlist"
    __table_args__ = (
        UniqueConstraint("garden_id", "household_id"),
        Index("ix_garden_waitlist_garden_id_joined_at_id", "garden_id", "joined_at", "id"),
        Index("ix_garden_waitlist_household_id", "household_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    garden_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("gardens.id", ondelete="CASCADE"))
    household_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("households.id", ondelete="CASCADE")
    )
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Carpool(Base):
    """A trip a driver household offers: one-off (`departs_at`) or weekly (`weekdays` + time).

    `origin` is a meeting place the driver chose, shown exactly only to the driver and to
    passengers who booked (near the departure). Matching, which strangers can probe, reads only
    the `public_*` columns: ends displaced 150–400 m once, the route clipped around the exact
    ends, and `public_bearing_deg` between the public ends (`geo.routes.trip_to_public`,
    migration 0012), so that the same-direction test is a comparison in SQL.
    """

    __tablename__ = "carpools"
    __table_args__ = (
        CheckConstraint("(departs_at IS NULL) <> (weekdays IS NULL)", name="one_schedule"),
        CheckConstraint("(weekdays IS NULL) = (departure_time IS NULL)", name="weekly_has_time"),
        CheckConstraint(
            "cardinality(weekdays) BETWEEN 1 AND 7"
            " AND array_position(weekdays, NULL) IS NULL"
            " AND weekdays <@ '{1,2,3,4,5,6,7}'::smallint[]",
            name="weekdays",
        ),
        CheckConstraint("bearing_deg >= 0 AND bearing_deg < 360", name="bearing"),
        CheckConstraint(
            "public_bearing_deg >= 0 AND public_bearing_deg < 360", name="public_bearing"
        ),
        CheckConstraint("(route IS NULL) = (public_route IS NULL)", name="public_route_with_route"),
        CheckConstraint("seats_total BETWEEN 1 AND 8", name="seats_total"),
        CheckConstraint("char_length(description) <= 1000", name="description_length"),
        Index("ix_carpools_household_id", "household_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    household_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("households.id", ondelete="CASCADE")
    )
    origin: Mapped[object] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    destination: Mapped[object] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    route: Mapped[object | None] = mapped_column(
        Geometry("LINESTRING", srid=4326, spatial_index=False)
    )
    bearing_deg: Mapped[float] = mapped_column(Float)
    public_origin: Mapped[object] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    public_destination: Mapped[object] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False)
    )
    public_route: Mapped[object | None] = mapped_column(
        Geometry("LINESTRING", srid=4326, spatial_index=False)
    )
    public_bearing_deg: Mapped[float] = mapped_column(Float)
    departs_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    weekdays: Mapped[list[int] | None] = mapped_column(ARRAY(SmallInteger))
    departure_time: Mapped[time | None] = mapped_column(Time)
    timezone: Mapped[str] = mapped_column(Text, server_default=text(f"'{CARPOOL_TIMEZONE}'"))
    seats_total: Mapped[int] = mapped_column(SmallInteger)
    description: Mapped[str] = mapped_column(Text, server_default=text("''"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CarpoolDeparture(Base):
    """Seats booked on one date of a carpool; the CHECK is what makes overbooking impossible.

    Kept by a trigger on `carpool_bookings` (migration 0006); `seats_total` is copied from the
    carpool so that the CHECK stays within one row.
    """

    __tablename__ = "carpool_departures"
    __table_args__ = (CheckConstraint("seats_booked BETWEEN 0 AND seats_total", name="seats"),)

    carpool_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("carpools.id", ondelete="CASCADE"), primary_key=True
    )
    departs_on: Mapped[date] = mapped_column(Date, primary_key=True)
    seats_total: Mapped[int] = mapped_column(SmallInteger)
    seats_booked: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))


class CarpoolBooking(Base):
    """One seat a passenger household booked on one date (local, Europe/Paris) of a carpool."""

    __tablename__ = "carpool_bookings"
    __table_args__ = (
        UniqueConstraint("carpool_id", "departs_on", "household_id"),
        Index("ix_carpool_bookings_household_id", "household_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    carpool_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("carpools.id", ondelete="CASCADE")
    )
    departs_on: Mapped[date] = mapped_column(Date)
    household_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("households.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


PARTNER_SCOPES = ("READ_PUBLIC", "READ_NEIGHBOURHOODS", "READ_AGGREGATES", "POST_ON_BEHALF")


class PartnerKey(Base):
    """A partner app's key (town hall, association). Only SHA-256 digests of secrets are kept;
    during a rotation the previous secret stays valid until `previous_valid_until`."""

    __tablename__ = "partner_keys"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    previous_secret_hash: Mapped[bytes | None] = mapped_column(LargeBinary, unique=True)
    previous_valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    territory: Mapped[object | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False)
    )
    safelist_only: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_by_account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PartnerKeyNeighbourhood(Base):
    __tablename__ = "partner_key_neighbourhoods"

    key_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("partner_keys.id", ondelete="CASCADE"), primary_key=True
    )
    neighbourhood_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("neighbourhoods.id", ondelete="CASCADE"), primary_key=True
    )


class PersistedOperation(Base):
    """A GraphQL document registered for a partner, sent by its SHA-256 instead of its text."""

    __tablename__ = "persisted_operations"

    key_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("partner_keys.id", ondelete="CASCADE"), primary_key=True
    )
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


REPORT_REASONS = ("SPAM", "ABUSE", "DANGEROUS", "PERSONAL_DATA", "OTHER")
REPORT_STATUSES = ("OPEN", "RESOLVED")
REPORT_OUTCOMES = ("HIDE", "KEEP", "WARN")
REPORT_TARGETS = ("POST", "COMMENT", "ITEM", "SKILL", "HOUSEHOLD")
MAX_REPORT_DETAILS = 1000


class Report(Base):
    """A member's report of a post or a comment, queued for its neighbourhood's ambassadors.

    Reports are never deleted with what they report: `post_id`/`comment_id` become NULL when the
    author deletes it (`target_kind` and the `excerpt` copied at report time remain), so a report
    leaves the queue only by being resolved. `neighbourhood_id` is the reported post's (a
    comment's post's), copied, so the queue is one index scan.
    """

    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint(one_of("target_kind", REPORT_TARGETS), name="target_kind"),
        CheckConstraint(
            "num_nonnulls(post_id, comment_id, item_id, skill_id, reported_household_id) <= 1"
            " AND (post_id IS NULL OR target_kind = 'POST')"
            " AND (comment_id IS NULL OR target_kind = 'COMMENT')"
            " AND (item_id IS NULL OR target_kind = 'ITEM')"
            " AND (skill_id IS NULL OR target_kind = 'SKILL')"
            " AND (reported_household_id IS NULL OR target_kind = 'HOUSEHOLD')",
            name="one_target",
        ),
        CheckConstraint(one_of("reason", REPORT_REASONS), name="reason"),
        CheckConstraint(one_of("status", REPORT_STATUSES), name="status"),
        CheckConstraint(one_of("outcome", REPORT_OUTCOMES), name="outcome"),
        CheckConstraint(f"char_length(details) <= {MAX_REPORT_DETAILS}", name="details_length"),
        CheckConstraint(
            f"char_length(resolution_note) <= {MAX_REPORT_DETAILS}", name="note_length"
        ),
        CheckConstraint(
            "(status = 'RESOLVED') = (outcome IS NOT NULL)"
            " AND (status = 'RESOLVED') = (resolved_at IS NOT NULL)",
            name="resolved",
        ),
        Index("ix_reports_queue", "neighbourhood_id", "status", "created_at", "id"),
        Index(
            "ix_reports_reporter_account_id_created_at",
            "reporter_account_id",
            text("created_at DESC"),
            text("id DESC"),
        ),
        Index(
            "uq_reports_reporter_account_id_post_id",
            "reporter_account_id",
            "post_id",
            unique=True,
            postgresql_where=text("post_id IS NOT NULL"),
        ),
        Index(
            "uq_reports_reporter_account_id_comment_id",
            "reporter_account_id",
            "comment_id",
            unique=True,
            postgresql_where=text("comment_id IS NOT NULL"),
        ),
        Index("ix_reports_post_id", "post_id"),
        Index("ix_reports_comment_id", "comment_id"),
        Index(
            "uq_reports_reporter_account_id_item_id",
            "reporter_account_id",
            "item_id",
            unique=True,
            postgresql_where=text("item_id IS NOT NULL"),
        ),
        Index("ix_reports_item_id", "item_id"),
        Index(
            "uq_reports_reporter_account_id_skill_id",
            "reporter_account_id",
            "skill_id",
            unique=True,
            postgresql_where=text("skill_id IS NOT NULL"),
        ),
        Index("ix_reports_skill_id", "skill_id"),
        Index(
            "uq_reports_reporter_account_id_reported_household_id",
            "reporter_account_id",
            "reported_household_id",
            unique=True,
            postgresql_where=text("reported_household_id IS NOT NULL"),
        ),
        Index("ix_reports_reported_household_id", "reported_household_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    neighbourhood_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("neighbourhoods.id", ondelete="CASCADE")
    )
    target_kind: Mapped[str] = mapped_column(String(16))
    post_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("posts.id", ondelete="SET NULL")
    )
    comment_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("comments.id", ondelete="SET NULL")
    )
    item_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("items.id", ondelete="SET NULL")
    )
    skill_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("skills.id", ondelete="SET NULL")
    )
    reported_household_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("households.id", ondelete="SET NULL")
    )
    target_household_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("households.id", ondelete="SET NULL")
    )
    excerpt: Mapped[str] = mapped_column(Text)
    reporter_account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    reporter_household_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("households.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(String(16))
    details: Mapped[str] = mapped_column(Text, server_default=text("''"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    status: Mapped[str] = mapped_column(String(16), server_default=text("'OPEN'"))
    outcome: Mapped[str | None] = mapped_column(String(16))
    resolved_by_account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_note: Mapped[str] = mapped_column(Text, server_default=text("''"))


MAX_REVIEW_COMMENT = 1000


class LoanReview(Base):
    """One side's review of the other after a RETURNED loan: 1 to 5 stars, once per side.

    `reviewed_household_id` is the other party, copied so that a household's average is one
    index scan. That the loan is RETURNED and the reviewer a party is checked by the INSERT ...
    SELECT that writes the row (`db.queries.reviews`); RETURNED is final, so it cannot go stale.
    """

    __tablename__ = "loan_reviews"
    __table_args__ = (
        UniqueConstraint("loan_id", "reviewer_household_id"),
        CheckConstraint("stars BETWEEN 1 AND 5", name="stars"),
        CheckConstraint(f"char_length(comment) <= {MAX_REVIEW_COMMENT}", name="comment_length"),
        CheckConstraint("reviewer_household_id <> reviewed_household_id", name="not_self"),
        Index("ix_loan_reviews_reviewed_household_id", "reviewed_household_id"),
        Index("ix_loan_reviews_reviewer_household_id", "reviewer_household_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    loan_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("loans.id", ondelete="CASCADE"))
    reviewer_household_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("households.id", ondelete="CASCADE")
    )
    reviewed_household_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("households.id", ondelete="CASCADE")
    )
    reviewer_account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    stars: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(Text, server_default=text("''"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class NeighbourhoodInvitation(Base):
    """An ambassador's invitation to join a neighbourhood: a one-time code, stored only as its
    SHA-256 digest, with expiry and revocation. An account that signs up with the code reserves
    it; the household registered with it (in that neighbourhood) is approved at once."""

    __tablename__ = "neighbourhood_invitations"
    __table_args__ = (
        CheckConstraint("char_length(message) <= 500", name="message_length"),
        CheckConstraint("char_length(email) <= 254", name="email_length"),
        Index(
            "ix_neighbourhood_invitations_neighbourhood_id_created_at_id",
            "neighbourhood_id",
            "created_at",
            "id",
        ),
        Index("ix_neighbourhood_invitations_reserved_by_account_id", "reserved_by_account_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    neighbourhood_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("neighbourhoods.id", ondelete="CASCADE")
    )
    code_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    email: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text, server_default=text("''"))
    created_by_account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reserved_by_account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    used_by_household_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("households.id", ondelete="SET NULL")
    )


class HouseholdInvitation(Base):
    """A code to join a household (several accounts, one home): random, stored only as its
    SHA-256 digest, expiring, used once (migration 0017)."""

    __tablename__ = "household_invitations"
    __table_args__ = (
        Index("ix_household_invitations_household_id", "household_id"),
        Index("ix_household_invitations_created_by_account_id", "created_by_account_id"),
        Index("ix_household_invitations_used_by_account_id", "used_by_account_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    household_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("households.id", ondelete="CASCADE")
    )
    code_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    created_by_account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    used_by_account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="SET NULL")
    )


class PartnerAuthorisation(Base):
    """A household letting a partner key post on its behalf; revoked rows are kept (audit)."""

    __tablename__ = "partner_authorisations"
    __table_args__ = (Index("ix_partner_authorisations_key_id", "key_id"),)

    household_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("households.id", ondelete="CASCADE"), primary_key=True
    )
    key_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("partner_keys.id", ondelete="CASCADE"), primary_key=True
    )
    granted_by_account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


ACCOUNT_TOKEN_PURPOSES = ("VERIFY_EMAIL", "RESET_PASSWORD")


class AccountToken(Base):
    """A link e-mailed to an account's owner: verify the address, or reset the password.

    Only the SHA-256 of the token is kept; single use (`used_at`) and short-lived (`expires_at`).
    """

    __tablename__ = "account_tokens"
    __table_args__ = (
        CheckConstraint(one_of("purpose", ACCOUNT_TOKEN_PURPOSES), name="purpose"),
        Index(
            "ix_account_tokens_account_id_purpose_created_at",
            "account_id",
            "purpose",
            "created_at",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="CASCADE")
    )
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


FEEDBACK_KINDS = ("BUG", "IDEA", "PRAISE", "COMPLAINT", "QUESTION")
FEEDBACK_STATES = ("NEW", "IN_PROGRESS", "ANSWERED")


class Feedback(Base):
    """What someone told the team, signed in or not (then with an optional reply address);
    admins work through it by state and answer by e-mail (the answer is kept here too)."""

    __tablename__ = "feedback"
    __table_args__ = (
        CheckConstraint(one_of("kind", FEEDBACK_KINDS), name="kind"),
        CheckConstraint(one_of("state", FEEDBACK_STATES), name="state"),
        CheckConstraint("char_length(message) BETWEEN 1 AND 5000", name="message_length"),
        CheckConstraint("char_length(screen) <= 200", name="screen_length"),
        CheckConstraint("char_length(answer) <= 5000", name="answer_length"),
        CheckConstraint("char_length(email) <= 254", name="email_length"),
        Index("ix_feedback_state_created_at_id", "state", "created_at", "id"),
        Index("ix_feedback_account_id", "account_id"),
        Index("ix_feedback_answered_by_account_id", "answered_by_account_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    screen: Mapped[str | None] = mapped_column(Text)
    account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    email: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), server_default=text("'NEW'"))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_by_account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Notification(Base):
    """Something that concerned a household, stored when it happened (the inbox).

    Written by `db.queries.events.notify_household` in the transaction of the change it
    announces: stored if and only if that change commits. Per household, not per account:
    accounts sharing a household share its inbox and its read marks.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("char_length(message) <= 500", name="message"),
        Index("ix_notifications_household_id_id", "household_id", text("id DESC")),
        Index(
            "ix_notifications_unread",
            "household_id",
            postgresql_where=text("read_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    household_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("households.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(32))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(BigInteger)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
