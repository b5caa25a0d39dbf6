"""France-scale items to lend and their loans, planned with numpy (no database).

Items belong to households drawn uniformly (so in proportion to population), with French
titles from `seeds.france_vocab` and the terms mix of a real network (most free, some against a
deposit, a few per day). Their place is not planned: the `items_copy_public_location` trigger
copies the lender's public point on insert, as for any item.

Loans respect the exclusion constraint by construction: the k-th loan of an item occupies the
k-th 30-day slot going back from a month ahead of the reference day (with a per-item phase),
and lasts at most 10 days starting within the slot's first 14, so no two loans of one item ever
share a day, booked or not. A loan's state follows its dates (past: returned, declined or
cancelled; under way: handed over; ahead: accepted or requested) and its timestamps are those
the state checks of `loans` require. Borrowers are neighbours: another household of the
lender's commune.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seeds.france_points import HouseholdPlan
from seeds.france_rows import (
    DAY_S,
    NULL,
    YEAR_S,
    BoolArray,
    IntArray,
    Neighbours,
    SharingStream,
    copy_lines,
    dates,
    nullable,
    numbers,
    optional_timestamps,
    picks,
    sharing_rng,
    timestamps,
    weighted_choice,
)
from seeds.france_vocab import ITEM_DESCRIPTIONS, ITEM_QUALIFIERS, ITEMS

ITEM_COLUMNS = (
    "id, household_id, title, description, category, condition, terms, deposit_cents, "
    "price_per_day_cents, available, created_at, updated_at"
)
LOAN_COLUMNS = (
    "id, item_id, borrower_household_id, lender_household_id, starts_on, ends_on, state, "
    "cancelled_by, created_at, updated_at, accepted_at, handed_over_at, borrower_returned_at, "
    "lender_returned_at"
)
CONDITIONS = ("NEW", "GOOD", "FAIR", "WORN")
CONDITION_WEIGHTS = (10, 50, 30, 10)
TERMS = ("FREE", "DEPOSIT", "PRICE_PER_DAY")
TERMS_WEIGHTS = (60, 30, 10)
DEPOSITS_CENTS = (2_000, 5_000, 10_000, 15_000, 20_000, 30_000)
UNAVAILABLE_SHARE = 0.05
SLOT_DAYS = 30
LOAN_STATES = ("REQUESTED", "ACCEPTED", "DECLINED", "CANCELLED", "HANDED_OVER", "RETURNED")
HOUR_S = 3_600
TITLES = [f"{title}{qualifier}" for _, title in ITEMS for qualifier in ITEM_QUALIFIERS]
"""Title `kind × len(ITEM_QUALIFIERS) + qualifier`."""
DESCRIPTIONS = [
    f"{first} {second}".strip()
    for first in ITEM_DESCRIPTIONS
    for second in ITEM_DESCRIPTIONS
    if first != second
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemPlan:
    """Items in id order (id = index + 1); households are plan indices (id − 1)."""

    household: IntArray
    kind: IntArray
    """Index into `ITEMS` (category and title)."""
    qualifier: IntArray
    description: IntArray
    condition: IntArray
    terms: IntArray
    deposit_cents: IntArray
    """0 for none."""
    price_per_day_cents: IntArray
    """0 for none."""
    available: BoolArray
    created_s: IntArray

    def __len__(self) -> int:
        return len(self.household)

    def copy_text(self, start: int, stop: int) -> bytes:
        """COPY text of items start..stop-1, columns `ITEM_COLUMNS`."""
        part = slice(start, stop)
        deposit, price = self.deposit_cents[part], self.price_per_day_cents[part]
        created = timestamps(self.created_s[part])
        return copy_lines(
            [
                numbers(np.arange(start + 1, stop + 1)),
                numbers(self.household[part] + 1),
                picks(TITLES, self.kind[part] * len(ITEM_QUALIFIERS) + self.qualifier[part]),
                picks(DESCRIPTIONS, self.description[part]),
                picks([category for category, _ in ITEMS], self.kind[part]),
                picks(CONDITIONS, self.condition[part]),
                picks(TERMS, self.terms[part]),
                nullable(numbers(deposit), deposit > 0),
                nullable(numbers(price), price > 0),
                picks(("f", "t"), self.available[part].astype(np.int64)),
                created,
                created,
            ]
        )


def plan_items(plan: HouseholdPlan, count: int, *, seed: int, as_of_s: int) -> ItemPlan:
    """`count` items of random households, listed over the year before `as_of_s`; a few are
    switched off by their lenders (`settle` adds those lent out)."""
    rng = sharing_rng(seed, SharingStream.ITEMS)
    terms = weighted_choice(TERMS_WEIGHTS, count, rng)
    deposit = np.asarray(DEPOSITS_CENTS)[rng.integers(0, len(DEPOSITS_CENTS), count)]
    price = 100 * rng.integers(2, 31, count)
    with_deposit = (terms == 1) | ((terms == 2) & (rng.random(count) < 0.5))
    available = rng.random(count) >= UNAVAILABLE_SHARE
    return ItemPlan(
        household=rng.integers(0, len(plan), count).astype(np.int64),
        kind=rng.integers(0, len(ITEMS), count).astype(np.int64),
        qualifier=rng.integers(0, len(ITEM_QUALIFIERS), count).astype(np.int64),
        description=rng.integers(0, len(DESCRIPTIONS), count).astype(np.int64),
        condition=weighted_choice(CONDITION_WEIGHTS, count, rng),
        terms=terms,
        deposit_cents=np.where(with_deposit, deposit, 0).astype(np.int64),
        price_per_day_cents=np.where(terms == 2, price, 0).astype(np.int64),
        available=available,
        created_s=(as_of_s - rng.integers(DAY_S, YEAR_S, count)).astype(np.int64),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class LoanPlan:
    """Loans in id order; `item` is an item index (id − 1), households plan indices."""

    item: IntArray
    borrower: IntArray
    lender: IntArray
    starts_day: IntArray
    ends_day: IntArray
    state: IntArray
    """Index into `LOAN_STATES`."""
    cancelled_by_lender: BoolArray
    created_s: IntArray
    accepted_s: IntArray
    handed_over_s: IntArray
    borrower_returned_s: IntArray
    lender_returned_s: IntArray
    """Timestamps are 0 where the state has none."""

    def __len__(self) -> int:
        return len(self.item)

    def under_way(self) -> IntArray:
        """Items lent out right now (a HANDED_OVER loan)."""
        return np.unique(self.item[self.state == LOAN_STATES.index("HANDED_OVER")])

    def copy_text(self, start: int, stop: int) -> bytes:
        part = slice(start, stop)
        state = self.state[part]
        stamps = [
            self.created_s[part],
            self.accepted_s[part],
            self.handed_over_s[part],
            self.borrower_returned_s[part],
            self.lender_returned_s[part],
        ]
        cancelled = state == LOAN_STATES.index("CANCELLED")
        who = picks(("BORROWER", "LENDER"), self.cancelled_by_lender[part].astype(np.int64))
        return copy_lines(
            [
                numbers(np.arange(start + 1, stop + 1)),
                numbers(self.item[part] + 1),
                numbers(self.borrower[part] + 1),
                numbers(self.lender[part] + 1),
                dates(self.starts_day[part]),
                dates(self.ends_day[part]),
                picks(LOAN_STATES, state),
                [
                    value if flag else NULL
                    for value, flag in zip(who, cancelled.tolist(), strict=True)
                ],
                timestamps(stamps[0]),
                timestamps(np.max(np.stack(stamps), axis=0)),
                *(optional_timestamps(values) for values in stamps[1:]),
            ]
        )


def plan_loans(
    plan: HouseholdPlan,
    neighbours: Neighbours,
    item_household: IntArray,
    count: int,
    *,
    seed: int,
    as_of_s: int,
) -> LoanPlan:
    """`count` loans of the items whose lenders are `item_household`, none overlapping."""
    rng = sharing_rng(seed, SharingStream.LOANS)
    item = np.sort(rng.integers(0, len(item_household), count)).astype(np.int64)
    rank = np.arange(count) - np.searchsorted(item, item, side="left")
    phase = rng.integers(0, SLOT_DAYS, len(item_household))[item]
    today = as_of_s // DAY_S
    slot_start = today + SLOT_DAYS - (rank + 1) * SLOT_DAYS - phase
    starts = slot_start + rng.integers(0, 14, count)
    ends = starts + rng.integers(0, 10, count)
    state = loan_states(starts, ends, today, rng)
    lender = item_household[item]
    borrower = neighbours.draw(lender, plan.commune[lender], rng)

    # Requested a few days before the start, and in any case before the reference instant.
    created = np.minimum(
        starts * DAY_S - rng.integers(1, 10, count) * DAY_S + rng.integers(8, 22, count) * HOUR_S,
        as_of_s - rng.integers(HOUR_S, 7 * DAY_S, count),
    )
    first_handover = starts * DAY_S + 9 * HOUR_S
    decided = np.minimum(first_handover, as_of_s)
    accepted = created + (rng.uniform(0.1, 0.9, count) * (decided - created)).astype(np.int64)
    names = np.asarray(LOAN_STATES)[state]
    was_accepted = np.isin(names, ("ACCEPTED", "HANDED_OVER", "RETURNED"))
    handed = np.isin(names, ("HANDED_OVER", "RETURNED"))
    returned = names == "RETURNED"
    handed_over = first_handover + rng.integers(0, 10 * HOUR_S, count)
    borrower_returned = ends * DAY_S + 17 * HOUR_S + rng.integers(0, 3 * HOUR_S, count)
    lender_returned = borrower_returned + rng.integers(0, 2 * HOUR_S, count)
    return LoanPlan(
        item=item,
        borrower=borrower,
        lender=lender,
        starts_day=starts.astype(np.int64),
        ends_day=ends.astype(np.int64),
        state=state,
        cancelled_by_lender=rng.random(count) < 0.3,
        created_s=created.astype(np.int64),
        accepted_s=np.where(was_accepted, np.minimum(accepted, as_of_s), 0).astype(np.int64),
        handed_over_s=np.where(handed, np.minimum(handed_over, as_of_s), 0).astype(np.int64),
        borrower_returned_s=np.where(returned, np.minimum(borrower_returned, as_of_s), 0),
        lender_returned_s=np.where(returned, np.minimum(lender_returned, as_of_s), 0),
    )


def loan_states(starts: IntArray, ends: IntArray, today: int, rng: np.random.Generator) -> IntArray:
    """The state each loan has reached on `today`, from its dates (indices into LOAN_STATES)."""
    count = len(starts)
    past = weighted_choice((0, 0, 8, 12, 0, 80), count, rng)
    current = weighted_choice((0, 10, 0, 0, 90, 0), count, rng)
    ahead = weighted_choice((40, 50, 10, 0, 0, 0), count, rng)
    return np.where(ends < today, past, np.where(starts > today, ahead, current)).astype(np.int64)


def settle(items: ItemPlan, loans: LoanPlan) -> None:
    """Make items agree with their loans: listed a day before their first loan request at
    least, and unavailable while lent out."""
    np.minimum.at(items.created_s, loans.item, loans.created_s - DAY_S)
    items.available[loans.under_way()] = False
