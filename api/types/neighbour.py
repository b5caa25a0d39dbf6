"""Another household as any member may see it: a name and a neighbourhood, never a location."""

from __future__ import annotations

import strawberry

from api.context import Context
from api.types.neighbourhood import Neighbourhood
from db.queries.items import LenderRow


@strawberry.type(
    description="A household as other members see it: its display name and neighbourhood. "
    "Never an address or a location."
)
class Neighbour:
    name: str = strawberry.field(description="The household's display name.")
    neighbourhood_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: LenderRow) -> Neighbour:
        return cls(name=row.name, neighbourhood_id=row.neighbourhood_id)

    @classmethod
    async def load(cls, info: strawberry.Info[Context, None], household_id: int) -> Neighbour:
        """Through the `lender_by_household_id` loader: name and neighbourhood, no location."""
        row = await info.context.loaders.lender_by_household_id.load(household_id)
        assert row is not None, "foreign key (ON DELETE CASCADE) guarantees the household"
        return cls.from_row(row)

    @strawberry.field(description="The neighbourhood network the household belongs to.")
    async def neighbourhood(self, info: strawberry.Info[Context, None]) -> Neighbourhood:
        row = await info.context.loaders.neighbourhood_by_id.load(self.neighbourhood_id)
        assert row is not None, "foreign key guarantees the neighbourhood exists"
        return Neighbourhood.from_row(row)
