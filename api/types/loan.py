"""The Loan type, its connection, and the errors particular to loans.

Privacy: the two households see each other as a name and a neighbourhood. The lender's exact
home (`pickupLocation`) is read only for the lender, and for the borrower once the lender has
accepted, from `EXACT_PLACE_LEAD` (2 days) before the loan starts, until the item is back;
nobody else ever gets it, admins included. Accepting a loan months ahead shows nothing until
then (`pickupLocationAvailableFrom` says when).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import relay

from api.context import Context, Viewer
from api.errors import MutationError
from api.horizons import loan_place_shown_from
from api.inputs import Location
from api.pagination import PageInfo
from api.types.item import Item, Lender
from api.types.neighbour import Neighbour, neighbourhood_field
from api.types.neighbourhood import Neighbourhood
from api.validation import node_keys
from db.queries.loans import BORROWER, LENDER, LoanRow, today_in_france

if TYPE_CHECKING:
    from api.types.review import LoanReview

ADDRESS_SHARED_STATES = frozenset({"ACCEPTED", "HANDED_OVER"})
"""States in which the borrower sees where to pick the item up."""


@strawberry.enum(description="Where a loan stands. Terminal states: DECLINED, CANCELLED, RETURNED.")
class LoanState(Enum):
    REQUESTED = strawberry.enum_value(
        "REQUESTED", description="Asked by the borrower; the lender accepts or declines it."
    )
    ACCEPTED = strawberry.enum_value(
        "ACCEPTED",
        description="Accepted by the lender: the dates are booked; the borrower sees the "
        "pickup location from 2 days before startsOn.",
    )
    DECLINED = strawberry.enum_value("DECLINED", description="Declined by the lender.")
    CANCELLED = strawberry.enum_value(
        "CANCELLED", description="Cancelled by either household before the hand-over."
    )
    HANDED_OVER = strawberry.enum_value(
        "HANDED_OVER",
        description="The lender handed the item over; each side then confirms its return.",
    )
    RETURNED = strawberry.enum_value(
        "RETURNED", description="Both households confirmed the item is back."
    )


@strawberry.enum(description="A household's side in a loan.")
class LoanRole(Enum):
    BORROWER = strawberry.enum_value(BORROWER, description="The household borrowing the item.")
    LENDER = strawberry.enum_value(LENDER, description="The household lending its item.")


@strawberry.type(
    description="Who borrows, as the lender sees it: a household's name and neighbourhood, "
    "never a location."
)
class Borrower(Neighbour):
    name: str = strawberry.field(description="The borrowing household's display name.")
    neighbourhood: Neighbourhood = neighbourhood_field(
        "The neighbourhood network the borrower belongs to."
    )


@strawberry.type(
    description="A household borrowing another's item for calendar days startsOn to endsOn, "
    "both included. Visible only to the two households (and admins)."
)
class Loan(relay.Node):
    id: relay.NodeID[int]
    starts_on: date = strawberry.field(description="First day of the loan (Paris calendar).")
    ends_on: date = strawberry.field(
        description="Last day of the loan, included: the due date of the return."
    )
    state: LoanState = strawberry.field(description="Where the loan stands.")
    message: str = strawberry.field(
        description="The borrower's message to the lender; may be empty."
    )
    cancelled_by: LoanRole | None = strawberry.field(
        description="Which side cancelled, when the state is CANCELLED."
    )
    requested_at: datetime = strawberry.field(description="When the borrower asked.")
    accepted_at: datetime | None = strawberry.field(description="When the lender accepted.")
    handed_over_at: datetime | None = strawberry.field(
        description="When the lender marked the item handed over."
    )
    borrower_confirmed_return_at: datetime | None = strawberry.field(
        description="When the borrower confirmed giving the item back."
    )
    lender_confirmed_return_at: datetime | None = strawberry.field(
        description="When the lender confirmed having the item back."
    )
    row: strawberry.Private[LoanRow]

    @classmethod
    def from_row(cls, row: LoanRow) -> Loan:
        return cls(
            id=row.id,
            starts_on=row.starts_on,
            ends_on=row.ends_on,
            state=LoanState(row.state),
            message=row.message,
            cancelled_by=LoanRole(row.cancelled_by) if row.cancelled_by else None,
            requested_at=row.created_at,
            accepted_at=row.accepted_at,
            handed_over_at=row.handed_over_at,
            borrower_confirmed_return_at=row.borrower_returned_at,
            lender_confirmed_return_at=row.lender_returned_at,
            row=row,
        )

    @strawberry.field(
        description="HANDED_OVER and past the due date (endsOn, Paris time), while the two "
        "households have not both confirmed the return."
    )
    def overdue(self) -> bool:
        return self.row.is_overdue(today_in_france())

    @strawberry.field(description="Your household's side in this loan; null for an admin.")
    def viewer_role(self, info: strawberry.Info[Context, None]) -> LoanRole | None:
        side = self.row.side_of(info.context.viewer.household_id)
        return LoanRole(side) if side else None

    @strawberry.field(description="The item lent.")
    async def item(self, info: strawberry.Info[Context, None]) -> Item:
        row = await info.context.loaders.item_by_id.load(self.row.item_id)
        assert row is not None, "foreign key guarantees the item exists"
        return Item.from_row(row)

    @strawberry.field(description="The lending household: a name and a neighbourhood.")
    async def lender(self, info: strawberry.Info[Context, None]) -> Lender:
        return await Lender.load(info, self.row.lender_household_id)

    @strawberry.field(description="The borrowing household: a name and a neighbourhood.")
    async def borrower(self, info: strawberry.Info[Context, None]) -> Borrower:
        return await Borrower.load(info, self.row.borrower_household_id)

    @strawberry.field(
        description="Where to pick the item up: the lender's exact home (WGS 84). Shown to the "
        "lender; to the borrower only while the loan is HANDED_OVER, or ACCEPTED from 2 days "
        "before startsOn (pickupLocationAvailableFrom); null for anyone else, before that "
        "moment and in every other state."
    )
    async def pickup_location(self, info: strawberry.Info[Context, None]) -> Location | None:
        if not shows_pickup_location(info.context.viewer, self.row, now=datetime.now(UTC)):
            return None
        row = await info.context.loaders.household_by_id.load(self.row.lender_household_id)
        assert row is not None, "foreign key guarantees the household exists"
        return Location.from_lnglat(row.home)

    @strawberry.field(
        description="For the borrower of an ACCEPTED or HANDED_OVER loan: when pickupLocation "
        "is shown, 2 days before startsOn (midnight, Paris time); a past moment once it is. "
        "Null for the lender (who always sees it), and in other states."
    )
    def pickup_location_available_from(
        self, info: strawberry.Info[Context, None]
    ) -> datetime | None:
        side = self.row.side_of(info.context.viewer.household_id)
        if side != BORROWER or self.row.state not in ADDRESS_SHARED_STATES:
            return None
        return loan_place_shown_from(self.row.starts_on)

    @strawberry.field(
        description="The reviews of this loan, oldest first (at most one per side, once it is "
        "RETURNED). Shown to the two households only; empty for anyone else."
    )
    async def reviews(
        self, info: strawberry.Info[Context, None]
    ) -> list[Annotated[LoanReview, strawberry.lazy("api.types.review")]]:
        from api.types.review import loan_reviews  # api.types.review imports this module

        return await loan_reviews(info, self.row)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls,
        *,
        info: strawberry.Info[Context, None],
        node_ids: Iterable[str],
        required: bool = False,
    ) -> list[Loan | None]:
        rows = await info.context.loaders.loan_by_id.load_many(node_keys(node_ids))
        viewer = info.context.viewer
        return [cls.from_row(row) if row and can_see_loan(viewer, row) else None for row in rows]


def can_see_loan(viewer: Viewer, row: LoanRow) -> bool:
    """A loan is the business of its two households; admins may look, for disputes."""
    return viewer.is_admin or row.side_of(viewer.household_id) is not None


def shows_pickup_location(viewer: Viewer, row: LoanRow, *, now: datetime) -> bool:
    """The lender; the borrower once the item is handed over, or accepted and close to it."""
    side = row.side_of(viewer.household_id)
    if side == LENDER:
        return True
    if side != BORROWER:
        return False
    return row.state == "HANDED_OVER" or (
        row.state == "ACCEPTED" and loan_place_shown_from(row.starts_on) <= now
    )


@strawberry.type(description="A loan in a list, with its cursor.")
class LoanEdge:
    node: Loan = strawberry.field(description="The loan.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after this loan.")


@strawberry.type(description="Loans, newest request first.")
class LoanConnection:
    edges: list[LoanEdge] = strawberry.field(description="This page's loans, newest first.")
    page_info: PageInfo = strawberry.field(description="Whether more follow, and the cursors.")


@strawberry.type(
    description="The loan is not in a state that allows this (e.g. accepting a cancelled loan, "
    "or confirming a return twice); nothing changed. `state` is where it stands now."
)
class InvalidLoanTransitionError(MutationError):
    state: LoanState = strawberry.field(description="The loan's current state.")


@strawberry.type(
    description="Already booked, nothing changed: the item on at least one of these days (a "
    "loan ACCEPTED or HANDED_OVER; ask for other dates), or your household's seat on this "
    "carpool departure (bookSeat)."
)
class AlreadyBookedError(MutationError):
    pass
