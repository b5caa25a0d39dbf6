"""Who an open WebSocket is, kept true for as long as it stays open: revocation is immediate.

Why: a WebSocket is authenticated once, in `connection_init`, and may stay open for days. Before
this, `logOut`, a revoked partner key or a lost membership changed nothing for a socket opened
before: it kept receiving posts and notifications.

How, across processes:
- every write that can take a right away (a token revoked or expiring sooner, an account's
  household or admin flag, a household's neighbourhood or membership, an ambassador role, a
  partner key's secret, grace, scopes, territory or neighbourhoods, a neighbourhood's boundary)
  fires a database trigger (migration 0015) that sends `access_changed` on the events channel,
  at commit, to every server process;
- each process's listener marks the matching connections (by account, household or partner key)
  *stale* at once, synchronously, before it dispatches any later event (the channel keeps commit
  order: a post written after the revocation arrives after it), and starts their refresh;
- a refresh checks the credential again (a revoked or rotated-away credential, or an expired
  token) and reloads the viewer; if the credential is gone, or a running subscription relies on
  a right the new viewer lacks, the socket is closed with 4403 and nothing more is sent;
- every delivery asks `viewer_now()` first: a stale connection waits for its refresh, a gone one
  gets nothing, and a token past its expiry (or a rotated secret past its grace) is closed then,
  besides the timer that closes it at that moment when nothing is being delivered;
- when the listener reconnects after losing the database (notifications may have been missed),
  every connection of the process is refreshed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.websockets import WebSocketDisconnect

from api.auth import api_key, viewer_for
from api.context import Context, Viewer
from api.pubsub import Broadcaster
from db.queries.accounts import token_digest
from db.queries.live import Validity, partner_secret_validity, token_validity
from db.queries.partners import secret_digest

log = logging.getLogger("voisinage.live")

FORBIDDEN_CLOSE = 4403
"""Close code of a socket whose credential or right is gone (the code of a refused
`connection_init` too)."""
TRY_AGAIN_LATER = 1013

Requirement = Callable[[Viewer], bool]
"""What a running subscription needs of its viewer (e.g. to read one neighbourhood)."""


class LiveAccess:
    """One authenticated WebSocket connection's credential, current viewer and deadline."""

    __slots__ = (
        "context",
        "gone",
        "household_id",
        "key",
        "refreshing",
        "registry",
        "requirements",
        "stale",
        "timer",
        "token",
        "until",
    )

    def __init__(
        self,
        registry: AccessRegistry,
        context: Context,
        *,
        token: str | None,
        key: str | None,
        until: datetime | None,
    ) -> None:
        self.registry = registry
        self.context = context
        self.token = token
        self.key = key
        self.until = until
        self.household_id = context.viewer.household_id
        self.stale = False
        self.gone = False
        self.refreshing: asyncio.Task[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.requirements: list[Requirement] = []

    @property
    def viewer(self) -> Viewer:
        return self.context.viewer

    async def viewer_now(self) -> Viewer | None:
        """The viewer to check this delivery against, up to date; None once the access is gone
        (the socket is then being closed with 4403): send nothing."""
        if self.gone:
            return None
        if self.until is not None and datetime.now(UTC) >= self.until:
            await self.revoke("Forbidden: the credential has expired.")
            return None
        if self.stale or self.refreshing is not None:
            await asyncio.shield(self.refresh_soon())
        return None if self.gone else self.context.viewer

    @contextlib.contextmanager
    def requiring(self, requirement: Requirement) -> Iterator[None]:
        """While a subscription runs, the access must keep satisfying `requirement`."""
        self.requirements.append(requirement)
        try:
            yield
        finally:
            self.requirements.remove(requirement)

    def invalidate(self) -> None:
        """Called by the listener, synchronously: check again before delivering anything."""
        if not self.gone:
            self.stale = True
            self.refresh_soon()

    def refresh_soon(self) -> asyncio.Task[None]:
        if self.refreshing is None:
            self.refreshing = asyncio.create_task(self._refresh(), name="voisinage-live-access")
        return self.refreshing

    async def _refresh(self) -> None:
        try:
            while self.stale and not self.gone:
                self.stale = False
                await self._check()
        except (SQLAlchemyError, OSError):
            log.warning("could not check a live credential: database unavailable; closing")
            await self.revoke("Service busy or restarting: retry shortly.", code=TRY_AGAIN_LATER)
        finally:
            self.refreshing = None

    async def _check(self) -> None:
        engine = self.context.reader
        async with engine.connect() as conn:
            validity = await self.validity(conn)
        if not validity.valid:
            await self.revoke("Forbidden: the credential was revoked or has expired.")
            return
        viewer = await viewer_for(engine, self.token, self.key)
        if viewer.account_id is None and viewer.partner_key_id is None:
            await self.revoke("Forbidden: the credential was revoked or has expired.")
            return
        self.context.viewer = viewer
        self.registry.moved(self, viewer.household_id)
        self.set_until(validity.until)
        if not all(requirement(viewer) for requirement in list(self.requirements)):
            await self.revoke("Forbidden: a right this subscription relied on was withdrawn.")

    async def validity(self, conn: Any) -> Validity:
        if self.token is not None:
            return await token_validity(conn, token_digest(self.token))
        assert self.key is not None, "an access holds a token or a partner key"
        return await partner_secret_validity(conn, secret_digest(self.key))

    def set_until(self, until: datetime | None) -> None:
        """Close the socket when the credential ends, even if nothing is delivered then."""
        self.until = until
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if until is not None:
            delay_s = max((until - datetime.now(UTC)).total_seconds(), 0.0)
            self.timer = asyncio.get_running_loop().call_later(delay_s, self._expire)

    def _expire(self) -> None:
        self.timer = None
        if not self.gone:
            task = asyncio.create_task(self.revoke("Forbidden: the credential has expired."))
            self.registry.closing.add(task)
            task.add_done_callback(self.registry.closing.discard)

    async def revoke(self, reason: str, *, code: int = FORBIDDEN_CLOSE) -> None:
        """Send nothing more, forget this connection, and close its socket with `code`."""
        if self.gone:
            return
        self.gone = True
        self.release()
        log.info("closing a live connection: %s", reason)
        websocket: Any = self.context.websocket
        if websocket is not None:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await websocket.close(code=code, reason=reason)

    def release(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.registry.remove(self)


class AccessRegistry:
    """This process's authenticated live connections, by account, household and partner key."""

    def __init__(self) -> None:
        self.by_account: dict[int, set[LiveAccess]] = {}
        self.by_household: dict[int, set[LiveAccess]] = {}
        self.by_partner: dict[int, set[LiveAccess]] = {}
        self.closing: set[asyncio.Task[None]] = set()

    async def admit(self, context: Context) -> LiveAccess | None:
        """Register an acknowledged connection (None if anonymous: it may subscribe to nothing).

        Reads the credential's end (token expiry, rotated secret's grace) once, to close the
        socket then."""
        viewer = context.viewer
        if viewer.account_id is not None:
            token, key = context.token, None
        elif viewer.partner_key_id is not None:
            raw = (context.connection_params or {}).get("apiKey")
            token, key = None, api_key({"x-api-key": raw}) if isinstance(raw, str) else None
        else:
            return None
        if token is None and key is None:
            return None
        access = LiveAccess(self, context, token=token, key=key, until=None)
        self._index(access)
        async with context.reader.connect() as conn:
            validity = await access.validity(conn)
        if not validity.valid:  # revoked between connection_init and now
            await access.revoke("Forbidden: the credential was revoked or has expired.")
            return access
        access.set_until(validity.until)
        return access

    def _index(self, access: LiveAccess) -> None:
        viewer = access.viewer
        if viewer.account_id is not None:
            self.by_account.setdefault(viewer.account_id, set()).add(access)
        if viewer.partner_key_id is not None:
            self.by_partner.setdefault(viewer.partner_key_id, set()).add(access)
        if access.household_id is not None:
            self.by_household.setdefault(access.household_id, set()).add(access)

    def remove(self, access: LiveAccess) -> None:
        viewer = access.viewer
        for index, ident in (
            (self.by_account, viewer.account_id),
            (self.by_partner, viewer.partner_key_id),
            (self.by_household, access.household_id),
        ):
            if ident is not None and ident in index:
                index[ident].discard(access)
                if not index[ident]:
                    del index[ident]

    def moved(self, access: LiveAccess, household_id: int | None) -> None:
        """The account's household changed: index it under the new one."""
        if household_id == access.household_id or access.gone:
            return
        if access.household_id is not None and access.household_id in self.by_household:
            self.by_household[access.household_id].discard(access)
            if not self.by_household[access.household_id]:
                del self.by_household[access.household_id]
        access.household_id = household_id
        if household_id is not None:
            self.by_household.setdefault(household_id, set()).add(access)

    def invalidate(self, event: dict[str, Any]) -> None:
        """An `access_changed` event: mark every connection it may concern stale."""
        found: set[LiveAccess] = set()
        for index, field in (
            (self.by_account, "account_id"),
            (self.by_household, "household_id"),
            (self.by_partner, "partner_key_id"),
        ):
            ident = event.get(field)
            if isinstance(ident, int):
                found |= index.get(ident, set())
        if event.get("all_partner_keys"):
            for accesses in self.by_partner.values():
                found |= accesses
        for access in found:
            access.invalidate()

    def invalidate_all(self) -> None:
        """The listener was away: notifications may have been missed, check everyone."""
        everyone: set[LiveAccess] = set()
        for index in (self.by_account, self.by_partner):
            for accesses in index.values():
                everyone |= accesses
        for access in everyone:
            access.invalidate()


def registry_of(broadcaster: Broadcaster) -> AccessRegistry:
    """The process's registry, which its broadcaster's listener tells of `access_changed`."""
    if not isinstance(broadcaster.access, AccessRegistry):
        broadcaster.access = AccessRegistry()
    return broadcaster.access
