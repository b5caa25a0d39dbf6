"""When the database is away, a signed-in request gets a JSON 503 it can retry, never a bare 500."""

from __future__ import annotations

import httpx

from api.app import create_app
from api.settings import Settings
from tests.servers import free_port


async def test_authenticating_without_a_database_is_a_json_503() -> None:
    app = create_app(
        Settings(database_url=f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none")
    )
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post(
                "/graphql",
                json={"query": "{ me { email } }"},
                headers={"authorization": "Bearer some-token"},
            )
    finally:
        await app.state.engine.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "retry" in body["errors"][0]["message"]
