"""The client's address is the socket's, unless the peer is a trusted proxy (FORWARDED_ALLOW_IPS).

Per-address rate limits count that address: if any peer's `X-Forwarded-For` were believed, a
client could escape them by sending a new made-up address with each request.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.servers import running_server

TYPENAME = {"query": "{ __typename }"}


def statuses(url: str, forwarded_for: list[str]) -> list[int]:
    """The status of one request per `X-Forwarded-For` value, each on a new connection."""
    found = []
    for address in forwarded_for:
        with httpx.Client(base_url=url) as client:
            response = client.post("/graphql", json=TYPENAME, headers={"x-forwarded-for": address})
            found.append(response.status_code)
    return found


def test_a_spoofed_forwarded_for_from_an_untrusted_peer_stays_in_its_address_limit(
    database_url: str, tmp_path: Path
) -> None:
    rotating = [f"203.0.113.{n}" for n in range(1, 7)]
    with running_server(
        database_url, tmp_path / "untrusted.log", RATE_LIMIT_PER_MINUTE="3"
    ) as server:
        # No FORWARDED_ALLOW_IPS: 127.0.0.1 is a client like any other, its header ignored.
        assert statuses(server.http_url, rotating) == [200, 200, 200, 429, 429, 429]


def test_a_trusted_proxy_s_forwarded_for_is_the_client_address(
    database_url: str, tmp_path: Path
) -> None:
    with running_server(
        database_url,
        tmp_path / "trusted.log",
        RATE_LIMIT_PER_MINUTE="3",
        FORWARDED_ALLOW_IPS="127.0.0.1",
    ) as server:
        one_client = statuses(server.http_url, ["198.51.100.7"] * 4)
        another_client = statuses(server.http_url, ["198.51.100.8"])

    assert one_client == [200, 200, 200, 429]
    assert another_client == [200]  # counted apart: the proxy's header is believed
