"""Rate limits hold per server, not per worker: the workers share one table of token buckets."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import httpx
import pytest

from api.shared_buckets import SharedTokenBuckets, create_table, server_table
from tests.servers import running_server


def take_all(path: str, attempts: int) -> int:
    """One worker's share: how many of `attempts` single tokens it was granted."""
    buckets = SharedTokenBuckets(Path(path), 6, family="operations")
    try:
        return sum(buckets.acquire(["address:192.0.2.7"], 1) == 0 for _ in range(attempts))
    finally:
        buckets.close()


def test_two_processes_share_one_bucket(tmp_path: Path) -> None:
    table = tmp_path / "buckets.bin"
    create_table(table)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        granted = pool.starmap(take_all, [(str(table), 6), (str(table), 6)])
    # 6 a minute refill 0.1 token a second: the run is far too short for a seventh.
    assert sum(granted) == 6


def test_a_refusal_says_when_to_retry_and_families_do_not_mix(tmp_path: Path) -> None:
    table = tmp_path / "buckets.bin"
    create_table(table)
    now = [100.0]
    searches = SharedTokenBuckets(table, 2, family="proximity", clock=lambda: now[0])
    operations = SharedTokenBuckets(table, 60, family="operations", clock=lambda: now[0])
    keys = ["address:192.0.2.7", "account:42"]
    assert [searches.acquire(keys, 1) for _ in range(2)] == [0.0, 0.0]
    assert searches.acquire(keys, 1) == pytest.approx(30.0)  # 2 a minute: one every 30 s
    assert operations.acquire(keys, 1) == 0.0  # another limit, another bucket
    now[0] += 30.0
    assert searches.acquire(keys, 1) == 0.0


def test_a_full_table_forgets_the_bucket_updated_longest_ago(tmp_path: Path) -> None:
    table = tmp_path / "buckets.bin"
    create_table(table, slots=2)
    now = [0.0]
    buckets = SharedTokenBuckets(table, 1, family="operations", clock=lambda: now[0])
    for second, key in enumerate(["a", "b"]):
        now[0] = float(second)
        assert buckets.acquire([key], 1) == 0.0
    now[0] = 2.0
    assert buckets.acquire(["b"], 1) > 0  # b is still remembered, and empty
    assert buckets.acquire(["c"], 1) == 0.0  # c takes a's slot (the stalest)...
    assert buckets.acquire(["a"], 1) == 0.0  # ...so a comes back with a full bucket


def test_stale_tables_of_dead_servers_are_removed(tmp_path: Path) -> None:
    dead = tmp_path / "rate-limits-999999999.bin"
    dead.write_bytes(b"")
    mine = server_table(tmp_path)
    assert not dead.exists()
    assert mine.name.startswith("rate-limits-") and mine.parent == tmp_path


def test_two_workers_grant_one_limit(database_url: str, tmp_path: Path) -> None:
    with running_server(
        database_url, tmp_path / "workers.log", WORKERS="2", RATE_LIMIT_PER_MINUTE="8"
    ) as server:
        statuses = []
        for _ in range(30):  # a new connection each time: both workers accept some
            with httpx.Client(base_url=server.http_url) as client:
                response = client.post("/graphql", json={"query": "{ __typename }"})
                statuses.append(response.status_code)
    assert statuses.count(200) == 8
    assert statuses.count(429) == 22
