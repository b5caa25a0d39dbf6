"""`carpool_matches`: the trips that suit a passenger, least added distance first.

Matching is spatial (SQL on geography, served by GiST indexes) and temporal (departures in a
window, weekly trips expanded in their own time zone); see docs/gardens-carpools.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.queries.carpools import CarpoolRow, to_row
from geo.coords import LngLat
from geo.routes import SAME_DIRECTION_TOLERANCE_DEG, initial_bearing_deg


@dataclass(frozen=True, slots=True, kw_only=True)
class DepartureRow:
    """One departure of a trip with seats still free; `departs_on` is its local date."""

    departs_at: datetime
    departs_on: date
    seats_left: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CarpoolMatchRow:
    """A trip that suits a passenger, how far off it is, and its departures in the window."""

    carpool: CarpoolRow
    added_distance_m: float
    departures: tuple[DepartureRow, ...]


MATCHED = """
WITH matched AS (
    SELECT c.id,
           LEAST(
               CASE WHEN ST_DWithin(c.public_origin::geography, ST_GeogFromText(:pickup),
                                    :radius_m, false)
                     AND ST_DWithin(c.public_destination::geography, ST_GeogFromText(:dropoff),
                                    :radius_m, false)
                     AND cosd(c.public_bearing_deg - :bearing_deg) >= cosd(:tolerance_deg)
                    THEN ST_Distance(c.public_origin::geography, ST_GeogFromText(:pickup), false)
                       + ST_Distance(c.public_destination::geography, ST_GeogFromText(:dropoff),
                                     false)
               END,
               CASE WHEN c.public_route IS NOT NULL
                     AND ST_DWithin(c.public_route::geography, ST_GeogFromText(:pickup),
                                    :radius_m, false)
                     AND ST_DWithin(c.public_route::geography, ST_GeogFromText(:dropoff),
                                    :radius_m, false)
                     AND ST_LineLocatePoint(c.public_route, ST_GeomFromText(:pickup, 4326))
                       < ST_LineLocatePoint(c.public_route, ST_GeomFromText(:dropoff, 4326))
                    THEN ST_Distance(c.public_route::geography, ST_GeogFromText(:pickup), false)
                       + ST_Distance(c.public_route::geography, ST_GeogFromText(:dropoff), false)
               END
           ) AS added_m
      FROM carpools c
     WHERE (ST_DWithin(c.public_origin::geography, ST_GeogFromText(:pickup), :radius_m, false)
            AND ST_DWithin(c.public_destination::geography, ST_GeogFromText(:dropoff),
                           :radius_m, false))
        OR (c.public_route IS NOT NULL
            AND ST_DWithin(c.public_route::geography, ST_GeogFromText(:pickup), :radius_m, false)
            AND ST_DWithin(c.public_route::geography, ST_GeogFromText(:dropoff), :radius_m, false))
)
"""
"""Trips passing near a passenger, with the gap to them in metres (NULL: no match after all).

Only the trip's public places are compared (`public_origin`, `public_destination`,
`public_route`, `public_bearing_deg`: displaced once, route clipped around the exact ends; see
`geo.routes.trip_to_public`): strangers can ask this as often as they like, and a radius
compared with an exact point gives that point away to bisection. Two ways to match, each
pre-filtered by GiST indexes (`ST_DWithin` on the geography expressions): both ends within the radius of the passenger's and heading the same way
(`cosd` of the bearing difference, as `geo.routes.is_same_direction`), or a route line passing
within the radius of both passenger points, the pick-up before the drop-off along it
(`ST_LineLocatePoint`, a fraction of the line: planar degrees are fine for an order). The gap
is pick-up gap + drop-off gap: |public origin→from| + |to→public destination| for ends, the
distances to the public line for a route; the smaller when both match. It stands for the detour.
"""

# Both statements share MATCHED verbatim so that the keyset anchor is computed by the very
# expression that ranks; concatenating constant SQL is not formatting values (all are bound).
MATCH_PAGE = text(
    MATCHED  # noqa: S608
    + """
, occurrences AS (
    SELECT m.id, m.added_m, o.departs_at,
           (o.departs_at AT TIME ZONE c.timezone)::date AS departs_on,
           COALESCE(d.seats_total, c.seats_total) - COALESCE(d.seats_booked, 0) AS seats_left
      FROM matched m
      JOIN carpools c ON c.id = m.id
     CROSS JOIN LATERAL (
           SELECT c.departs_at WHERE c.departs_at IS NOT NULL
           UNION ALL
           SELECT (day::date + c.departure_time) AT TIME ZONE c.timezone
             FROM generate_series(
                      date_trunc('day', CAST(:depart_after AS timestamptz) AT TIME ZONE c.timezone),
                      CAST(:depart_before AS timestamptz) AT TIME ZONE c.timezone,
                      interval '1 day'
                  ) AS day
            WHERE c.weekdays IS NOT NULL
              AND extract(isodow FROM day)::smallint = ANY (c.weekdays)
           ) AS o (departs_at)
      LEFT JOIN carpool_departures d
        ON d.carpool_id = c.id AND d.departs_on = (o.departs_at AT TIME ZONE c.timezone)::date
     WHERE m.added_m IS NOT NULL
       AND o.departs_at BETWEEN :depart_after AND :depart_before
       AND o.departs_at > now()
       AND COALESCE(d.seats_total, c.seats_total) > COALESCE(d.seats_booked, 0)
)
SELECT c.id, c.household_id, c.departs_at, c.weekdays, c.departure_time, c.timezone,
       c.seats_total, c.description, c.created_at,
       ST_X(c.origin) AS origin_lng, ST_Y(c.origin) AS origin_lat,
       ST_X(c.destination) AS destination_lng, ST_Y(c.destination) AS destination_lat,
       ST_X(c.public_origin) AS public_origin_lng, ST_Y(c.public_origin) AS public_origin_lat,
       ST_X(c.public_destination) AS public_destination_lng,
       ST_Y(c.public_destination) AS public_destination_lat,
       ST_AsGeoJSON(c.route, 6) AS route_geojson,
       o.added_m,
       array_agg(o.departs_at ORDER BY o.departs_at) AS occurrence_departs_at,
       array_agg(o.departs_on ORDER BY o.departs_at) AS occurrence_departs_on,
       array_agg(o.seats_left ORDER BY o.departs_at) AS occurrence_seats_left
  FROM occurrences o
  JOIN carpools c ON c.id = o.id
 WHERE (o.added_m, o.id) > (:after_m, :after_id)
 GROUP BY c.id, o.added_m
 ORDER BY o.added_m, c.id
 LIMIT :limit
"""
)
"""One page of matches: trips with a departure in the window, in the future, with a seat free,
ranked by (added_m, id). A weekly trip's days are expanded in its own time zone."""

MATCH_GAP = text(MATCHED + "SELECT added_m FROM matched WHERE id = :carpool_id")  # noqa: S608


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchRequest:
    """What a passenger asks for: points lng/lat, a window of departure times, a radius in m."""

    pickup: LngLat
    dropoff: LngLat
    depart_after: datetime
    depart_before: datetime
    radius_m: float

    def params(self) -> dict[str, Any]:
        return {
            "pickup": self.pickup.to_wkt(),
            "dropoff": self.dropoff.to_wkt(),
            "radius_m": float(self.radius_m),
            "bearing_deg": initial_bearing_deg(self.pickup, self.dropoff),
            "tolerance_deg": SAME_DIRECTION_TOLERANCE_DEG,
        }


async def carpool_matches(
    conn: AsyncConnection,
    request: MatchRequest,
    *,
    limit: int,
    after: tuple[float, int] | None,
) -> list[CarpoolMatchRow]:
    """Up to `limit` trips that suit `request`, least added distance first, keyset-paged on
    (added_distance_m, id): `after` is the pair of the last trip already shown."""
    after_m, after_id = after if after is not None else (-1.0, 0)
    result = await conn.execute(
        MATCH_PAGE,
        {
            **request.params(),
            "depart_after": request.depart_after,
            "depart_before": request.depart_before,
            "after_m": after_m,
            "after_id": after_id,
            "limit": limit,
        },
    )
    out = []
    for row in result:
        m = row._mapping
        zone = ZoneInfo(m["timezone"])
        departures = tuple(
            DepartureRow(departs_at=at.astimezone(zone), departs_on=on, seats_left=int(left))
            for at, on, left in zip(
                m["occurrence_departs_at"],
                m["occurrence_departs_on"],
                m["occurrence_seats_left"],
                strict=True,
            )
        )
        out.append(
            CarpoolMatchRow(
                carpool=to_row(row),
                added_distance_m=float(m["added_m"]),
                departures=departures,
            )
        )
    return out


async def carpool_added_distance_m(
    conn: AsyncConnection, request: MatchRequest, carpool_id: int
) -> float | None:
    """The gap of one trip for `request` (None: it no longer matches), to resume after it.

    Computed by the very expression that ranks the page, so the keyset comparison is exact.
    """
    result = await conn.execute(MATCH_GAP, {**request.params(), "carpool_id": carpool_id})
    value = result.scalar_one_or_none()
    return float(value) if value is not None else None
