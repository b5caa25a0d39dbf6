"""Demo items to lend, in French, across the everyday categories.

A stage of the demo seed (`async (conn) -> None`), run after the households and the demo
accounts. Items have no natural key beyond (household, title): an item whose title its household
already lends is skipped, so loading twice adds nothing. The lenders are the demo communes'
households, picked deterministically (by id order), Chavenay first: a person signed in as the
demo member finds a drill, a lawnmower and a raclette machine a few hundred metres away, and a
trailer in a neighbouring village.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Household, Item, Neighbourhood
from db.queries.items import create_item


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoItem:
    commune_code: str
    title: str
    description: str
    category: str
    condition: str = "GOOD"
    terms: str = "FREE"
    deposit_cents: int | None = None
    price_per_day_cents: int | None = None


CHAVENAY = "78152"
DEMO_ITEMS: tuple[DemoItem, ...] = (
    DemoItem(
        commune_code=CHAVENAY,
        title="Perceuse à percussion Bosch",
        description="Avec coffret de forets béton et bois. Batterie 18 V chargée.",
        category="TOOLS",
        terms="DEPOSIT",
        deposit_cents=5000,
    ),
    DemoItem(
        commune_code=CHAVENAY,
        title="Tondeuse électrique",
        description="Coupe 40 cm, bac de ramassage. Rallonge fournie.",
        category="GARDEN",
    ),
    DemoItem(
        commune_code=CHAVENAY,
        title="Appareil à raclette 8 personnes",
        description="Avec poêlons et spatules. Parfait pour les soirées d'hiver.",
        category="KITCHEN",
        condition="NEW",
    ),
    DemoItem(
        commune_code=CHAVENAY,
        title="Machine à laver (accès)",
        description="Notre machine est à votre disposition le week-end, lessive fournie.",
        category="APPLIANCES",
    ),
    DemoItem(
        commune_code=CHAVENAY,
        title="Échelle télescopique 3,8 m",
        description="Aluminium, légère, idéale pour les gouttières.",
        category="LADDERS",
    ),
    DemoItem(
        commune_code=CHAVENAY,
        title="Taille-haie thermique",
        description="Pour les grandes haies de thuyas. Mélange 2 temps fourni.",
        category="GARDEN",
        terms="PRICE_PER_DAY",
        price_per_day_cents=500,
    ),
    DemoItem(
        commune_code=CHAVENAY,
        title="Jeux de société pour enfants",
        description="Dobble, Mille Bornes, Uno, Qwirkle.",
        category="GAMES",
        condition="FAIR",
    ),
    DemoItem(
        commune_code=CHAVENAY,
        title="Tente 4 places",
        description="Montage facile, double toit, déjà imperméabilisée.",
        category="CAMPING",
    ),
    DemoItem(
        commune_code=CHAVENAY,
        title="Poussette canne",
        description="Légère, pliable, avec habillage pluie.",
        category="BABY",
    ),
    DemoItem(
        commune_code=CHAVENAY,
        title="Scie sauteuse",
        description="Lames bois et métal incluses.",
        category="DIY",
    ),
    DemoItem(
        commune_code="78196",
        title="Remorque bagagère 500 kg",
        description="Plaque et carte grise à jour, roue de secours.",
        category="VEHICLES",
        terms="DEPOSIT",
        deposit_cents=20000,
    ),
    DemoItem(
        commune_code="78196",
        title="Broyeur de végétaux",
        description="Branches jusqu'à 4 cm. Lunettes de protection fournies.",
        category="GARDEN",
    ),
    DemoItem(
        commune_code="78490",
        title="Nettoyeur haute pression Kärcher",
        description="Pour terrasses et voitures, avec brosse rotative.",
        category="CLEANING",
    ),
    DemoItem(
        commune_code="78490",
        title="Vélo enfant 20 pouces",
        description="6 vitesses, révisé au printemps.",
        category="BIKES",
        condition="FAIR",
    ),
    DemoItem(
        commune_code="78490",
        title="Guitare folk",
        description="Cordes neuves, housse et accordeur.",
        category="MUSIC",
    ),
    DemoItem(
        commune_code="78646",
        title="Diable de déménagement",
        description="Charge 150 kg, roues gonflables.",
        category="MOVING",
    ),
    DemoItem(
        commune_code="78646",
        title="Machine à coudre Singer",
        description="Idéale pour ourlets et petites retouches.",
        category="SEWING",
    ),
    DemoItem(
        commune_code="78646",
        title="Appareil photo reflex",
        description="Canon EOS avec objectif 18-55 mm.",
        category="PHOTO",
        terms="DEPOSIT",
        deposit_cents=30000,
        condition="GOOD",
    ),
    DemoItem(
        commune_code="78674",
        title="Raquettes de badminton",
        description="4 raquettes, volants et filet.",
        category="SPORTS",
    ),
    DemoItem(
        commune_code="78674",
        title="Livres de cuisine",
        description="Une vingtaine de livres, du quotidien à la pâtisserie.",
        category="BOOKS",
        condition="WORN",
    ),
    DemoItem(
        commune_code="78165",
        title="Luges en bois",
        description="Deux luges pour les jours de neige.",
        category="WINTER",
    ),
    DemoItem(
        commune_code="78233",
        title="Barnum 3 x 3 m",
        description="Pour fêtes et vide-greniers, avec lests.",
        category="PARTY",
    ),
)


async def lenders_by_commune(conn: AsyncConnection) -> dict[str, list[int]]:
    """Households of each demo commune, oldest first (the town hall is not a lender)."""
    result = await conn.execute(
        select(Neighbourhood.commune_code, Household.id)
        .join(Neighbourhood, Neighbourhood.id == Household.neighbourhood_id)
        .where(Neighbourhood.kind == "POLYGON", Household.name != "Mairie de Chavenay")
        .order_by(Household.id)
    )
    lenders: dict[str, list[int]] = {}
    for code, household_id in result.all():
        lenders.setdefault(str(code), []).append(int(household_id))
    return lenders


async def create_demo_items(conn: AsyncConnection) -> None:
    lenders = await lenders_by_commune(conn)
    existing = {
        (int(household_id), str(title))
        for household_id, title in (await conn.execute(select(Item.household_id, Item.title))).all()
    }
    taken: dict[str, int] = {}
    for item in DEMO_ITEMS:
        households = lenders.get(item.commune_code)
        if not households:
            continue
        index = taken.get(item.commune_code, 0)
        taken[item.commune_code] = index + 1
        household_id = households[index % len(households)]
        if (household_id, item.title) in existing:
            continue
        await create_item(
            conn,
            household_id,
            title=item.title,
            description=item.description,
            category=item.category,
            condition=item.condition,
            terms=item.terms,
            deposit_cents=item.deposit_cents,
            price_per_day_cents=item.price_per_day_cents,
            photo_urls=(),
        )
