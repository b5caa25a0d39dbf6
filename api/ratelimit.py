"""Rate limits per client address and per account: token buckets, in process.

Every operation takes one token from its client address's bucket and, when signed in, one from
its account's; an operation with proximity searches also takes one token per search from the
stricter proximity buckets (so many accounts behind one address, or one account from many
addresses, cannot trilaterate a home by a burst of searches). A bucket holds `per_minute` tokens
and refills continuously at `per_minute / 60` a second, so a client may burst up to a minute's
worth, then goes at the steady rate. The server's worker processes share one table of buckets
(api.shared_buckets); an app built in a process of its own (tests) keeps them in memory.

Why not the `limits` package: it offers fixed and moving windows but no token bucket, and its
in-memory storage expires keys from a timer thread; this is a few dozen lines, exact about
`Retry-After`, and bounded in memory. The buckets live in each server process: with WORKERS=N
a client gets up to N times the limits (a shared store is the change to make for partner keys).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from api.cost import ensure_validated, measure
from api.settings import Settings
from api.shared_buckets import SharedTokenBuckets

RATE_LIMITED = "RATE_LIMITED"
MAX_TRACKED_KEYS = 100_000
"""Buckets kept per limit; the least recently used is forgotten (i.e. refilled) beyond this."""


@dataclass
class Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """One token bucket per key, all of the same size and refill rate."""

    def __init__(
        self,
        per_minute: int,
        *,
        max_keys: int = MAX_TRACKED_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = float(per_minute)
        self.rate_per_s = per_minute / 60
        self.max_keys = max_keys
        self.clock = clock
        self.buckets: OrderedDict[str, Bucket] = OrderedDict()

    def _bucket(self, key: str, now: float) -> Bucket:
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = Bucket(tokens=self.capacity, updated=now)
            if len(self.buckets) > self.max_keys:
                self.buckets.popitem(last=False)
        else:
            self.buckets.move_to_end(key)
            elapsed = max(now - bucket.updated, 0.0)
            bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.rate_per_s)
            bucket.updated = now
        return bucket

    def acquire(self, keys: Sequence[str], amount: int) -> float:
        """Take `amount` tokens from every key's bucket, or from none.

        Returns 0 when granted, else the seconds until all the buckets could grant it.
        """
        now = self.clock()
        buckets = [self._bucket(key, now) for key in keys]
        wait_s = max(
            ((amount - bucket.tokens) / self.rate_per_s for bucket in buckets), default=0.0
        )
        if wait_s > 0:
            # More than a full bucket can never be granted: wait for a full refill anyway.
            return min(wait_s, self.capacity / self.rate_per_s)
        for bucket in buckets:
            bucket.tokens -= amount
        return 0.0


class Buckets(Protocol):
    def acquire(self, keys: Sequence[str], amount: int) -> float: ...


class RateLimits:
    """The buckets of one application; a limit of 0 switches it off.

    In the process, or in the table the server's workers share (`RATE_LIMIT_TABLE`, set by
    `python -m api serve`; see api.shared_buckets), so that N workers do not mean N times the
    limits.
    """

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.monotonic) -> None:
        table = settings.rate_limit_table

        def buckets(per_minute: int, family: str) -> Buckets | None:
            if per_minute <= 0:
                return None
            if table is not None:
                return SharedTokenBuckets(table, per_minute, family=family, clock=clock)
            return TokenBuckets(per_minute, clock=clock)

        self.operations = buckets(settings.rate_limit_per_minute, "operations")
        self.proximity = buckets(settings.proximity_rate_limit_per_minute, "proximity")


def rate_limited(retry_after_s: float, what: str) -> GraphQLError:
    seconds = max(1, math.ceil(retry_after_s))
    return GraphQLError(
        f"Too many {what}: retry in {seconds} s (docs/limits.md).",
        extensions={"code": RATE_LIMITED, "retryAfterSeconds": seconds},
    )


def client_keys(context: object) -> list[str]:
    """`address:<ip>` always, plus `account:<id>` when signed in, `partner:<id>` for a key."""
    state = getattr(context, "request_state", None)
    address = getattr(state, "client_address", None) or "unknown"
    keys = [f"address:{address}"]
    viewer = getattr(context, "viewer", None)
    account_id = getattr(viewer, "account_id", None)
    if account_id is not None:
        keys.append(f"account:{account_id}")
    partner_key_id = getattr(viewer, "partner_key_id", None)
    if partner_key_id is not None:
        keys.append(f"partner:{partner_key_id}")
    return keys


class RateLimitGuard(SchemaExtension):
    """Charges each operation to its client's buckets; refuses with RATE_LIMITED when empty.

    The operation buckets are charged as parsing starts, so even a document that fails to
    parse costs a token; the proximity buckets after validation and the cost limit, by the
    number of proximity searches the operation may run. A refusal is delivered from `on_validate`, as a
    pre-execution error: raising from a hook would escape Strawberry's WebSocket path.
    """

    def __init__(self, limits: RateLimits, *, proximity_cost: int) -> None:
        self.limits = limits
        self.proximity_cost = proximity_cost
        self.refusal: GraphQLError | None = None

    def on_parse(self) -> Iterator[None]:
        # Charged as parsing starts, not in `on_operation`: an operation hook stays open for
        # the whole life of a subscription (hours, one suspended generator per subscriber).
        if self.limits.operations is not None:
            keys = client_keys(self.execution_context.context)
            retry_after_s = self.limits.operations.acquire(keys, 1)
            if retry_after_s:
                self.refusal = rate_limited(retry_after_s, "requests")
        yield

    def on_validate(self) -> Iterator[None]:
        execution_context = self.execution_context
        if self.refusal is not None:
            execution_context.pre_execution_errors = [self.refusal]
        elif self.limits.proximity is not None and ensure_validated(execution_context):
            searches = measure(execution_context, self.proximity_cost).proximity_searches
            if searches:
                keys = client_keys(execution_context.context)
                retry_after_s = self.limits.proximity.acquire(keys, searches)
                if retry_after_s:
                    execution_context.pre_execution_errors = [
                        rate_limited(retry_after_s, "proximity searches")
                    ]
        yield
