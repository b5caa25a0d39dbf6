"""The per-request context: viewer, database engine, DataLoaders named `<thing>_by_<key>`.

Loaders live here, one set per request, never at module level: a cache shared across requests
would leak one viewer's data to another and never see updates.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from strawberry.dataloader import DataLoader

from api.observability import RequestState
from api.pubsub import Broadcaster
from api.ratelimit import RateLimits
from api.settings import Settings
from db.passwords import PasswordHashing
from db.queries import carpools, gardens, households, items, loans, neighbourhoods, posts, skills
from db.queries import reports as report_queries
from db.queries import reviews as review_queries
from db.queries.carpools import CarpoolRow
from db.queries.gardens import GardenRow
from db.queries.items import ItemRow, LenderRow
from db.queries.loans import LoanRow
from db.queries.reports import ReportRow
from db.queries.reviews import ReviewRow, ReviewSummaryRow
from db.queries.skills import SkillRow
from db.rows import CommentRow, HouseholdRow, NeighbourhoodRow, PostAuthorRow, PostRow
from db.searches import Reads

if TYPE_CHECKING:
    from api.live_access import LiveAccess

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking: anonymous, or the account behind a valid bearer token."""

    account_id: int | None = None
    household_id: int | None = None
    neighbourhood_id: int | None = None
    is_admin: bool = False
    ambassador_of: frozenset[int] = frozenset()
    partner_key_id: int | None = None
    """Set when the caller is a partner app (X-API-Key). Partners read; the only thing one may
    write is a post on behalf of a household that authorised it (POST_ON_BEHALF)."""
    partner_scopes: frozenset[str] = frozenset()
    partner_neighbourhoods: frozenset[int] = frozenset()
    partner_safelist_only: bool = False
    membership_status: str = "APPROVED"
    """The household's standing in `neighbourhood_id`: only APPROVED makes it a member (a
    PENDING or DECLINED household waits for an ambassador; see docs/memberships.md)."""

    @property
    def is_anonymous(self) -> bool:
        return self.account_id is None

    def is_member_of(self, neighbourhood_id: int) -> bool:
        """Living there is not enough under an APPROVAL policy: the household must be approved."""
        return self.neighbourhood_id == neighbourhood_id and self.membership_status == "APPROVED"

    def can_moderate(self, neighbourhood_id: int) -> bool:
        return self.is_admin or neighbourhood_id in self.ambassador_of

    def can_read(self, neighbourhood_id: int) -> bool:
        """Members' content of a neighbourhood (posts, members, live feed): its members, its
        ambassadors, admins, and partner keys granted it with the READ_NEIGHBOURHOODS scope."""
        return (
            self.is_admin
            or self.is_member_of(neighbourhood_id)
            or neighbourhood_id in self.ambassador_of
            or (
                "READ_NEIGHBOURHOODS" in self.partner_scopes
                and neighbourhood_id in self.partner_neighbourhoods
            )
        )

    def can_read_aggregates(self, neighbourhood_id: int) -> bool:
        """Monthly figures, not people: readers above, and partners with READ_AGGREGATES."""
        return self.can_read(neighbourhood_id) or (
            "READ_AGGREGATES" in self.partner_scopes
            and neighbourhood_id in self.partner_neighbourhoods
        )


def batch(
    engine: AsyncEngine,
    fetch: Callable[[AsyncConnection, Sequence[K]], Awaitable[dict[K, V]]],
) -> DataLoader[K, V | None]:
    """A DataLoader running `fetch` once per batch on a short-lived connection."""

    async def load(keys: list[K]) -> list[V | None]:
        async with engine.connect() as conn:
            found = await fetch(conn, keys)
        return [found.get(key) for key in keys]

    return DataLoader(load_fn=load)


@dataclass
class Loaders:
    neighbourhood_by_id: DataLoader[int, NeighbourhoodRow | None]
    boundary_by_neighbourhood_id: DataLoader[int, str | None]
    member_count_by_neighbourhood_id: DataLoader[int, int | None]
    household_by_id: DataLoader[int, HouseholdRow | None]
    item_by_id: DataLoader[int, ItemRow | None]
    lender_by_household_id: DataLoader[int, LenderRow | None]
    post_by_id: DataLoader[int, PostRow | None]
    comment_by_id: DataLoader[int, CommentRow | None]
    post_author_by_household_id: DataLoader[int, PostAuthorRow | None]
    loan_by_id: DataLoader[int, LoanRow | None]
    skill_by_id: DataLoader[int, SkillRow | None]
    garden_by_id: DataLoader[int, GardenRow | None]
    waitlist_length_by_garden_id: DataLoader[int, int | None]
    waitlist_position_by_garden_household: DataLoader[tuple[int, int], int | None]
    carpool_by_id: DataLoader[int, CarpoolRow | None]
    booked_dates_by_carpool_household: DataLoader[tuple[int, int], tuple[date, ...] | None]
    seats_booked_by_carpool_date: DataLoader[tuple[int, date], int | None]
    report_by_id: DataLoader[int, ReportRow | None]
    reviews_by_loan_id: DataLoader[int, list[ReviewRow] | None]
    review_summary_by_household_id: DataLoader[int, ReviewSummaryRow | None]

    @classmethod
    def create(cls, engine: AsyncEngine) -> Loaders:
        return cls(
            neighbourhood_by_id=batch(engine, neighbourhoods.neighbourhoods_by_id),
            boundary_by_neighbourhood_id=batch(engine, neighbourhoods.boundaries_by_id),
            member_count_by_neighbourhood_id=batch(engine, neighbourhoods.member_counts_by_id),
            household_by_id=batch(engine, households.households_by_id),
            item_by_id=batch(engine, items.items_by_id),
            lender_by_household_id=batch(engine, items.lenders_by_household_id),
            post_by_id=batch(engine, posts.posts_by_id),
            comment_by_id=batch(engine, posts.comments_by_id),
            post_author_by_household_id=batch(engine, posts.post_authors_by_household_id),
            loan_by_id=batch(engine, loans.loans_by_id),
            skill_by_id=batch(engine, skills.skills_by_id),
            garden_by_id=batch(engine, gardens.gardens_by_id),
            waitlist_length_by_garden_id=batch(engine, gardens.waitlist_lengths_by_garden_id),
            waitlist_position_by_garden_household=batch(engine, gardens.waitlist_positions),
            carpool_by_id=batch(engine, carpools.carpools_by_id),
            booked_dates_by_carpool_household=batch(engine, carpools.booked_dates_by_key),
            seats_booked_by_carpool_date=batch(engine, carpools.seats_booked_by_key),
            report_by_id=batch(engine, report_queries.reports_by_id),
            reviews_by_loan_id=batch(engine, review_queries.reviews_by_loan_id),
            review_summary_by_household_id=batch(
                engine, review_queries.review_summaries_by_household_id
            ),
        )


@dataclass
class Context:
    settings: Settings
    engine: AsyncEngine
    request_id: str
    viewer: Viewer = field(default_factory=Viewer)
    request_state: RequestState | None = None
    token: str | None = None
    broadcaster: Broadcaster | None = None
    connection_params: dict[str, object] | None = None
    """The `connection_init` payload of a WebSocket connection (holds its bearer token)."""
    request_scope: dict[str, Any] | None = None
    """The ASGI scope of a WebSocket connection (per-connection bookkeeping)."""
    websocket: Any = None
    """The WebSocket of a subscription's connection, to close it (slow consumer)."""
    live_access: LiveAccess | None = None
    """A WebSocket connection's credential, kept checked while it is open (`api.live_access`)."""
    passwords: PasswordHashing = field(default_factory=PasswordHashing)
    """The app's Argon2 hasher (parameters from Settings.password_hashing)."""
    read_engine: AsyncEngine | None = None
    """The app's autocommit view of the pool (see `reader`), built once and passed in."""
    read_pool: Reads | None = None
    """Where the proximity searches run (`db.searches`): the app's psycopg read pool, or its
    engine with FAST_PATHS=off."""
    rate_limits: RateLimits | None = None
    """The app's rate-limit and sign-in counters (`api.ratelimit`); None: nothing is limited."""

    @property
    def reads(self) -> Reads:
        if self.read_pool is None:
            raise RuntimeError("this context has no read pool: build it with create_app")
        return self.read_pool

    @functools.cached_property
    def reader(self) -> AsyncEngine:
        """The same pool in autocommit mode, for reads: no BEGIN/ROLLBACK round trips per query.
        Writes use `engine.begin()`, one transaction each."""
        return self.read_engine or self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @functools.cached_property
    def loaders(self) -> Loaders:
        """Built on first use: a WebSocket connection's context (held for hours) never needs
        them, and 20 DataLoaders per idle subscriber add up."""
        return Loaders.create(self.reader)
