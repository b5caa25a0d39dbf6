"""Demo posts and comments in French, in Chavenay, Versailles and Plaisir: every kind of post.

A stage of the demo seed (`async (conn) -> None`), run after the households and the demo
accounts. Idempotent the simple way: it does nothing when any post exists, because posts have no
natural key and members may have posted through the API meanwhile. Times are relative to the
load (a giveaway expires 14 days after it, an event is next week), so the demo feed always looks
current after a reset. Authors are the first households of each network (registration order is
deterministic); the demo member and ambassador of Chavenay author some of them, so that a person
signed in as them can delete their own posts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Account, Comment, Household, Neighbourhood, Post
from db.queries.posts import add_comment, create_post
from geo.coords import LngLat

CHAVENAY = "78152"
VERSAILLES = "78646"
PLAISIR = "78490"
TOWN_HALL = "Mairie de Chavenay"


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoPost:
    commune_code: str
    author: int | str
    """Index of the household in its network (registration order), or a household name."""
    kind: str
    title: str
    body: str
    age: timedelta
    """How long before the load it was posted."""
    lifetime: timedelta | None = None
    """Expiry after the load (GIVEAWAY: 14 days when None)."""
    starts_in: timedelta | None = None
    place_name: str | None = None
    place: LngLat | None = None
    comments: tuple[tuple[int, str], ...] = ()
    """(household index in the same network, text), oldest first."""


DEMO_POSTS: tuple[DemoPost, ...] = (
    DemoPost(
        commune_code=CHAVENAY,
        author=0,
        kind="OFFER",
        title="Places de cinéma en trop",
        body="Deux places pour le cinéma de Plaisir, valables jusqu'à la fin du mois. "
        "Je les donne volontiers à qui les utilisera !",
        age=timedelta(hours=2),
        comments=((3, "Je veux bien, merci ! Je passe ce soir ?"), (0, "Avec plaisir, après 18h.")),
    ),
    DemoPost(
        commune_code=CHAVENAY,
        author=1,
        kind="LOST_AND_FOUND",
        title="Chat perdu",
        body="Chat tigré avec un collier rouge, il répond au nom de Filou. Vu pour la dernière "
        "fois près de l'église mardi soir. Merci de regarder dans vos garages et abris !",
        age=timedelta(hours=5),
        comments=(
            (4, "Je crois l'avoir vu ce matin près du lavoir."),
            (1, "Merci beaucoup, j'y vais tout de suite !"),
            (2, "Je partage avec les voisins de ma rue."),
        ),
    ),
    DemoPost(
        commune_code=CHAVENAY,
        author=2,
        kind="GIVEAWAY",
        title="Poussette à donner",
        body="Poussette pliable en bon état, housse lavée. À venir chercher.",
        age=timedelta(days=1),
        comments=((5, "Elle est encore disponible ? Nous attendons un bébé en mars."),),
    ),
    DemoPost(
        commune_code=CHAVENAY,
        author=TOWN_HALL,
        kind="EVENT",
        title="Fête des voisins",
        body="Chacun apporte un plat ou une boisson à partager. Tables et chaises fournies "
        "par la mairie.",
        age=timedelta(days=2),
        starts_in=timedelta(days=9, hours=3),
        place_name="Place de l'Église, Chavenay",
        place=LngLat(lng=1.98676, lat=48.85330),
    ),
    DemoPost(
        commune_code=CHAVENAY,
        author=3,
        kind="REQUEST",
        title="Qui peut m'aider à déplacer une armoire ?",
        body="Samedi matin, une heure à peine, deux bras de plus suffiraient. Café offert !",
        age=timedelta(days=2, hours=6),
    ),
    DemoPost(
        commune_code=CHAVENAY,
        author=4,
        kind="RECOMMENDATION",
        title="Un plombier sérieux et disponible",
        body="Intervention rapide pour une fuite sous l'évier, devis clair et prix correct. "
        "Je donne ses coordonnées en message.",
        age=timedelta(days=4),
    ),
    DemoPost(
        commune_code=CHAVENAY,
        author=5,
        kind="DISCUSSION",
        title="Ramassage des encombrants",
        body="Quelqu'un sait quand passe le prochain ramassage des encombrants ?",
        age=timedelta(days=6),
        comments=((0, "Le premier lundi du mois, d'après le site de la mairie."),),
    ),
    DemoPost(
        commune_code=VERSAILLES,
        author=0,
        kind="GIVEAWAY",
        title="Livres pour enfants à donner",
        body="Une trentaine d'albums et de premiers romans, de 3 à 10 ans.",
        age=timedelta(hours=8),
        lifetime=timedelta(days=7),
    ),
    DemoPost(
        commune_code=VERSAILLES,
        author=1,
        kind="EVENT",
        title="Vide-grenier du quartier Saint-Louis",
        body="Inscriptions des exposants auprès de l'association de quartier.",
        age=timedelta(days=3),
        starts_in=timedelta(days=12, hours=1),
        place_name="Place Saint-Louis, Versailles",
        place=LngLat(lng=2.1272, lat=48.7986),
    ),
    DemoPost(
        commune_code=VERSAILLES,
        author=2,
        kind="LOST_AND_FOUND",
        title="Clés trouvées",
        body="Trousseau de trois clés avec un porte-clés en forme de vélo, trouvé sur le "
        "trottoir. Décrivez-le pour le récupérer.",
        age=timedelta(days=1, hours=3),
    ),
    DemoPost(
        commune_code=PLAISIR,
        author=0,
        kind="OFFER",
        title="Soutien scolaire en mathématiques",
        body="Enseignante à la retraite, je propose une heure par semaine aux collégiens du "
        "quartier, gratuitement.",
        age=timedelta(days=1, hours=12),
        comments=((1, "Mon fils en 4e serait ravi, je vous écris."),),
    ),
    DemoPost(
        commune_code=PLAISIR,
        author=1,
        kind="REQUEST",
        title="Qui peut me prêter une remorque ?",
        body="Pour emmener des déchets verts à la déchetterie samedi.",
        age=timedelta(days=3, hours=4),
    ),
    DemoPost(
        commune_code=PLAISIR,
        author=2,
        kind="RECOMMENDATION",
        title="Boulangerie ouverte le lundi",
        body="Bonne nouvelle pour les lève-tôt : la boulangerie près de la gare ouvre "
        "désormais le lundi dès 7h.",
        age=timedelta(days=5),
    ),
)


async def network_households(conn: AsyncConnection, commune_code: str) -> list[int]:
    """Households of a POLYGON network in registration order, the town hall aside: index 0 of
    Chavenay is then the demo member's household (see `seeds.demo_accounts`)."""
    result = await conn.execute(
        select(Household.id)
        .join(Neighbourhood, Neighbourhood.id == Household.neighbourhood_id)
        .where(
            Neighbourhood.kind == "POLYGON",
            Neighbourhood.commune_code == commune_code,
            Household.name != TOWN_HALL,
        )
        .order_by(Household.id)
    )
    return [int(hid) for hid in result.scalars()]


async def household_named(conn: AsyncConnection, name: str) -> int:
    result = await conn.execute(
        select(Household.id).where(Household.name == name).order_by(Household.id).limit(1)
    )
    return int(result.scalar_one())


async def account_of(conn: AsyncConnection, household_id: int) -> int | None:
    """A demo account of the household, if it has one, so that its posts are theirs."""
    result = await conn.execute(
        select(Account.id).where(Account.household_id == household_id).order_by(Account.id)
    )
    value = result.scalars().first()
    return int(value) if value is not None else None


async def create_demo_posts(conn: AsyncConnection) -> None:
    """The demo posts and their comments, unless any post exists already."""
    if (await conn.execute(select(exists().where(Post.id.is_not(None))))).scalar_one():
        return
    now = datetime.now(UTC)
    networks = {
        code: await network_households(conn, code) for code in (CHAVENAY, VERSAILLES, PLAISIR)
    }
    for demo in DEMO_POSTS:
        members = networks[demo.commune_code]
        author = (
            await household_named(conn, demo.author)
            if isinstance(demo.author, str)
            else members[demo.author]
        )
        created_at = now - demo.age
        starts_at = now + demo.starts_in if demo.starts_in else None
        expires_at = now + demo.lifetime if demo.lifetime else None
        if demo.kind == "GIVEAWAY" and expires_at is None:
            expires_at = created_at + timedelta(days=14)
        if starts_at is not None and expires_at is None:
            expires_at = starts_at + timedelta(hours=6)
        row = await create_post(
            conn,
            author,
            account_id=await account_of(conn, author),
            kind=demo.kind,
            title=demo.title,
            body=demo.body,
            expires_at=expires_at,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=6) if starts_at else None,
            place_name=demo.place_name,
            place=demo.place,
        )
        assert row is not None, "the author household was just read"
        await conn.execute(update(Post).where(Post.id == row.id).values(created_at=created_at))
        for minutes, (index, text) in enumerate(demo.comments, start=1):
            commenter = members[index]
            comment = await add_comment(
                conn,
                row.id,
                household_id=commenter,
                account_id=await account_of(conn, commenter),
                body=text,
            )
            assert comment is not None, "the post was just written"
            await conn.execute(
                update(Comment)
                .where(Comment.id == comment.id)
                .values(created_at=created_at + timedelta(minutes=20 * minutes))
            )
