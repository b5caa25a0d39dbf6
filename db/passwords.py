"""Argon2id password hashing, shared by the API and seeds, and the rule refusing weak passwords.

`PasswordHashing` holds one hasher. Production uses argon2-cffi's recommended parameters
("standard": 64 MiB and about 0.15 s of CPU per hash here); the test suite may choose "fast"
(Settings.password_hashing) so hundreds of sign-ups do not cost minutes. Verification reads the
parameters from the hash itself, so either profile verifies any stored hash, and `needs_rehash`
upgrades weaker hashes at the next log-in.

The API hashes through the `*_async` methods: in a small pool of threads (argon2-cffi releases
the GIL), never on the event loop, where one hash stalls every other request for its duration.
20 sign-ins at once, production parameters, `{ __typename }` asked meanwhile
(tests/security/test_signin.py, a 2-core machine already at load 7-9): p99 3.1 s with hashing on
the loop; 127 ms in the pool at equal priority; 43-63 ms at nice +10 (17-19 ms with no burst).
The pool is bounded (HASHING_THREADS) so that a burst of sign-ins queues instead of taking
64 MiB per hash in flight.

A failed sign-in costs the same whether or not the e-mail exists: unknown accounts are checked
against a dummy hash, so the timing does not reveal who has an account.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn  # type: ignore[import-untyped]

PROFILES = ("standard", "fast")
HASHING_THREADS = 2
"""Hashes computed at once per process: the cores of the 2-core machine production runs on."""
MIN_GUESS_SCORE = 3
"""zxcvbn's scores: 0-2 are guessed within about 10^8 tries (an offline attack on a leaked
hash), 3 and 4 are not; refusing below 3 is the rule zxcvbn's authors recommend."""
SCORED_CHARACTERS = 72
"""zxcvbn refuses longer inputs (its matching grows fast with length): the start is scored."""

HASHING_NICENESS = 10
"""How much less CPU priority the hashing threads get (Linux nice is per thread, and libargon2's
lane threads inherit it): 2 hashes of 4 lanes each are 8 busy threads on 2 cores, and the event
loop thread at equal priority waited its turn among them (p99 127 ms above); at nice +10 the
scheduler weighs it ~10 times more than each, so it runs when it has a request and hashes use
the rest. A sign-in then takes longer on a saturated machine: priority to everyone's requests."""


def _lower_priority() -> None:
    thread_id = threading.get_native_id()
    with contextlib.suppress(OSError):  # not Linux, or a policy refusing it: equal priority
        niceness = os.getpriority(os.PRIO_PROCESS, thread_id) + HASHING_NICENESS
        os.setpriority(os.PRIO_PROCESS, thread_id, min(niceness, 19))


_HASHING_POOL = ThreadPoolExecutor(
    max_workers=HASHING_THREADS, thread_name_prefix="argon2", initializer=_lower_priority
)
"""One per process, like the CPU it shares out; threads start on first use."""


class PasswordHashing:
    def __init__(self, profile: str = "standard") -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown password hashing profile {profile!r}")
        self.hasher = (
            PasswordHasher()
            if profile == "standard"
            else PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        )
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            verified = self.hasher.verify(password_hash or self._dummy_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        return verified and password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        return self.hasher.check_needs_rehash(password_hash)

    async def hash_async(self, password: str) -> str:
        """`hash` in the hashing pool: the event loop goes on serving meanwhile."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_HASHING_POOL, self.hash, password)

    async def verify_async(self, password_hash: str | None, password: str) -> bool:
        """`verify` in the hashing pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_HASHING_POOL, self.verify, password_hash, password)


STANDARD = PasswordHashing("standard")


def hash_password(password: str) -> str:
    """With the standard parameters (seeds, tools)."""
    return STANDARD.hash(password)


def password_weakness(password: str, user_inputs: Sequence[str] = ()) -> str | None:
    """Why `password` would be guessed early (a sentence), or None when it is strong enough.

    zxcvbn (Dropbox's estimator, the `zxcvbn` package) matches it against the frequency lists
    it ships — 30,000 passwords most common in breaches, English words, first names and
    surnames — and against keyboard patterns, repeats, sequences, dates and `user_inputs` (the
    account's e-mail and name), and estimates the guesses needed.
    """
    result = zxcvbn(password[:SCORED_CHARACTERS], user_inputs=list(user_inputs))
    if result["score"] >= MIN_GUESS_SCORE:
        return None
    warning: str = result["feedback"].get("warning") or ""
    return warning or "It follows a pattern that is tried early."
