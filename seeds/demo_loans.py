"""Demo loans in every state, and skills in French, in the Chavenay network.

Two stages of the demo seed (`async (conn) -> None`), to run after the households, the demo
accounts and the demo items:

- `create_demo_loans` does nothing when any loan exists (loans have no natural key, and members
  may have borrowed through the API meanwhile) or when Chavenay lends nothing yet. Otherwise it
  books Chavenay's first items, through the same queries as the API (so the state machine and
  the no-double-booking constraint hold), with dates relative to today: a request, an accepted
  loan, a declined and a cancelled one, one handed over, one overdue and one returned. The
  borrower is the demo member's household whenever it does not own the item, so that a person
  signed in as the member sees them in `myLoans`.
- `create_demo_skills` adds the demo skills whose title its household does not offer yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Household, Item, Loan, Neighbourhood, Skill
from db.queries import loans as loan_queries
from db.queries.loans import LoanRow, Transition, today_in_france
from db.queries.skills import offer_skill

CHAVENAY = "78152"
TOWN_HALL = "Mairie de Chavenay"
BORROWER = loan_queries.BORROWER
LENDER = loan_queries.LENDER


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoLoan:
    starts_in: int
    """First day, in days from the load (negative: in the past)."""
    days: int
    steps: tuple[tuple[Transition, str], ...]
    """Transitions after the request, each with the side (BORROWER or LENDER) that makes it."""
    message: str


DEMO_LOANS: tuple[DemoLoan, ...] = (
    DemoLoan(
        starts_in=3, days=3, steps=(), message="Bonjour ! Je pourrais l'emprunter ce week-end ?"
    ),
    DemoLoan(
        starts_in=7,
        days=2,
        steps=((loan_queries.ACCEPT, LENDER),),
        message="Pour un petit chantier samedi, je vous la rends dimanche soir.",
    ),
    DemoLoan(
        starts_in=2,
        days=2,
        steps=((loan_queries.DECLINE, LENDER),),
        message="Est-ce possible dès mardi ?",
    ),
    DemoLoan(
        starts_in=10,
        days=3,
        steps=((loan_queries.ACCEPT, LENDER), (loan_queries.CANCEL, BORROWER)),
        message="Pour les vacances de la Toussaint.",
    ),
    DemoLoan(
        starts_in=-2,
        days=5,
        steps=((loan_queries.ACCEPT, LENDER), (loan_queries.HAND_OVER, LENDER)),
        message="Merci d'avance, j'en prendrai soin.",
    ),
    DemoLoan(
        starts_in=-7,
        days=5,
        steps=((loan_queries.ACCEPT, LENDER), (loan_queries.HAND_OVER, LENDER)),
        message="Juste le temps de tailler la haie.",
    ),  # overdue: due yesterday, not back
    DemoLoan(
        starts_in=-20,
        days=4,
        steps=(
            (loan_queries.ACCEPT, LENDER),
            (loan_queries.HAND_OVER, LENDER),
            (loan_queries.CONFIRM_RETURN, BORROWER),
            (loan_queries.CONFIRM_RETURN, LENDER),
        ),
        message="Pour le déménagement de ma fille.",
    ),
)
"""Date ranges of the booked ones never overlap, so they may share an item."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoSkill:
    household: int
    """Index of the household in Chavenay's registration order (the town hall excluded)."""
    title: str
    description: str
    tags: tuple[str, ...]


DEMO_SKILLS: tuple[DemoSkill, ...] = (
    DemoSkill(
        household=1,
        title="Réparation de vélos",
        description="Crevaisons, freins, dérailleurs, réglages. Le samedi matin dans mon garage.",
        tags=("vélo", "réparation"),
    ),
    DemoSkill(
        household=2,
        title="Cours de guitare",
        description="Débutants bienvenus, enfants comme adultes. Guitare de prêt possible.",
        tags=("musique", "guitare", "cours"),
    ),
    DemoSkill(
        household=3,
        title="Couture",
        description="Ourlets, fermetures éclair, petites retouches ; machine à coudre partagée.",
        tags=("couture", "retouches"),
    ),
    DemoSkill(
        household=0,
        title="Aide informatique",
        description="Installer une imprimante, sauvegarder ses photos, démarches en ligne.",
        tags=("informatique", "entraide"),
    ),
)


async def chavenay_households(conn: AsyncConnection) -> list[int]:
    """Chavenay's households in registration order, the town hall excluded."""
    result = await conn.execute(
        select(Household.id)
        .join(Neighbourhood, Neighbourhood.id == Household.neighbourhood_id)
        .where(Neighbourhood.commune_code == CHAVENAY, Household.name != TOWN_HALL)
        .order_by(Household.id)
    )
    return [int(hid) for hid in result.scalars()]


async def create_demo_loans(conn: AsyncConnection) -> None:
    if (await conn.execute(select(exists().where(Loan.id.is_not(None))))).scalar_one():
        return
    households = await chavenay_households(conn)
    items = (
        await conn.execute(
            select(Item.id, Item.household_id)
            .where(Item.household_id.in_(households), Item.available)
            .order_by(Item.id)
            .limit(len(DEMO_LOANS))
        )
    ).all()
    if not items or len(households) < 2:
        return
    today = today_in_france()
    for index, demo in enumerate(DEMO_LOANS):
        item_id, owner = items[index % len(items)]
        borrower = next(hid for hid in households if hid != owner)
        starts_on = today + timedelta(days=demo.starts_in)
        outcome = await loan_queries.request_loan(
            conn,
            int(item_id),
            borrower_household_id=borrower,
            starts_on=starts_on,
            ends_on=starts_on + timedelta(days=demo.days - 1),
            message=demo.message,
        )
        assert isinstance(outcome, LoanRow), outcome
        for transition, side in demo.steps:
            actor = borrower if side == BORROWER else int(owner)
            outcome = await loan_queries.transition_loan(
                conn, outcome.id, transition, household_id=actor
            )
            assert isinstance(outcome, LoanRow), outcome


async def create_demo_skills(conn: AsyncConnection) -> None:
    households = await chavenay_households(conn)
    result = await conn.execute(select(Skill.household_id, Skill.title))
    offered = {(int(household_id), str(title)) for household_id, title in result.all()}
    for demo in DEMO_SKILLS:
        if demo.household >= len(households):
            continue
        household_id = households[demo.household]
        if (household_id, demo.title) in offered:
            continue
        await offer_skill(
            conn, household_id, title=demo.title, description=demo.description, tags=demo.tags
        )
