"""`postCreated`: new posts, live, across processes, with catch-up from a cursor.

Live = query: each event is checked at delivery time against the connection's viewer as it is
then (`api.live_access` keeps it current; a credential or right withdrawn closes the socket with
4403), and shows what that viewer could read by query: the whole post for a neighbourhood whose
feed it may read, otherwise what `postsNear` shows. Catch-ups follow the same rules, start only
from cursors the server signed (`api.live_cursor`) and are bounded (24 h, 100 posts).

Seam without gap or duplicate: the subscriber registers with the broadcaster BEFORE reading the
catch-up, then sends the caught-up posts, then the live ones, skipping ids already sent. After a
listener reconnect (database restart) or on demand, it catches up again from its last cursor.
A consumer that cannot keep up is closed with code 4008 rather than buffered without bound.

Live posts are sent through `api.fastpaths.fanout`: the payload of an event is rendered once per
group of subscribers that would receive the same bytes (same document, same shaping variables,
same rounded distance), not once per subscriber. Caught-up posts, anything that cannot be shared,
and everything with FAST_PATHS=off take Strawberry's ordinary per-subscriber path (`yield`).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncGenerator, Callable, Hashable
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry import relay

from api.context import Context, Viewer
from api.errors import ErrorCode, UserError
from api.fastpaths.fanout import shared_frames
from api.inputs import LocationInput
from api.live_access import Requirement
from api.live_cursor import LiveCursors, cursor_key
from api.pubsub import RESYNC, Event
from api.ratelimit import proximity_refusal
from api.types.live import LivePost, parse_time
from api.types.notification import Notification
from api.types.post import PostKind
from api.types.report import Report
from db.queries import live as live_queries
from db.queries import reports as report_queries
from db.queries.live import live_posts_after
from geo.coords import LngLat
from geo.distance import great_circle_m, round_distance_m

Info = strawberry.Info[Context, None]
SLOW_CONSUMER_CLOSE_CODE = 4008
MAX_RADIUS_M = 50_000


def resolve_scope(
    info: Info,
    neighbourhood_id: relay.GlobalID | None,
    near: LocationInput | None,
    radius_meters: int | None,
) -> tuple[int | None, LngLat | None, float | None]:
    viewer = info.context.viewer
    if viewer.is_anonymous and viewer.partner_key_id is None:
        raise UserError(
            ErrorCode.UNAUTHENTICATED,
            "Sign in first: send `authorization` (or a partner's `apiKey`) in connection_init.",
        )
    if (neighbourhood_id is None) == (near is None):
        raise UserError(
            ErrorCode.BAD_USER_INPUT, "Give either `neighbourhoodId` or `near` with `radiusMeters`."
        )
    if neighbourhood_id is not None:
        if neighbourhood_id.type_name != "Neighbourhood" or not neighbourhood_id.node_id.isdigit():
            raise UserError(ErrorCode.INVALID_ID, "This is not a neighbourhood ID.")
        nid = int(neighbourhood_id.node_id)
        if not viewer.can_read(nid):
            raise UserError(
                ErrorCode.FORBIDDEN, "Only members of this neighbourhood may follow it."
            )
        return nid, None, None
    assert near is not None
    if not may_follow_near(viewer):
        raise UserError(
            ErrorCode.FORBIDDEN, "This partner key has no READ_PUBLIC scope (docs/partners.md)."
        )
    floor = info.context.settings.proximity_floor_m
    if radius_meters is None or not floor <= radius_meters <= MAX_RADIUS_M:
        raise UserError(
            ErrorCode.BAD_USER_INPUT,
            f"`radiusMeters` must be between {floor} and {MAX_RADIUS_M}.",
            argument="radiusMeters",
        )
    return None, near.to_lnglat(), float(radius_meters)


def may_follow_near(viewer: Viewer) -> bool:
    """Signed-in accounts, and partner keys with READ_PUBLIC (docs/partners.md)."""
    return viewer.account_id is not None or "READ_PUBLIC" in viewer.partner_scopes


def event_filter(
    neighbourhood_id: int | None,
    origin: LngLat | None,
    radius_m: float | None,
    kinds: set[str] | None,
) -> Callable[[Event], bool]:
    def accepts(event: Event) -> bool:
        if event.get("type") != "post_created":
            return False
        if kinds is not None and event.get("kind") not in kinds:
            return False
        if neighbourhood_id is not None:
            return bool(event.get("neighbourhood_id") == neighbourhood_id)
        assert origin is not None and radius_m is not None
        return distance_to(origin, event) <= radius_m

    return accepts


def distance_to(origin: LngLat, event: Event) -> float:
    """Metres to the post's public point (`lng`/`lat` of the event: see db.queries.live)."""
    return great_circle_m(origin, LngLat(lng=float(event["lng"]), lat=float(event["lat"])))


async def charge_proximity(info: Info, searches: int) -> None:
    """Following posts near a point, and catching up on them, are proximity searches: charged
    to the same limit as `postsNear` (api.ratelimit), or refused with RATE_LIMITED."""
    context = info.context
    refusal = await proximity_refusal(context.rate_limits, context, searches)
    if refusal is not None:
        raise refusal


class Gate:
    """What one subscription may send, checked on every event at delivery time.

    `requirement` is what the subscription needs to keep running (reading its neighbourhood, or
    READ_PUBLIC for a partner's `near`); `viewer_now` is the connection's viewer as it is now
    (None once its credential is gone: the socket is being closed with 4403).
    """

    __slots__ = ("access", "context", "requirement")

    def __init__(self, context: Context, requirement: Requirement) -> None:
        self.context = context
        self.access = context.live_access
        self.requirement = requirement

    async def viewer_now(self) -> Viewer | None:
        if self.access is None:  # outside the WebSocket handler: as authenticated
            viewer: Viewer | None = self.context.viewer
        else:
            viewer = await self.access.viewer_now()
        if viewer is None:
            return None
        if not self.requirement(viewer):
            if self.access is not None:
                await self.access.revoke(
                    "Forbidden: a right this subscription relied on was withdrawn."
                )
            return None
        return viewer

    def holding(self) -> contextlib.AbstractContextManager[None]:
        if self.access is None:
            return contextlib.nullcontext()
        return self.access.requiring(self.requirement)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="New posts, live: in one neighbourhood (those who may read its feed) or "
        "within `radiusMeters` of `near` across borders (signed-in accounts, partner keys with "
        "READ_PUBLIC). Each post shows what you could read by query at that moment: in full "
        "for a neighbourhood whose feed you may read, otherwise what `postsNear` shows. Pass "
        "the last `cursor` you received as `after` to first get, in order, what you missed (at "
        "most the last 100 posts of the last 24 hours). Closed with 4403 when your credential "
        "or the right you relied on is withdrawn."
    )
    async def post_created(
        self,
        info: Info,
        neighbourhood_id: relay.GlobalID | None = None,
        near: LocationInput | None = None,
        radius_meters: int | None = None,
        kinds: list[PostKind] | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[LivePost, None]:
        nid, origin, radius_m = resolve_scope(info, neighbourhood_id, near, radius_meters)
        cursors = LiveCursors(cursor_key(info.context.settings))
        cursor = cursors.decode(after) if after is not None else None
        if origin is not None:
            await charge_proximity(info, 1 if cursor is None else 2)
        kind_names = {kind.name for kind in kinds} if kinds else None
        broadcaster = info.context.broadcaster
        assert broadcaster is not None, "the app wires a broadcaster into every context"
        if nid is not None:
            gate = Gate(info.context, lambda viewer: viewer.can_read(nid))
        else:
            gate = Gate(info.context, may_follow_near)
        sent = SentIds()
        frames = shared_frames(info)

        def distance_of(event: Event) -> int | None:
            return None if origin is None else round_distance_m(distance_to(origin, event))

        def render(event: Event, viewer: Viewer) -> LivePost:
            return LivePost.from_event(
                event,
                cursor=cursors.encode(*position(event)),
                distance_meters=distance_of(event),
                full=viewer.can_read(int(event["neighbourhood_id"])),
            )

        async def catch_up(since: tuple[datetime, int]) -> list[Event]:
            async with info.context.reader.connect() as conn:
                return await live_posts_after(
                    conn,
                    after=since,
                    neighbourhood_id=nid,
                    origin=origin,
                    radius_m=radius_m,
                    kinds=sorted(kind_names) if kind_names else None,
                )

        with gate.holding():
            async with broadcaster.subscribe(
                event_filter(nid, origin, radius_m, kind_names)
            ) as inbox:
                # Without a cursor, "now" marks where a resync after an outage starts from.
                last_seen = cursor or (await database_now(info), 0)
                pending: list[Event] = await catch_up(cursor) if cursor else []
                while True:
                    for event in pending:
                        viewer = await gate.viewer_now()
                        if viewer is None:
                            return
                        if sent.add(int(event["id"])):
                            last_seen = max(last_seen, position(event))
                            yield render(event, viewer)
                    pending = []
                    delivery = await inbox.get()
                    if delivery is RESYNC:
                        if inbox.overflowed:
                            await close_slow_consumer(info)
                            return
                        pending = await catch_up(last_seen)
                        continue
                    event = delivery.event
                    viewer = await gate.viewer_now()
                    if viewer is None:
                        return
                    if not sent.add(int(event["id"])):
                        continue
                    last_seen = max(last_seen, position(event))
                    full = viewer.can_read(int(event["neighbourhood_id"]))
                    root_key: Hashable = (event["id"], distance_of(event), full)
                    build = functools.partial(render, event, viewer)
                    if frames is not None and await frames.send(delivery, root_key, build):
                        continue
                    yield render(event, viewer)

    @strawberry.subscription(
        description="What concerns your household, live: loan requests on your items, answers "
        "to your requests, seats booked in your carpools, comments on your posts... Each is "
        "also stored in your household's inbox (`notifications`), with the same `id` to mark it "
        "read: what arrives while you are offline waits there. Closed with 4403 when your "
        "token is revoked or expires, or your account leaves the household."
    )
    async def notification_received(self, info: Info) -> AsyncGenerator[Notification, None]:
        household_id = info.context.viewer.household_id
        if household_id is None:
            raise UserError(
                ErrorCode.UNAUTHENTICATED,
                "Sign in with an account that has a household (token in connection_init).",
            )
        broadcaster = info.context.broadcaster
        assert broadcaster is not None, "the app wires a broadcaster into every context"
        gate = Gate(info.context, lambda viewer: viewer.household_id == household_id)
        with gate.holding():
            async with broadcaster.subscribe(notifications_for(household_id)) as inbox:
                while True:
                    delivery = await inbox.get()
                    if delivery is RESYNC:
                        if inbox.overflowed:
                            await close_slow_consumer(info)
                            return
                        continue
                    if await gate.viewer_now() is None:
                        return
                    yield Notification.from_event(delivery.event)

    @strawberry.subscription(
        description="New reports in a network's moderation queue, live, for its ambassadors "
        "and admins (FORBIDDEN for anyone else). Each is the Report as `moderationQueue` shows "
        "it (never who reported). Not caught up on reconnect: read `moderationQueue` then. "
        "Closed with 4403 when your credential or your ambassador role is withdrawn."
    )
    async def report_filed(
        self,
        info: Info,
        neighbourhood_id: Annotated[
            relay.GlobalID, strawberry.argument(description="The Neighbourhood's global ID.")
        ],
    ) -> AsyncGenerator[Report, None]:
        viewer = info.context.viewer
        if viewer.account_id is None:
            raise UserError(
                ErrorCode.UNAUTHENTICATED, "Sign in first: send `authorization` in connection_init."
            )
        if neighbourhood_id.type_name != "Neighbourhood" or not neighbourhood_id.node_id.isdigit():
            raise UserError(ErrorCode.INVALID_ID, "This is not a neighbourhood ID.")
        nid = int(neighbourhood_id.node_id)
        if not viewer.can_moderate(nid):
            raise UserError(
                ErrorCode.FORBIDDEN, "Only this neighbourhood's ambassadors and admins follow it."
            )
        broadcaster = info.context.broadcaster
        assert broadcaster is not None, "the app wires a broadcaster into every context"
        gate = Gate(info.context, lambda viewer: viewer.can_moderate(nid))
        with gate.holding():
            async with broadcaster.subscribe(reports_for(nid)) as inbox:
                while True:
                    delivery = await inbox.get()
                    if delivery is RESYNC:
                        if inbox.overflowed:
                            await close_slow_consumer(info)
                            return
                        continue
                    if await gate.viewer_now() is None:
                        return
                    async with info.context.engine.connect() as conn:
                        row = await report_queries.report_by_id(
                            conn, int(delivery.event["report_id"])
                        )
                    if row is not None:
                        yield Report.from_row(row)


def reports_for(neighbourhood_id: int) -> Callable[[Event], bool]:
    def accepts(event: Event) -> bool:
        return (
            event.get("type") == "report_filed"
            and event.get("neighbourhood_id") == neighbourhood_id
        )

    return accepts


def notifications_for(household_id: int) -> Callable[[Event], bool]:
    def accepts(event: Event) -> bool:
        return (
            event.get("type") == "household_notification"
            and event.get("household_id") == household_id
        )

    return accepts


class SentIds:
    """Ids already sent, so that the catch-up/live seam never sends a post twice.

    Bounded (the seam is at most a catch-up long) and O(1) per check; a dict keeps insertion
    order for eviction and costs nothing until the first post (a deque would hold a 0.5 KiB
    block per idle subscription).
    """

    __slots__ = ("ids", "maxlen")

    def __init__(self, maxlen: int = 4096) -> None:
        self.ids: dict[int, None] = {}
        self.maxlen = maxlen

    def add(self, post_id: int) -> bool:
        """True if `post_id` was not sent yet (and is now remembered)."""
        if post_id in self.ids:
            return False
        if len(self.ids) >= self.maxlen:
            del self.ids[next(iter(self.ids))]
        self.ids[post_id] = None
        return True


def position(event: Event) -> tuple[datetime, int]:
    """Where an event sits in the posts' stable order: (created time, id)."""
    created_at = parse_time(event["created_at"])
    assert created_at is not None
    return created_at, int(event["id"])


async def database_now(info: Info) -> datetime:
    """The database clock, which stamps `created_at` (not this process's clock)."""
    async with info.context.reader.connect() as conn:
        return await live_queries.database_now(conn)


async def close_slow_consumer(info: Info) -> None:
    websocket: Any = info.context.websocket
    if websocket is not None:
        await websocket.close(code=SLOW_CONSUMER_CLOSE_CODE, reason="Too slow: events dropped")
