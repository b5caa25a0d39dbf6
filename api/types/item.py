"""The public Item type and its search connection, built explicitly from `ItemRow`.

An item carries no location, and its lender is shown as a name and a neighbourhood only: the
exact home is never read on this path, and the displaced public point only ever leaves the
database as a rounded distance.

An item found by `nearestLenders` comes with its lender and neighbourhood rows (one statement
fetched them all), and then its `lender` and `neighbourhood` fields resolve synchronously: an
awaited field costs graphql-core a coroutine per field and a gather per list, which was a good
part of a search's CPU. Items from anywhere else load them through the DataLoaders.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from datetime import date, datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry import relay

from api.context import Context
from api.errors import ErrorCode, UserError
from api.pagination import PageInfo
from api.types.members import members_by_value
from api.types.neighbour import Neighbour, household_neighbourhood
from api.types.neighbourhood import Neighbourhood
from api.validation import node_keys
from db.queries.items import ItemRow, LenderRow, NearbyItem
from db.rows import NeighbourhoodRow
from services import items as item_service

Info = strawberry.Info[Context, None]

MAX_BOOKED_DAYS_SPAN = 366
"""Days `bookedDays` covers at most in one call: a year, more than the loan horizon (183)."""


@strawberry.enum(description="What kind of thing an item is (French label first).")
class ItemCategory(Enum):
    TOOLS = strawberry.enum_value(
        "TOOLS", description="Outillage: drills, saws, sanders, hand tools."
    )
    GARDEN = strawberry.enum_value(
        "GARDEN", description="Jardin: mowers, hedge trimmers, wheelbarrows."
    )
    KITCHEN = strawberry.enum_value(
        "KITCHEN", description="Cuisine: mixers, raclette and fondue sets, large pots."
    )
    DIY = strawberry.enum_value(
        "DIY", description="Bricolage: tile cutters, wallpaper steamers, trestles."
    )
    CLEANING = strawberry.enum_value(
        "CLEANING", description="Ménage: carpet cleaners, pressure washers, window vacuums."
    )
    SPORTS = strawberry.enum_value(
        "SPORTS", description="Sport: rackets, balls, fitness equipment."
    )
    KIDS = strawberry.enum_value(
        "KIDS", description="Enfants: toys, scooters, children's gear (babies: BABY)."
    )
    BOOKS = strawberry.enum_value("BOOKS", description="Livres: books, comics, guides.")
    GAMES = strawberry.enum_value("GAMES", description="Jeux: board games, video games, puzzles.")
    MUSIC = strawberry.enum_value(
        "MUSIC", description="Musique: instruments, amplifiers, sound systems."
    )
    CAMPING = strawberry.enum_value(
        "CAMPING", description="Camping: tents, sleeping bags, camping stoves."
    )
    VEHICLES = strawberry.enum_value(
        "VEHICLES", description="Véhicules: trailers, roof boxes, car accessories."
    )
    BIKES = strawberry.enum_value(
        "BIKES", description="Vélos: bicycles, child seats, bike trailers, repair stands."
    )
    APPLIANCES = strawberry.enum_value(
        "APPLIANCES", description="Électroménager: vacuum cleaners, dehumidifiers, heaters."
    )
    ELECTRONICS = strawberry.enum_value(
        "ELECTRONICS", description="Électronique: projectors, speakers, chargers."
    )
    PARTY = strawberry.enum_value(
        "PARTY", description="Fête: trestle tables, chairs, marquees, garlands."
    )
    FURNITURE = strawberry.enum_value(
        "FURNITURE", description="Mobilier: extra tables, chairs, folding beds, shelving."
    )
    MOVING = strawberry.enum_value(
        "MOVING", description="Déménagement: boxes, hand trucks, straps, moving blankets."
    )
    LADDERS = strawberry.enum_value(
        "LADDERS", description="Échelles: ladders, step stools, scaffolding."
    )
    SEWING = strawberry.enum_value(
        "SEWING", description="Couture: sewing machines, overlockers, patterns."
    )
    PETS = strawberry.enum_value(
        "PETS", description="Animaux: cages, carriers, kennels, aquariums."
    )
    TRAVEL = strawberry.enum_value(
        "TRAVEL", description="Voyage: suitcases, travel adapters, cool boxes."
    )
    PHOTO = strawberry.enum_value("PHOTO", description="Photo: cameras, lenses, tripods, lights.")
    COMPUTING = strawberry.enum_value(
        "COMPUTING", description="Informatique: laptops, printers, screens, hard drives."
    )
    HEALTH = strawberry.enum_value(
        "HEALTH", description="Santé: crutches, wheelchairs, blood-pressure monitors."
    )
    BABY = strawberry.enum_value(
        "BABY", description="Puériculture: prams, car seats, high chairs, travel cots."
    )
    COSTUMES = strawberry.enum_value(
        "COSTUMES", description="Déguisements: costumes and accessories."
    )
    WINTER = strawberry.enum_value(
        "WINTER", description="Hiver: skis, sledges, snow chains, snowshoes."
    )
    BEACH = strawberry.enum_value(
        "BEACH", description="Plage: parasols, beach tents, paddle boards, snorkels."
    )
    OTHER = strawberry.enum_value("OTHER", description="Autre: anything no category fits.")


@strawberry.enum(description="The state an item is in, as its lender describes it.")
class ItemCondition(Enum):
    NEW = strawberry.enum_value("NEW", description="Neuf: new or as new.")
    GOOD = strawberry.enum_value("GOOD", description="Bon état: used, works perfectly.")
    FAIR = strawberry.enum_value("FAIR", description="État correct: visible wear, works.")
    WORN = strawberry.enum_value("WORN", description="Usé: works, but shows its age.")


@strawberry.enum(description="On what terms an item is lent.")
class ItemTerms(Enum):
    FREE = strawberry.enum_value("FREE", description="Prêt gratuit: free, no deposit.")
    DEPOSIT = strawberry.enum_value(
        "DEPOSIT", description="Contre caution: free, against a refundable deposit."
    )
    PRICE_PER_DAY = strawberry.enum_value(
        "PRICE_PER_DAY",
        description="Location: a price per day, and optionally a refundable deposit.",
    )


CATEGORY_OF = members_by_value(ItemCategory)
CONDITION_OF = members_by_value(ItemCondition)
TERMS_OF = members_by_value(ItemTerms)


@strawberry.type(
    description="Who lends an item, as anyone may see it: a household's name and neighbourhood. "
    "Never an address or a location; the address is shared only once a loan is accepted."
)
class Lender(Neighbour):
    name: str = strawberry.field(description="The lending household's display name.")
    known_neighbourhood: strawberry.Private[NeighbourhoodRow | None] = None
    """The neighbourhood's row when fetched with the lender (a search), else None: loaded."""

    # Overrides Neighbour's loader-backed field (same type and description) with one that is
    # synchronous when the row is known.
    @strawberry.field(  # type: ignore[misc]
        description="The neighbourhood network the lender belongs to.",
        graphql_type=Neighbourhood,
    )
    def neighbourhood(self, info: Info) -> Neighbourhood | Awaitable[Neighbourhood]:  # type: ignore[override]
        if self.known_neighbourhood is not None:
            return Neighbourhood.from_row(self.known_neighbourhood)
        return household_neighbourhood(self, info)

    @classmethod
    def of(cls, lender: LenderRow, neighbourhood: NeighbourhoodRow | None = None) -> Lender:
        """From the lender's row, and its neighbourhood's when already fetched."""
        return cls(
            name=lender.name,
            neighbourhood_id=lender.neighbourhood_id,
            known_neighbourhood=neighbourhood,
        )


@strawberry.type(description="Something a household lends to its neighbours.")
class Item(relay.Node):
    id: relay.NodeID[int]
    title: str = strawberry.field(description="Short title, 1 to 120 characters.")
    description: str = strawberry.field(
        description="Details, up to 2,000 characters; may be empty."
    )
    category: ItemCategory = strawberry.field(description="What kind of thing it is.")
    condition: ItemCondition = strawberry.field(description="Its state.")
    terms: ItemTerms = strawberry.field(description="Free, against a deposit, or per day.")
    deposit_cents: int | None = strawberry.field(
        description="Refundable deposit in euro cents: set with DEPOSIT, optional with "
        "PRICE_PER_DAY, null with FREE."
    )
    price_per_day_cents: int | None = strawberry.field(
        description="Price per day in euro cents: set with PRICE_PER_DAY, null otherwise."
    )
    photo_urls: list[str] = strawberry.field(
        description="HTTPS URLs of photos, at most 8, in display order."
    )
    available: bool = strawberry.field(
        description="Can be borrowed now; unavailable items are left out of searches."
    )
    created_at: datetime = strawberry.field(description="When the item was listed.")
    row: strawberry.Private[ItemRow]
    found: strawberry.Private[NearbyItem | None] = None
    """Set for a search result: the lender and neighbourhood rows fetched with the item."""

    @classmethod
    def from_search(cls, found: NearbyItem) -> Item:
        """A search result, whose lender and neighbourhood need no further query."""
        item = cls.from_row(found.item)
        item.found = found
        return item

    @classmethod
    def from_row(cls, row: ItemRow) -> Item:
        return cls(
            id=row.id,
            title=row.title,
            description=row.description,
            category=CATEGORY_OF[row.category],
            condition=CONDITION_OF[row.condition],
            terms=TERMS_OF[row.terms],
            deposit_cents=row.deposit_cents,
            price_per_day_cents=row.price_per_day_cents,
            photo_urls=list(row.photo_urls),
            available=row.available,
            created_at=row.created_at,
            row=row,
        )

    async def lender_row(self, info: Info) -> LenderRow:
        row = await info.context.loaders.lender_by_household_id.load(self.row.household_id)
        assert row is not None, "foreign key guarantees the household exists"
        return row

    async def load_lender(self, info: Info) -> Lender:
        return Lender.from_row(await self.lender_row(info))

    async def load_neighbourhood(self, info: Info) -> Neighbourhood:
        lender = await self.lender_row(info)
        row = await info.context.loaders.neighbourhood_by_id.load(lender.neighbourhood_id)
        assert row is not None, "foreign key guarantees the neighbourhood exists"
        return Neighbourhood.from_row(row)

    @strawberry.field(
        description="Who lends it: a name and a neighbourhood, never a location.",
        graphql_type=Lender,
    )
    def lender(self, info: Info) -> Lender | Awaitable[Lender]:
        if self.found is not None:
            return Lender.of(self.found.lender, self.found.neighbourhood)
        return self.load_lender(info)

    @strawberry.field(
        description="The neighbourhood network it is lent in: the lender's.",
        graphql_type=Neighbourhood,
    )
    def neighbourhood(self, info: Info) -> Neighbourhood | Awaitable[Neighbourhood]:
        if self.found is not None:
            return Neighbourhood.from_row(self.found.neighbourhood)
        return self.load_neighbourhood(info)

    @strawberry.field(
        description="Days from `from` to `to` (both included, at most 366 days) on which the item "
        "is booked by an accepted or handed-over loan, in order: requestLoan refuses them with "
        "ALREADY_BOOKED. Days only, never who borrows. INVALID_DATES when `to` is before "
        "`from` or the span is longer."
    )
    async def booked_days(
        self,
        info: Info,
        from_: Annotated[
            date, strawberry.argument(name="from", description="First day, Europe/Paris.")
        ],
        to: Annotated[date, strawberry.argument(description="Last day, included.")],
    ) -> list[date]:
        if to < from_:
            raise UserError(ErrorCode.INVALID_DATES, "`to` is before `from`.", argument="to")
        if (to - from_).days + 1 > MAX_BOOKED_DAYS_SPAN:
            raise UserError(
                ErrorCode.INVALID_DATES,
                f"Ask for at most {MAX_BOOKED_DAYS_SPAN} days at a time.",
                argument="to",
            )
        return await item_service.booked_days(
            info.context.reader, self.id, first_day=from_, last_day=to
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls,
        *,
        info: Info,
        node_ids: Iterable[str],
        required: bool = False,
    ) -> list[Item | None]:
        rows = await info.context.loaders.item_by_id.load_many(node_keys(node_ids))
        return [cls.from_row(row) if row else None for row in rows]


@strawberry.type(description="An item with its approximate distance from the search origin.")
class ItemSearchEdge:
    node: Item = strawberry.field(description="The item.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after this item.")
    distance_meters: int = strawberry.field(
        description="Distance from the origin to the lender's public (displaced) point, rounded: "
        "to 100 m below 2 km, to 500 m above, never less than 100."
    )


@strawberry.type(description="Available items, nearest first.")
class ItemSearchConnection:
    edges: list[ItemSearchEdge] = strawberry.field(description="This page, nearest first.")
    page_info: PageInfo = strawberry.field(description="Whether there is a next page, and cursors.")
    searched_radius_meters: int = strawberry.field(
        description="How far this page looked, in metres: maxDistanceMeters when given; "
        "otherwise the first of 2, 5, 10, 25 km and the ceiling (50 km by default) that holds "
        "a full page, or the ceiling when fewer items were found."
    )


@strawberry.type(description="One of your household's items.")
class ItemEdge:
    node: Item = strawberry.field(description="The item.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after this item.")


@strawberry.type(description="Your household's items, available or not, newest first.")
class ItemConnection:
    edges: list[ItemEdge] = strawberry.field(description="This page, newest first.")
    page_info: PageInfo = strawberry.field(description="Whether there is a next page, and cursors.")
