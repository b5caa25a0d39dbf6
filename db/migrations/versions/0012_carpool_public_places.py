"""Carpools match on public places: ends displaced once, the route clipped around the exact ends.

`carpoolMatches` is open to strangers. Compared with the exact meeting place, a radius answers
a yes/no question about it: walking a query point out until a trip stops matching, along three
bearings, and taking the circle through the three points gave the exact meeting place back
(under a metre, 96 requests; tests/security/test_trilateration.py). Matching, its ranking and
the distances shown now use `public_origin` and `public_destination` (each moved 150–400 m once,
as homes are: `geo.privacy.displace`), `public_route` (the route without what lies within
600–1,200 m of the exact ends, joined to the public ends: `geo.routes.route_to_public`) and
`public_bearing_deg` (between the public ends). The exact columns stay for the driver and, near
the departure, the passengers who booked.

Existing trips are backfilled here with `geo.routes.trip_to_public` (drawn once, stored). The
API computes the same on insert. A writer that gives no public places (the France seed's COPY)
gets them from a trigger: ends displaced in SQL exactly as `geo.privacy.displace` does (uniform
bearing, distance uniform over the 150–400 m annulus's area) and, for a route, the straight line
between the public ends, which reveals nothing of the way near either end.

The GiST indexes move to the columns the predicates now read; the exact columns' indexes are
dropped (no query reads them, and every insert paid for them).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from shapely import wkt

from geo.coords import LngLat
from geo.routes import trip_to_public

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXACT_INDEXES = (
    "CREATE INDEX ix_carpools_origin_geog ON carpools USING gist ((origin::geography))",
    "CREATE INDEX ix_carpools_destination_geog ON carpools USING gist ((destination::geography))",
    "CREATE INDEX ix_carpools_route_geog "
    "ON carpools USING gist ((route::geography)) WHERE route IS NOT NULL",
)
PUBLIC_INDEXES = (
    "CREATE INDEX ix_carpools_public_origin_geog "
    "ON carpools USING gist ((public_origin::geography))",
    "CREATE INDEX ix_carpools_public_destination_geog "
    "ON carpools USING gist ((public_destination::geography))",
    "CREATE INDEX ix_carpools_public_route_geog "
    "ON carpools USING gist ((public_route::geography)) WHERE public_route IS NOT NULL",
)

FILL_FUNCTION = """
CREATE FUNCTION carpools_fill_public_places() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.public_origin IS NULL THEN
        NEW.public_origin := ST_Project(
            NEW.origin::geography, sqrt(150.0 ^ 2 + random() * (400.0 ^ 2 - 150.0 ^ 2)),
            radians(random() * 360.0))::geometry;
        NEW.public_destination := ST_Project(
            NEW.destination::geography, sqrt(150.0 ^ 2 + random() * (400.0 ^ 2 - 150.0 ^ 2)),
            radians(random() * 360.0))::geometry;
        NEW.public_route := CASE WHEN NEW.route IS NOT NULL
                                 THEN ST_MakeLine(NEW.public_origin, NEW.public_destination) END;
        NEW.public_bearing_deg := degrees(ST_Azimuth(NEW.public_origin::geography,
                                                     NEW.public_destination::geography));
    END IF;
    RETURN NEW;
END
$$
"""
FILL_TRIGGER = """
CREATE TRIGGER carpools_fill_public_places
BEFORE INSERT ON carpools
FOR EACH ROW EXECUTE FUNCTION carpools_fill_public_places()
"""


def upgrade() -> None:
    for name in ("public_origin", "public_destination"):
        op.add_column(
            "carpools", sa.Column(name, Geometry("POINT", srid=4326, spatial_index=False))
        )
    op.add_column(
        "carpools",
        sa.Column("public_route", Geometry("LINESTRING", srid=4326, spatial_index=False)),
    )
    op.add_column("carpools", sa.Column("public_bearing_deg", sa.Float()))
    backfill()
    for name in ("public_origin", "public_destination", "public_bearing_deg"):
        op.alter_column("carpools", name, nullable=False)
    op.create_check_constraint(
        op.f("ck_carpools_public_bearing"),
        "carpools",
        "public_bearing_deg >= 0 AND public_bearing_deg < 360",
    )
    op.create_check_constraint(
        op.f("ck_carpools_public_route_with_route"),
        "carpools",
        "(route IS NULL) = (public_route IS NULL)",
    )
    op.execute(sa.text(FILL_FUNCTION))
    op.execute(sa.text(FILL_TRIGGER))
    for name in (
        "ix_carpools_origin_geog",
        "ix_carpools_destination_geog",
        "ix_carpools_route_geog",
    ):
        op.drop_index(name, table_name="carpools")
    for statement in PUBLIC_INDEXES:
        op.execute(sa.text(statement))


def backfill() -> None:
    """Each existing trip's public places, drawn once by `geo` (SystemRandom), in batches."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, ST_X(origin), ST_Y(origin), ST_X(destination), ST_Y(destination), "
            "ST_AsText(route) FROM carpools ORDER BY id"
        )
    ).all()
    update = sa.text(
        "UPDATE carpools SET public_origin = ST_SetSRID(ST_MakePoint(:olng, :olat), 4326), "
        "public_destination = ST_SetSRID(ST_MakePoint(:dlng, :dlat), 4326), "
        "public_route = ST_GeomFromText(:route, 4326), public_bearing_deg = :bearing "
        "WHERE id = :id"
    )
    batch = []
    for ident, olng, olat, dlng, dlat, route_wkt in rows:
        trip = trip_to_public(
            LngLat(lng=olng, lat=olat),
            LngLat(lng=dlng, lat=dlat),
            wkt.loads(route_wkt) if route_wkt is not None else None,
        )
        batch.append(
            {
                "id": ident,
                "olng": trip.origin.lng,
                "olat": trip.origin.lat,
                "dlng": trip.destination.lng,
                "dlat": trip.destination.lat,
                "route": trip.route.wkt if trip.route is not None else None,
                "bearing": trip.bearing_deg,
            }
        )
        if len(batch) == 1_000:
            conn.execute(update, batch)
            batch = []
    if batch:
        conn.execute(update, batch)


def downgrade() -> None:
    for name in (
        "ix_carpools_public_origin_geog",
        "ix_carpools_public_destination_geog",
        "ix_carpools_public_route_geog",
    ):
        op.drop_index(name, table_name="carpools")
    for statement in EXACT_INDEXES:
        op.execute(sa.text(statement))
    op.execute(sa.text("DROP TRIGGER carpools_fill_public_places ON carpools"))
    op.execute(sa.text("DROP FUNCTION carpools_fill_public_places()"))
    op.drop_constraint(op.f("ck_carpools_public_route_with_route"), "carpools", type_="check")
    op.drop_constraint(op.f("ck_carpools_public_bearing"), "carpools", type_="check")
    for name in ("public_bearing_deg", "public_route", "public_destination", "public_origin"):
        op.drop_column("carpools", name)
