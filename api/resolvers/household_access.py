"""The opening check of every mutation that acts for the viewer's household.

Lending, borrowing, offering a skill, driving, joining a garden's list: households do these, not
bare accounts. One function keeps the wording and the order of the two checks the same
everywhere (signed in first, then a household), so clients can rely on the codes.
"""

from __future__ import annotations

from api.context import Viewer
from api.errors import ForbiddenError, UnauthenticatedError, forbidden, unauthenticated

NO_HOUSEHOLD = "Register your household first (registerHousehold)."


def acting_household(
    viewer: Viewer, *, why: str | None = None
) -> int | UnauthenticatedError | ForbiddenError:
    """The viewer's household ID, or the error that says why it cannot act for one.

    `why` completes the message ("households lend.") where the reason helps the reader.
    """
    if viewer.account_id is None:
        return unauthenticated()
    if viewer.household_id is None:
        return forbidden(f"{NO_HOUSEHOLD[:-1]}: {why}" if why else NO_HOUSEHOLD)
    return viewer.household_id
