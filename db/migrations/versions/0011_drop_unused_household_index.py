"""Drop `ix_households_public_location_geog`: no query reads it, and every move pays for it.

No search looks households up by their public location: the nearest-first searches run on the
copies that items, gardens and posts keep of it, each with its own GiST index. The index still
cost every write of a household: a change of neighbourhood is not a HOT update (the
neighbourhood id is indexed), so each mover got a new entry in this geography GiST index too.
Reassigning the 193,412 homes that move when all 34,871 French communes become networks wrote
189 MB of WAL with it and 113 MB without, and its UPDATE went from 10.6 s to 9.0 s.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_households_public_location_geog", table_name="households")


def downgrade() -> None:
    op.execute(
        sa.text(
            "CREATE INDEX ix_households_public_location_geog "
            "ON households USING gist ((public_location::geography))"
        )
    )
