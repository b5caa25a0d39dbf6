"""The weekly digest: an opt-in French e-mail of what happened this week in one's network.

Sent by `python -m api digest --send`, which a cron runs once a week (docs/live.md, "The weekly
digest"). Opt-in only (`setDigestSubscription`), and one click out: each e-mail carries a link
with a signed token (no expiry, no database row: an HMAC of the account id under the server's
key) and the RFC 8058 headers (`List-Unsubscribe`, `List-Unsubscribe-Post`), so that mail
clients offer their own unsubscribe button, which POSTs to the same address.

A network with nothing new this week sends nothing. An account is sent at most one digest per
`MIN_INTERVAL`, marked only once its e-mail was handed over: a second run the same week, or a
run after a crash, repeats nobody, and a failed send is retried by the next run.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from string import Template
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from db.queries import digest as queries
from db.queries.digest import Entry, Recipient, Week
from services.errors import Refusal, invalid_token, unauthenticated
from services.mail import Mailer
from services.messages import fr

UNSUBSCRIBE_PATH = "/desabonnement"
FEED_PATH = "/"
PERIOD = timedelta(days=7)
MIN_INTERVAL = timedelta(days=6)
"""A weekly cron drifting by hours still sends every week; a second run the same week, none."""
PARIS = ZoneInfo("Europe/Paris")
TOKEN_PURPOSE = b"voisinage digest unsubscribe v1:"


def digest_key(secret: bytes) -> bytes:
    """The unsubscribe tokens' key, derived from the server's secret (live cursors' key) for
    this purpose only."""
    return hmac.new(secret, b"digest-unsubscribe", hashlib.sha256).digest()


def unsubscribe_token(key: bytes, account_id: int) -> str:
    """`<account id, hex>-<32 hex of HMAC>`: letters, digits and a dash, safe in any URL."""
    tag = hmac.new(key, TOKEN_PURPOSE + str(account_id).encode(), hashlib.sha256).hexdigest()
    return f"{account_id:x}-{tag[:32]}"


def account_of(key: bytes, token: str) -> int | None:
    """The account a token was made for, or None for anything this server did not sign."""
    head, _, tag = token.partition("-")
    try:
        account_id = int(head, 16)
    except ValueError:
        return None
    if account_id <= 0 or len(token) > 64:
        return None
    expected = unsubscribe_token(key, account_id).partition("-")[2]
    return account_id if hmac.compare_digest(expected, tag) else None


async def set_subscription(
    engine: AsyncEngine, *, account_id: int | None, enabled: bool
) -> bool | Refusal:
    if account_id is None:
        return unauthenticated()
    async with engine.begin() as conn:
        await queries.set_digest(conn, account_id, enabled=enabled)
    return enabled


async def subscription(engine: AsyncEngine, *, account_id: int) -> bool:
    async with engine.connect() as conn:
        return await queries.digest_enabled(conn, account_id)


async def unsubscribe(engine: AsyncEngine, key: bytes, token: str) -> Refusal | None:
    """Turn the digest off for the token's account (again is fine: still off)."""
    account_id = account_of(key, token)
    if account_id is None:
        return invalid_token()
    async with engine.begin() as conn:
        if not await queries.set_digest(conn, account_id, enabled=False):
            return invalid_token()
    return None


@dataclass
class Run:
    """What one run did (or, without --send, would do)."""

    sent: list[str] = field(default_factory=list)
    nothing_new: int = 0
    failed: int = 0


def summary(week: Week) -> str:
    """The sections of the e-mail as plain text: a heading, then one line per entry."""
    sections = []
    for name, entries in (("posts", week.posts), ("events", week.events), ("items", week.items)):
        if entries:
            lines = [fr.DIGEST_SECTIONS[name]] + [f"– {line(entry)}" for entry in entries]
            sections.append("\n".join(lines))
    shown = len(week.posts) + len(week.events) + len(week.items)
    if week.total > shown:
        sections.append(Template(fr.DIGEST_MORE).substitute(count=week.total - shown))
    return "\n\n".join(sections)


def line(entry: Entry) -> str:
    if entry.when is None:
        return entry.title
    local = entry.when.astimezone(PARIS)
    return Template(fr.DIGEST_EVENT).substitute(
        title=entry.title, day=local.strftime("%d/%m"), time=local.strftime("%H h %M")
    )


def compose(mailer: Mailer, key: bytes, recipient: Recipient, week: Week) -> EmailMessage:
    link = mailer.link(UNSUBSCRIBE_PATH, unsubscribe_token(key, recipient.account_id))
    message = mailer.compose(
        recipient.email,
        "weekly_digest",
        name=recipient.display_name,
        neighbourhood=recipient.neighbourhood_name,
        summary=summary(week),
        feed_link=mailer.public_url + FEED_PATH,
        unsubscribe_link=link,
    )
    message["List-Unsubscribe"] = f"<{link}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Precedence"] = "bulk"
    return message


async def send_digests(
    engine: AsyncEngine, mailer: Mailer, key: bytes, *, send: bool, now: datetime
) -> Run:
    """One e-mail per subscribed account whose network had news since `now - PERIOD`."""
    run = Run()
    async with engine.connect() as conn:
        people = await queries.recipients(conn, not_since=MIN_INTERVAL)
        weeks: dict[int, Week] = {}
        for nid in sorted({person.neighbourhood_id for person in people}):
            weeks[nid] = await queries.week_in(conn, nid, since=now - PERIOD)
    for person in people:
        week = weeks[person.neighbourhood_id]
        if week.total == 0:
            run.nothing_new += 1
            continue
        if not send:
            run.sent.append(person.email)
            continue
        if not await mailer.send(compose(mailer, key, person, week)):
            run.failed += 1
            continue
        async with engine.begin() as conn:
            await queries.mark_sent(conn, person.account_id)
        run.sent.append(person.email)
    return run
