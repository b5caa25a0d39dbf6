"""Loans between neighbours, with double booking made impossible by the database; skills.

A loan books an item for a range of calendar days, both ends included. The exclusion constraint
`ex_loans_item_booked` forbids two ACCEPTED or HANDED_OVER loans of one item whose ranges share a
day: PostgreSQL checks it against committed and in-flight rows alike (a second transaction waits
for the first, then fails), so two lenders' clicks racing can never book an item twice. Requests
themselves may overlap freely: a lender chooses among them, and accepting one whose dates are
already taken fails with that constraint.

`lender_household_id` is copied from the item when the request is made: the loan is a record
between two households, and listing a household's loans as lender is then one index scan.

Skills are what a household offers to teach or do (repairs, lessons); their tags are a lower-cased
`text[]` with a GIN index for the `@>` tag filter.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of db.models' values: a migration describes the schema as it was at this revision.
LOAN_STATES = ("REQUESTED", "ACCEPTED", "DECLINED", "CANCELLED", "HANDED_OVER", "RETURNED")
MAX_LOAN_DAYS = 60


def one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


NO_DOUBLE_BOOKING = """
ALTER TABLE loans ADD CONSTRAINT ex_loans_item_booked
EXCLUDE USING gist (item_id WITH =, daterange(starts_on, ends_on, '[]') WITH &&)
WHERE (state IN ('ACCEPTED', 'HANDED_OVER'))
"""


def timestamp(name: str, *, now: bool = False) -> sa.Column[object]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=sa.text("now()") if now else None,
        nullable=not now,
    )


def upgrade() -> None:
    # Check names go through `op.f`: they are final, the naming convention must not prefix them.
    op.create_table(
        "loans",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("borrower_household_id", sa.BigInteger(), nullable=False),
        sa.Column("lender_household_id", sa.BigInteger(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(16), server_default=sa.text("'REQUESTED'"), nullable=False),
        sa.Column("message", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("cancelled_by", sa.String(16), nullable=True),
        timestamp("created_at", now=True),
        timestamp("updated_at", now=True),
        timestamp("accepted_at"),
        timestamp("handed_over_at"),
        timestamp("borrower_returned_at"),
        timestamp("lender_returned_at"),
        sa.CheckConstraint(one_of("state", LOAN_STATES), name=op.f("ck_loans_state")),
        sa.CheckConstraint(
            f"ends_on >= starts_on AND ends_on - starts_on < {MAX_LOAN_DAYS}",
            name=op.f("ck_loans_dates"),
        ),
        sa.CheckConstraint(
            "borrower_household_id <> lender_household_id", name=op.f("ck_loans_not_own_item")
        ),
        sa.CheckConstraint("char_length(message) <= 1000", name=op.f("ck_loans_message_length")),
        sa.CheckConstraint(
            "(state = 'CANCELLED') = (cancelled_by IS NOT NULL)"
            " AND (cancelled_by IS NULL OR cancelled_by IN ('BORROWER', 'LENDER'))",
            name=op.f("ck_loans_cancelled_by"),
        ),
        sa.CheckConstraint(
            "(handed_over_at IS NOT NULL) = (state IN ('HANDED_OVER', 'RETURNED'))",
            name=op.f("ck_loans_handed_over"),
        ),
        sa.CheckConstraint(
            "(state = 'RETURNED')"
            " = (borrower_returned_at IS NOT NULL AND lender_returned_at IS NOT NULL)"
            " AND (state IN ('HANDED_OVER', 'RETURNED')"
            " OR (borrower_returned_at IS NULL AND lender_returned_at IS NULL))",
            name=op.f("ck_loans_returned"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name="fk_loans_item_id_items", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["borrower_household_id"],
            ["households.id"],
            name="fk_loans_borrower_household_id_households",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lender_household_id"],
            ["households.id"],
            name="fk_loans_lender_household_id_households",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_loans"),
    )
    # The exclusion constraint's GiST index leads with item_id: it also serves lookups by item
    # and the cascade from items.
    op.execute(sa.text(NO_DOUBLE_BOOKING))
    # `myLoans`, newest first, keyset-paged on (created_at, id), for either side.
    for side in ("borrower", "lender"):
        op.create_index(
            f"ix_loans_{side}_household_id_created_at",
            "loans",
            [f"{side}_household_id", sa.text("created_at DESC"), sa.text("id DESC")],
        )

    op.create_table(
        "skills",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("household_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column(
            "tags", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False
        ),
        timestamp("created_at", now=True),
        sa.CheckConstraint(
            "char_length(title) BETWEEN 1 AND 120", name=op.f("ck_skills_title_length")
        ),
        sa.CheckConstraint(
            "char_length(description) <= 2000", name=op.f("ck_skills_description_length")
        ),
        sa.CheckConstraint(
            "cardinality(tags) <= 10"
            " AND array_position(tags, NULL) IS NULL"
            " AND array_to_string(tags, ',') = lower(array_to_string(tags, ','))"
            " AND array_to_string(tags, ',') ~ '^([^,]{1,40}(,|$))*$'",
            name=op.f("ck_skills_tags"),
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name="fk_skills_household_id_households",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_skills"),
    )
    op.create_index("ix_skills_household_id", "skills", ["household_id"])
    op.create_index("ix_skills_tags", "skills", ["tags"], postgresql_using="gin")


def downgrade() -> None:
    op.drop_table("skills")
    op.drop_table("loans")
