"""The graphql-transport-ws handler of the API: Strawberry's, with two duties of our own.

- every authenticated connection is registered with `api.live_access` for as long as it is open,
  so that a revoked credential or a lost right closes it (4403);
- a database out of reach while authenticating (pool exhausted, server restarting) closes with
  1013 "Try Again Later", which clients retry, instead of escaping as an error in the ASGI
  application.

Everything else (init timeout, per-connection limit, ping/pong, complete) is Strawberry's. This is
the handler of both FAST_PATHS modes; `api.fastpaths.fanout.SharingTransportWSHandler` adds the
shared rendering of live events on top of it.
"""

from __future__ import annotations

import contextlib
import logging

from sqlalchemy.exc import SQLAlchemyError
from starlette.websockets import WebSocketDisconnect
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage

from api.context import Context
from api.live_access import registry_of

log = logging.getLogger("voisinage.live")

TRY_AGAIN_LATER = 1013
BUSY_REASON = "Service busy or restarting: retry shortly."


class LiveTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's graphql-transport-ws handler, registering each authenticated connection with
    `api.live_access` and closing with 1013 when the database is out of reach."""

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
            if self.connection_acknowledged and self.context.broadcaster is not None:
                # From now on a revoked credential or a lost right closes it (4403).
                registry = registry_of(self.context.broadcaster)
                self.context.live_access = await registry.admit(self.context)
        except (SQLAlchemyError, OSError):
            log.warning("could not authenticate a WebSocket: database unavailable")
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):  # the client has gone
                await self.websocket.close(code=TRY_AGAIN_LATER, reason=BUSY_REASON)

    async def shutdown(self) -> None:
        await super().shutdown()
        access = self.context.live_access
        if access is not None:
            access.release()
