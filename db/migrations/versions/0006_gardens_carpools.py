"""Gardens with waiting lists; carpools with per-date seat counters.

Gardens. `location` is the garden's exact point: the one given, or `ST_PointOnSurface` of its
boundary (always inside, unlike a centroid). `public_location` is the point searched and shown:
the garden's own point for a COMMUNITY garden, the owner household's public (displaced) location
for a PRIVATE one, whose exact place is usually the owner's home. Triggers fill both on every
write and follow the household when its public location moves, as for items (0003).

Carpools. Seats are never overbooked, whoever writes: a booking row's insert trigger bumps the
`carpool_departures` counter of its (carpool, date), whose CHECK keeps `seats_booked` within
`seats_total`. Concurrent bookings of the last seat wait on that counter row's lock; the later
one sees the full count and fails the CHECK (the query layer locks the row first, so the API
answers "full" without relying on the error). `bearing_deg` is computed by `geo.routes` on
insert so that the direction test is a plain comparison in SQL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLACE_GARDEN = """
CREATE FUNCTION gardens_place() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.boundary IS NOT NULL THEN
        NEW.location := ST_PointOnSurface(NEW.boundary);
    END IF;
    IF NEW.kind = 'PRIVATE' THEN
        SELECT h.public_location INTO NEW.public_location FROM households h
         WHERE h.id = NEW.household_id;
    ELSE
        NEW.public_location := NEW.location;
    END IF;
    RETURN NEW;
END
$$
"""
PLACE_GARDEN_TRIGGER = """
CREATE TRIGGER gardens_place
BEFORE INSERT OR UPDATE OF household_id, kind, location, boundary, public_location ON gardens
FOR EACH ROW EXECUTE FUNCTION gardens_place()
"""
FOLLOW_HOUSEHOLD = """
CREATE FUNCTION households_move_gardens() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE gardens SET public_location = NEW.public_location
     WHERE household_id = NEW.id AND kind = 'PRIVATE';
    RETURN NULL;
END
$$
"""
FOLLOW_HOUSEHOLD_TRIGGER = """
CREATE TRIGGER households_move_gardens
AFTER UPDATE OF public_location ON households
FOR EACH ROW WHEN (NOT ST_OrderingEquals(OLD.public_location, NEW.public_location))
EXECUTE FUNCTION households_move_gardens()
"""
COUNT_SEATS = """
CREATE FUNCTION carpool_bookings_count_seats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO carpool_departures AS d (carpool_id, departs_on, seats_total, seats_booked)
        SELECT c.id, NEW.departs_on, c.seats_total, 1 FROM carpools c WHERE c.id = NEW.carpool_id
        ON CONFLICT (carpool_id, departs_on) DO UPDATE SET seats_booked = d.seats_booked + 1;
        RETURN NEW;
    END IF;
    UPDATE carpool_departures SET seats_booked = seats_booked - 1
     WHERE carpool_id = OLD.carpool_id AND departs_on = OLD.departs_on;
    RETURN OLD;
END
$$
"""
COUNT_SEATS_TRIGGER = """
CREATE TRIGGER carpool_bookings_count_seats
BEFORE INSERT OR DELETE ON carpool_bookings
FOR EACH ROW EXECUTE FUNCTION carpool_bookings_count_seats()
"""
GEOGRAPHY_INDEXES = (
    "CREATE INDEX ix_gardens_public_location_geog "
    "ON gardens USING gist ((public_location::geography))",
    "CREATE INDEX ix_carpools_origin_geog ON carpools USING gist ((origin::geography))",
    "CREATE INDEX ix_carpools_destination_geog ON carpools USING gist ((destination::geography))",
    "CREATE INDEX ix_carpools_route_geog "
    "ON carpools USING gist ((route::geography)) WHERE route IS NOT NULL",
)


def created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def household_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["household_id"],
        ["households.id"],
        name=f"fk_{table}_household_id_households",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    # Check names go through `op.f`: final names, not prefixed again by the naming convention.
    op.create_table(
        "gardens",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("household_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("location", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column(
            "boundary", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=True
        ),
        sa.Column(
            "public_location", Geometry("POINT", srid=4326, spatial_index=False), nullable=False
        ),
        sa.Column("plots_total", sa.Integer(), nullable=False),
        sa.Column("plots_free", sa.Integer(), nullable=False),
        created_at(),
        sa.CheckConstraint("kind IN ('COMMUNITY', 'PRIVATE')", name=op.f("ck_gardens_kind")),
        sa.CheckConstraint(
            "char_length(name) BETWEEN 1 AND 120", name=op.f("ck_gardens_name_length")
        ),
        sa.CheckConstraint(
            "char_length(description) <= 2000", name=op.f("ck_gardens_description_length")
        ),
        sa.CheckConstraint(
            "boundary IS NULL OR (ST_IsValid(boundary) AND NOT ST_IsEmpty(boundary))",
            name=op.f("ck_gardens_valid_boundary"),
        ),
        sa.CheckConstraint("plots_total BETWEEN 1 AND 1000", name=op.f("ck_gardens_plots_total")),
        sa.CheckConstraint(
            "plots_free BETWEEN 0 AND plots_total", name=op.f("ck_gardens_plots_free")
        ),
        household_fk("gardens"),
        sa.PrimaryKeyConstraint("id", name="pk_gardens"),
    )
    op.create_index("ix_gardens_household_id", "gardens", ["household_id"])
    op.create_table(
        "garden_waitlist",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("garden_id", sa.BigInteger(), nullable=False),
        sa.Column("household_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "joined_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["garden_id"],
            ["gardens.id"],
            name="fk_garden_waitlist_garden_id_gardens",
            ondelete="CASCADE",
        ),
        household_fk("garden_waitlist"),
        sa.PrimaryKeyConstraint("id", name="pk_garden_waitlist"),
        sa.UniqueConstraint(
            "garden_id", "household_id", name="uq_garden_waitlist_garden_id_household_id"
        ),
    )
    op.create_index(
        "ix_garden_waitlist_garden_id_joined_at_id",
        "garden_waitlist",
        ["garden_id", "joined_at", "id"],
    )
    op.create_index("ix_garden_waitlist_household_id", "garden_waitlist", ["household_id"])
    op.create_table(
        "carpools",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("household_id", sa.BigInteger(), nullable=False),
        sa.Column("origin", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("destination", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("route", Geometry("LINESTRING", srid=4326, spatial_index=False), nullable=True),
        sa.Column("bearing_deg", sa.Float(), nullable=False),
        sa.Column("departs_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("weekdays", postgresql.ARRAY(sa.SmallInteger()), nullable=True),
        sa.Column("departure_time", sa.Time(), nullable=True),
        sa.Column("timezone", sa.Text(), server_default=sa.text("'Europe/Paris'"), nullable=False),
        sa.Column("seats_total", sa.SmallInteger(), nullable=False),
        sa.Column("description", sa.Text(), server_default=sa.text("''"), nullable=False),
        created_at(),
        sa.CheckConstraint(
            "(departs_at IS NULL) <> (weekdays IS NULL)", name=op.f("ck_carpools_one_schedule")
        ),
        sa.CheckConstraint(
            "(weekdays IS NULL) = (departure_time IS NULL)",
            name=op.f("ck_carpools_weekly_has_time"),
        ),
        sa.CheckConstraint(
            "cardinality(weekdays) BETWEEN 1 AND 7"
            " AND array_position(weekdays, NULL) IS NULL"
            " AND weekdays <@ '{1,2,3,4,5,6,7}'::smallint[]",
            name=op.f("ck_carpools_weekdays"),
        ),
        sa.CheckConstraint(
            "bearing_deg >= 0 AND bearing_deg < 360", name=op.f("ck_carpools_bearing")
        ),
        sa.CheckConstraint("seats_total BETWEEN 1 AND 8", name=op.f("ck_carpools_seats_total")),
        sa.CheckConstraint(
            "char_length(description) <= 1000", name=op.f("ck_carpools_description_length")
        ),
        household_fk("carpools"),
        sa.PrimaryKeyConstraint("id", name="pk_carpools"),
    )
    op.create_index("ix_carpools_household_id", "carpools", ["household_id"])
    op.create_table(
        "carpool_departures",
        sa.Column("carpool_id", sa.BigInteger(), nullable=False),
        sa.Column("departs_on", sa.Date(), nullable=False),
        sa.Column("seats_total", sa.SmallInteger(), nullable=False),
        sa.Column("seats_booked", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint(
            "seats_booked BETWEEN 0 AND seats_total", name=op.f("ck_carpool_departures_seats")
        ),
        sa.ForeignKeyConstraint(
            ["carpool_id"],
            ["carpools.id"],
            name="fk_carpool_departures_carpool_id_carpools",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("carpool_id", "departs_on", name="pk_carpool_departures"),
    )
    op.create_table(
        "carpool_bookings",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("carpool_id", sa.BigInteger(), nullable=False),
        sa.Column("departs_on", sa.Date(), nullable=False),
        sa.Column("household_id", sa.BigInteger(), nullable=False),
        created_at(),
        sa.ForeignKeyConstraint(
            ["carpool_id"],
            ["carpools.id"],
            name="fk_carpool_bookings_carpool_id_carpools",
            ondelete="CASCADE",
        ),
        household_fk("carpool_bookings"),
        sa.PrimaryKeyConstraint("id", name="pk_carpool_bookings"),
        sa.UniqueConstraint(
            "carpool_id",
            "departs_on",
            "household_id",
            name="uq_carpool_bookings_carpool_id_departs_on_household_id",
        ),
    )
    op.create_index("ix_carpool_bookings_household_id", "carpool_bookings", ["household_id"])
    for statement in (
        *GEOGRAPHY_INDEXES,
        PLACE_GARDEN,
        PLACE_GARDEN_TRIGGER,
        FOLLOW_HOUSEHOLD,
        FOLLOW_HOUSEHOLD_TRIGGER,
        COUNT_SEATS,
        COUNT_SEATS_TRIGGER,
    ):
        op.execute(sa.text(statement))


def downgrade() -> None:
    op.execute(sa.text("DROP TRIGGER households_move_gardens ON households"))
    op.execute(sa.text("DROP FUNCTION households_move_gardens()"))
    op.drop_table("carpool_bookings")  # drops its trigger too
    op.execute(sa.text("DROP FUNCTION carpool_bookings_count_seats()"))
    op.drop_table("carpool_departures")
    op.drop_table("carpools")
    op.drop_table("garden_waitlist")
    op.drop_table("gardens")
    op.execute(sa.text("DROP FUNCTION gardens_place()"))
