"""A service's `Refusal` as the GraphQL error type of its meaning.

One error type per meaning across mutations: NOT_FOUND is a `NotFoundError`, FORBIDDEN a
`ForbiddenError`, ALREADY_BOOKED an `AlreadyBookedError` (loans and seats alike), any refused
input a `ValidationError` naming its field.
"""

from __future__ import annotations

from api.errors import (
    ErrorCode,
    ForbiddenError,
    NotFoundError,
    UnauthenticatedError,
    ValidationError,
)
from api.types.loan import AlreadyBookedError
from services.errors import Refusal

ServiceError = (
    ValidationError | NotFoundError | ForbiddenError | UnauthenticatedError | AlreadyBookedError
)


def refusal_error(refusal: Refusal) -> ServiceError:
    code = ErrorCode(refusal.code)
    if code is ErrorCode.NOT_FOUND:
        return NotFoundError(code=code, message=refusal.message)
    if code is ErrorCode.FORBIDDEN:
        return ForbiddenError(code=code, message=refusal.message)
    if code is ErrorCode.UNAUTHENTICATED:
        return UnauthenticatedError(code=code, message=refusal.message)
    if code is ErrorCode.ALREADY_BOOKED:
        return AlreadyBookedError(code=code, message=refusal.message)
    return ValidationError(code=code, message=refusal.message, field=refusal.field)
