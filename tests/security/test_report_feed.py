"""`reportFiled` across neighbourhoods: an ambassador of one network learns nothing of another's
reports, neither by subscribing to it nor through the feed of their own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.api.test_ambassadors import REPORT, REPORT_FILED, appoint_live
from tests.security.live_sockets import bearer, data, error_codes, live_socket, member, post
from tests.servers import Server, running_server


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    logs = tmp_path_factory.mktemp("report-feed")
    with running_server(database_url, logs / "server.log") as server:
        yield server


async def test_an_ambassador_hears_nothing_of_another_networks_reports(
    server: Server, database_url: str
) -> None:
    here = {"lng": 2.65, "lat": 48.62}
    there = {"lng": 2.85, "lat": 48.62}  # ~15 km east: another network
    ours = await member(server, database_url, "Mairie d'ici", here)
    appoint_live(database_url, ours.token, ours.neighbourhood_pk)
    theirs = await member(server, database_url, "Famille de là-bas", there)
    reporter = await member(server, database_url, "Voisin de là-bas", {**there, "lng": 2.8505})
    assert ours.neighbourhood_id != theirs.neighbourhood_id
    target = await post(server, theirs.token, "Annonce de là-bas")
    async with live_socket(server, bearer(ours.token)) as socket:
        await socket.subscribe("theirs", REPORT_FILED, {"nid": theirs.neighbourhood_id})
        assert error_codes(await socket.next_message("theirs")) == ["FORBIDDEN"]
        await socket.subscribe("ours", REPORT_FILED, {"nid": ours.neighbourhood_id})
        await asyncio.sleep(0.3)
        made = await data(server, REPORT, {"post": target}, token=reporter.token)
        assert made["reportContent"]["__typename"] == "ReportContentSuccess"
        with pytest.raises(TimeoutError):
            await socket.next_message("ours", timeout=1.5)
    delivered = [m for _, m in socket.received if (m.get("payload") or {}).get("data")]
    assert delivered == []
