"""No work outlives its usefulness: a deadline per operation, and cancellation on disconnect.

Both cancel the asyncio task running the resolvers. Cancellation reaches the database too:
psycopg sends PostgreSQL a cancel request for the statement in flight, and the pool gets the
connection back rolled back, so a slow query stops holding a connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from graphql import GraphQLError
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

TIMEOUT = "TIMEOUT"


class OperationDeadline(SchemaExtension):
    """Stops executing a query or mutation after `timeout_s` and answers TIMEOUT.

    A mutation cut short is rolled back with its transaction (each mutation writes in one).
    Subscriptions are long-lived by design and have no deadline.
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s

    async def on_execute(self) -> AsyncIterator[None]:
        if self.execution_context.operation_type is OperationType.SUBSCRIPTION:
            yield
            return
        try:
            async with asyncio.timeout(self.timeout_s):
                yield
        except TimeoutError:
            raise GraphQLError(
                f"The operation did not finish within {self.timeout_s:g} s and was stopped. "
                "A change whose transaction had not committed was rolled back; one that had "
                "just committed stays, so check before retrying a change. Ask for less, or "
                "retry later.",
                extensions={"code": TIMEOUT, "timeoutSeconds": self.timeout_s},
            ) from None


class DisconnectMiddleware:
    """Cancels an HTTP request's handler as soon as its client disconnects.

    Neither Starlette nor Strawberry watch for `http.disconnect` while a plain (non-streaming)
    response is being computed, so resolvers would run to the end for nobody. This reads the
    (size-limited) body first, replays it to the app, and meanwhile listens on the connection.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        disconnected = asyncio.Event()
        replayed = False
        finished = False
        stopped_by_us = False
        task = asyncio.current_task()
        assert task is not None

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(body), "more_body": False}
            await disconnected.wait()
            return {"type": "http.disconnect"}

        async def listen() -> None:
            nonlocal stopped_by_us
            while (await receive())["type"] != "http.disconnect":
                pass
            disconnected.set()
            if not finished:  # the client left while the response was being computed
                stopped_by_us = True
                task.cancel()

        # The handler runs in this task (one task per request less than running it beside the
        # listener); the listener cancels it if the client leaves.
        listener = asyncio.ensure_future(listen())
        try:
            await self.app(scope, replay, send)
            if stopped_by_us:  # the app swallowed our cancellation: take it back
                task.uncancel()
        except asyncio.CancelledError:
            # Ours: swallow it (nobody is listening). Someone else's too (a shutdown): re-raise.
            if stopped_by_us and task.uncancel() == 0:
                return
            raise
        finally:
            finished = True
            listener.cancel()
