"""Partner API keys (admins create, rotate and revoke them), persisted operations, and the
aggregate figures partners read instead of people."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated

import strawberry
from graphql import GraphQLError, parse
from strawberry import relay

from api.context import Context
from api.errors import (
    ErrorCode,
    ForbiddenError,
    NotFoundError,
    UnauthenticatedError,
    UserError,
    ValidationError,
    forbidden,
    unauthenticated,
)
from api.pagination import decode_id_cursor, encode_cursor, keyset_page_info, page_size
from api.resolvers.neighbourhoods import decode_neighbourhood_id, validation_error
from api.scalars import GeoJSON
from api.types.partner import (
    MonthlyFigures,
    NeighbourhoodStats,
    PartnerKey,
    PartnerKeySecret,
    PartnerScope,
)
from api.types.post import Post, PostConnection, PostEdge
from api.validation import clean_boundary, clean_text, decode_node_id
from db.queries import partners as partner_queries
from db.queries import stats as stats_queries
from services import partners as partner_service

Info = strawberry.Info[Context, None]
MAX_TERRITORY_M2 = 2_000_000_000.0  # a département at most
MAX_DOCUMENT_CHARS = 20_000


def new_secret() -> str:
    return "vsk_" + secrets.token_urlsafe(32)


def decode_key_id(value: relay.GlobalID) -> int:
    return decode_node_id(
        value, "PartnerKey", argument="id", message="This is not a partner key ID."
    )


@strawberry.input(description="A new partner key.")
class CreatePartnerKeyInput:
    name: str = strawberry.field(description="Who it is for, e.g. 'Mairie de Chavenay'.")
    scopes: list[PartnerScope]
    neighbourhood_ids: list[relay.GlobalID] = strawberry.field(
        default_factory=list, description="Neighbourhoods granted explicitly."
    )
    territory: GeoJSON | None = strawberry.field(
        default=None,
        description="A (Multi)Polygon, e.g. the commune: every neighbourhood inside is granted.",
    )
    safelist_only: bool = strawberry.field(
        default=False, description="Accept only operations registered for this key."
    )


CreatePartnerKeyResult = Annotated[
    PartnerKeySecret | ValidationError | UnauthenticatedError | ForbiddenError,
    strawberry.union("CreatePartnerKeyResult"),
]
RotatePartnerKeyResult = Annotated[
    PartnerKeySecret | ValidationError | NotFoundError | UnauthenticatedError | ForbiddenError,
    strawberry.union("RotatePartnerKeyResult"),
]


@strawberry.type(description="The key no longer works.")
class RevokePartnerKeySuccess:
    key: PartnerKey


RevokePartnerKeyResult = Annotated[
    RevokePartnerKeySuccess
    | ValidationError
    | NotFoundError
    | UnauthenticatedError
    | ForbiddenError,
    strawberry.union("RevokePartnerKeyResult"),
]


@strawberry.type(description="Send `extensions.persistedQuery.sha256Hash` instead of the text.")
class RegisterPersistedOperationSuccess:
    sha256_hash: str


RegisterPersistedOperationResult = Annotated[
    RegisterPersistedOperationSuccess
    | ValidationError
    | NotFoundError
    | UnauthenticatedError
    | ForbiddenError,
    strawberry.union("RegisterPersistedOperationResult"),
]


def admin_only(info: Info) -> UnauthenticatedError | ForbiddenError | None:
    viewer = info.context.viewer
    if viewer.is_anonymous:
        return unauthenticated()
    if not viewer.is_admin:
        return forbidden("Only administrators manage partner keys.")
    return None


@strawberry.type
class PartnerQuery:
    @strawberry.field(description="Every partner key (admins only; others get an empty list).")
    async def partner_keys(self, info: Info) -> list[PartnerKey]:
        if not info.context.viewer.is_admin:
            return []
        async with info.context.reader.connect() as conn:
            rows = await partner_queries.partner_keys(conn)
        return [PartnerKey.from_row(row) for row in rows]

    @strawberry.field(
        description="Monthly figures of a neighbourhood (members, partner keys with "
        "READ_AGGREGATES or READ_NEIGHBOURHOODS for it, ambassadors, admins)."
    )
    async def neighbourhood_stats(
        self, info: Info, id: relay.GlobalID, months: int = 12
    ) -> NeighbourhoodStats:
        nid = decode_neighbourhood_id(id)
        if not 1 <= months <= 36:
            raise UserError(ErrorCode.BAD_USER_INPUT, "`months` must be between 1 and 36.")
        if not info.context.viewer.can_read_aggregates(nid):
            raise UserError(ErrorCode.FORBIDDEN, "You may not read this neighbourhood's figures.")
        async with info.context.reader.connect() as conn:
            figures = await stats_queries.monthly_figures(conn, nid, months=months)
        members = await info.context.loaders.member_count_by_neighbourhood_id.load(nid)
        return NeighbourhoodStats(
            member_count=members or 0, months=[MonthlyFigures.from_row(row) for row in figures]
        )


def partner_key_id(info: Info) -> int:
    """The key of the request; refused (UNAUTHENTICATED) when the request sends none."""
    key_id = info.context.viewer.partner_key_id
    if key_id is None:
        raise UserError(
            ErrorCode.UNAUTHENTICATED, "Send your partner key as the `X-API-Key` header."
        )
    return key_id


@strawberry.type
class PartnerSelfQuery:
    @strawberry.field(
        description="The posts this key wrote on behalf of households (createPost with "
        "onBehalfOf), newest first. UNAUTHENTICATED without an `X-API-Key` header."
    )
    async def partner_posts(
        self,
        info: Info,
        first: Annotated[
            int | None,
            strawberry.argument(description="Page size, 1 to 100 (MAX_PAGE_SIZE); default 10."),
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="endCursor of the previous page.")
        ] = None,
    ) -> PostConnection:
        key_id = partner_key_id(info)
        limit = page_size(first, info.context.settings.max_page_size)
        after_id = decode_id_cursor(after, PARTNER_POST_CURSOR)
        rows = await partner_service.partner_posts(
            info.context.reader, key_id, limit=limit + 1, after_id=after_id
        )
        edges = [
            PostEdge(node=Post.from_row(row), cursor=encode_cursor(PARTNER_POST_CURSOR, row.id))
            for row in rows[:limit]
        ]
        return PostConnection(
            edges=edges,
            page_info=keyset_page_info(edges, fetched=len(rows), limit=limit, after=after_id),
        )


PARTNER_POST_CURSOR = "pp"


@strawberry.type(description="The post is deleted.")
class DeletePartnerPostSuccess:
    deleted_post_id: relay.GlobalID = strawberry.field(description="Global ID it had.")


DeletePartnerPostResult = Annotated[
    DeletePartnerPostSuccess | ValidationError | NotFoundError | UnauthenticatedError,
    strawberry.union("DeletePartnerPostResult"),
]


@strawberry.type
class PartnerSelfMutation:
    @strawberry.mutation(
        description="Delete a post this key wrote on behalf of a household (its own correction; "
        "NOT_FOUND for any other post). UNAUTHENTICATED without an `X-API-Key` header."
    )
    async def delete_partner_post(self, info: Info, id: relay.GlobalID) -> DeletePartnerPostResult:
        key_id = info.context.viewer.partner_key_id
        if key_id is None:
            return unauthenticated()
        try:
            post_id = decode_node_id(id, "Post", argument="id", message="This is not a post ID.")
        except UserError as error:
            return validation_error(error)
        refused = await partner_service.delete_partner_post(info.context.engine, key_id, post_id)
        if refused is not None:
            return NotFoundError(code=ErrorCode.NOT_FOUND, message=refused.message)
        return DeletePartnerPostSuccess(deleted_post_id=id)


@strawberry.type
class PartnerMutation:
    @strawberry.mutation(description="Create a partner key (admins). The secret is shown once.")
    async def create_partner_key(
        self, info: Info, input: CreatePartnerKeyInput
    ) -> CreatePartnerKeyResult:
        refused = admin_only(info)
        if refused is not None:
            return refused
        try:
            name = clean_text(input.name, argument="name", max_length=120)
            nids = [decode_neighbourhood_id(nid) for nid in input.neighbourhood_ids]
            territory = (
                clean_boundary(input.territory, max_area_m2=MAX_TERRITORY_M2)
                if input.territory is not None
                else None
            )
            if not input.scopes:
                raise UserError(
                    ErrorCode.BAD_USER_INPUT, "Give at least one scope.", argument="scopes"
                )
        except UserError as error:
            return validation_error(error)
        secret = new_secret()
        async with info.context.engine.begin() as conn:
            row = await partner_queries.create_partner_key(
                conn,
                name=name,
                scopes=sorted({scope.name for scope in input.scopes}),
                secret=secret,
                neighbourhood_ids=nids,
                territory=territory,
                safelist_only=input.safelist_only,
                created_by_account_id=info.context.viewer.account_id,
            )
        return PartnerKeySecret(key=PartnerKey.from_row(row), secret=secret)

    @strawberry.mutation(
        description="Issue a new secret (admins); the old one keeps working for `graceHours` so "
        "the partner can deploy the new one without downtime."
    )
    async def rotate_partner_key(
        self, info: Info, id: relay.GlobalID, grace_hours: int = 24
    ) -> RotatePartnerKeyResult:
        refused = admin_only(info)
        if refused is not None:
            return refused
        try:
            key_id = decode_key_id(id)
            if not 0 <= grace_hours <= 24 * 30:
                raise UserError(
                    ErrorCode.BAD_USER_INPUT,
                    "`graceHours` must be 0 to 720.",
                    argument="graceHours",
                )
        except UserError as error:
            return validation_error(error)
        secret = new_secret()
        async with info.context.engine.begin() as conn:
            row = await partner_queries.rotate_partner_key(
                conn, key_id, secret, grace=timedelta(hours=grace_hours)
            )
        if row is None:
            return NotFoundError(
                code=ErrorCode.NOT_FOUND, message="No live partner key has this ID."
            )
        return PartnerKeySecret(key=PartnerKey.from_row(row), secret=secret)

    @strawberry.mutation(description="Revoke a partner key at once (admins).")
    async def revoke_partner_key(self, info: Info, id: relay.GlobalID) -> RevokePartnerKeyResult:
        refused = admin_only(info)
        if refused is not None:
            return refused
        try:
            key_id = decode_key_id(id)
        except UserError as error:
            return validation_error(error)
        async with info.context.engine.begin() as conn:
            row = await partner_queries.revoke_partner_key(conn, key_id)
        if row is None:
            return NotFoundError(
                code=ErrorCode.NOT_FOUND, message="No live partner key has this ID."
            )
        return RevokePartnerKeySuccess(key=PartnerKey.from_row(row))

    @strawberry.mutation(
        description="Register a GraphQL document for a partner key (admins); clients then send "
        "its SHA-256 (`extensions.persistedQuery.sha256Hash`) instead of the text."
    )
    async def register_persisted_operation(
        self, info: Info, key_id: relay.GlobalID, document: str
    ) -> RegisterPersistedOperationResult:
        refused = admin_only(info)
        if refused is not None:
            return refused
        try:
            ident = decode_key_id(key_id)
            if not 0 < len(document) <= MAX_DOCUMENT_CHARS:
                raise UserError(ErrorCode.BAD_USER_INPUT, "The document is empty or too long.")
            parse(document)
        except UserError as error:
            return validation_error(error)
        except GraphQLError as error:
            return ValidationError(
                code=ErrorCode.BAD_USER_INPUT,
                message=f"The document does not parse: {error.message}",
                field="document",
            )
        async with info.context.engine.begin() as conn:
            keys = {row.id for row in await partner_queries.partner_keys(conn)}
            if ident not in keys:
                return NotFoundError(
                    code=ErrorCode.NOT_FOUND, message="No partner key has this ID."
                )
            sha256 = await partner_queries.register_persisted_operation(conn, ident, document)
        return RegisterPersistedOperationSuccess(sha256_hash=sha256)
