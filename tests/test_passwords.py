"""Argon2 profiles (any verifies any stored hash; `fast` refused in production), hashing off the
event loop, and the rule refusing passwords guessed early."""

from __future__ import annotations

import asyncio
import time

import pytest

from api.settings import Settings, SettingsError
from db.passwords import PasswordHashing, password_weakness


def test_a_fast_hash_verifies_with_the_standard_profile_and_asks_for_a_rehash() -> None:
    fast, standard = PasswordHashing("fast"), PasswordHashing("standard")
    stored = fast.hash("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert standard.verify(stored, "correct horse battery")
    assert not standard.verify(stored, "wrong horse battery")
    assert standard.needs_rehash(stored)


def test_an_unknown_account_is_checked_against_a_dummy_hash() -> None:
    assert PasswordHashing("fast").verify(None, "anything") is False


def test_fast_hashing_is_refused_in_production() -> None:
    with pytest.raises(SettingsError, match="never production"):
        Settings(password_hashing="fast", environment="production")


async def test_hashing_runs_off_the_event_loop() -> None:
    hashing = PasswordHashing("standard")
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    ticker = asyncio.create_task(tick())
    started = time.perf_counter()
    stored = await hashing.hash_async("correct horse battery")
    verified = await hashing.verify_async(stored, "correct horse battery")
    took_s = time.perf_counter() - started
    ticker.cancel()
    assert verified
    # The loop went on ticking through both hashes (each ~0.15 s of Argon2 on the loop would
    # have stopped it): at least a third of the ticks a free loop gets.
    assert ticks >= took_s / 0.005 / 3


@pytest.mark.parametrize(
    "password", ["aaaaaaaaaa", "password12", "azertyuiop", "1234567890", "qwertyuiop123"]
)
def test_passwords_guessed_early_are_weak(password: str) -> None:
    assert password_weakness(password) is not None


@pytest.mark.parametrize(
    "password", ["voisinage-demo", "correct horse battery", "another long one"]
)
def test_passwords_of_the_demo_and_the_suite_are_not_weak(password: str) -> None:
    assert password_weakness(password) is None


def test_the_account_s_own_name_counts_as_guessable() -> None:
    assert password_weakness("Claire2024!") is None
    assert password_weakness("Claire2024!", ["claire", "martin"]) is not None
