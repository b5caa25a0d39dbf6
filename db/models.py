"""SQLAlchemy models: the shape of the tables, mirrored by the Alembic migrations.

Geometries are SRID 4326 (lng/lat). Distances are computed on the sphere through `::geography`
casts, served by expression GiST indexes declared in the migrations.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Text,
    func,
    text,
)
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


class Neighbourhood(Base):
    """A neighbourhood network: a drawn polygon, or the H3 cell of people no polygon covers."""

    __tablename__ = "neighbourhoods"
    __table_args__ = (
        CheckConstraint("kind IN ('POLYGON', 'H3_CELL')", name="kind"),
        CheckConstraint("(kind = 'H3_CELL') = (h3_cell IS NOT NULL)", name="cell_iff_h3"),
        CheckConstraint("ST_IsValid(boundary) AND NOT ST_IsEmpty(boundary)", name="valid_boundary"),
        Index(
            "uq_neighbourhoods_h3_cell",
            "h3_cell",
            unique=True,
            postgresql_where=text("kind = 'H3_CELL'"),
        ),
        Index("ix_neighbourhoods_boundary", "boundary", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    boundary: Mapped[object] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False)
    )
    h3_cell: Mapped[str | None] = mapped_column(String(16))
    commune_code: Mapped[str | None] = mapped_column(String(5))
    area_m2: Mapped[float] = mapped_column(
        Float, Computed("ST_Area(boundary::geography)", persisted=True)
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Household(Base):
    """A home. `home_location` is private: assignment only, shown to the household alone."""

    __tablename__ = "households"
    __table_args__ = (
        Index("ix_households_home_location", "home_location", postgresql_using="gist"),
        Index("ix_households_neighbourhood_id", "neighbourhood_id"),
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
