"""Drawing a network invites households instead of moving them (issue #13, item 1).

`neighbourhood_moves` holds, per household, the move a drawn or changed boundary proposes: the
neighbourhood the assignment rule now gives its home (NULL: the H3_CELL neighbourhood of its own
cell, created only when it accepts, so that a proposal never creates a public row that says
where a home is). The household moves only when it accepts; `declined_at` keeps a refusal so the
same proposal is not made again on every redraw. One row per household: a newer boundary change
replaces the proposal.

`neighbourhoods.created_by_account_id` counts the networks an account drew recently (a quota
on `createNeighbourhood`); NULL for cells, seeds and bulk imports.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "neighbourhood_moves",
        sa.Column("household_id", sa.BigInteger(), nullable=False),
        sa.Column("to_neighbourhood_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "proposed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_neighbourhood_moves_household_id_households"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_neighbourhood_id"],
            ["neighbourhoods.id"],
            name=op.f("fk_neighbourhood_moves_to_neighbourhood_id_neighbourhoods"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("household_id", name=op.f("pk_neighbourhood_moves")),
    )
    op.create_index(
        "ix_neighbourhood_moves_to_neighbourhood_id",
        "neighbourhood_moves",
        ["to_neighbourhood_id"],
        postgresql_where=sa.text("to_neighbourhood_id IS NOT NULL"),
    )
    op.add_column(
        "neighbourhoods", sa.Column("created_by_account_id", sa.BigInteger(), nullable=True)
    )
    op.create_foreign_key(
        op.f("fk_neighbourhoods_created_by_account_id_accounts"),
        "neighbourhoods",
        "accounts",
        ["created_by_account_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(
        "ix_neighbourhoods_created_by_account_id",
        "neighbourhoods",
        ["created_by_account_id", "created_at"],
        postgresql_where=sa.text("created_by_account_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_neighbourhoods_created_by_account_id", table_name="neighbourhoods")
    op.drop_constraint(
        op.f("fk_neighbourhoods_created_by_account_id_accounts"),
        "neighbourhoods",
        type_="foreignkey",
    )
    op.drop_column("neighbourhoods", "created_by_account_id")
    op.drop_index("ix_neighbourhood_moves_to_neighbourhood_id", table_name="neighbourhood_moves")
    op.drop_table("neighbourhood_moves")
