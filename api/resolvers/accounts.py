"""Sign up, log in, log out (here or everywhere), and `me`."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated

import strawberry

from api.auth import new_token
from api.context import Context
from api.errors import (
    ErrorCode,
    MutationError,
    UnauthenticatedError,
    UserError,
    ValidationError,
    unauthenticated,
)
from api.mailer import charge_mail, mailer_for
from api.ratelimit import client_address
from api.resolvers.invitation_codes import normalise_code, refusal
from api.types.account import Account, AuthSuccess
from api.types.account_lifecycle import SignUpSuccess
from api.validation import clean_text
from db.passwords import password_weakness
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


def check_password(value: str, user_inputs: Sequence[str] = ()) -> str:
    """`value` if long enough and not among the first guesses (db.passwords.password_weakness),
    `user_inputs` (the e-mail's parts, the name) counting as guessable."""
    if not MIN_PASSWORD <= len(value) <= MAX_PASSWORD:
        raise UserError(
            ErrorCode.WEAK_PASSWORD,
            f"Choose a password of {MIN_PASSWORD} to {MAX_PASSWORD} characters.",
            argument="password",
        )
    weakness = password_weakness(value, user_inputs)
    if weakness is not None:
        raise UserError(
            ErrorCode.WEAK_PASSWORD,
            f"This password is too easy to guess: {weakness} Choose another, for example "
            "three or four unrelated words.",
            argument="password",
        )
    return value


def guessable_parts(email: str, display_name: str) -> list[str]:
    """What an attacker targeting this account would try first: its e-mail and name, in parts."""
    return [part for part in re.split(r"[\W_]+", f"{email} {display_name}") if len(part) > 2]


@strawberry.input(description="A new account.")
class SignUpInput:
    email: str = strawberry.field(description="Sign-in e-mail; never shown to others.")
    password: str = strawberry.field(
        description="10 to 256 characters, and not easy to guess: common and breached "
        "passwords, repeats, keyboard rows and your own name or e-mail are refused "
        "(WEAK_PASSWORD)."
    )
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


@strawberry.type(
    description="Too many failed sign-ins for this e-mail, or from your address, lately: wait "
    "`retryAfterSeconds`, then try again (the password is not checked meanwhile). Given for "
    "unknown e-mails too."
)
class TooManyAttemptsError(MutationError):
    retry_after_seconds: int = strawberry.field(description="Seconds to wait before trying again.")


SignUpResult = Annotated[SignUpSuccess | ValidationError, strawberry.union("SignUpResult")]
LogInResult = Annotated[
    AuthSuccess | InvalidCredentialsError | TooManyAttemptsError | ValidationError,
    strawberry.union("LogInResult"),
]


def too_many_attempts(wait_s: float) -> TooManyAttemptsError:
    seconds = max(1, math.ceil(wait_s))
    return TooManyAttemptsError(
        code=ErrorCode.TOO_MANY_ATTEMPTS,
        message=f"Too many failed sign-ins: retry in {seconds} s.",
        retry_after_seconds=seconds,
    )


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
            name = clean_text(input.display_name, argument="displayName", max_length=80)
            password = check_password(input.password, guessable_parts(email, name))
        except UserError as error:
            return ValidationError(
                code=ErrorCode(error.code),
                message=error.message,
                field=error.extensions.get("argument"),
            )
        await charge_mail(info.context)
        password_hash = await info.context.passwords.hash_async(password)
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

    @strawberry.mutation(
        description="Sign in with e-mail and password; returns a bearer token. After 5 failures "
        "for one e-mail (or 50 from one address) in 15 minutes, by default, "
        "TooManyAttemptsError until the window has room again (docs/limits.md)."
    )
    async def log_in(self, info: Info, email: str, password: str) -> LogInResult:
        if len(password) > MAX_PASSWORD or len(email) > 254:
            return InvalidCredentialsError(
                code=ErrorCode.INVALID_CREDENTIALS, message=WRONG_CREDENTIALS
            )
        email = email.strip().lower()
        limits = info.context.rate_limits
        address = client_address(info.context)
        if limits is not None:
            wait_s = await limits.sign_in.attempt(email, address)
            if wait_s:
                return too_many_attempts(wait_s)
        async with info.context.reader.connect() as conn:
            row = await accounts.account_by_email(conn, email)
        passwords = info.context.passwords
        # Checked outside any transaction: no pooled connection is held for the hash's 0.15 s.
        verified = await passwords.verify_async(row.password_hash if row else None, password)
        # An unconfirmed address gets the same answer as a wrong password: else signing up
        # with someone's address, then logging in, would tell whether they have an account.
        if not verified or row is None or row.email_verified_at is None:
            if limits is not None:
                await limits.sign_in.failed(address)
            return InvalidCredentialsError(
                code=ErrorCode.INVALID_CREDENTIALS, message=WRONG_CREDENTIALS
            )
        if limits is not None:
            await limits.sign_in.succeeded(email)
        rehashed = (
            await passwords.hash_async(password)
            if passwords.needs_rehash(row.password_hash)
            else None
        )
        token = new_token()
        async with info.context.engine.begin() as conn:
            if rehashed is not None:
                await accounts.update_password_hash(conn, row.id, rehashed)
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
