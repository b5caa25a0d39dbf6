"""Invitations to join a household: several accounts, one home.

A member of a household asks for a code (`inviteToHousehold`) and gives it to someone else, who
joins with it (`joinHousehold`). The code is random (128 bits), stored only as its SHA-256 digest,
expires (48 hours by default) and is used once: redemption is an UPDATE ... WHERE still usable, so
two accounts with one code cannot both join. Codes die with their household (CASCADE).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "household_invitations",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("household_id", sa.BigInteger(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_by_account_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by_account_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_household_invitations_household_id_households"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_household_invitations_created_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["used_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_household_invitations_used_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_invitations")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_household_invitations_code_hash")),
    )
    op.create_index(
        "ix_household_invitations_household_id", "household_invitations", ["household_id"]
    )
    op.create_index(
        "ix_household_invitations_created_by_account_id",
        "household_invitations",
        ["created_by_account_id"],
    )
    op.create_index(
        "ix_household_invitations_used_by_account_id",
        "household_invitations",
        ["used_by_account_id"],
    )


def downgrade() -> None:
    op.drop_table("household_invitations")
