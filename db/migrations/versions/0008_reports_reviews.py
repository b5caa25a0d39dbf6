"""Reports of posts and comments for moderators; reviews after a returned loan.

A report names its target by kind (POST or COMMENT) and id. Deleting the target sets the id to
NULL instead of deleting the report (the excerpt copied at report time stays): "chaque retour,
même négatif, est traité", so a report leaves the moderation queue only by being resolved, never
by expiry or by its target disappearing. One report per account and target: partial unique
indexes, one per target column. The queue, oldest first per neighbourhood and status, is served
by (neighbourhood_id, status, created_at, id); `myReports`, newest first, by
(reporter_account_id, created_at DESC, id DESC).

A loan review is 1 to 5 stars and an optional comment, once per household and loan
(UNIQUE (loan_id, reviewer_household_id)); the reviewed household is copied so that a household's
average and count are one index scan.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of db.models' values: a migration describes the schema as it was at this revision.
REASONS = ("SPAM", "ABUSE", "DANGEROUS", "PERSONAL_DATA", "OTHER")
STATUSES = ("OPEN", "RESOLVED")
OUTCOMES = ("HIDE", "KEEP", "WARN")
TARGETS = ("POST", "COMMENT")
MAX_TEXT = 1000


def one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def timestamp(name: str, *, now: bool = False) -> sa.Column[object]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=sa.text("now()") if now else None,
        nullable=not now,
    )


def foreign_key(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    # Check names go through `op.f`: they are final, the naming convention must not prefix them.
    op.create_table(
        "reports",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("neighbourhood_id", sa.BigInteger(), nullable=False),
        sa.Column("target_kind", sa.String(16), nullable=False),
        sa.Column("post_id", sa.BigInteger(), nullable=True),
        sa.Column("comment_id", sa.BigInteger(), nullable=True),
        sa.Column("target_household_id", sa.BigInteger(), nullable=True),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.Column("reporter_account_id", sa.BigInteger(), nullable=True),
        sa.Column("reporter_household_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("details", sa.Text(), server_default=sa.text("''"), nullable=False),
        timestamp("created_at", now=True),
        sa.Column("status", sa.String(16), server_default=sa.text("'OPEN'"), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("resolved_by_account_id", sa.BigInteger(), nullable=True),
        timestamp("resolved_at"),
        sa.Column("resolution_note", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.CheckConstraint(one_of("target_kind", TARGETS), name=op.f("ck_reports_target_kind")),
        sa.CheckConstraint(
            "num_nonnulls(post_id, comment_id) <= 1"
            " AND (post_id IS NULL OR target_kind = 'POST')"
            " AND (comment_id IS NULL OR target_kind = 'COMMENT')",
            name=op.f("ck_reports_one_target"),
        ),
        sa.CheckConstraint(one_of("reason", REASONS), name=op.f("ck_reports_reason")),
        sa.CheckConstraint(one_of("status", STATUSES), name=op.f("ck_reports_status")),
        sa.CheckConstraint(one_of("outcome", OUTCOMES), name=op.f("ck_reports_outcome")),
        sa.CheckConstraint(
            f"char_length(details) <= {MAX_TEXT}", name=op.f("ck_reports_details_length")
        ),
        sa.CheckConstraint(
            f"char_length(resolution_note) <= {MAX_TEXT}", name=op.f("ck_reports_note_length")
        ),
        sa.CheckConstraint(
            "(status = 'RESOLVED') = (outcome IS NOT NULL)"
            " AND (status = 'RESOLVED') = (resolved_at IS NOT NULL)",
            name=op.f("ck_reports_resolved"),
        ),
        foreign_key("reports", "neighbourhood_id", "neighbourhoods", "CASCADE"),
        foreign_key("reports", "post_id", "posts", "SET NULL"),
        foreign_key("reports", "comment_id", "comments", "SET NULL"),
        foreign_key("reports", "target_household_id", "households", "SET NULL"),
        foreign_key("reports", "reporter_account_id", "accounts", "SET NULL"),
        foreign_key("reports", "reporter_household_id", "households", "SET NULL"),
        foreign_key("reports", "resolved_by_account_id", "accounts", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    op.create_index(
        "ix_reports_queue", "reports", ["neighbourhood_id", "status", "created_at", "id"]
    )
    op.create_index(
        "ix_reports_reporter_account_id_created_at",
        "reports",
        ["reporter_account_id", sa.text("created_at DESC"), sa.text("id DESC")],
    )
    for target in ("post_id", "comment_id"):
        op.create_index(
            f"uq_reports_reporter_account_id_{target}",
            "reports",
            ["reporter_account_id", target],
            unique=True,
            postgresql_where=sa.text(f"{target} IS NOT NULL"),
        )
        # Serves the SET NULL when a post or comment is deleted.
        op.create_index(f"ix_reports_{target}", "reports", [target])

    op.create_table(
        "loan_reviews",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("loan_id", sa.BigInteger(), nullable=False),
        sa.Column("reviewer_household_id", sa.BigInteger(), nullable=False),
        sa.Column("reviewed_household_id", sa.BigInteger(), nullable=False),
        sa.Column("reviewer_account_id", sa.BigInteger(), nullable=True),
        sa.Column("stars", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.Text(), server_default=sa.text("''"), nullable=False),
        timestamp("created_at", now=True),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name=op.f("ck_loan_reviews_stars")),
        sa.CheckConstraint(
            f"char_length(comment) <= {MAX_TEXT}", name=op.f("ck_loan_reviews_comment_length")
        ),
        sa.CheckConstraint(
            "reviewer_household_id <> reviewed_household_id", name=op.f("ck_loan_reviews_not_self")
        ),
        foreign_key("loan_reviews", "loan_id", "loans", "CASCADE"),
        foreign_key("loan_reviews", "reviewer_household_id", "households", "CASCADE"),
        foreign_key("loan_reviews", "reviewed_household_id", "households", "CASCADE"),
        foreign_key("loan_reviews", "reviewer_account_id", "accounts", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_reviews")),
        sa.UniqueConstraint(
            "loan_id",
            "reviewer_household_id",
            name=op.f("uq_loan_reviews_loan_id_reviewer_household_id"),
        ),
    )
    op.create_index(
        "ix_loan_reviews_reviewed_household_id", "loan_reviews", ["reviewed_household_id"]
    )
    op.create_index(
        "ix_loan_reviews_reviewer_household_id", "loan_reviews", ["reviewer_household_id"]
    )


def downgrade() -> None:
    op.drop_table("loan_reviews")
    op.drop_table("reports")
