"""Live access events: a trigger tells every server process when a credential or right changes.

Why: a WebSocket is authenticated once and may stay open for days; `logOut`, a revoked or
rotated partner key, a lost membership or role must stop it at once, on every server process
(docs/live.md, "Revocation"). Triggers rather than calls in each mutation: the rights change in
many places (sign-out, admin tools, neighbourhoods drawn or redrawn moving households, account
deletion, operators' SQL), and a forgotten call would be a silent leak.

Each trigger sends `{"type": "access_changed", <key>: <id>}` on the `voisinage_events` channel,
where `<key>` is `account_id`, `household_id` or `partner_key_id` (or `all_partner_keys` when a
neighbourhood's boundary changes, which may move it out of a partner's territory). NOTIFY is
delivered at commit, never for a rolled-back write, in commit order with the post events on the
same channel; identical notifications of one transaction are sent once.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = "voisinage_access_changed"

CREATE_FUNCTION = f"""
CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed record;
    payload json;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := OLD;
    ELSE
        changed := NEW;
    END IF;
    IF TG_TABLE_NAME IN ('access_tokens', 'neighbourhood_roles') THEN
        payload := json_build_object('type', 'access_changed', 'account_id', changed.account_id);
    ELSIF TG_TABLE_NAME = 'accounts' THEN
        payload := json_build_object('type', 'access_changed', 'account_id', changed.id);
    ELSIF TG_TABLE_NAME = 'households' THEN
        payload := json_build_object('type', 'access_changed', 'household_id', changed.id);
    ELSIF TG_TABLE_NAME = 'partner_keys' THEN
        payload := json_build_object('type', 'access_changed', 'partner_key_id', changed.id);
    ELSIF TG_TABLE_NAME = 'partner_key_neighbourhoods' THEN
        payload := json_build_object('type', 'access_changed', 'partner_key_id', changed.key_id);
    ELSE
        payload := json_build_object('type', 'access_changed', 'all_partner_keys', true);
    END IF;
    PERFORM pg_notify('voisinage_events', payload::text);
    RETURN NULL;
END
$$
"""

TRIGGERS: tuple[tuple[str, str, str], ...] = (
    # (trigger name, table, event and condition)
    (
        "access_tokens_changed",
        "access_tokens",
        "AFTER UPDATE ON access_tokens FOR EACH ROW WHEN ("
        "OLD.revoked_at IS DISTINCT FROM NEW.revoked_at"
        " OR OLD.expires_at IS DISTINCT FROM NEW.expires_at"
        " OR OLD.token_hash IS DISTINCT FROM NEW.token_hash)",
    ),
    ("access_tokens_deleted", "access_tokens", "AFTER DELETE ON access_tokens FOR EACH ROW"),
    (
        "accounts_changed",
        "accounts",
        "AFTER UPDATE ON accounts FOR EACH ROW WHEN ("
        "OLD.household_id IS DISTINCT FROM NEW.household_id"
        " OR OLD.is_admin IS DISTINCT FROM NEW.is_admin)",
    ),
    ("accounts_deleted", "accounts", "AFTER DELETE ON accounts FOR EACH ROW"),
    (
        "households_changed",
        "households",
        "AFTER UPDATE ON households FOR EACH ROW WHEN ("
        "OLD.neighbourhood_id IS DISTINCT FROM NEW.neighbourhood_id"
        " OR OLD.membership_status IS DISTINCT FROM NEW.membership_status)",
    ),
    ("households_deleted", "households", "AFTER DELETE ON households FOR EACH ROW"),
    (
        "neighbourhood_roles_changed",
        "neighbourhood_roles",
        "AFTER INSERT OR UPDATE OR DELETE ON neighbourhood_roles FOR EACH ROW",
    ),
    (
        "partner_keys_changed",
        "partner_keys",
        "AFTER UPDATE OR DELETE ON partner_keys FOR EACH ROW",
    ),
    (
        "partner_key_neighbourhoods_changed",
        "partner_key_neighbourhoods",
        "AFTER INSERT OR UPDATE OR DELETE ON partner_key_neighbourhoods FOR EACH ROW",
    ),
    (
        "neighbourhoods_reshaped",
        "neighbourhoods",
        "AFTER UPDATE ON neighbourhoods FOR EACH ROW WHEN ("
        "OLD.boundary IS DISTINCT FROM NEW.boundary)",
    ),
    ("neighbourhoods_deleted", "neighbourhoods", "AFTER DELETE ON neighbourhoods FOR EACH ROW"),
)


def upgrade() -> None:
    op.execute(CREATE_FUNCTION)
    for name, _table, when in TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION {FUNCTION}()")


def downgrade() -> None:
    for name, table, _when in reversed(TRIGGERS):
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
