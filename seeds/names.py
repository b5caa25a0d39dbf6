"""Believable French household names, drawn from a seeded generator (never real people's data).

The surnames are among the most frequent in France (INSEE birth records) and the first names
among the most given to people now aged 30 to 70; the combinations are chance.
"""

from __future__ import annotations

import random

SURNAMES = (
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau",
    "Laurent", "Simon", "Michel", "Lefebvre", "Leroy", "Roux", "David", "Bertrand", "Morel",
    "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent",
    "Muller", "Lefèvre", "Faure", "André", "Mercier", "Blanc", "Guérin", "Boyer", "Garnier",
    "Chevalier", "François", "Legrand", "Gauthier", "Garcia", "Perrin", "Robin", "Clément",
    "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier", "Masson", "Marchand", "Duval",
    "Denis", "Dumont", "Marie", "Lemaire", "Noël", "Meyer", "Dufour", "Meunier", "Brun",
    "Blanchard", "Giraud", "Joly", "Rivière", "Lucas", "Brunet", "Gaillard", "Barbier", "Arnaud",
    "Martinez", "Gérard", "Roche", "Renard", "Schmitt", "Roy", "Leroux", "Colin", "Vidal",
    "Caron", "Picard", "Roger", "Fabre", "Aubert", "Lemoine", "Renaud", "Dumas", "Lacroix",
    "Olivier", "Philippe", "Bourgeois", "Pierre", "Benoît", "Rey", "Leclerc", "Payet", "Rolland",
    "Leclercq", "Guillaume", "Lecomte", "Lopez", "Jean", "Dupuy", "Guillot", "Hubert", "Berger",
    "Carpentier", "Sanchez", "Dupuis", "Moulin", "Louis", "Deschamps", "Huet", "Vasseur", "Perez",
    "Boucher", "Fleury", "Royer", "Klein", "Jacquet", "Adam", "Paris", "Poirier", "Marty",
    "Aubry", "Guyot", "Carré", "Charles", "Renault", "Charpentier", "Ménard", "Maillard",
    "Baron", "Bertin", "Bailly", "Hervé", "Schneider", "Fernandez", "Le Gall", "Collet", "Léger",
    "Bouvier", "Julien", "Prévost", "Millet", "Perrot", "Daniel", "Le Roux", "Cousin", "Germain",
    "Breton", "Besson", "Langlois", "Rémy", "Le Goff", "Pelletier", "Lévêque", "Perrier",
)  # fmt: skip

FEMALE_FIRST_NAMES = (
    "Marie", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Sophie", "Claire", "Camille",
    "Julie", "Céline", "Aurélie", "Émilie", "Sandrine", "Valérie", "Christine", "Anne",
    "Élodie", "Laure", "Hélène", "Agnès", "Florence", "Véronique", "Brigitte", "Martine",
    "Françoise", "Stéphanie", "Caroline", "Virginie", "Karine", "Delphine", "Audrey", "Mélanie",
)  # fmt: skip

MALE_FIRST_NAMES = (
    "Jean", "Pierre", "Michel", "Philippe", "Alain", "Nicolas", "Julien", "Thomas", "Sébastien",
    "Laurent", "Christophe", "Olivier", "Stéphane", "David", "Éric", "Frédéric", "Antoine",
    "Guillaume", "Mathieu", "Vincent", "François", "Patrick", "Jacques", "Dominique", "Benoît",
    "Romain", "Jérôme", "Arnaud", "Cédric", "Bruno", "Thierry", "Pascal",
)  # fmt: skip


def first_name(rng: random.Random) -> str:
    return rng.choice(FEMALE_FIRST_NAMES if rng.random() < 0.5 else MALE_FIRST_NAMES)


def couple(rng: random.Random) -> tuple[str, str]:
    """Two first names, most often a woman and a man, in either order."""
    first = rng.choice(FEMALE_FIRST_NAMES)
    second = rng.choice(MALE_FIRST_NAMES)
    if rng.random() < 0.1:
        second = rng.choice([name for name in FEMALE_FIRST_NAMES if name != first])
    return (first, second) if rng.random() < 0.5 else (second, first)


def household_name(rng: random.Random) -> str:
    """One display name in the styles people use on a village network.

    "Famille Martin", "Claire et Julien Petit", "Mme Bernard", "M. Robert", "Sophie Durand",
    "Anne Roux et Éric Faure".
    """
    surname = rng.choice(SURNAMES)
    style = rng.random()
    if style < 0.30:
        return f"Famille {surname}"
    if style < 0.55:
        one, two = couple(rng)
        return f"{one} et {two} {surname}"
    if style < 0.68:
        return f"Mme {surname}"
    if style < 0.78:
        return f"M. {surname}"
    if style < 0.92:
        return f"{first_name(rng)} {surname}"
    one, two = couple(rng)
    other = rng.choice([name for name in SURNAMES if name != surname])
    return f"{one} {surname} et {two} {other}"


def household_names(rng: random.Random, count: int) -> list[str]:
    """`count` distinct names, so members of one network can tell each other apart."""
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        name = household_name(rng)
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names
