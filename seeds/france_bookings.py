"""Seats booked on the France profile's carpools, planned with numpy (no database).

Half the trips have passengers on one departure: a weekly trip on one of its weekdays in the
next three weeks, a one-off trip on its date. A departure gets 1 to `seats_total` passengers,
neighbours of the driver (households of the same commune), each once, so the
`carpool_bookings_count_seats` trigger, which keeps `carpool_departures` for every booking,
never meets a full car.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seeds.france_carpools import CarpoolPlan
from seeds.france_points import HouseholdPlan
from seeds.france_rows import (
    DAY_S,
    IntArray,
    Neighbours,
    SharingStream,
    copy_lines,
    dates,
    numbers,
    sharing_rng,
    timestamps,
)

BOOKING_COLUMNS = "id, carpool_id, departs_on, household_id, created_at"
BOOKED_SHARE = 0.5
HORIZON_DAYS = 21


@dataclass(frozen=True, slots=True, kw_only=True)
class BookingPlan:
    """Bookings in id order; `carpool` is a trip index (id − 1), `household` a plan index."""

    carpool: IntArray
    departs_day: IntArray
    household: IntArray
    created_s: IntArray

    def __len__(self) -> int:
        return len(self.carpool)

    def copy_text(self, start: int, stop: int) -> bytes:
        part = slice(start, stop)
        return copy_lines(
            [
                numbers(np.arange(start + 1, stop + 1)),
                numbers(self.carpool[part] + 1),
                dates(self.departs_day[part]),
                numbers(self.household[part] + 1),
                timestamps(self.created_s[part]),
            ]
        )


def iso_weekday(day: IntArray) -> IntArray:
    """ISO weekday (Monday = 1) of days since 1970, a Thursday."""
    result: IntArray = (day + 3) % 7 + 1
    return result


def next_weekday(day: IntArray, mask: IntArray) -> IntArray:
    """The first day on or after `day` whose ISO weekday is in `mask` (Monday = bit 0)."""
    out = day.copy()
    for _ in range(7):
        miss = (mask >> (iso_weekday(out) - 1) & 1) == 0
        out = np.where(miss, out + 1, out)
    return out


def plan_bookings(
    plan: HouseholdPlan,
    neighbours: Neighbours,
    carpools: CarpoolPlan,
    *,
    seed: int,
    as_of_s: int,
) -> BookingPlan:
    """Passengers on one departure of BOOKED_SHARE of the trips, within the seats."""
    rng = sharing_rng(seed, SharingStream.BOOKINGS)
    count = len(carpools)
    booked = np.flatnonzero(rng.random(count) < BOOKED_SHARE)
    today = as_of_s // DAY_S
    upcoming = next_weekday(
        today + rng.integers(1, HORIZON_DAYS, len(booked)), carpools.weekday_mask[booked]
    )
    day = np.where(carpools.weekly[booked], upcoming, carpools.departs_day[booked])
    seats = carpools.seats_total[booked]
    passengers = np.floor(rng.random(len(booked)) * seats).astype(np.int64) + 1
    carpool = np.repeat(booked, passengers)
    departs_day = np.repeat(day, passengers)
    driver = carpools.household[carpool]
    household = neighbours.draw(driver, plan.commune[driver], rng)
    _, first = np.unique(np.stack([carpool, household], axis=1), axis=0, return_index=True)
    keep = np.sort(first)
    carpool, departs_day, household = carpool[keep], departs_day[keep], household[keep]
    created = np.minimum(
        departs_day * DAY_S - rng.integers(DAY_S // 2, 7 * DAY_S, len(keep)),
        as_of_s - rng.integers(60, DAY_S, len(keep)),
    )
    np.minimum.at(carpools.created_s, carpool, created - DAY_S // 24)  # offered, then booked
    return BookingPlan(
        carpool=carpool.astype(np.int64),
        departs_day=departs_day.astype(np.int64),
        household=household.astype(np.int64),
        created_s=created.astype(np.int64),
    )
