"""Expected refusals of a use case, as plain values the API maps onto its GraphQL error types.

`code` is the value of an `api.errors.ErrorCode` member (a string here, so that this layer does
not depend on GraphQL); `message` is written for the person using the client.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    message: str
    field: str | None = None


def unauthenticated() -> Refusal:
    return Refusal("UNAUTHENTICATED", "Sign in first.")


def forbidden(message: str) -> Refusal:
    return Refusal("FORBIDDEN", message)


def not_found(message: str) -> Refusal:
    return Refusal("NOT_FOUND", message)


def invalid_token() -> Refusal:
    return Refusal(
        "INVALID_TOKEN",
        "This link is unknown, already used or expired: ask for a new one.",
        field="token",
    )
