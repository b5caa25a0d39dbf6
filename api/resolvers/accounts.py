"""Sign up, log in, log out (here or everywhere), and `me`."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

import strawberry

from api.auth import new_token
from api.context import Context
from api.errors import ErrorCode, UnauthenticatedError, UserError, ValidationError, unauthenticated
from api.mailer import charge_mail, mailer_for
from api.resolvers.invitation_codes import normalise_code, refusal
from api.types.account import Account, AuthSuccess
from api.types.account_lifecycle import SignUpSuccess
from api.validation import clean_text
from db.queries import accounts
from services import accounts as account_services

Info = strawberry.Info[Context, None]
TOKEN_LIFETIME = timedelta(days=30)
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
WRONG_CREDENTIALS = (
    "Wrong e-mail or password, or an address not confirmed yet (follow the link we e-mailed)."
)


def clean_email(value: str) -> str:
    email = value.strip().lower()
    if not EMAIL.match(email) or len(email) > 254:
        raise UserError(
            ErrorCode.BAD_USER_INPUT, "This is not an e-mail address.", argument="email"
        )
    return email


def check_password(value: str) -> str:
    if not MIN_PASSWORD <= len(value) <= MAX_PASSWORD:
        raise UserError(
            ErrorCode.WEAK_PASSWORD,
            f"Choose a password of {MIN_PASSWORD} to {MAX_PASSWORD} characters.",
            argument="password",
        )
    return value


@strawberry.input(description="A new account.")
class SignUpInput:
    email: str = strawberry.field(description="Sign-in e-mail; never shown to others.")
    password: str = strawberry.field(description="10 to 256 characters.")
    display_name: str = strawberry.field(description="Name shown to neighbours, 1 to 80 chars.")
    invitation_code: str | None = strawberry.field(
        default=None,
        description="An ambassador's invitation (inviteNeighbour). Checked and kept for this "
        "account: the household it registers is approved at once if its home is in that "
        "neighbourhood.",
    )


@strawberry.type(
    description="Wrong e-mail or password, or an address not confirmed yet (we do not say which)."
)
class InvalidCredentialsError:
    code: ErrorCode
    message: str


SignUpResult = Annotated[SignUpSuccess | ValidationError, strawberry.union("SignUpResult")]
LogInResult = Annotated[
    AuthSuccess | InvalidCredentialsError | ValidationError, strawberry.union("LogInResult")
]


@strawberry.type(description="Tokens revoked.")
class LogOutSuccess:
    revoked_tokens: int = strawberry.field(description="How many tokens stopped working.")


LogOutResult = Annotated[LogOutSuccess | UnauthenticatedError, strawberry.union("LogOutResult")]


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The signed-in account, or null when anonymous.")
    async def me(self, info: Info) -> Account | None:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return None
        async with info.context.reader.connect() as conn:
            row = await accounts.account_by_id(conn, viewer.account_id)
        return Account.from_row(row) if row else None


@strawberry.type
class AccountMutation:
    @strawberry.mutation(
        description="Create an account and e-mail a link to confirm the address; sign in "
        "(logIn) once it is followed (verifyEmail). The answer is the same whether or not the "
        "address already has an account: its owner is told by e-mail instead."
    )
    async def sign_up(self, info: Info, input: SignUpInput) -> SignUpResult:
        try:
            email = clean_email(input.email)
            password = check_password(input.password)
            name = clean_text(input.display_name, argument="displayName", max_length=80)
        except UserError as error:
            return ValidationError(
                code=ErrorCode(error.code),
                message=error.message,
                field=error.extensions.get("argument"),
            )
        await charge_mail(info.context)
        password_hash = info.context.passwords.hash(password)
        code = input.invitation_code
        refused = await account_services.sign_up(
            info.context.engine,
            mailer_for(info.context),
            email=email,
            password_hash=password_hash,
            display_name=name,
            invitation_code=normalise_code(code) if code is not None else None,
        )
        if refused is not None:
            return refusal(refused.problem)
        return SignUpSuccess(email=email)

    @strawberry.mutation(description="Sign in with e-mail and password; returns a bearer token.")
    async def log_in(self, info: Info, email: str, password: str) -> LogInResult:
        if len(password) > MAX_PASSWORD or len(email) > 254:
            return InvalidCredentialsError(
                code=ErrorCode.INVALID_CREDENTIALS, message=WRONG_CREDENTIALS
            )
        async with info.context.engine.begin() as conn:
            row = await accounts.account_by_email(conn, email.strip().lower())
            passwords = info.context.passwords
            # An unconfirmed address gets the same answer as a wrong password: else signing up
            # with someone's address, then logging in, would tell whether they have an account.
            verified = passwords.verify(row.password_hash if row else None, password)
            if not verified or row is None or row.email_verified_at is None:
                return InvalidCredentialsError(
                    code=ErrorCode.INVALID_CREDENTIALS, message=WRONG_CREDENTIALS
                )
            if passwords.needs_rehash(row.password_hash):
                await accounts.update_password_hash(conn, row.id, passwords.hash(password))
            token = new_token()
            expires_at = await accounts.issue_token(conn, row.id, token, lifetime=TOKEN_LIFETIME)
        return AuthSuccess(token=token, expires_at=expires_at, account=Account.from_row(row))

    @strawberry.mutation(description="Revoke the token used for this request.")
    async def log_out(self, info: Info) -> LogOutResult:
        token = info.context.token
        if info.context.viewer.is_anonymous or token is None:
            return unauthenticated()
        async with info.context.engine.begin() as conn:
            revoked = await accounts.revoke_token(conn, token)
        return LogOutSuccess(revoked_tokens=int(revoked))

    @strawberry.mutation(description="Revoke every token of your account (all devices).")
    async def log_out_everywhere(self, info: Info) -> LogOutResult:
        account_id = info.context.viewer.account_id
        if account_id is None:
            return unauthenticated()
        async with info.context.engine.begin() as conn:
            revoked = await accounts.revoke_all_tokens(conn, account_id)
        return LogOutSuccess(revoked_tokens=revoked)
