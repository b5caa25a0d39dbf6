"""Rate limits per client address, account and partner key, counted by the `limits` library.

Every operation is charged to its client address and, when signed in, to its account or partner
key; an operation with proximity searches is also charged once per search to the stricter
proximity limit (so many accounts behind one address, or one account from many addresses,
cannot trilaterate a home by a burst of searches). Failed sign-ins have counters of their own
(`SignInLimits`).

The counters are `limits`' sliding-window counters (`limits.aio`, awaited on the event loop):
two integers per key and limit, the current minute's count and the previous one's, weighted by
how much of the previous minute is still in the window. A client may burst a minute's worth,
then gets room back as that burst fades out of the window, about as the token buckets this
replaced refilled; a fixed window would grant twice the limit across a boundary, and a moving
window keeps one entry per request.

Where the counters live (`REDIS_URL`): in Redis, shared by every worker process and every
server that uses it, so the limits hold per deployment whatever WORKERS is; without it, in each
process's memory, and with WORKERS=N a client gets up to N times the limits (`serve` warns).
A Redis that cannot be reached grants (logged): an outage of the counters must not be an outage
of the service.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from graphql import GraphQLError
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool
from strawberry.extensions import SchemaExtension

from api.cost import ensure_validated, measure
from api.settings import Settings

log = logging.getLogger("voisinage.ratelimit")

RATE_LIMITED = "RATE_LIMITED"


CounterStorage = MemoryStorage | RedisStorage


def redis_storage(settings: Settings, pool: ConnectionPool) -> RedisStorage:
    """`limits`' Redis storage on our pool (keys under `REDIS_KEY_PREFIX`)."""
    return RedisStorage(
        f"async+{settings.redis_url}",
        implementation="redispy",
        key_prefix=settings.redis_key_prefix,
        wrap_exceptions=True,
        # Documented ("connection_pool: if provided, the redis client is initialized with the
        # connection pool"), though its options are typed as scalars.
        connection_pool=pool,  # type: ignore[arg-type]
    )


def seconds_until_free(
    limit: int,
    window_s: int,
    amount: int,
    previous_count: int,
    previous_ttl_s: float,
    current_count: int,
    current_ttl_s: float,
) -> float:
    """Seconds until `amount` more fits under `limit`, from a sliding window counter's state.

    A hit is granted when floor(previous_count × previous_ttl / window) + current_count +
    amount ≤ limit; `previous_ttl_s` is also what is left of the current window, and
    `current_ttl_s` that plus a window (how the library's storages report them).
    """
    if amount > limit:
        return float(window_s)  # never: say a window, as a full refill would take
    room = limit - amount + 1  # the weighted count must fall strictly below this
    left_s = previous_ttl_s if previous_count else max(current_ttl_s - window_s, 0.0)
    if current_count < room:  # within the current window, as the previous count fades
        if previous_count == 0:
            return 0.0
        return max(0.0, left_s - window_s * (room - current_count) / previous_count)
    # After the current window ends, when it has become the previous one and fades in turn.
    return left_s + max(0.0, window_s * (1 - room / current_count))


class Limit:
    """One limit (so many per window) over many keys, e.g. operations per address and account."""

    def __init__(
        self,
        limiter: SlidingWindowCounterRateLimiter,
        storage: CounterStorage,
        item: RateLimitItem,
    ) -> None:
        self.limiter = limiter
        self.storage = storage
        self.item = item

    async def acquire(self, keys: Sequence[str], amount: int = 1) -> float:
        """Charge `amount` to every key, or to none: 0 when granted, else seconds to wait."""
        try:
            if len(keys) > 1:  # all or none: a refusal by one key charges no other
                for key in keys:
                    if not await self.limiter.test(self.item, key, cost=amount):
                        return await self.wait_s(keys, amount)
            for key in keys:
                if not await self.limiter.hit(self.item, key, cost=amount):
                    return await self.wait_s(keys, amount)
        except StorageError as error:
            log.warning("rate-limit storage unavailable, granted: %s", error)
        return 0.0

    async def test(self, keys: Sequence[str], amount: int = 1) -> float:
        """Like `acquire`, without charging anything."""
        try:
            for key in keys:
                if not await self.limiter.test(self.item, key, cost=amount):
                    return await self.wait_s(keys, amount)
        except StorageError as error:
            log.warning("rate-limit storage unavailable, granted: %s", error)
        return 0.0

    async def clear(self, key: str) -> None:
        try:
            await self.limiter.clear(self.item, key)
        except StorageError as error:
            log.warning("rate-limit storage unavailable, not cleared: %s", error)

    async def wait_s(self, keys: Sequence[str], amount: int) -> float:
        """The longest wait among `keys` (at least a millisecond: this is a refusal)."""
        storage = self.storage
        window_s = self.item.get_expiry()
        waits = [
            seconds_until_free(
                self.item.amount,
                window_s,
                amount,
                *await storage.get_sliding_window(self.item.key_for(key), window_s),
            )
            for key in keys
        ]
        return max(max(waits, default=0.0), 0.001)


class RateLimits:
    """The limits of one application, on one storage; a limit of 0 is switched off (None).

    Built once per application (`create_app`), which closes it with its lifespan.
    """

    def __init__(self, settings: Settings) -> None:
        self.redis_pool: ConnectionPool | None = None
        self.storage: CounterStorage
        if settings.redis_url is None:
            self.storage = MemoryStorage()
        else:
            # Ours, so that the lifespan can close it; a second's timeout: a Redis away is
            # waited for that long at most, then the request is granted (see the module doc).
            self.redis_pool = ConnectionPool.from_url(
                settings.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0
            )
            self.storage = redis_storage(settings, self.redis_pool)
        limiter = SlidingWindowCounterRateLimiter(self.storage)

        def per_minute(amount: int, family: str, minutes: int = 1) -> Limit | None:
            if amount <= 0:
                return None
            return Limit(
                limiter, self.storage, RateLimitItemPerMinute(amount, minutes, namespace=family)
            )

        self.operations = per_minute(settings.rate_limit_per_minute, "operations")
        self.proximity = per_minute(settings.proximity_rate_limit_per_minute, "proximity")
        window = settings.sign_in_window_minutes
        self.sign_in = SignInLimits(
            per_account=per_minute(settings.sign_in_failures_per_account, "sign-in", window),
            per_address=per_minute(settings.sign_in_failures_per_address, "sign-in", window),
        )

    async def close(self) -> None:
        """Drop the Redis connections (memory has nothing to close)."""
        if self.redis_pool is not None:
            await self.redis_pool.disconnect()


@dataclass(frozen=True)
class SignInLimits:
    """Failed sign-ins, per e-mail and per client address, over a window of minutes.

    Counted by e-mail, not account: an unknown e-mail gets exactly the answers an account does.
    The e-mail is kept as a digest, so the counters' store holds no address book.

    Per e-mail every attempt is counted before the password is checked (so a burst sent at once
    cannot all be checked) and a success forgets them; per address only failures count (many
    people sign in from behind one address).
    """

    per_account: Limit | None
    per_address: Limit | None

    @staticmethod
    def email_key(email: str) -> str:
        return "email:" + hashlib.sha256(email.encode()).hexdigest()[:32]

    async def attempt(self, email: str, address: str | None) -> float:
        """0 if this sign-in may be checked (and it is counted), else seconds to wait."""
        if self.per_address is not None:
            wait_s = await self.per_address.test([f"address:{address or 'unknown'}"])
            if wait_s:
                return wait_s
        if self.per_account is not None:
            return await self.per_account.acquire([self.email_key(email)])
        return 0.0

    async def failed(self, address: str | None) -> None:
        if self.per_address is not None:
            await self.per_address.acquire([f"address:{address or 'unknown'}"])

    async def succeeded(self, email: str) -> None:
        if self.per_account is not None:
            await self.per_account.clear(self.email_key(email))


def rate_limited(retry_after_s: float, what: str) -> GraphQLError:
    seconds = max(1, math.ceil(retry_after_s))
    return GraphQLError(
        f"Too many {what}: retry in {seconds} s (docs/limits.md).",
        extensions={"code": RATE_LIMITED, "retryAfterSeconds": seconds},
    )


def client_address(context: object) -> str | None:
    state = getattr(context, "request_state", None)
    address = getattr(state, "client_address", None)
    return address if isinstance(address, str) else None


def client_keys(context: object) -> list[str]:
    """`address:<ip>` always, plus `account:<id>` when signed in, `partner:<id>` for a key."""
    keys = [f"address:{client_address(context) or 'unknown'}"]
    viewer = getattr(context, "viewer", None)
    account_id = getattr(viewer, "account_id", None)
    if account_id is not None:
        keys.append(f"account:{account_id}")
    partner_key_id = getattr(viewer, "partner_key_id", None)
    if partner_key_id is not None:
        keys.append(f"partner:{partner_key_id}")
    return keys


async def proximity_refusal(
    limits: RateLimits | None, context: object, searches: int
) -> GraphQLError | None:
    """Charge `searches` proximity searches to the context's client; the refusal, if any."""
    if limits is None or limits.proximity is None or searches <= 0:
        return None
    retry_after_s = await limits.proximity.acquire(client_keys(context), searches)
    return rate_limited(retry_after_s, "proximity searches") if retry_after_s else None


class RateLimitGuard(SchemaExtension):
    """Charges each operation to its client's counters; refuses with RATE_LIMITED when full.

    The operation limit is charged as parsing starts, so even a document that fails to parse
    counts; the proximity limit after validation and the cost limit, by the number of proximity
    searches the operation may run. A refusal is delivered from `on_validate`, as a
    pre-execution error: raising from a hook would escape Strawberry's WebSocket path. The hooks
    are asynchronous (the counters may be in Redis): the schema is only run by `execute` and
    `subscribe`, never `execute_sync`.
    """

    def __init__(self, limits: RateLimits, *, proximity_cost: int) -> None:
        self.limits = limits
        self.proximity_cost = proximity_cost
        self.refusal: GraphQLError | None = None

    async def on_parse(self) -> AsyncIterator[None]:
        # Charged as parsing starts, not in `on_operation`: an operation hook stays open for
        # the whole life of a subscription (hours, one suspended generator per subscriber).
        if self.limits.operations is not None:
            keys = client_keys(self.execution_context.context)
            retry_after_s = await self.limits.operations.acquire(keys)
            if retry_after_s:
                self.refusal = rate_limited(retry_after_s, "requests")
        yield

    async def on_validate(self) -> AsyncIterator[None]:
        execution_context = self.execution_context
        if self.refusal is not None:
            execution_context.pre_execution_errors = [self.refusal]
        elif self.limits.proximity is not None and ensure_validated(execution_context):
            searches = measure(execution_context, self.proximity_cost).proximity_searches
            refusal = await proximity_refusal(self.limits, execution_context.context, searches)
            if refusal is not None:
                execution_context.pre_execution_errors = [refusal]
        yield
