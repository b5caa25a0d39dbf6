"""Stored notifications (the inbox), the weekly digest's opt-in, reports of more subjects.

`notifications`: every `notify_household` call also writes a row, in the same transaction as the
change it announces, so a notification is stored if and only if that change commits. Read by
household, newest first: the index `(household_id, id DESC)` serves the inbox page, and the
partial index on unread rows serves `unreadNotificationCount` without reading the read ones.
Notifications belong to the household (several accounts may share one).

`accounts.digest_enabled`: the weekly e-mail "ce qu'il s'est passé cette semaine dans votre
voisinage" is opt-in (false for everyone until they ask), `digest_sent_at` makes a second run in
the same week send nothing twice.

`reports`: items, skills and households may be reported too (`item_id`, `skill_id`,
`reported_household_id`, with `target_kind` ITEM, SKILL, HOUSEHOLD). A household is how the API
shows the people behind accounts (an account's own ID is shown to nobody else), so reporting a
neighbour reports their household. One report per account and subject, as for posts.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of db.models' values: a migration describes the schema as it was at this revision.
OLD_TARGETS = ("POST", "COMMENT")
TARGETS = ("POST", "COMMENT", "ITEM", "SKILL", "HOUSEHOLD")
OLD_ONE_TARGET = (
    "num_nonnulls(post_id, comment_id) <= 1"
    " AND (post_id IS NULL OR target_kind = 'POST')"
    " AND (comment_id IS NULL OR target_kind = 'COMMENT')"
)
ONE_TARGET = (
    "num_nonnulls(post_id, comment_id, item_id, skill_id, reported_household_id) <= 1"
    " AND (post_id IS NULL OR target_kind = 'POST')"
    " AND (comment_id IS NULL OR target_kind = 'COMMENT')"
    " AND (item_id IS NULL OR target_kind = 'ITEM')"
    " AND (skill_id IS NULL OR target_kind = 'SKILL')"
    " AND (reported_household_id IS NULL OR target_kind = 'HOUSEHOLD')"
)
SUBJECTS = (("item_id", "items"), ("skill_id", "skills"), ("reported_household_id", "households"))


def one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "household_id",
            sa.BigInteger,
            sa.ForeignKey("households.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject_type", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.BigInteger, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("read_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("char_length(message) <= 500", name=op.f("ck_notifications_message")),
    )
    op.create_index(
        "ix_notifications_household_id_id",
        "notifications",
        ["household_id", sa.text("id DESC")],
    )
    op.create_index(
        "ix_notifications_unread",
        "notifications",
        ["household_id"],
        postgresql_where=sa.text("read_at IS NULL"),
    )
    op.add_column(
        "accounts",
        sa.Column("digest_enabled", sa.Boolean, server_default=sa.text("false"), nullable=False),
    )
    op.add_column("accounts", sa.Column("digest_sent_at", sa.DateTime(timezone=True)))
    for column, table in SUBJECTS:
        op.add_column(
            "reports",
            sa.Column(column, sa.BigInteger, sa.ForeignKey(f"{table}.id", ondelete="SET NULL")),
        )
        op.create_index(f"ix_reports_{column}", "reports", [column])
        op.create_index(
            f"uq_reports_reporter_account_id_{column}",
            "reports",
            ["reporter_account_id", column],
            unique=True,
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
        )
    replace_checks(TARGETS, ONE_TARGET)


def replace_checks(targets: tuple[str, ...], one_target: str) -> None:
    op.drop_constraint(op.f("ck_reports_target_kind"), "reports", type_="check")
    op.drop_constraint(op.f("ck_reports_one_target"), "reports", type_="check")
    op.create_check_constraint(
        op.f("ck_reports_target_kind"), "reports", one_of("target_kind", targets)
    )
    op.create_check_constraint(op.f("ck_reports_one_target"), "reports", one_target)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM reports WHERE target_kind IN ('ITEM', 'SKILL', 'HOUSEHOLD')"))
    replace_checks(OLD_TARGETS, OLD_ONE_TARGET)
    for column, _table in SUBJECTS:
        op.drop_column("reports", column)
    op.drop_column("accounts", "digest_sent_at")
    op.drop_column("accounts", "digest_enabled")
    op.drop_table("notifications")
