"""The demo memberships stage: Davron under APPROVAL with one pending household and one open
invitation, and the town hall's partner key authorised by its household; idempotent."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.queries import invitations, partners
from seeds.demo import load_demo
from seeds.demo_memberships import (
    INVITATION_CODE,
    PARTNER_SECRET,
    create_demo_memberships,
)

DAVRON = text(
    """
    SELECT n.membership_policy,
           array_agg(h.name ORDER BY h.name) FILTER (WHERE h.membership_status = 'PENDING')
      FROM neighbourhoods n JOIN households h ON h.neighbourhood_id = n.id
     WHERE n.commune_code = '78196' AND n.kind = 'POLYGON'
     GROUP BY n.membership_policy
    """
)


async def test_davron_waits_for_approval_and_the_town_hall_authorised_its_partner(
    clean_db: AsyncEngine, database_url: str
) -> None:
    await load_demo(database_url)
    async with clean_db.begin() as conn:
        await create_demo_memberships(conn)  # a second run adds nothing
        policy, pending = (await conn.execute(DAVRON)).one()
        invitation = await invitations.invitation_for_code(conn, INVITATION_CODE)
        grant = await partners.partner_for_secret(conn, PARTNER_SECRET)
        count = (
            await conn.execute(text("SELECT count(*) FROM neighbourhood_invitations"))
        ).scalar_one()
        assert grant is not None
        town_hall = (
            await conn.execute(text("SELECT id FROM households WHERE name = 'Mairie de Chavenay'"))
        ).scalar_one()
        authorised = await partners.authorised_partner_name(conn, town_hall, grant.key_id)

    assert policy == "APPROVAL"
    assert pending is not None and len(pending) == 1
    assert invitation is not None and invitations.invitation_problem(invitation, 0) is None
    assert count == 1
    assert "POST_ON_BEHALF" in grant.scopes
    assert authorised == "Mairie de Chavenay (démo)"
