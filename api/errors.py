"""Errors a client can act on, and the masking of everything else.

Expected failures carry a stable `extensions.code` (clients translate by code) and a plain
message. Anything else is replaced by a generic message and logged with the request ID, so no
stack trace, SQL, path or library name ever reaches a client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import Enum
from typing import Any

import strawberry
from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

log = logging.getLogger("voisinage.errors")

INTERNAL_MESSAGE = (
    "Something went wrong on our side. Please retry; if it persists, report the request ID."
)


@strawberry.enum(description="Stable codes of expected errors; clients translate by code.")
class ErrorCode(Enum):
    BAD_USER_INPUT = "BAD_USER_INPUT"
    INVALID_COORDINATES = "INVALID_COORDINATES"
    INVALID_GEOMETRY = "INVALID_GEOMETRY"
    EMPTY_GEOMETRY = "EMPTY_GEOMETRY"
    GEOMETRY_TOO_LARGE = "GEOMETRY_TOO_LARGE"
    INVALID_CELL = "INVALID_CELL"
    INVALID_CURSOR = "INVALID_CURSOR"
    INVALID_ID = "INVALID_ID"
    NOT_FOUND = "NOT_FOUND"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    WEAK_PASSWORD = "WEAK_PASSWORD"  # noqa: S105 - an error code, not a secret
    ALREADY_IN_HOUSEHOLD = "ALREADY_IN_HOUSEHOLD"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMITED = "RATE_LIMITED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class UserError(Exception):
    """An expected failure raised by a resolver; graphql-core copies `extensions` onto the error."""

    def __init__(self, code: ErrorCode | str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code.value if isinstance(code, ErrorCode) else code
        self.message = message
        self.extensions: dict[str, Any] = {"code": self.code, **details}


def is_user_error(error: GraphQLError) -> bool:
    return isinstance(error.original_error, UserError)


class MaskUnexpectedErrors(MaskErrors):
    """Keep user and GraphQL validation errors (adding a code); mask and log everything else."""

    def __init__(self, request_id: Callable[[object], str | None] | None = None) -> None:
        super().__init__(should_mask_error=self._should_mask, error_message=INTERNAL_MESSAGE)
        self._request_id = request_id

    @staticmethod
    def _should_mask(error: GraphQLError) -> bool:
        return error.original_error is not None and not is_user_error(error)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        context = getattr(self.execution_context, "context", None)
        request_id = getattr(context, "request_id", None)
        log.error(
            "unexpected error in resolver (request_id=%s, path=%s)",
            request_id,
            error.path,
            exc_info=error.original_error,
        )
        return GraphQLError(
            message=self.error_message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={"code": ErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id},
        )

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = super()._process_errors(errors)
        for error in processed:
            if error.original_error is None and not (error.extensions or {}).get("code"):
                error.extensions = {
                    **(error.extensions or {}),
                    "code": ErrorCode.GRAPHQL_VALIDATION_FAILED.value,
                }
        return processed


@strawberry.interface(description="An expected failure of a mutation: a stable code and a message.")
class MutationError:
    code: ErrorCode = strawberry.field(description="Stable code; translate by this.")
    message: str = strawberry.field(description="What went wrong, in plain English.")


@strawberry.type(description="The input was refused; nothing was written.")
class ValidationError(MutationError):
    field: str | None = strawberry.field(
        default=None, description="The input field at fault, when there is one."
    )


@strawberry.type(description="The object does not exist, or you may not see it.")
class NotFoundError(MutationError):
    pass


@strawberry.type(description="You are not allowed to do this.")
class ForbiddenError(MutationError):
    pass


@strawberry.type(description="Sign in first: the bearer token is missing, expired or revoked.")
class UnauthenticatedError(MutationError):
    pass


def unauthenticated() -> UnauthenticatedError:
    return UnauthenticatedError(
        code=ErrorCode.UNAUTHENTICATED,
        message="Sign in first: send `Authorization: Bearer <token>` from logIn or signUp.",
    )


def forbidden(message: str) -> ForbiddenError:
    return ForbiddenError(code=ErrorCode.FORBIDDEN, message=message)
