"""Carpools, seat booking and `carpoolMatches`, through the real GraphQL endpoint on real PostGIS.

Real trips: Chavenay (lng 1.99, lat 48.85) → Versailles (2.13, 48.80), heading east-south-east,
and Plaisir (1.95, 48.82) → Paris (2.35, 48.86). Departures are in the coming weeks, in
Europe/Paris time.
"""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from api.settings import Settings
from db.models import CarpoolBooking
from db.queries.carpool_matches import MATCH_PAGE, MATCHED, MatchRequest
from geo.coords import LngLat
from tests.api.conftest import GraphQLClient
from tests.api.helpers import counting_client, member, node_id

pytestmark = pytest.mark.usefixtures("clean_db")

PARIS_TIME = ZoneInfo("Europe/Paris")
CHAVENAY = {"lng": 1.99, "lat": 48.85}
TOWN_HALL = {"lng": 1.98676, "lat": 48.85330}  # Mairie de Chavenay: digits easy to spot
VERSAILLES = {"lng": 2.13, "lat": 48.80}
PLAISIR = {"lng": 1.95, "lat": 48.82}
PARIS = {"lng": 2.35, "lat": 48.86}

CARPOOL_FIELDS = """
  id description seatsTotal departsAt weekdays departureTime timezone
  approximateOrigin { lng lat } approximateDestination { lng lat }
  pickupPoint { lng lat } dropOffPoint { lng lat } route myBookedDates
  driver { name neighbourhood { name } }
"""

CREATE = f"""
mutation Create($input: CreateCarpoolInput!) {{
  createCarpool(input: $input) {{
    __typename
    ... on CreateCarpoolSuccess {{ carpool {{ {CARPOOL_FIELDS} }} }}
    ... on MutationError {{ code message }}
    ... on ValidationError {{ field }}
  }}
}}
"""

MATCHES = f"""
query Matches($from: LocationInput!, $to: LocationInput!, $after: DateTime!,
              $before: DateTime!, $radius: Int, $first: Int, $cursor: String) {{
  carpoolMatches(from: $from, to: $to, departAfter: $after, departBefore: $before,
                 radiusMeters: $radius, first: $first, after: $cursor) {{
    radiusMeters
    pageInfo {{ hasNextPage hasPreviousPage endCursor }}
    edges {{
      cursor addedDistanceMeters
      departures {{ departsAt localDate seatsLeft }}
      node {{ {CARPOOL_FIELDS} }}
    }}
  }}
}}
"""

BOOK = """
mutation Book($id: ID!, $date: Date) {
  bookSeat(carpoolId: $id, date: $date) {
    __typename
    ... on BookSeatSuccess {
      localDate departsAt seatsLeft carpool { pickupPoint { lng lat } myBookedDates }
    }
    ... on MutationError { code message }
  }
}
"""

CARPOOL = f"query($id: ID!) {{ node(id: $id) {{ ... on Carpool {{ {CARPOOL_FIELDS} }} }} }}"
SEATS_LEFT = (
    "query($id: ID!, $date: Date) { node(id: $id) { ... on Carpool { seatsLeft(date: $date) } } }"
)


def coming(isoweekday: int) -> date:
    """The first such weekday at least two days from now (Paris time), so its week is ahead."""
    day = datetime.now(PARIS_TIME).date() + timedelta(days=2)
    while day.isoweekday() != isoweekday:
        day += timedelta(days=1)
    return day


def at(day: date, hour: int, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS_TIME).isoformat()


TUESDAY = coming(2)
MONDAY, WEDNESDAY, THURSDAY, SUNDAY = (TUESDAY + timedelta(days=n) for n in (-1, 1, 2, 5))


def one_off(
    origin: dict[str, float], destination: dict[str, float], /, **extra: Any
) -> dict[str, Any]:
    return {
        "origin": origin,
        "destination": destination,
        "departsAt": at(TUESDAY, 7, 45),
        "seatsTotal": 3,
        **extra,
    }


async def offer(driver: GraphQLClient, trip: dict[str, Any]) -> dict[str, Any]:
    result = (await driver.data(CREATE, {"input": trip}))["createCarpool"]
    assert result["__typename"] == "CreateCarpoolSuccess", result
    carpool: dict[str, Any] = result["carpool"]
    return carpool


async def matches(
    client: GraphQLClient,
    start: dict[str, float] = CHAVENAY,
    end: dict[str, float] = VERSAILLES,
    *,
    after: str | None = None,
    before: str | None = None,
    **variables: Any,
) -> dict[str, Any]:
    variables = {
        "from": start,
        "to": end,
        "after": after or at(MONDAY, 0),
        "before": before or at(SUNDAY, 23, 59),
        **variables,
    }
    result: dict[str, Any] = (await client.data(MATCHES, variables))["carpoolMatches"]
    return result


async def public_as_exact(engine: AsyncEngine) -> None:
    """Put every trip's public places on its exact ones: for tests of the matching and ranking
    rules themselves, whose figures would otherwise move with the random displacement."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE carpools SET public_origin = origin, public_destination = destination, "
                "public_route = route, public_bearing_deg = bearing_deg"
            )
        )


def descriptions(result: dict[str, Any]) -> list[str]:
    return [edge["node"]["description"] for edge in result["edges"]]


async def book(client: GraphQLClient, carpool_id: str, day: date | None = None) -> dict[str, Any]:
    variables = {"id": carpool_id, "date": day.isoformat() if day else None}
    result: dict[str, Any] = (await client.data(BOOK, variables))["bookSeat"]
    return result


async def test_a_trip_matches_a_passenger_near_both_ends(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    driver = await member(gql, "Famille Martin", CHAVENAY)
    await offer(driver, one_off(CHAVENAY, VERSAILLES, description="Chavenay → Versailles"))
    await public_as_exact(clean_db)
    passenger = await member(gql, "Famille Petit", CHAVENAY)
    result = await matches(passenger, {"lng": 1.995, "lat": 48.848}, {"lng": 2.125, "lat": 48.802})
    assert descriptions(result) == ["Chavenay → Versailles"]
    edge = result["edges"][0]
    assert edge["addedDistanceMeters"] == 900  # 428 m + 428 m, rounded to 100 m
    [departure] = edge["departures"]
    assert departure == {
        "departsAt": at(TUESDAY, 7, 45),
        "localDate": TUESDAY.isoformat(),
        "seatsLeft": 3,
    }
    assert edge["node"]["driver"]["name"] == "Famille Martin"
    assert result["radiusMeters"] == 2_000


async def test_excludes_a_trip_heading_the_other_way(gql: GraphQLClient) -> None:
    driver = await member(gql, "Famille Martin", CHAVENAY)
    await offer(driver, one_off(VERSAILLES, CHAVENAY, description="Versailles → Chavenay"))
    await offer(driver, one_off(CHAVENAY, VERSAILLES, description="Chavenay → Versailles"))
    # 20 km reaches both ends of both trips: only the direction tells them apart.
    result = await matches(gql, radius=20_000)
    assert descriptions(result) == ["Chavenay → Versailles"]


async def test_excludes_departures_outside_the_window(gql: GraphQLClient) -> None:
    driver = await member(gql, "Famille Martin", CHAVENAY)
    await offer(driver, one_off(CHAVENAY, VERSAILLES, description="mardi 7 h 45"))
    assert descriptions(await matches(gql, after=at(TUESDAY, 7), before=at(TUESDAY, 8))) == [
        "mardi 7 h 45"
    ]
    assert descriptions(await matches(gql, after=at(TUESDAY, 8), before=at(TUESDAY, 9))) == []
    assert descriptions(await matches(gql, after=at(WEDNESDAY, 0), before=at(THURSDAY, 0))) == []


async def test_a_weekly_trip_matches_on_its_weekdays_only(gql: GraphQLClient) -> None:
    driver = await member(gql, "Famille Martin", CHAVENAY)
    weekly = {
        "origin": CHAVENAY,
        "destination": VERSAILLES,
        "weekdays": [2, 4],
        "departureTime": "07:45:00",
        "seatsTotal": 2,
        "description": "mardi et jeudi",
    }
    carpool = await offer(driver, weekly)
    assert (carpool["weekdays"], carpool["departureTime"]) == ([2, 4], "07:45:00")

    week = await matches(gql)
    departures = week["edges"][0]["departures"]
    assert [d["localDate"] for d in departures] == [TUESDAY.isoformat(), THURSDAY.isoformat()]
    for departure in departures:  # 7:45 wall-clock time in Paris, whatever the UTC offset
        local = datetime.fromisoformat(departure["departsAt"]).astimezone(PARIS_TIME)
        assert (local.hour, local.minute) == (7, 45)
    assert descriptions(await matches(gql, after=at(WEDNESDAY, 0), before=at(WEDNESDAY, 23))) == []
    thursday = await matches(gql, after=at(THURSDAY, 0), before=at(THURSDAY, 23))
    assert [d["localDate"] for d in thursday["edges"][0]["departures"]] == [THURSDAY.isoformat()]


async def test_weekly_seats_are_booked_per_date(gql: GraphQLClient) -> None:
    driver = await member(gql, "Famille Martin", CHAVENAY)
    weekly = {
        "origin": CHAVENAY,
        "destination": VERSAILLES,
        "weekdays": [2, 4],
        "departureTime": "07:45:00",
        "seatsTotal": 1,
    }
    carpool = await offer(driver, weekly)
    passenger = await member(gql, "Famille Petit", CHAVENAY)
    assert (await book(passenger, carpool["id"]))["code"] == "BAD_USER_INPUT"  # which date?
    assert (await book(passenger, carpool["id"], WEDNESDAY))["code"] == "BAD_USER_INPUT"
    booked = await book(passenger, carpool["id"], TUESDAY)
    assert booked["__typename"] == "BookSeatSuccess", booked
    assert booked["departsAt"] == at(TUESDAY, 7, 45)
    assert (booked["localDate"], booked["seatsLeft"]) == (TUESDAY.isoformat(), 0)
    again = await book(passenger, carpool["id"], TUESDAY)
    assert (again["__typename"], again["code"]) == ("AlreadyBookedError", "ALREADY_BOOKED")

    seats = {
        day: (await gql.data(SEATS_LEFT, {"id": carpool["id"], "date": day.isoformat()}))["node"][
            "seatsLeft"
        ]
        for day in (TUESDAY, WEDNESDAY, THURSDAY)
    }
    assert seats == {TUESDAY: 0, WEDNESDAY: None, THURSDAY: 1}
    week = await matches(gql)
    assert [d["localDate"] for d in week["edges"][0]["departures"]] == [THURSDAY.isoformat()]


async def test_a_route_line_matches_passengers_along_it_in_order(gql: GraphQLClient) -> None:
    driver = await member(gql, "Famille Martin", PLAISIR)
    via_versailles = {
        "type": "LineString",
        "coordinates": [[1.95, 48.82], [2.13, 48.80], [2.35, 48.86]],
    }
    await offer(driver, one_off(PLAISIR, PARIS, route=via_versailles, description="avec trajet"))
    await offer(driver, one_off(PLAISIR, PARIS, description="sans trajet"))
    versailles, boulogne = {"lng": 2.125, "lat": 48.805}, {"lng": 2.30, "lat": 48.846}

    result = await matches(gql, versailles, boulogne)
    assert descriptions(result) == ["avec trajet"]
    assert result["edges"][0]["addedDistanceMeters"] <= 1_000
    assert descriptions(await matches(gql, boulogne, versailles)) == []  # drop-off before pick-up


async def test_ranks_trips_by_added_distance_and_pages_without_repeats(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    driver = await member(gql, "Famille Martin", CHAVENAY)
    trips = [
        ("1.3 km + 1.1 km", {"lng": 1.99, "lat": 48.862}, {"lng": 2.13, "lat": 48.81}),
        ("sur place", CHAVENAY, VERSAILLES),
        ("1.1 km", {"lng": 2.005, "lat": 48.85}, VERSAILLES),
    ]
    for description, origin, destination in trips:
        await offer(driver, one_off(origin, destination, description=description))
    await public_as_exact(clean_db)
    result = await matches(gql)
    assert descriptions(result) == ["sur place", "1.1 km", "1.3 km + 1.1 km"]
    assert [edge["addedDistanceMeters"] for edge in result["edges"]] == [100, 1_100, 2_500]

    seen: list[str] = []
    cursor = None
    while True:
        page = await matches(gql, first=1, cursor=cursor)
        seen += descriptions(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
    assert seen == descriptions(result)


async def test_concurrent_bookings_of_the_last_seat_give_it_to_exactly_one(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    driver = await member(gql, "Famille Martin", CHAVENAY)
    carpool = await offer(driver, one_off(CHAVENAY, VERSAILLES, seatsTotal=2))
    first = await member(gql, "Famille Petit", CHAVENAY)
    assert (await book(first, carpool["id"]))["seatsLeft"] == 1
    racers = [await member(gql, f"Famille {n}", CHAVENAY) for n in range(6)]

    results = await asyncio.gather(*(book(racer, carpool["id"]) for racer in racers))

    outcomes = sorted(result["__typename"] for result in results)
    assert outcomes == ["BookSeatSuccess"] + ["NoSeatsLeftError"] * 5, results
    assert {r["code"] for r in results if r["__typename"] == "NoSeatsLeftError"} == {
        "NO_SEATS_LEFT"
    }
    async with clean_db.connect() as conn:
        booked = (
            (await conn.execute(text("SELECT count(*) FROM carpool_bookings"))).scalar_one(),
            (await conn.execute(text("SELECT seats_booked FROM carpool_departures"))).scalar_one(),
        )
    assert booked == (2, 2)
    full = await matches(gql)
    assert full["edges"] == []  # a full departure no longer matches


async def test_the_database_refuses_overbooking_even_without_the_lock(
    gql: GraphQLClient, clean_db: AsyncEngine
) -> None:
    driver = await member(gql, "Famille Martin", CHAVENAY)
    carpool = await offer(driver, one_off(CHAVENAY, VERSAILLES, seatsTotal=1))
    passengers = [await member(gql, f"Famille {n}", CHAVENAY) for n in range(3)]
    async with clean_db.connect() as conn:
        household_ids = (
            (await conn.execute(text("SELECT id FROM households ORDER BY id"))).scalars().all()
        )

    async def insert_booking(household_id: int) -> None:
        async with clean_db.begin() as conn:
            await conn.execute(
                insert(CarpoolBooking).values(
                    carpool_id=node_id(carpool["id"]), departs_on=TUESDAY, household_id=household_id
                )
            )

    results = await asyncio.gather(
        *(insert_booking(hid) for hid in household_ids[1:]), return_exceptions=True
    )
    assert len(passengers) == len(results) == 3
    assert sum(result is None for result in results) == 1, results
    failures = [result for result in results if result is not None]
    assert all(isinstance(failure, IntegrityError) for failure in failures), failures
    assert all("ck_carpool_departures_seats" in str(failure) for failure in failures)


async def test_the_pickup_point_is_shown_only_once_a_seat_is_booked(gql: GraphQLClient) -> None:
    driver = await member(gql, "Mairie de Chavenay", TOWN_HALL)
    route = {"type": "LineString", "coordinates": [[1.98676, 48.8533], [2.13, 48.80]]}
    tomorrow = (datetime.now(PARIS_TIME) + timedelta(days=1)).replace(microsecond=0)
    soon = {"departsAt": tomorrow.isoformat()}
    carpool = await offer(driver, one_off(TOWN_HALL, VERSAILLES, route=route, **soon))
    assert carpool["pickupPoint"] == TOWN_HALL  # the driver always sees it
    passenger = await member(gql, "Famille Petit", CHAVENAY)

    for client in (gql, passenger):
        response = await client.http.post(
            "/graphql",
            json={
                "query": MATCHES + CARPOOL.replace("query(", "query Node(", 1),
                "operationName": "Matches",
                "variables": {
                    "from": CHAVENAY,
                    "to": VERSAILLES,
                    "after": (tomorrow - timedelta(hours=1)).isoformat(),
                    "before": (tomorrow + timedelta(hours=1)).isoformat(),
                },
            },
            headers=client.headers,
        )
        body = response.json()
        assert "errors" not in body, body
        [edge] = body["data"]["carpoolMatches"]["edges"]
        shown = edge["node"]
        assert shown["pickupPoint"] is None and shown["dropOffPoint"] is None
        assert shown["route"] is None
        assert "1.9867" not in response.text and "48.853" not in response.text
        assert shown["approximateOrigin"] != TOWN_HALL
        padded = edge["cursor"] + "=" * (-len(edge["cursor"]) % 4)
        assert json.loads(base64.urlsafe_b64decode(padded)) == ["c", node_id(carpool["id"])]

    booked = await book(passenger, carpool["id"])  # it leaves tomorrow: inside the 2 days
    assert booked["carpool"]["pickupPoint"] == TOWN_HALL
    assert booked["carpool"]["myBookedDates"] == [tomorrow.date().isoformat()]
    shown = (await passenger.data(CARPOOL, {"id": carpool["id"]}))["node"]
    assert shown["pickupPoint"] == TOWN_HALL and shown["route"]["type"] == "LineString"
    assert (await gql.data(CARPOOL, {"id": carpool["id"]}))["node"]["pickupPoint"] is None


async def test_the_driver_cannot_book_its_own_trip(gql: GraphQLClient) -> None:
    driver = await member(gql, "Famille Martin", CHAVENAY)
    carpool = await offer(driver, one_off(CHAVENAY, VERSAILLES))
    assert (await book(driver, carpool["id"]))["code"] == "FORBIDDEN"
    assert (await book(gql, carpool["id"]))["code"] == "UNAUTHENTICATED"
    unknown = base64.b64encode(b"Carpool:999999").decode()
    passenger = await member(gql, "Famille Petit", CHAVENAY)
    assert (await book(passenger, unknown))["code"] == "NOT_FOUND"
    assert (await book(passenger, carpool["id"], WEDNESDAY))["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("radius", "accepted"),
    [(100, False), (499, False), (500, True), (20_000, True), (20_001, False)],
)
async def test_the_radius_floor_and_ceiling_apply(
    gql: GraphQLClient, radius: int, accepted: bool
) -> None:
    variables = {
        "from": CHAVENAY,
        "to": VERSAILLES,
        "after": at(MONDAY, 0),
        "before": at(SUNDAY, 23),
        "radius": radius,
    }
    body = await gql.execute(MATCHES, variables)
    if accepted:
        assert "errors" not in body, body
    else:
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "radiusMeters" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("after", "before"),
    [
        (at(TUESDAY, 9), at(TUESDAY, 8)),  # backwards
        (at(TUESDAY, 0), at(TUESDAY + timedelta(days=40), 0)),  # more than 31 days
        ("2026-12-01T07:00:00", "2026-12-01T09:00:00"),  # no UTC offset
    ],
)
async def test_a_bad_window_is_refused(gql: GraphQLClient, after: str, before: str) -> None:
    body = await gql.execute(
        MATCHES, {"from": CHAVENAY, "to": VERSAILLES, "after": after, "before": before}
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"weekdays": [2], "departureTime": "07:45:00"}, "BAD_USER_INPUT", "departsAt"),
        ({"departsAt": None}, "BAD_USER_INPUT", "departsAt"),
        (
            {"departsAt": None, "weekdays": [0, 8], "departureTime": "07:45:00"},
            "BAD_USER_INPUT",
            "weekdays",
        ),
        ({"departsAt": None, "weekdays": [2]}, "BAD_USER_INPUT", "departureTime"),
        ({"departsAt": "2020-01-07T07:45:00+01:00"}, "BAD_USER_INPUT", "departsAt"),
        ({"seatsTotal": 9}, "BAD_USER_INPUT", "seatsTotal"),
        ({"destination": {"lng": 1.991, "lat": 48.85}}, "BAD_USER_INPUT", "destination"),
        (
            {"route": {"type": "LineString", "coordinates": [[1.95, 48.82], [2.13, 48.80]]}},
            "INVALID_GEOMETRY",
            "route",
        ),
        ({"route": {"type": "Point", "coordinates": [1.99, 48.85]}}, "INVALID_GEOMETRY", "route"),
    ],
)
async def test_refuses_bad_trips_and_writes_nothing(
    gql: GraphQLClient, clean_db: AsyncEngine, overrides: dict[str, Any], code: str, field: str
) -> None:
    driver = await member(gql, "Famille Martin", CHAVENAY)
    result = (await driver.data(CREATE, {"input": one_off(CHAVENAY, VERSAILLES, **overrides)}))[
        "createCarpool"
    ]
    assert (result["code"], result["field"]) == (code, field), result
    async with clean_db.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM carpools"))).scalar_one() == 0


async def test_offering_a_trip_needs_a_signed_in_household(gql: GraphQLClient) -> None:
    trip = one_off(CHAVENAY, VERSAILLES)
    assert (await gql.data(CREATE, {"input": trip}))["createCarpool"]["code"] == "UNAUTHENTICATED"
    homeless = await gql.sign_up()
    assert (await homeless.data(CREATE, {"input": trip}))["createCarpool"]["code"] == "FORBIDDEN"


async def test_a_page_of_30_costs_a_constant_number_of_statements(
    settings: Settings, clean_db: AsyncEngine
) -> None:
    async with counting_client(settings) as (client, statements):
        drivers = [
            await member(client, f"Famille {n}", {"lng": 1.97 + 0.01 * n, "lat": 48.84})
            for n in range(5)
        ]
        for n in range(30):
            origin = {"lng": 1.99, "lat": 48.85 + n / 2000}
            await offer(drivers[n % 5], one_off(origin, VERSAILLES, description=f"trajet {n}"))
        await public_as_exact(clean_db)
        passenger = await member(client, "Famille Petit", CHAVENAY)
        counts = {}
        for first in (3, 30):
            statements.clear()
            result = await matches(passenger, first=first)
            assert len(result["edges"]) == first
            counts[first] = len(statements)
    assert counts[30] == counts[3] <= 8, statements


async def test_matching_is_served_by_the_gist_indexes(clean_db: AsyncEngine) -> None:
    request = MatchRequest(
        pickup=LngLat(lng=1.99, lat=48.85),
        dropoff=LngLat(lng=2.13, lat=48.80),
        depart_after=datetime.combine(TUESDAY, time(0), tzinfo=PARIS_TIME),
        depart_before=datetime.combine(TUESDAY, time(23), tzinfo=PARIS_TIME),
        radius_m=2_000,
    )
    params = {
        **request.params(),
        "depart_after": request.depart_after,
        "depart_before": request.depart_before,
        "after_m": -1.0,
        "after_id": 0,
        "limit": 11,
    }
    async with clean_db.connect() as conn:  # closed without commit: the SET is rolled back
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join((await conn.execute(text("EXPLAIN " + MATCH_PAGE.text), params)).scalars())
    assert "Seq Scan on carpools" not in plan, plan
    assert "Bitmap Index Scan on ix_carpools_public_route_geog" in plan, plan
    # Both ends are required: the planner scans one of their indexes and filters by the other.
    assert "Bitmap Index Scan on ix_carpools_public_destination_geog" in plan or (
        "Bitmap Index Scan on ix_carpools_public_origin_geog" in plan
    ), plan
    # The exact places are never compared with anything a stranger sends.
    for exact in ("c.origin", "c.destination", "c.route", "c.bearing_deg"):
        assert exact not in MATCHED, exact
