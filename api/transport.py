"""GraphQL over HTTP as the spec says, and no input that can make it answer 500.

Strawberry's ASGI view, with:
- content negotiation: `application/graphql-response+json` when the client asks for it, where a
  request error (nothing executed: parse, validation, cost, variables) is a 400 without `data`;
  `application/json` otherwise, always 200 for a well-formed request (the legacy rules);
- every transport error as a JSON GraphQL error with a code, never a plain-text page;
- bodies that must be one JSON object: no batches, no NaN, no invalid UTF-8, nesting bounded;
- queries by GET or POST, mutations by POST only (405 by GET), subscriptions by WebSocket only;
- 429 with `Retry-After` when an operation was refused by a rate limit;
- a last net: errors that bypassed the masking extension get its treatment here.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from api.context import Context
from api.deadline import TIMEOUT
from api.errors import INTERNAL_MESSAGE, ErrorCode, UserError, input_error_message, root_cause
from api.ratelimit import RATE_LIMITED
from db.queries import partners as partner_queries

log = logging.getLogger("voisinage.http")

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
MAX_JSON_DEPTH = 32
"""Deepest JSON accepted (a MultiPolygon in a mutation's variables is 8 deep)."""
HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "INVALID_API_KEY",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    503: "SERVICE_UNAVAILABLE",
}
EXECUTION_CODES = frozenset({TIMEOUT, ErrorCode.INTERNAL_SERVER_ERROR.value})
"""Errors without a path that still mean execution started: not request errors."""


def negotiate(accept: str | None) -> str:
    """The response media type: graphql-response+json only when asked for by name, at least
    as much as application/json; plain JSON for no header, `*/*` and everything else."""
    weights: dict[str, float] = {}
    for part in (accept or "").split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[media.lower()] = max(weight, weights.get(media.lower(), 0.0))
    preferred = weights.get(GRAPHQL_RESPONSE_JSON, 0.0)
    return GRAPHQL_RESPONSE_JSON if preferred > 0 and preferred >= weights.get(JSON, 0.0) else JSON


def json_too_deep(value: object, limit: int = MAX_JSON_DEPTH) -> bool:
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Any = item.values() if isinstance(item, dict) else item
        if not isinstance(item, dict | list):
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _refuse_constant(name: str) -> object:
    raise json.JSONDecodeError(f"{name} is not JSON", name, 0)


def is_request_error(result: ExecutionResult) -> bool:
    """Nothing was executed: the response has no `data` (GraphQL-over-HTTP's request error)."""
    errors = result.errors or []
    return (
        result.data is None
        and bool(errors)
        and all(
            error.path is None and (error.extensions or {}).get("code") not in EXECUTION_CODES
            for error in errors
        )
    )


def retry_after_s(errors: list[GraphQLError]) -> int | None:
    waits = [
        int((error.extensions or {}).get("retryAfterSeconds", 1))
        for error in errors
        if (error.extensions or {}).get("code") == RATE_LIMITED
    ]
    return max(waits) if waits else None


def persisted_error(code: str, message: str) -> ExecutionResult:
    """Answered as a request error (no `data`), with Apollo's codes for persisted queries."""
    return ExecutionResult(data=None, errors=[GraphQLError(message, extensions={"code": code})])


async def resolve_persisted_operation(
    context: Context, request_data: GraphQLRequestData
) -> GraphQLRequestData | ExecutionResult:
    """Swap a registered operation's hash for its document; enforce a key's safelist.

    Operations are registered per partner key (`registerPersistedOperation`): a hash means
    something only together with the key that registered it.
    """
    viewer = context.viewer
    extensions = request_data.extensions if isinstance(request_data.extensions, dict) else {}
    persisted = extensions.get("persistedQuery")
    sha256: str | None = None
    if isinstance(persisted, dict) and isinstance(persisted.get("sha256Hash"), str):
        sha256 = persisted["sha256Hash"].lower()
    elif viewer.partner_safelist_only and request_data.query is not None:
        sha256 = partner_queries.document_sha256(request_data.query)
    if sha256 is None:
        return request_data
    if viewer.partner_key_id is None:
        return persisted_error(
            "PERSISTED_QUERY_NOT_SUPPORTED",
            "Persisted operations belong to a partner key: send its X-API-Key header.",
        )
    async with context.reader.connect() as conn:
        document = await partner_queries.persisted_document(conn, viewer.partner_key_id, sha256)
    if document is None:
        if viewer.partner_safelist_only and not isinstance(persisted, dict):
            return persisted_error(
                "PERSISTED_QUERY_REQUIRED",
                "This key accepts registered operations only: ask an administrator to register it.",
            )
        return persisted_error(
            "PERSISTED_QUERY_NOT_FOUND", "No operation with this hash is registered for your key."
        )
    return GraphQLRequestData(
        query=document,
        variables=request_data.variables,
        operation_name=request_data.operation_name,
        extensions=request_data.extensions,
        protocol=request_data.protocol,
    )


class GraphQLOverHTTP(GraphQL[Context, None]):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response = await self.run(request)
        except HTTPException as error:
            response = self.error_response(request, error.status_code, error.reason)
        await response(scope, receive, send)

    def error_response(self, request: Request, status: int, message: str) -> Response:
        code = HTTP_CODES.get(status, f"HTTP_{status}")
        response = JSONResponse(
            {"errors": [{"message": message, "extensions": {"code": code}}]},
            status_code=status,
            media_type=negotiate(request.headers.get("accept")),
        )
        if status == 405:
            response.headers["allow"] = "POST"
        return response

    # -- parsing -----------------------------------------------------------------------------

    def decode_json(self, data: str | bytes) -> object:
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
            value = json.loads(text, parse_constant=_refuse_constant)
        except json.JSONDecodeError:
            raise
        except (ValueError, RecursionError) as error:  # bad UTF-8, 5,000-digit numbers, nesting
            raise json.JSONDecodeError(type(error).__name__, "", 0) from None
        if json_too_deep(value):
            raise json.JSONDecodeError(f"nested deeper than {MAX_JSON_DEPTH} levels", "", 0)
        return value

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return self.decode_json(data)
        except json.JSONDecodeError as error:
            detail = {
                "UnicodeDecodeError": "it is not UTF-8",
                "RecursionError": f"nested deeper than {MAX_JSON_DEPTH} levels",
                "ValueError": "a number is too long",
            }.get(error.msg, error.msg)
            raise HTTPException(400, f"Invalid JSON: {detail}.") from None

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        if request.method == "POST":
            content_type, _ = parse_content_type(request.content_type or "")
            if "application/json" in content_type:
                data = self.parse_json(await request.get_body())
                if isinstance(data, list):
                    raise HTTPException(
                        400, "Batching is not supported: send one operation per request."
                    )
                if not isinstance(data, dict):
                    raise HTTPException(400, "The body must be a JSON object with a `query`.")
            elif content_type != "multipart/form-data" or not self.multipart_uploads_enabled:
                raise HTTPException(
                    400, "Unsupported content type: POST a JSON object as application/json."
                )
        return await super().parse_http_body(request)

    # -- execution ---------------------------------------------------------------------------

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        persisted = await resolve_persisted_operation(context, request_data)
        if isinstance(persisted, ExecutionResult):
            return persisted
        request_data = persisted
        method = request_adapter.method
        allowed = (
            {OperationType.QUERY}
            if method == "GET"
            else {OperationType.QUERY, OperationType.MUTATION}
        )
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except CannotGetOperationTypeError as error:
            raise HTTPException(400, error.as_http_error_reason()) from None
        except InvalidOperationTypeError as error:
            if error.operation_type is OperationType.SUBSCRIPTION:
                raise HTTPException(
                    400,
                    "Subscriptions are served over WebSocket (graphql-transport-ws) at /graphql.",
                ) from None
            # GraphQL over HTTP: a mutation by GET is 405 Method Not Allowed.
            raise HTTPException(405, f"{error.as_http_error_reason(method)}: use POST.") from None
        except MissingQueryError:
            raise HTTPException(400, "No GraphQL query found in the request.") from None

    # -- responses ---------------------------------------------------------------------------

    async def get_sub_response(self, request: Request | Any) -> Response:
        sub_response = await super().get_sub_response(request)
        request.state.graphql_sub_response = sub_response
        return sub_response

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        errors = [self.contain(request, error) for error in result.errors or []]
        media_type = negotiate(request.headers.get("accept"))
        request_error = is_request_error(result)
        response: GraphQLHTTPResponse = {}
        if not (request_error and media_type == GRAPHQL_RESPONSE_JSON):
            response["data"] = result.data
        if errors:
            response["errors"] = [error.formatted for error in errors]
        if result.extensions:
            response["extensions"] = result.extensions
        sub_response: Response | None = getattr(request.state, "graphql_sub_response", None)
        if sub_response is not None:
            sub_response.headers["content-type"] = f"{media_type}; charset=utf-8"
            wait_s = retry_after_s(errors)
            if wait_s is not None:
                sub_response.status_code = 429
                sub_response.headers["retry-after"] = str(wait_s)
            elif request_error and media_type == GRAPHQL_RESPONSE_JSON:
                sub_response.status_code = 400
        return response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        """Strawberry's response, encoded by orjson (a tenth of `json.dumps`' CPU on a page of
        search results; UTF-8 as is rather than `\\u` escapes). WebSocket messages keep the
        view's `encode_json`, whose text `api.fastpaths.fanout` splices live payloads into."""
        response = Response(
            orjson.dumps(response_data),
            status_code=sub_response.status_code or 200,
            media_type=JSON,
        )
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        media_type = sub_response.headers.get("content-type")
        if media_type:  # replaces the view's own application/json rather than adding a second
            response.headers["content-type"] = media_type
        return response

    def contain(self, request: Request, error: GraphQLError) -> GraphQLError:
        """The masking extension's rules, again, for errors that bypassed it: Strawberry turns
        an exception raised by an extension hook (the parser cache's syntax errors, a parser's
        RecursionError) into an error after the extensions have finished."""
        cause = root_cause(error)
        code = (error.extensions or {}).get("code")
        if cause is None or isinstance(cause, UserError):
            if code:
                return error
            extensions = {"code": ErrorCode.GRAPHQL_VALIDATION_FAILED.value}
            return GraphQLError(
                error.message,
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                extensions={**(error.extensions or {}), **extensions},
            )
        state = request.scope.get("state", {}).get("voisinage")
        request_id = getattr(state, "request_id", None)
        if error.path is None:  # refused before execution: the client's input broke a parser
            log.warning("input refused by a parser (request_id=%s)", request_id, exc_info=cause)
            return GraphQLError(
                input_error_message(error, cause),
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                extensions={"code": ErrorCode.BAD_USER_INPUT.value},
            )
        log.error("unexpected error (request_id=%s)", request_id, exc_info=cause)
        return GraphQLError(
            INTERNAL_MESSAGE,
            nodes=error.nodes,
            path=error.path,
            extensions={"code": ErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id},
        )
