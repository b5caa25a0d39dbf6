"""Membership approval and invitations; partners posting on behalf of a household.

A neighbourhood gets a `membership_policy`: OPEN (geography alone decides, as before) or
APPROVAL (newcomers wait for an ambassador). A household's `membership_status` (APPROVED,
PENDING, DECLINED) is about the neighbourhood it is in *now*. A trigger sets it whenever the
household arrives somewhere (insert, or a change of `neighbourhood_id` by a registration or a
boundary reassignment): PENDING under APPROVAL, APPROVED otherwise. Doing it in the database
means no writer (registration, `reassign_households`, the bulk loader) can forget it, and a move
always resets the status for the new neighbourhood. Pending households are listed oldest first
per neighbourhood by a partial index.

Invitations store only the SHA-256 of their one-time code, with expiry, revocation, an optional
reservation by the account that signed up with the code, and the household that used it.

`partner_authorisations` records that a household lets a partner key post on its behalf
(re-granting clears `revoked_at`); posts keep the key and its name (`posted_via`) copied at
writing time. The partner scope list gains POST_ON_BEHALF.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of db.models' values: a migration describes the schema as it was at this revision.
POLICIES = ("OPEN", "APPROVAL")
STATUSES = ("APPROVED", "PENDING", "DECLINED")
OLD_SCOPES = "ARRAY['READ_PUBLIC', 'READ_NEIGHBOURHOODS', 'READ_AGGREGATES']::text[]"
NEW_SCOPES = (
    "ARRAY['READ_PUBLIC', 'READ_NEIGHBOURHOODS', 'READ_AGGREGATES', 'POST_ON_BEHALF']::text[]"
)

ARRIVAL_FUNCTION = """
CREATE FUNCTION households_membership_on_arrival() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.neighbourhood_id IS DISTINCT FROM OLD.neighbourhood_id THEN
        NEW.membership_status := CASE
            WHEN (SELECT membership_policy FROM neighbourhoods WHERE id = NEW.neighbourhood_id)
                 = 'APPROVAL' THEN 'PENDING' ELSE 'APPROVED' END;
        NEW.membership_requested_at := now();
        NEW.membership_decided_at := NULL;
        NEW.membership_decided_by_account_id := NULL;
        NEW.membership_decline_reason := NULL;
    END IF;
    RETURN NEW;
END
$$
"""
ARRIVAL_TRIGGER = """
CREATE TRIGGER households_membership_on_arrival
BEFORE INSERT OR UPDATE OF neighbourhood_id ON households
FOR EACH ROW
WHEN (coalesce(current_setting('voisinage.membership_set_by_writer', true), '') <> 'on')
EXECUTE FUNCTION households_membership_on_arrival()
"""
"""Set-wise writers (the France loader, the national reassignment) write a million rows: one
PL/pgSQL call per row would cost them seconds. They `SET LOCAL voisinage.membership_set_by_writer
= 'on'` and write the same columns themselves in the statement (db.bulk.MEMBERSHIP_ON_ARRIVAL);
the WHEN clause is evaluated by the executor, without calling the function."""


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
    op.add_column(
        "neighbourhoods",
        sa.Column(
            "membership_policy",
            sa.String(16),
            server_default=sa.text("'OPEN'"),
            nullable=False,
        ),
    )
    op.create_check_constraint(
        op.f("ck_neighbourhoods_membership_policy"),
        "neighbourhoods",
        one_of("membership_policy", POLICIES),
    )
    op.add_column(
        "households",
        sa.Column(
            "membership_status",
            sa.String(16),
            server_default=sa.text("'APPROVED'"),
            nullable=False,
        ),
    )
    op.add_column("households", timestamp("membership_requested_at", now=True))
    op.add_column("households", timestamp("membership_decided_at"))
    op.add_column(
        "households", sa.Column("membership_decided_by_account_id", sa.BigInteger(), nullable=True)
    )
    op.add_column("households", sa.Column("membership_decline_reason", sa.Text(), nullable=True))
    op.create_check_constraint(
        op.f("ck_households_membership_status"),
        "households",
        one_of("membership_status", STATUSES),
    )
    op.create_foreign_key(
        op.f("fk_households_membership_decided_by_account_id_accounts"),
        "households",
        "accounts",
        ["membership_decided_by_account_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(
        "ix_households_pending",
        "households",
        ["neighbourhood_id", "membership_requested_at", "id"],
        postgresql_where=sa.text("membership_status = 'PENDING'"),
    )
    op.execute(sa.text(ARRIVAL_FUNCTION))
    op.execute(sa.text(ARRIVAL_TRIGGER))

    op.create_table(
        "neighbourhood_invitations",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("neighbourhood_id", sa.BigInteger(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("created_by_account_id", sa.BigInteger(), nullable=True),
        timestamp("created_at", now=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        timestamp("revoked_at"),
        sa.Column("reserved_by_account_id", sa.BigInteger(), nullable=True),
        timestamp("used_at"),
        sa.Column("used_by_household_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "char_length(message) <= 500", name=op.f("ck_neighbourhood_invitations_message_length")
        ),
        sa.CheckConstraint(
            "char_length(email) <= 254", name=op.f("ck_neighbourhood_invitations_email_length")
        ),
        foreign_key("neighbourhood_invitations", "neighbourhood_id", "neighbourhoods", "CASCADE"),
        foreign_key("neighbourhood_invitations", "created_by_account_id", "accounts", "SET NULL"),
        foreign_key("neighbourhood_invitations", "reserved_by_account_id", "accounts", "SET NULL"),
        foreign_key("neighbourhood_invitations", "used_by_household_id", "households", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_neighbourhood_invitations")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_neighbourhood_invitations_code_hash")),
    )
    op.create_index(
        "ix_neighbourhood_invitations_neighbourhood_id_created_at_id",
        "neighbourhood_invitations",
        ["neighbourhood_id", "created_at", "id"],
    )
    op.create_index(
        "ix_neighbourhood_invitations_reserved_by_account_id",
        "neighbourhood_invitations",
        ["reserved_by_account_id"],
    )

    op.drop_constraint(op.f("ck_partner_keys_known_scopes"), "partner_keys", type_="check")
    op.create_check_constraint(
        op.f("ck_partner_keys_known_scopes"), "partner_keys", f"scopes <@ {NEW_SCOPES}"
    )
    op.create_table(
        "partner_authorisations",
        sa.Column("household_id", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.BigInteger(), nullable=False),
        sa.Column("granted_by_account_id", sa.BigInteger(), nullable=True),
        timestamp("granted_at", now=True),
        timestamp("revoked_at"),
        foreign_key("partner_authorisations", "household_id", "households", "CASCADE"),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["partner_keys.id"],
            name=op.f("fk_partner_authorisations_key_id_partner_keys"),
            ondelete="CASCADE",
        ),
        foreign_key("partner_authorisations", "granted_by_account_id", "accounts", "SET NULL"),
        sa.PrimaryKeyConstraint("household_id", "key_id", name=op.f("pk_partner_authorisations")),
    )
    op.create_index("ix_partner_authorisations_key_id", "partner_authorisations", ["key_id"])
    op.add_column("posts", sa.Column("posted_via_key_id", sa.BigInteger(), nullable=True))
    op.add_column("posts", sa.Column("posted_via", sa.Text(), nullable=True))
    op.create_foreign_key(
        op.f("fk_posts_posted_via_key_id_partner_keys"),
        "posts",
        "partner_keys",
        ["posted_via_key_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_check_constraint(
        op.f("ck_posts_posted_via_named"),
        "posts",
        "posted_via_key_id IS NULL OR posted_via IS NOT NULL",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_posts_posted_via_named"), "posts", type_="check")
    op.drop_constraint(op.f("fk_posts_posted_via_key_id_partner_keys"), "posts", type_="foreignkey")
    op.drop_column("posts", "posted_via")
    op.drop_column("posts", "posted_via_key_id")
    op.drop_table("partner_authorisations")
    op.execute(sa.text("UPDATE partner_keys SET scopes = array_remove(scopes, 'POST_ON_BEHALF')"))
    op.drop_constraint(op.f("ck_partner_keys_known_scopes"), "partner_keys", type_="check")
    op.create_check_constraint(
        op.f("ck_partner_keys_known_scopes"), "partner_keys", f"scopes <@ {OLD_SCOPES}"
    )
    op.drop_table("neighbourhood_invitations")
    op.execute(sa.text("DROP TRIGGER households_membership_on_arrival ON households"))
    op.execute(sa.text("DROP FUNCTION households_membership_on_arrival()"))
    op.drop_index("ix_households_pending", table_name="households")
    op.drop_constraint(
        op.f("fk_households_membership_decided_by_account_id_accounts"),
        "households",
        type_="foreignkey",
    )
    op.drop_constraint(op.f("ck_households_membership_status"), "households", type_="check")
    for column in (
        "membership_decline_reason",
        "membership_decided_by_account_id",
        "membership_decided_at",
        "membership_requested_at",
        "membership_status",
    ):
        op.drop_column("households", column)
    op.drop_constraint(op.f("ck_neighbourhoods_membership_policy"), "neighbourhoods", type_="check")
    op.drop_column("neighbourhoods", "membership_policy")
