"""verifyEmail, requestPasswordReset, resetPassword, changePassword, deleteAccount, exportMyData.

Each maps its arguments to a `services.accounts` call and the outcome to a GraphQL type; the
links these mutations consume are e-mailed by the services (format in docs/accounts.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON

from api.context import Context
from api.errors import (
    ErrorCode,
    UnauthenticatedError,
    UserError,
    ValidationError,
    unauthenticated,
)
from api.mailer import charge_mail, mailer_for
from api.resolvers.accounts import (
    MAX_PASSWORD,
    InvalidCredentialsError,
    check_password,
    clean_email,
    guessable_parts,
)
from api.types.account_lifecycle import (
    DataExport,
    DeleteAccountSuccess,
    PasswordChangedSuccess,
    RequestPasswordResetSuccess,
    VerifyEmailSuccess,
)
from db.queries import accounts as account_queries
from services import accounts
from services.errors import Refusal, invalid_token

Info = strawberry.Info[Context, None]
MAX_TOKEN = 200

VerifyEmailResult = Annotated[
    VerifyEmailSuccess | ValidationError, strawberry.union("VerifyEmailResult")
]
RequestPasswordResetResult = Annotated[
    RequestPasswordResetSuccess | ValidationError, strawberry.union("RequestPasswordResetResult")
]
ResetPasswordResult = Annotated[
    PasswordChangedSuccess | ValidationError, strawberry.union("ResetPasswordResult")
]
ChangePasswordResult = Annotated[
    PasswordChangedSuccess | InvalidCredentialsError | ValidationError | UnauthenticatedError,
    strawberry.union("ChangePasswordResult"),
]
DeleteAccountResult = Annotated[
    DeleteAccountSuccess | InvalidCredentialsError | UnauthenticatedError,
    strawberry.union("DeleteAccountResult"),
]


def validation_error(error: UserError) -> ValidationError:
    return ValidationError(
        code=ErrorCode(error.code), message=error.message, field=error.extensions.get("argument")
    )


def refused(refusal: Refusal) -> ValidationError:
    return ValidationError(
        code=ErrorCode(refusal.code), message=refusal.message, field=refusal.field
    )


def wrong_password(refusal: Refusal) -> InvalidCredentialsError:
    return InvalidCredentialsError(code=ErrorCode(refusal.code), message=refusal.message)


def bad_token(token: str) -> bool:
    return not token or len(token) > MAX_TOKEN or not token.isascii()


def check_new_password(password: str, user_inputs: Sequence[str] = ()) -> None:
    """The sign-up rules (check_password), the error naming `newPassword`."""
    try:
        check_password(password, user_inputs)
    except UserError as error:
        error.extensions["argument"] = "newPassword"
        raise


@strawberry.type
class AccountLifecycleQuery:
    @strawberry.field(
        description="Everything the service holds about you (signed in; GDPR art. 20), as JSON "
        "to save. Null data never: UNAUTHENTICATED when signed out."
    )
    async def export_my_data(self, info: Info) -> DataExport:
        account_id = info.context.viewer.account_id
        if account_id is None:
            raise UserError(ErrorCode.UNAUTHENTICATED, unauthenticated().message)
        data = await accounts.export_my_data(info.context.engine, account_id)
        if data is None:
            raise UserError(ErrorCode.UNAUTHENTICATED, unauthenticated().message)
        return DataExport(
            generated_at=datetime.fromisoformat(data["generatedAt"]),
            data=cast(JSON, data),
        )


@strawberry.type
class AccountLifecycleMutation:
    @strawberry.mutation(
        description="Confirm an e-mail address with the token of the link sent at sign-up "
        "(`<PUBLIC_URL>/verifier?token=…`). Single use; INVALID_TOKEN when unknown, used or "
        "expired (signUp again to get a new link)."
    )
    async def verify_email(
        self, info: Info, token: Annotated[str, strawberry.argument(description="From the link.")]
    ) -> VerifyEmailResult:
        if bad_token(token):
            return refused(invalid_token())
        outcome = await accounts.verify_email(info.context.engine, token)
        if isinstance(outcome, Refusal):
            return refused(outcome)
        return VerifyEmailSuccess(email=outcome)

    @strawberry.mutation(
        description="E-mail a password-reset link (`<PUBLIC_URL>/reinitialiser?token=…`, valid "
        "1 h) if the address has an account. The answer is the same either way; at most 3 "
        "links per address an hour."
    )
    async def request_password_reset(
        self,
        info: Info,
        email: Annotated[str, strawberry.argument(description="The account's sign-in e-mail.")],
    ) -> RequestPasswordResetResult:
        try:
            address = clean_email(email)
        except UserError as error:
            return validation_error(error)
        await charge_mail(info.context)
        await accounts.request_password_reset(
            info.context.engine, mailer_for(info.context), address
        )
        return RequestPasswordResetSuccess(email=address)

    @strawberry.mutation(
        description="Choose a new password with the token of a reset link. Single use; signs "
        "out every session of the account and confirms its address. INVALID_TOKEN when the "
        "link is unknown, used or expired; WEAK_PASSWORD as at sign-up."
    )
    async def reset_password(
        self,
        info: Info,
        token: Annotated[str, strawberry.argument(description="From the link.")],
        new_password: Annotated[str, strawberry.argument(description="10 to 256 characters.")],
    ) -> ResetPasswordResult:
        if bad_token(token):
            return refused(invalid_token())
        try:
            check_new_password(new_password)
        except UserError as error:
            return validation_error(error)
        password_hash = await info.context.passwords.hash_async(new_password)
        outcome = await accounts.reset_password(
            info.context.engine, mailer_for(info.context), token, password_hash
        )
        if isinstance(outcome, Refusal):
            return refused(outcome)
        return PasswordChangedSuccess(revoked_tokens=outcome)

    @strawberry.mutation(
        description="Change your password (signed in), proving you know the current one. Your "
        "other sessions are signed out; this one stays."
    )
    async def change_password(
        self,
        info: Info,
        current_password: Annotated[str, strawberry.argument(description="Your password now.")],
        new_password: Annotated[str, strawberry.argument(description="10 to 256 characters.")],
    ) -> ChangePasswordResult:
        account_id = info.context.viewer.account_id
        if account_id is None:
            return unauthenticated()
        if len(current_password) > MAX_PASSWORD:
            return wrong_password(accounts.wrong_password())
        async with info.context.reader.connect() as conn:
            row = await account_queries.account_by_id(conn, account_id)
        try:
            check_new_password(
                new_password, guessable_parts(row.email, row.display_name) if row else ()
            )
        except UserError as error:
            return validation_error(error)
        outcome = await accounts.change_password(
            info.context.engine,
            info.context.passwords,
            mailer_for(info.context),
            account_id=account_id,
            current_token=info.context.token,
            current_password=current_password,
            new_password=new_password,
        )
        if isinstance(outcome, Refusal):
            return wrong_password(outcome)
        return PasswordChangedSuccess(revoked_tokens=outcome)

    @strawberry.mutation(
        description="Delete your account for good (GDPR art. 17), after checking your "
        'password. Personal data is erased; what neighbours rely on stays, signed "Ancien '
        'voisin" (docs/accounts.md). Export your data first if you want it (exportMyData).'
    )
    async def delete_account(
        self,
        info: Info,
        password: Annotated[str, strawberry.argument(description="Your password, again.")],
    ) -> DeleteAccountResult:
        account_id = info.context.viewer.account_id
        if account_id is None:
            return unauthenticated()
        if len(password) > MAX_PASSWORD:
            return wrong_password(accounts.wrong_password())
        outcome = await accounts.delete_account(
            info.context.engine,
            info.context.passwords,
            mailer_for(info.context),
            account_id=account_id,
            password=password,
        )
        if outcome is not None:
            return wrong_password(outcome)
        return DeleteAccountSuccess(deleted_at=datetime.now(UTC))
