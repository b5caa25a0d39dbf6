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
from strawberry.relay import GlobalIDValueError

log = logging.getLogger("voisinage.errors")

INTERNAL_MESSAGE = (
    "Something went wrong on our side. Please retry; if it persists, report the request ID."
)


@strawberry.enum(description="Stable codes of expected errors; clients translate by code.")
class ErrorCode(Enum):
    BAD_USER_INPUT = "BAD_USER_INPUT"
    INVALID_COORDINATES = "INVALID_COORDINATES"
    OUTSIDE_SERVICE_AREA = "OUTSIDE_SERVICE_AREA"
    INVALID_GEOMETRY = "INVALID_GEOMETRY"
    EMPTY_GEOMETRY = "EMPTY_GEOMETRY"
    GEOMETRY_TOO_LARGE = "GEOMETRY_TOO_LARGE"
    GEOMETRY_TOO_SMALL = "GEOMETRY_TOO_SMALL"
    TOO_MANY_NEIGHBOURHOODS = "TOO_MANY_NEIGHBOURHOODS"
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
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    NOT_A_MEMBER = "NOT_A_MEMBER"
    ALREADY_CLAIMED = "ALREADY_CLAIMED"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    ALREADY_BOOKED = "ALREADY_BOOKED"
    OWN_ITEM = "OWN_ITEM"
    ITEM_UNAVAILABLE = "ITEM_UNAVAILABLE"
    INVALID_DATES = "INVALID_DATES"
    DATE_TOO_FAR = "DATE_TOO_FAR"
    NO_SEATS_LEFT = "NO_SEATS_LEFT"
    ALREADY_REPORTED = "ALREADY_REPORTED"
    ALREADY_REVIEWED = "ALREADY_REVIEWED"
    LOAN_NOT_RETURNED = "LOAN_NOT_RETURNED"
    INVITATION_INVALID = "INVITATION_INVALID"
    INVITATION_EXPIRED = "INVITATION_EXPIRED"
    INVITATION_USED = "INVITATION_USED"
    INVITATION_REVOKED = "INVITATION_REVOKED"
    INVITATION_WRONG_NEIGHBOURHOOD = "INVITATION_WRONG_NEIGHBOURHOOD"
    INVALID_TOKEN = "INVALID_TOKEN"  # noqa: S105 - an error code, not a secret
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


def error_chain(error: GraphQLError) -> list[BaseException]:
    """`error`'s original errors, outermost first (graphql-core wraps an input error twice)."""
    chain: list[BaseException] = []
    cause = error.original_error
    while cause is not None and len(chain) < 8:
        chain.append(cause)
        cause = cause.original_error if isinstance(cause, GraphQLError) else None
    return chain


def root_cause(error: GraphQLError) -> BaseException | None:
    """The Python exception behind `error`; None when graphql-core or Strawberry raised it on
    purpose, with a message written for clients ("Int cannot represent ...")."""
    chain = error_chain(error)
    return chain[-1] if chain and not isinstance(chain[-1], GraphQLError) else None


def input_error_message(error: GraphQLError, cause: BaseException | None) -> str:
    """A refused input's message without the exception text graphql-core appends to it
    ("Variable '$c' got invalid value 5; Expected type 'H3Cell'. <exception text>")."""
    if isinstance(cause, RecursionError):
        return "The document or its input is nested too deeply."
    text = str(cause) if cause is not None else ""
    message = error.message.replace(text, "") if text else error.message
    return message.rstrip(" ;.:") + "." if message.strip(" ;.:") else "Invalid input."


class MaskUnexpectedErrors(MaskErrors):
    """Keep user and GraphQL validation errors (adding a code); mask and log everything else."""

    def __init__(self, request_id: Callable[[object], str | None] | None = None) -> None:
        super().__init__(should_mask_error=self._should_mask, error_message=INTERNAL_MESSAGE)
        self._request_id = request_id

    @staticmethod
    def _should_mask(error: GraphQLError) -> bool:
        cause = root_cause(error)
        return cause is not None and not isinstance(cause, UserError)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        context = getattr(self.execution_context, "context", None)
        request_id = getattr(context, "request_id", None)
        if error.path is None:
            # Before execution: a value the client sent broke a scalar's parser (or the parser
            # itself). The client's fault, but the exception text is ours: drop it.
            log.warning(
                "input refused by a parser (request_id=%s)",
                request_id,
                exc_info=root_cause(error),
            )
            return GraphQLError(
                message=input_error_message(error, root_cause(error)),
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                original_error=None,
                extensions={"code": ErrorCode.BAD_USER_INPUT.value},
            )
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
            if not (error.extensions or {}).get("code"):
                chain = error_chain(error)
                code = (
                    ErrorCode.INVALID_ID  # Strawberry's "Value cannot represent a GlobalID"
                    if any(isinstance(cause, GlobalIDValueError) for cause in chain)
                    else ErrorCode.GRAPHQL_VALIDATION_FAILED
                )
                error.extensions = {**(error.extensions or {}), "code": code.value}
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


@strawberry.type(
    description="Only members of the neighbourhood (households living in it) may do this; "
    "register your household first (registerHousehold) if you have none."
)
class NotAMemberError(MutationError):
    pass


def not_a_member(message: str) -> NotAMemberError:
    return NotAMemberError(code=ErrorCode.NOT_A_MEMBER, message=message)
