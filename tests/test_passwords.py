"""Argon2 profiles: any profile verifies any stored hash; `fast` is refused in production."""

from __future__ import annotations

import pytest

from api.settings import Settings, SettingsError
from db.passwords import PasswordHashing


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
