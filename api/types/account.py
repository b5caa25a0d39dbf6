"""The signed-in account as its owner sees it."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from api.context import Context
from api.resolvers.memberships import AnimatedNetwork, animated_networks
from api.types.household import Household
from db.queries.accounts import AccountRow
from services import digest


@strawberry.type(description="Your own account (only ever shown to you).")
class Account:
    id: relay.GlobalID = strawberry.field(description="Global ID of the account.")
    email: str = strawberry.field(description="Sign-in e-mail, lower-cased.")
    display_name: str = strawberry.field(description="Name shown to your neighbours.")
    is_admin: bool = strawberry.field(description="Platform administrator.")
    household_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: AccountRow) -> Account:
        return cls(
            id=relay.GlobalID("Account", str(row.id)),
            email=row.email,
            display_name=row.display_name,
            is_admin=row.is_admin,
            household_id=row.household_id,
        )

    @strawberry.field(description="Your household, once registered (registerHousehold).")
    async def household(self, info: strawberry.Info[Context, None]) -> Household | None:
        if self.household_id is None:
            return None
        row = await info.context.loaders.household_by_id.load(self.household_id)
        return Household.from_row(row, shown_to_itself=True) if row else None

    @strawberry.field(
        description="The networks you animate as an ambassador, with their open reports and "
        "pending households (empty if you animate none; admins see only networks they are "
        "ambassadors of)."
    )
    async def animates(self, info: strawberry.Info[Context, None]) -> list[AnimatedNetwork]:
        return await animated_networks(info)

    @strawberry.field(
        description="Whether you receive the weekly digest e-mail (setDigestSubscription)."
    )
    async def digest_enabled(self, info: strawberry.Info[Context, None]) -> bool:
        account_id = int(self.id.node_id)
        return await digest.subscription(info.context.engine, account_id=account_id)


@strawberry.type(description="Signed in: keep the token secret and send it as a bearer token.")
class AuthSuccess:
    token: str = strawberry.field(description="Send as `Authorization: Bearer <token>`.")
    expires_at: datetime = strawberry.field(description="When the token stops working.")
    account: Account
