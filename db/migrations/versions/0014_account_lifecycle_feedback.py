"""Account lifecycle (verified e-mail, one-time e-mailed tokens, erased households) and feedback.

`accounts.email_verified_at`: an account signs in only once its owner has followed the link
e-mailed at sign-up (or a password-reset link, which proves the same thing). Accounts that
existed before this revision are taken as verified (backfilled from `created_at`), so nobody
already signed up is locked out.

`account_tokens`: the links e-mailed to verify an address or reset a password. Only the SHA-256
of the token is stored (a database leak hands out nothing); each is single use (`used_at`) and
expires. The (account_id, purpose, created_at) index serves both the redemption's "revoke the
others" and the per-address count of links sent in the last hour (the rate limit).

`households.erased_at`: a household whose last account was deleted is kept as an anonymous
tombstone (name "Ancien voisin", exact location replaced by the public one) so that its
neighbours' loans, posts and reviews keep their history (docs/accounts.md).

`feedback`: what people tell the team (bug, idea...), from an account or anonymous with an
optional reply address; the admins' queue reads it by (state, created_at, id).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of db.models' values: a migration describes the schema as it was at this revision.
PURPOSES = ("VERIFY_EMAIL", "RESET_PASSWORD")
KINDS = ("BUG", "IDEA", "PRAISE", "COMPLAINT", "QUESTION")
STATES = ("NEW", "IN_PROGRESS", "ANSWERED")


def one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def upgrade() -> None:
    op.add_column("accounts", sa.Column("email_verified_at", sa.DateTime(timezone=True)))
    op.execute(sa.text("UPDATE accounts SET email_verified_at = created_at"))
    op.add_column("households", sa.Column("erased_at", sa.DateTime(timezone=True)))
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "account_id",
            sa.BigInteger,
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.LargeBinary, nullable=False, unique=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(one_of("purpose", PURPOSES), name="purpose"),
    )
    op.create_index(
        "ix_account_tokens_account_id_purpose_created_at",
        "account_tokens",
        ["account_id", "purpose", "created_at"],
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("screen", sa.Text),
        sa.Column("account_id", sa.BigInteger, sa.ForeignKey("accounts.id", ondelete="SET NULL")),
        sa.Column("email", sa.Text),
        sa.Column("state", sa.String(16), server_default=sa.text("'NEW'"), nullable=False),
        sa.Column("answer", sa.Text),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column(
            "answered_by_account_id",
            sa.BigInteger,
            sa.ForeignKey("accounts.id", ondelete="SET NULL"),
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(one_of("kind", KINDS), name="kind"),
        sa.CheckConstraint(one_of("state", STATES), name="state"),
        sa.CheckConstraint("char_length(message) BETWEEN 1 AND 5000", name="message_length"),
        sa.CheckConstraint("char_length(screen) <= 200", name="screen_length"),
        sa.CheckConstraint("char_length(answer) <= 5000", name="answer_length"),
        sa.CheckConstraint("char_length(email) <= 254", name="email_length"),
    )
    op.create_index("ix_feedback_state_created_at_id", "feedback", ["state", "created_at", "id"])
    op.create_index("ix_feedback_account_id", "feedback", ["account_id"])
    op.create_index("ix_feedback_answered_by_account_id", "feedback", ["answered_by_account_id"])


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_table("account_tokens")
    op.drop_column("households", "erased_at")
    op.drop_column("accounts", "email_verified_at")
