"""The examples of docs/accounts.md run, in order, as written: sign up, confirm with the token of
the e-mailed link, sign in, change the password, sign out everywhere, reset it with the e-mailed
link, export, delete; then feedback, answered by an admin. E-mail goes to a real SMTP server.

Validation against the schema is `tests/test_docs_examples.py`; this runs them.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.settings import PROJECT_ROOT, Settings
from tests.api.conftest import promote_to_admin
from tests.mail import link_in, mailing_client, text_of

DOC = PROJECT_ROOT / "docs" / "accounts.md"
BLOCKS = re.findall(r"```graphql\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
EMAIL = "claire@example.org"


def field(data: dict[str, Any]) -> dict[str, Any]:
    [value] = data.values()
    assert isinstance(value, dict)
    return value


async def test_the_account_examples_run_as_written(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    (sign_up, verify, log_in, change, log_out_everywhere, request_reset, reset, export, delete) = (
        BLOCKS[:9]
    )
    async with mailing_client(settings) as (gql, inbox):
        assert field(await gql.data(sign_up)) == {"__typename": "SignUpSuccess", "email": EMAIL}
        _, token = link_in(inbox.last_to(EMAIL))
        assert field(await gql.data(verify, {"token": token}))["email"] == EMAIL
        first = gql.signed_in(field(await gql.data(log_in))["token"])
        other = gql.signed_in(field(await gql.data(log_in))["token"])

        changed = field(await first.data(change))
        assert changed == {"__typename": "PasswordChangedSuccess", "revokedTokens": 1}
        assert (await other.data("{ me { email } }"))["me"] is None
        assert field(await first.data(log_out_everywhere))["revokedTokens"] == 1

        requested = field(await gql.data(request_reset))
        assert requested == {"__typename": "RequestPasswordResetSuccess", "email": EMAIL}
        _, token = link_in(inbox.last_to(EMAIL))
        assert field(await gql.data(reset, {"token": token}))["__typename"] == (
            "PasswordChangedSuccess"
        )

        document = log_in.replace("violet lantern orchard", "copper kettle horizon")
        claire = gql.signed_in(field(await gql.data(document))["token"])
        exported = field(await claire.data(export))
        assert exported["data"]["account"]["email"] == EMAIL
        assert field(await claire.data(delete))["__typename"] == "DeleteAccountSuccess"
        assert "supprimé" in inbox.last_to(EMAIL)["Subject"]


async def test_the_feedback_examples_run_as_written(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    send, queue, set_state, answer = BLOCKS[9:13]
    async with mailing_client(settings) as (gql, inbox):
        sent = field(await gql.data(send))
        assert sent["__typename"] == "SendFeedbackSuccess"
        admin = await gql.sign_up(name="Équipe")
        await promote_to_admin(clean_db, admin)
        [edge] = (await admin.data(queue))["feedbackQueue"]["edges"]
        assert edge["node"]["replyTo"] == "anne@example.org"
        moved = field(await admin.data(set_state, {"id": sent["id"]}))
        assert moved["feedback"]["state"] == "IN_PROGRESS"
        answered = field(await admin.data(answer, {"id": sent["id"]}))
        assert answered["feedback"]["state"] == "ANSWERED"
        assert "Corrigé, merci !" in text_of(inbox.last_to("anne@example.org"))
    async with clean_db.connect() as conn:
        stored = (await conn.execute(text("SELECT answer FROM feedback"))).scalar_one()
    assert stored == "Corrigé, merci !"
