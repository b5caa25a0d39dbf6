"""Another household as any member may see it: a name and a neighbourhood, never a location.

`Neighbour` is also the Python base of `Lender` and `Borrower`: the same two fields and the same
loaders, under GraphQL names (and descriptions) that say which side of a loan a household is on.
"""

from __future__ import annotations

from typing import Self

import strawberry

from api.context import Context
from api.types.neighbourhood import Neighbourhood
from db.queries.items import LenderRow

Info = strawberry.Info[Context, None]


async def household_neighbourhood(root: Neighbour, info: Info) -> Neighbourhood:
    """The neighbourhood of a household shown as a `Neighbour` (or a subclass), by loader."""
    row = await info.context.loaders.neighbourhood_by_id.load(root.neighbourhood_id)
    assert row is not None, "foreign key guarantees the neighbourhood exists"
    return Neighbourhood.from_row(row)


def neighbourhood_field(description: str) -> Neighbourhood:
    """The `neighbourhood` field of `Neighbour`, for a subclass that describes it otherwise."""
    return strawberry.field(resolver=household_neighbourhood, description=description)


@strawberry.type(
    description="A household as other members see it: its display name and neighbourhood. "
    "Never an address or a location."
)
class Neighbour:
    name: str = strawberry.field(description="The household's display name.")
    neighbourhood_id: strawberry.Private[int]
    neighbourhood: Neighbourhood = neighbourhood_field(
        "The neighbourhood network the household belongs to."
    )

    @classmethod
    def from_row(cls, row: LenderRow) -> Self:
        """From the name-and-neighbourhood row, which holds no location column at all."""
        return cls(name=row.name, neighbourhood_id=row.neighbourhood_id)

    @classmethod
    async def load(cls, info: Info, household_id: int) -> Self:
        """Through the `lender_by_household_id` loader: name and neighbourhood, no location."""
        row = await info.context.loaders.lender_by_household_id.load(household_id)
        assert row is not None, "foreign key (ON DELETE CASCADE) guarantees the household"
        return cls.from_row(row)
