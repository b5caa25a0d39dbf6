"""An index behind every foreign key, so deleting an account or a household stays cheap.

PostgreSQL indexes the referenced side of a foreign key, not the referencing one. Deleting a row
that others point at (an account leaving, a household removed, a partner key deleted) makes it
find the referencing rows for `ON DELETE SET NULL / CASCADE`: without an index that is a scan of
the whole table per deleted row — on the France profile, deleting 1,000 accounts scanned the 2M
posts several times each and ran for more than ten minutes.

Columns that are mostly NULL (who claimed, hid or decided; which partner posted) get a partial
index `WHERE column IS NOT NULL`: only the rows a delete can touch are indexed. A test
(tests/db/test_foreign_key_indexes.py) fails when a later migration adds an unindexed key.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DENSE = (
    ("posts", "account_id"),
    ("comments", "account_id"),
    ("neighbourhood_roles", "neighbourhood_id"),
    ("partner_key_neighbourhoods", "neighbourhood_id"),
    ("loan_reviews", "reviewer_account_id"),
    ("neighbourhood_invitations", "created_by_account_id"),
    ("partner_authorisations", "granted_by_account_id"),
    ("partner_keys", "created_by_account_id"),
    ("reports", "reporter_household_id"),
)
SPARSE = (
    ("posts", "claimed_by_account_id"),
    ("posts", "claimed_by_household_id"),
    ("posts", "hidden_by_account_id"),
    ("posts", "posted_via_key_id"),
    ("households", "membership_decided_by_account_id"),
    ("neighbourhood_invitations", "used_by_household_id"),
    ("reports", "resolved_by_account_id"),
    ("reports", "target_household_id"),
)


def index_name(table: str, column: str) -> str:
    return f"ix_{table}_{column}"


def upgrade() -> None:
    for table, column in DENSE:
        op.create_index(index_name(table, column), table, [column])
    for table, column in SPARSE:
        op.create_index(
            index_name(table, column),
            table,
            [column],
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
        )


def downgrade() -> None:
    for table, column in (*SPARSE, *DENSE):
        op.drop_index(index_name(table, column), table_name=table)
