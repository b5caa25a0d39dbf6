"""Partner API keys (scopes, granted neighbourhoods, territory, rotation) and persisted operations.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partner_keys",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(), nullable=False),
        sa.Column("previous_secret_hash", sa.LargeBinary(), nullable=True),
        sa.Column("previous_valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "territory", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=True
        ),
        sa.Column("safelist_only", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_by_account_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "scopes <@ ARRAY['READ_PUBLIC', 'READ_NEIGHBOURHOODS', 'READ_AGGREGATES']::text[]",
            name=op.f("ck_partner_keys_known_scopes"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_partner_keys_created_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_keys")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_partner_keys_secret_hash")),
        sa.UniqueConstraint(
            "previous_secret_hash", name=op.f("uq_partner_keys_previous_secret_hash")
        ),
    )
    op.create_table(
        "partner_key_neighbourhoods",
        sa.Column("key_id", sa.BigInteger(), nullable=False),
        sa.Column("neighbourhood_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["partner_keys.id"],
            name=op.f("fk_partner_key_neighbourhoods_key_id_partner_keys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["neighbourhood_id"],
            ["neighbourhoods.id"],
            name=op.f("fk_partner_key_neighbourhoods_neighbourhood_id_neighbourhoods"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "key_id", "neighbourhood_id", name=op.f("pk_partner_key_neighbourhoods")
        ),
    )
    op.create_table(
        "persisted_operations",
        sa.Column("key_id", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_persisted_operations_hex")),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["partner_keys.id"],
            name=op.f("fk_persisted_operations_key_id_partner_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key_id", "sha256", name=op.f("pk_persisted_operations")),
    )


def downgrade() -> None:
    op.drop_table("persisted_operations")
    op.drop_table("partner_key_neighbourhoods")
    op.drop_table("partner_keys")
