"""PostGIS and extensions; neighbourhoods and households.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXTENSIONS = ("postgis", "unaccent", "pg_trgm", "btree_gist")


def upgrade() -> None:
    for extension in EXTENSIONS:
        op.execute(sa.text(f'CREATE EXTENSION IF NOT EXISTS "{extension}"'))
    op.create_table(
        "neighbourhoods",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column(
            "boundary",
            Geometry("MULTIPOLYGON", srid=4326, spatial_index=False),
            nullable=False,
        ),
        sa.Column("h3_cell", sa.String(16), nullable=True),
        sa.Column("commune_code", sa.String(5), nullable=True),
        sa.Column(
            "area_m2",
            sa.Float(),
            sa.Computed("ST_Area(boundary::geography)", persisted=True),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("kind IN ('POLYGON', 'H3_CELL')", name=op.f("ck_neighbourhoods_kind")),
        sa.CheckConstraint(
            "(kind = 'H3_CELL') = (h3_cell IS NOT NULL)", name=op.f("ck_neighbourhoods_cell_iff_h3")
        ),
        sa.CheckConstraint(
            "ST_IsValid(boundary) AND NOT ST_IsEmpty(boundary)",
            name=op.f("ck_neighbourhoods_valid_boundary"),
        ),
        sa.PrimaryKeyConstraint("id", name="pk_neighbourhoods"),
    )
    op.create_index(
        "uq_neighbourhoods_h3_cell",
        "neighbourhoods",
        ["h3_cell"],
        unique=True,
        postgresql_where=sa.text("kind = 'H3_CELL'"),
    )
    op.create_index(
        "ix_neighbourhoods_boundary", "neighbourhoods", ["boundary"], postgresql_using="gist"
    )
    op.execute(
        sa.text(
            "CREATE INDEX ix_neighbourhoods_boundary_geog "
            "ON neighbourhoods USING gist ((boundary::geography))"
        )
    )
    op.create_table(
        "households",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "home_location", Geometry("POINT", srid=4326, spatial_index=False), nullable=False
        ),
        sa.Column(
            "public_location", Geometry("POINT", srid=4326, spatial_index=False), nullable=False
        ),
        sa.Column("h3_cell", sa.String(16), nullable=False),
        sa.Column("neighbourhood_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["neighbourhood_id"],
            ["neighbourhoods.id"],
            name="fk_households_neighbourhood_id_neighbourhoods",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_households"),
    )
    op.create_index(
        "ix_households_home_location", "households", ["home_location"], postgresql_using="gist"
    )
    op.create_index("ix_households_neighbourhood_id", "households", ["neighbourhood_id"])
    op.execute(
        sa.text(
            "CREATE INDEX ix_households_public_location_geog "
            "ON households USING gist ((public_location::geography))"
        )
    )


def downgrade() -> None:
    op.drop_table("households")
    op.drop_table("neighbourhoods")
    # Extensions stay: other schemas of the same database may use PostGIS.
