"""Argon2id password hashing, shared by the API and seeds.

`PasswordHashing` holds one hasher. Production uses argon2-cffi's recommended parameters
("standard"); the test suite may choose "fast" (Settings.password_hashing) so hundreds of
sign-ups do not cost minutes. Verification reads the parameters from the hash itself, so either
profile verifies any stored hash, and `needs_rehash` upgrades weaker hashes at the next log-in.

A failed sign-in costs the same whether or not the e-mail exists: unknown accounts are checked
against a dummy hash, so the timing does not reveal who has an account.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

PROFILES = ("standard", "fast")


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


STANDARD = PasswordHashing("standard")


def hash_password(password: str) -> str:
    """With the standard parameters (seeds, tools)."""
    return STANDARD.hash(password)
