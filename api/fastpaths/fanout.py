"""Shared rendering of live events: one execution per group of identical payloads, not per socket.

Replaces: Strawberry's per-subscriber path (graphql-core's `execute_subscription_event` and a
JSON encoding per socket and per event), which is what runs with FAST_PATHS=off: the app then
uses `api.live_transport.LiveTransportWSHandler`, no operation is current, `shared_frames`
returns None and the resolver yields its root values.

Figure (commit 1d24fd7; bench/README.md, "subscriptions", last line): 39 µs of CPU per delivery
instead of ~540 µs in process, for 1,000 subscribers of one neighbourhood.

Tested with: strawberry-graphql 0.341.3, graphql-core 3.3.2 (`api.fastpaths.TESTED_WITH`).
Reaches inside: Strawberry's `Operation` and handler (`view.encode_json`, `schema._schema`,
`execution_context_class.build`), `Info._raw_info`, graphql-core's `build_per_event_executor`.

Why: graphql-core runs a subscription's selection set once per subscriber and per event, and
Strawberry then builds a result and encodes it per socket: about 500 µs of CPU per delivery, so
1,000 subscribers on one neighbourhood saturated a process at 2 posts a second.

How: subscribers whose payload for an event would be byte-identical form a group, keyed by
- the document (query text and operation name: the selection set and its aliases),
- the values of the variables that shape that selection set (directives and arguments inside it;
  not those of the root field's own arguments, which only choose the root value),
- the root value itself, given by the resolver as a key (the post's id, the subscriber's
  rounded distance, and whether it may read the post in full: the only parts of a `LivePost`
  that differ between subscribers).
The first subscriber of a group to handle an event executes the selection set with graphql-core
and encodes `{"data": ...}` once; the encoding is cached on the event's `Delivery`, and every
subscriber of the group splices it into its own `{"id": ..., "type": "next", "payload": ...}`
envelope, which is the exact text Strawberry's handler would have sent.

Authorization is untouched: the resolver decides, per subscriber and per event, whether it may
send the event and how much of it the viewer may read (the whole post, or what postsNear shows);
that decision is part of the root key, so a stranger never shares a member's rendering.
Anything that cannot be shared
(an execution with errors, or a resolver outside the WebSocket handler) returns False and the
resolver falls back to yielding, i.e. to Strawberry's per-subscriber path.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import json
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    Node,
    VariableNode,
    Visitor,
    execute_subscription_event,
    visit,
)
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import Operation

from api import fastpaths
from api.context import Context
from api.live_transport import LiveTransportWSHandler
from api.pubsub import Delivery

CURRENT_OPERATION: contextvars.ContextVar[Operation[Context, None] | None] = contextvars.ContextVar(
    "voisinage_ws_operation", default=None
)
"""The graphql-transport-ws operation whose task is running (set at the top of that task)."""


ENVELOPE_PROBE_END = "null}"
ENVELOPE_END = "}"


class SharingTransportWSHandler(LiveTransportWSHandler):
    """The API's graphql-transport-ws handler (`api.live_transport`), telling each operation's
    resolver who it is, so that `shared_frames` can render an event once for its group."""

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        # The task runs in its own copy of the context: this is seen only by this operation.
        CURRENT_OPERATION.set(operation)
        await super().run_operation(operation)


class SharedFrames:
    """What one subscription needs to send events rendered once for its whole group."""

    __slots__ = ("context", "document", "group", "operation", "prefix", "socket")

    def __init__(
        self,
        operation: Operation[Context, None],
        socket: WebSocket,
        document: DocumentNode,
        group: Hashable,
        context: Context,
        prefix: str,
    ) -> None:
        self.operation = operation
        self.socket = socket
        self.document = document
        self.group = group
        self.context = context
        self.prefix = prefix

    async def send(
        self, delivery: Delivery, root_key: Hashable, build_root: Callable[[], object]
    ) -> bool:
        """Send this event's payload for `root_key`, rendering it only if no group member has.

        False when it cannot be shared: the caller then yields the root as usual.
        """
        key = (self.group, root_key)
        try:
            payload = delivery.frames[key]
        except KeyError:
            payload = await self.render(build_root())
            delivery.frames[key] = payload
        if payload is None:
            return False
        if not self.operation.completed:
            # A closed socket: the connection's own loop notices and cancels this operation.
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await self.socket.send_text(self.prefix + payload + ENVELOPE_END)
        return True

    async def render(self, root: object) -> str | None:
        """`{"data": ...}` as Strawberry would encode it, or None if execution had errors."""
        handler = self.operation.handler
        schema: Any = handler.schema
        executor = schema.execution_context_class.build(
            schema._schema,
            self.document,
            None,
            self.context,
            self.operation.variables,
            self.operation.operation_name,
        )
        if isinstance(executor, list):
            return None
        result: Any = execute_subscription_event(executor.build_per_event_executor(root))
        if inspect.isawaitable(result):
            result = await result
        if result.errors:
            return None
        encoded = handler.view.encode_json({"data": result.data})
        return encoded if isinstance(encoded, str) else None


def shared_frames(info: Any) -> SharedFrames | None:
    """The sharing helper for the running subscription, or None outside the WebSocket handler
    or with FAST_PATHS=off (the resolver then yields, as Strawberry expects)."""
    operation = CURRENT_OPERATION.get()
    if operation is None or not fastpaths.enabled(info.context.settings):
        return None
    adapter = operation.handler.websocket
    if not isinstance(adapter, ASGIWebSocketAdapter):
        return None
    raw = info._raw_info
    field_node: FieldNode = raw.field_nodes[0]
    fragments: dict[str, FragmentDefinitionNode] = raw.fragments
    variables = operation.variables or {}
    shaping = sorted(shaping_variables(field_node, fragments))
    group = (
        operation.query,
        operation.operation_name,
        tuple((name, json.dumps(variables.get(name), sort_keys=True)) for name in shaping),
    )
    prefix = envelope_prefix(operation)
    if prefix is None:
        return None
    document = DocumentNode(definitions=(raw.operation, *fragments.values()))
    return SharedFrames(operation, adapter.ws, document, group, info.context, prefix)


def envelope_prefix(operation: Operation[Context, None]) -> str | None:
    """The text Strawberry's handler sends before the payload of a `next` message (it encodes
    `{"id": ..., "type": "next", "payload": ...}` with the view's `encode_json`), or None if
    that encoder does not let the payload be spliced in."""
    probe = operation.handler.view.encode_json(
        {"id": operation.id, "type": "next", "payload": None}
    )
    if not isinstance(probe, str) or not probe.endswith(ENVELOPE_PROBE_END):
        return None
    return probe[: -len(ENVELOPE_PROBE_END)]


class _Collector(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.variables: set[str] = set()
        self.fragments: set[str] = set()

    def enter_variable(self, node: VariableNode, *_: object) -> None:
        self.variables.add(node.name.value)

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> None:
        self.fragments.add(node.name.value)


def shaping_variables(field: FieldNode, fragments: dict[str, FragmentDefinitionNode]) -> set[str]:
    """Variables used by the root field's directives and inside its selection set (fragments
    included): those that change the payload built from one root value."""
    collector = _Collector()
    nodes: list[Node] = [*(field.directives or ())]
    if field.selection_set is not None:
        nodes.append(field.selection_set)
    walk(collector, nodes)
    done: set[str] = set()
    while pending := collector.fragments - done:
        done |= pending
        walk(collector, [fragments[name] for name in pending if name in fragments])
    return collector.variables


def walk(collector: _Collector, nodes: Iterable[Node]) -> None:
    for node in nodes:
        visit(node, collector)
