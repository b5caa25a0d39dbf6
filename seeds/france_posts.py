"""France-scale posts and comments over the last year, planned with numpy (no database).

Authors are random households (so neighbourhoods post in proportion to their population); a
post is filed in its author's neighbourhood at its author's public (displaced) point, as
`create_post` does, never at a home. Kinds follow a network's mix; giveaways expire within a
month and 40 % of them are claimed by a neighbour before that; events happen within a month of
being announced, at a named place; one post in 200 is hidden by a moderator. Comments come from
neighbours of the author within two weeks of the post. Ids follow time, like real posts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seeds.france_copy import points_to_ewkb_hex
from seeds.france_points import HouseholdPlan
from seeds.france_rows import (
    DAY_S,
    YEAR_S,
    IntArray,
    Neighbours,
    SharingStream,
    copy_lines,
    nullable,
    numbers,
    optional_timestamps,
    picks,
    sharing_rng,
    timestamps,
    weighted_choice,
)
from seeds.france_vocab import COMMENTS, EVENT_PLACES, HIDDEN_REASON, POST_BODIES, POST_TITLES

POST_COLUMNS = (
    "id, neighbourhood_id, household_id, kind, title, body, created_at, expires_at, starts_at, "
    "ends_at, place_name, location, claimed_at, claimed_by_household_id, hidden_at, hidden_reason"
)
COMMENT_COLUMNS = "id, post_id, household_id, body, created_at"
KINDS = tuple(POST_TITLES)
KIND_WEIGHTS = {
    "OFFER": 15,
    "REQUEST": 20,
    "GIVEAWAY": 15,
    "EVENT": 10,
    "RECOMMENDATION": 15,
    "DISCUSSION": 20,
    "LOST_AND_FOUND": 5,
}
TITLES = [title for titles in POST_TITLES.values() for title in titles]
TITLE_START = np.cumsum([0, *(len(titles) for titles in POST_TITLES.values())])[:-1]
CLAIMED_SHARE = 0.4
HIDDEN_SHARE = 0.005
COMMENT_WINDOW_S = 14 * DAY_S
HOUR_S = 3_600


@dataclass(frozen=True, slots=True, kw_only=True)
class PostPlan:
    """Posts in id (= time) order; households are plan indices (id − 1); 0 = no timestamp."""

    household: IntArray
    kind: IntArray
    """Index into KINDS."""
    title: IntArray
    """Index into TITLES."""
    body: IntArray
    created_s: IntArray
    expires_s: IntArray
    starts_s: IntArray
    ends_s: IntArray
    place: IntArray
    claimed_s: IntArray
    claimed_by: IntArray
    hidden_s: IntArray

    def __len__(self) -> int:
        return len(self.household)

    def copy_text(
        self, start: int, stop: int, plan: HouseholdPlan, neighbourhood_of: IntArray
    ) -> bytes:
        part = slice(start, stop)
        author = self.household[part]
        event = self.starts_s[part] > 0
        claimed = self.claimed_s[part] > 0
        hidden = self.hidden_s[part] > 0
        return copy_lines(
            [
                numbers(np.arange(start + 1, stop + 1)),
                numbers(neighbourhood_of[author]),
                numbers(author + 1),
                picks(KINDS, self.kind[part]),
                picks(TITLES, self.title[part]),
                picks(POST_BODIES, self.body[part]),
                timestamps(self.created_s[part]),
                optional_timestamps(self.expires_s[part]),
                optional_timestamps(self.starts_s[part]),
                optional_timestamps(self.ends_s[part]),
                nullable(picks(EVENT_PLACES, self.place[part]), event),
                points_to_ewkb_hex(plan.public_lng[author], plan.public_lat[author]),
                optional_timestamps(self.claimed_s[part]),
                nullable(numbers(self.claimed_by[part] + 1), claimed),
                optional_timestamps(self.hidden_s[part]),
                nullable([HIDDEN_REASON] * (stop - start), hidden),
            ]
        )


def plan_posts(
    plan: HouseholdPlan, neighbours: Neighbours, count: int, *, seed: int, as_of_s: int
) -> PostPlan:
    """`count` posts of random households over the year before `as_of_s`, oldest first."""
    rng = sharing_rng(seed, SharingStream.POSTS)
    created = np.sort(as_of_s - rng.integers(60, YEAR_S, count)).astype(np.int64)
    household = rng.integers(0, len(plan), count).astype(np.int64)
    kind = weighted_choice([KIND_WEIGHTS[name] for name in KINDS], count, rng)
    sizes = np.array([len(POST_TITLES[name]) for name in KINDS])
    title = TITLE_START[kind] + np.floor(rng.random(count) * sizes[kind]).astype(np.int64)
    giveaway = kind == KINDS.index("GIVEAWAY")
    event = kind == KINDS.index("EVENT")
    expires = created + rng.integers(7 * DAY_S, 31 * DAY_S, count)
    claimed = giveaway & (rng.random(count) < CLAIMED_SHARE)
    claim_until = np.minimum(expires, as_of_s)
    claimed_s = created + (rng.uniform(0.05, 0.95, count) * (claim_until - created)).astype(
        np.int64
    )
    starts = (created // DAY_S + rng.integers(2, 31, count)) * DAY_S + rng.integers(
        9, 19, count
    ) * HOUR_S
    ends = starts + rng.integers(2, 6, count) * HOUR_S
    with_end = rng.random(count) < 0.7
    hidden = rng.random(count) < HIDDEN_SHARE
    hidden_s = np.minimum(created + rng.integers(HOUR_S, 3 * DAY_S, count), as_of_s)
    return PostPlan(
        household=household,
        kind=kind,
        title=title.astype(np.int64),
        body=rng.integers(0, len(POST_BODIES), count).astype(np.int64),
        created_s=created,
        expires_s=np.where(giveaway, expires, 0).astype(np.int64),
        starts_s=np.where(event, starts, 0).astype(np.int64),
        ends_s=np.where(event & with_end, ends, 0).astype(np.int64),
        place=rng.integers(0, len(EVENT_PLACES), count).astype(np.int64),
        claimed_s=np.where(claimed, claimed_s, 0).astype(np.int64),
        claimed_by=neighbours.draw(household, plan.commune[household], rng),
        hidden_s=np.where(hidden, hidden_s, 0).astype(np.int64),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class CommentPlan:
    """Comments in id (= time) order; `post` is a post index (id − 1)."""

    post: IntArray
    household: IntArray
    body: IntArray
    created_s: IntArray

    def __len__(self) -> int:
        return len(self.post)

    def copy_text(self, start: int, stop: int) -> bytes:
        part = slice(start, stop)
        return copy_lines(
            [
                numbers(np.arange(start + 1, stop + 1)),
                numbers(self.post[part] + 1),
                numbers(self.household[part] + 1),
                picks(COMMENTS, self.body[part]),
                timestamps(self.created_s[part]),
            ]
        )


def plan_comments(
    plan: HouseholdPlan,
    neighbours: Neighbours,
    posts: PostPlan,
    count: int,
    *,
    seed: int,
    as_of_s: int,
) -> CommentPlan:
    """`count` comments by neighbours of the authors, within two weeks of each post."""
    rng = sharing_rng(seed, SharingStream.COMMENTS)
    post = rng.integers(0, len(posts), count).astype(np.int64)
    author = posts.household[post]
    since = posts.created_s[post]
    window = np.maximum(np.minimum(COMMENT_WINDOW_S, as_of_s - since), 2)
    created = since + 1 + (rng.random(count) * (window - 1)).astype(np.int64)
    order = np.argsort(created, kind="stable")
    return CommentPlan(
        post=post[order],
        household=neighbours.draw(author, plan.commune[author], rng)[order],
        body=rng.integers(0, len(COMMENTS), count).astype(np.int64)[order],
        created_s=created[order].astype(np.int64),
    )
