"""The request's way to send e-mail, and the per-address limit of the mutations that send it.

`services.mail.Mailer` is built from the settings on each use (a frozen dataclass: nothing to
open or close), so nothing is added to the app's start-up or to requests that send no mail.
The per-address limit uses the app's rate-limit storage (api.ratelimit, `limits`), so it is
shared by the workers when REDIS_URL is set; the per-e-mail limit is in the services (links
sent to one account in the last hour, counted in the database).
"""

from __future__ import annotations

import math
from typing import NoReturn

from limits import RateLimitItemPerHour
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from api.context import Context
from api.errors import ErrorCode, UserError
from api.ratelimit import Limit, client_address
from api.settings import Settings
from services.errors import Refusal
from services.mail import Mailer

MAILS_PER_ADDRESS_PER_HOUR = 60
"""Requests that send e-mail (signUp, requestPasswordReset, sendFeedback) per client address
an hour: a family or an office behind one address is far below; a script flooding strangers'
inboxes is stopped."""


def mailer_for(context: Context) -> Mailer:
    return mailer_for_settings(context.settings)


def mailer_for_settings(settings: Settings) -> Mailer:
    """The mailer of these settings (also for commands, which have no request context)."""
    return Mailer.create(
        smtp_url=settings.smtp_url,
        sender=settings.mail_from,
        public_url=settings.public_url,
        outbox=settings.mail_outbox or settings.data_dir / "outbox",
    )


async def charge_mail(context: Context) -> None:
    """Count one e-mail-sending request for the client's address; RATE_LIMITED beyond."""
    limits = context.rate_limits
    if limits is None:
        return
    limit = Limit(
        SlidingWindowCounterRateLimiter(limits.storage),
        limits.storage,
        RateLimitItemPerHour(MAILS_PER_ADDRESS_PER_HOUR, namespace="mail"),
    )
    wait_s = await limit.acquire([f"address:{client_address(context) or 'unknown'}"])
    if wait_s:
        seconds = max(1, math.ceil(wait_s))
        raise UserError(
            ErrorCode.RATE_LIMITED,
            f"Too many e-mails requested from your address: retry in {seconds} s.",
            retryAfterSeconds=seconds,
        )


def raise_refusal(refusal: Refusal) -> NoReturn:
    """A service's refusal as a GraphQL error (for queries, which have no result unions)."""
    raise UserError(ErrorCode(refusal.code), refusal.message)
