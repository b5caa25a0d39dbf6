"""A household's permission for a partner app to post on its behalf, as its members see it."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from db.queries.partners import AuthorisationRow


@strawberry.type(
    description="Your household lets this partner post on its behalf (a partner key with the "
    "POST_ON_BEHALF scope). Revoked ones stay listed, with `revokedAt`."
)
class PartnerAuthorisation:
    partner_key_id: relay.GlobalID = strawberry.field(description="The partner's key (ID).")
    partner_name: str = strawberry.field(description="The partner, e.g. 'Mairie de Chavenay'.")
    granted_at: datetime
    revoked_at: datetime | None = strawberry.field(
        description="When your household withdrew it; null while it is in force."
    )

    @classmethod
    def from_row(cls, row: AuthorisationRow) -> PartnerAuthorisation:
        return cls(
            partner_key_id=relay.GlobalID("PartnerKey", str(row.key_id)),
            partner_name=row.partner_name,
            granted_at=row.granted_at,
            revoked_at=row.revoked_at,
        )
