"""Loans between neighbours: request, accept or decline, hand over, return; `myLoans`.

Thin: validate, call db (which enforces the state machine and the no-double-booking rule in
SQL), map a refusal to its error type. See docs/loans.md for the rules and examples.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry import relay

from api.context import Context, Viewer
from api.errors import (
    ErrorCode,
    ForbiddenError,
    NotFoundError,
    UnauthenticatedError,
    UserError,
    ValidationError,
    forbidden,
    unauthenticated,
)
from api.horizons import LOAN_HORIZON, check_day_not_after
from api.pagination import (
    decode_time_cursor,
    encode_time_cursor,
    keyset_page_info,
    page_size,
)
from api.resolvers.household_access import acting_household
from api.resolvers.neighbourhoods import validation_error
from api.types.loan import (
    AlreadyBookedError,
    InvalidLoanTransitionError,
    Loan,
    LoanConnection,
    LoanEdge,
    LoanRole,
    LoanState,
)
from api.validation import clean_text, decode_node_id
from db.models import MAX_LOAN_DAYS
from db.queries import loans as loan_queries
from db.queries.events import notify_household
from db.queries.loans import LoanRow, Refusal, Refused, Transition, today_in_france

Info = strawberry.Info[Context, None]
CURSOR_KIND = "loan"
LoanId = Annotated[relay.GlobalID, strawberry.argument(description="The Loan's global ID.")]
MAX_MESSAGE_LENGTH = 1000


@strawberry.type(description="The loan changed; here it is as it stands now.")
class LoanChanged:
    loan: Loan = strawberry.field(description="The loan after the change.")


RequestLoanResult = Annotated[
    LoanChanged
    | AlreadyBookedError
    | ValidationError
    | NotFoundError
    | ForbiddenError
    | UnauthenticatedError,
    strawberry.union("RequestLoanResult"),
]
AcceptLoanResult = Annotated[
    LoanChanged
    | AlreadyBookedError
    | InvalidLoanTransitionError
    | ValidationError
    | NotFoundError
    | ForbiddenError
    | UnauthenticatedError,
    strawberry.union("AcceptLoanResult"),
]
_TransitionResult = (
    LoanChanged
    | InvalidLoanTransitionError
    | ValidationError
    | NotFoundError
    | ForbiddenError
    | UnauthenticatedError
)
DeclineLoanResult = Annotated[_TransitionResult, strawberry.union("DeclineLoanResult")]
CancelLoanResult = Annotated[_TransitionResult, strawberry.union("CancelLoanResult")]
MarkLoanHandedOverResult = Annotated[
    _TransitionResult, strawberry.union("MarkLoanHandedOverResult")
]
ConfirmLoanReturnedResult = Annotated[
    _TransitionResult, strawberry.union("ConfirmLoanReturnedResult")
]


@strawberry.type
class LoanQuery:
    @strawberry.field(
        description="Your household's loans, as borrower, lender or both, newest request first "
        "(signed in; empty without a household)."
    )
    async def my_loans(
        self,
        info: Info,
        role: Annotated[
            LoanRole | None,
            strawberry.argument(description="Only loans where you are this side; null: both."),
        ] = None,
        states: Annotated[
            list[LoanState] | None,
            strawberry.argument(description="Only loans in one of these states; null: all."),
        ] = None,
        first: Annotated[
            int | None,
            strawberry.argument(description="Page size, 1 to 100 (MAX_PAGE_SIZE); default 10."),
        ] = None,
        after: Annotated[
            str | None,
            strawberry.argument(description="endCursor of the previous page, same filters."),
        ] = None,
    ) -> LoanConnection:
        viewer = info.context.viewer
        if viewer.account_id is None:
            raise UserError(ErrorCode.UNAUTHENTICATED, unauthenticated().message)
        limit = page_size(first, info.context.settings.max_page_size)
        anchor = decode_time_cursor(after, CURSOR_KIND)
        rows: list[LoanRow] = []
        if viewer.household_id is not None:
            async with info.context.reader.connect() as conn:
                rows = await loan_queries.household_loans(
                    conn,
                    viewer.household_id,
                    side=role.name if role else None,
                    states=[state.name for state in states] if states is not None else None,
                    limit=limit + 1,
                    after=anchor,
                )
        edges = [
            LoanEdge(
                node=Loan.from_row(row),
                cursor=encode_time_cursor(CURSOR_KIND, row.created_at, row.id),
            )
            for row in rows[:limit]
        ]
        return LoanConnection(
            edges=edges,
            page_info=keyset_page_info(edges, fetched=len(rows), limit=limit, after=anchor),
        )


@strawberry.type
class LoanMutation:
    @strawberry.mutation(
        description="Ask to borrow an item for calendar days startsOn to endsOn, both included "
        "(signed in, with a household; not your own item). Starts today or later, lasts at most "
        "60 days. Several requests may ask for the same days; the lender accepts one."
    )
    async def request_loan(
        self,
        info: Info,
        item_id: Annotated[relay.GlobalID, strawberry.argument(description="The Item to borrow.")],
        starts_on: Annotated[date, strawberry.argument(description="First day, Paris calendar.")],
        ends_on: Annotated[date, strawberry.argument(description="Last day, included: due date.")],
        message: Annotated[
            str, strawberry.argument(description="A word to the lender, up to 1,000 characters.")
        ] = "",
    ) -> RequestLoanResult:
        viewer = info.context.viewer
        household_id = acting_household(viewer, why="households borrow.")
        if not isinstance(household_id, int):
            return household_id
        try:
            item = decode_node_id(item_id, "Item", argument="itemId")
            check_loan_dates(starts_on, ends_on, today=today_in_france())
            text = clean_text(
                message, argument="message", max_length=MAX_MESSAGE_LENGTH, min_length=0
            )
        except UserError as error:
            return validation_error(error)
        async with info.context.engine.begin() as conn:
            outcome = await loan_queries.request_loan(
                conn,
                item,
                borrower_household_id=household_id,
                starts_on=starts_on,
                ends_on=ends_on,
                message=text,
            )
            if isinstance(outcome, LoanRow):
                await notify_other_party(conn, outcome, "LOAN_REQUESTED", household_id)
        if isinstance(outcome, LoanRow):
            return LoanChanged(loan=Loan.from_row(outcome))
        return request_refusal(outcome)

    @strawberry.mutation(
        description="Accept a REQUESTED loan of your item (lender): the dates are booked and the "
        "borrower sees the pickup location from 2 days before startsOn. ALREADY_BOOKED when they "
        "overlap an accepted loan."
    )
    async def accept_loan(self, info: Info, id: LoanId) -> AcceptLoanResult:
        return await apply_transition(info, id, loan_queries.ACCEPT)

    @strawberry.mutation(description="Decline a REQUESTED loan of your item (lender).")
    async def decline_loan(self, info: Info, id: LoanId) -> DeclineLoanResult:
        return unbooked(await apply_transition(info, id, loan_queries.DECLINE))

    @strawberry.mutation(
        description="Cancel a REQUESTED or ACCEPTED loan, before the hand-over (either household)."
    )
    async def cancel_loan(self, info: Info, id: LoanId) -> CancelLoanResult:
        return unbooked(await apply_transition(info, id, loan_queries.CANCEL))

    @strawberry.mutation(description="Record that you handed the item over (lender; ACCEPTED).")
    async def mark_loan_handed_over(self, info: Info, id: LoanId) -> MarkLoanHandedOverResult:
        return unbooked(await apply_transition(info, id, loan_queries.HAND_OVER))

    @strawberry.mutation(
        description="Confirm the item is back (either household, once each; HANDED_OVER). The "
        "loan becomes RETURNED when both have confirmed."
    )
    async def confirm_loan_returned(self, info: Info, id: LoanId) -> ConfirmLoanReturnedResult:
        return unbooked(await apply_transition(info, id, loan_queries.CONFIRM_RETURN))


async def apply_transition(
    info: Info, id: relay.GlobalID, transition: Transition
) -> (
    LoanChanged
    | AlreadyBookedError
    | InvalidLoanTransitionError
    | ValidationError
    | NotFoundError
    | ForbiddenError
    | UnauthenticatedError
):
    viewer = info.context.viewer
    if viewer.account_id is None:
        return unauthenticated()
    try:
        loan_id = decode_node_id(id, "Loan", argument="id")
    except UserError as error:
        return validation_error(error)
    if viewer.household_id is None:
        row = await info.context.loaders.loan_by_id.load(loan_id)
        outcome: LoanRow | Refused = Refused(Refusal.NOT_A_PARTY if row else Refusal.NOT_FOUND, row)
    else:
        async with info.context.engine.begin() as conn:
            outcome = await loan_queries.transition_loan(
                conn, loan_id, transition, household_id=viewer.household_id
            )
            kind = NOTIFICATION_KINDS.get(transition.verb)
            completed = transition is not loan_queries.CONFIRM_RETURN or (
                isinstance(outcome, LoanRow) and outcome.state == "RETURNED"
            )
            if isinstance(outcome, LoanRow) and kind is not None and completed:
                await notify_other_party(conn, outcome, kind, viewer.household_id)
    if isinstance(outcome, LoanRow):
        return LoanChanged(loan=Loan.from_row(outcome))
    return transition_refusal(outcome, transition, viewer)


NOTIFICATION_KINDS = {
    loan_queries.ACCEPT.verb: "LOAN_ACCEPTED",
    loan_queries.DECLINE.verb: "LOAN_DECLINED",
    loan_queries.CANCEL.verb: "LOAN_CANCELLED",
    loan_queries.HAND_OVER.verb: "LOAN_HANDED_OVER",
    loan_queries.CONFIRM_RETURN.verb: "LOAN_RETURNED",
}
NOTIFICATION_MESSAGES = {
    "LOAN_REQUESTED": "Un voisin demande à emprunter votre objet.",
    "LOAN_ACCEPTED": "Votre demande d'emprunt est acceptée : l'adresse de retrait est visible.",
    "LOAN_DECLINED": "Votre demande d'emprunt n'a pas pu être acceptée.",
    "LOAN_CANCELLED": "Un emprunt a été annulé.",
    "LOAN_HANDED_OVER": "L'objet vous a été remis : bon emprunt !",
    "LOAN_RETURNED": "Le retour de l'objet est confirmé des deux côtés. Merci !",
}


async def notify_other_party(
    conn: AsyncConnection, loan: LoanRow, kind: str, actor_household_id: int
) -> None:
    """Tell the other household, live (delivered when the transaction commits)."""
    other = (
        loan.lender_household_id
        if actor_household_id == loan.borrower_household_id
        else loan.borrower_household_id
    )
    await notify_household(
        conn,
        other,
        kind=kind,
        subject_type="Loan",
        subject_id=loan.id,
        message=NOTIFICATION_MESSAGES[kind],
    )


def unbooked(
    result: LoanChanged | AlreadyBookedError | _TransitionResult,
) -> _TransitionResult:
    """Narrows the result of a transition other than acceptance, which alone books dates."""
    assert not isinstance(result, AlreadyBookedError), "only acceptance books dates"
    return result


def transition_refusal(
    refused: Refused, transition: Transition, viewer: Viewer
) -> AlreadyBookedError | InvalidLoanTransitionError | NotFoundError | ForbiddenError:
    loan = refused.loan
    if refused.reason is Refusal.NOT_FOUND or loan is None:
        return loan_not_found()
    if refused.reason is Refusal.NOT_A_PARTY:
        # Admins may see any loan, so they learn it exists; to anyone else it does not.
        if viewer.is_admin:
            return forbidden("Only the two households of a loan may change it.")
        return loan_not_found()
    if refused.reason is Refusal.WRONG_SIDE:
        side = " or ".join(side.lower() for side in transition.sides)
        return forbidden(f"Only the {side} may {transition.verb} this loan.")
    if refused.reason is Refusal.ALREADY_BOOKED:
        return already_booked()
    state = LoanState(loan.state)
    if transition is loan_queries.CONFIRM_RETURN and state is LoanState.HANDED_OVER:
        message = "You already confirmed the return; the other household must confirm it too."
    else:
        allowed = " or ".join(transition.from_states)
        message = (
            f"Cannot {transition.verb} a {state.value} loan: only a {allowed} one. Nothing changed."
        )
    return InvalidLoanTransitionError(
        code=ErrorCode.INVALID_TRANSITION, message=message, state=state
    )


def request_refusal(refused: Refused) -> AlreadyBookedError | ValidationError | NotFoundError:
    if refused.reason is Refusal.ALREADY_BOOKED:
        return already_booked()
    if refused.reason is Refusal.OWN_ITEM:
        return ValidationError(
            code=ErrorCode.OWN_ITEM, message="You cannot borrow your own item.", field="itemId"
        )
    if refused.reason is Refusal.ITEM_UNAVAILABLE:
        return ValidationError(
            code=ErrorCode.ITEM_UNAVAILABLE,
            message="Its lender has marked this item unavailable for now.",
            field="itemId",
        )
    return NotFoundError(code=ErrorCode.NOT_FOUND, message="No item has this ID.")


def loan_not_found() -> NotFoundError:
    return NotFoundError(code=ErrorCode.NOT_FOUND, message="No loan of yours has this ID.")


def already_booked() -> AlreadyBookedError:
    return AlreadyBookedError(
        code=ErrorCode.ALREADY_BOOKED,
        message="The item is already booked on some of these days; nothing changed.",
    )


def check_loan_dates(starts_on: date, ends_on: date, *, today: date) -> None:
    """Calendar days, both included: from today to `LOAN_HORIZON` ahead (DATE_TOO_FAR beyond),
    in order, at most `MAX_LOAN_DAYS` days."""
    if starts_on < today:
        raise UserError(
            ErrorCode.INVALID_DATES,
            f"`startsOn` is in the past: the earliest is today, {today.isoformat()}.",
            argument="startsOn",
        )
    check_day_not_after(starts_on, today=today, limit=LOAN_HORIZON, argument="startsOn")
    if ends_on < starts_on:
        raise UserError(
            ErrorCode.INVALID_DATES, "`endsOn` is before `startsOn`.", argument="endsOn"
        )
    if (ends_on - starts_on).days + 1 > MAX_LOAN_DAYS:
        raise UserError(
            ErrorCode.INVALID_DATES,
            f"A loan lasts at most {MAX_LOAN_DAYS} days, both ends included.",
            argument="endsOn",
        )
