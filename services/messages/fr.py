"""French e-mails: (subject, plain-text body) by message id; `$name` placeholders.

Plain and friendly, "vous", no jargon: the people reading them are neighbours, not users.
Links (placeholders ending in `link`) become links in the HTML version.
"""

from __future__ import annotations

SIGNATURE = "\n\nÀ bientôt,\nL'équipe Voisinage"

MESSAGES: dict[str, tuple[str, str]] = {
    "verify_email": (
        "Confirmez votre adresse e-mail",
        "Bonjour $name,\n\n"
        "Bienvenue sur Voisinage ! Pour activer votre compte, confirmez votre adresse en "
        "ouvrant ce lien (valable 48 heures) :\n\n$link\n\n"
        "Vous n'avez rien demandé ? Ignorez ce message : sans confirmation, le compte reste "
        "inactif." + SIGNATURE,
    ),
    "sign_up_attempt_verified": (
        "Tentative d'inscription avec votre adresse",
        "Bonjour $name,\n\n"
        "Quelqu'un (vous, peut-être) a essayé de créer un compte Voisinage avec cette adresse. "
        "Vous avez déjà un compte : connectez-vous simplement.\n\n"
        "Mot de passe oublié ? Choisissez-en un nouveau avec ce lien (valable 1 heure) :\n\n"
        "$reset_link\n\n"
        "Si ce n'était pas vous, ignorez ce message : rien n'a changé sur votre compte."
        + SIGNATURE,
    ),
    "sign_up_attempt_unverified": (
        "Votre compte attend toujours sa confirmation",
        "Bonjour $name,\n\n"
        "Quelqu'un (vous, peut-être) a essayé de créer un compte Voisinage avec cette adresse, "
        "qui a déjà un compte pas encore confirmé. Pour le confirmer (lien valable 48 heures) :"
        "\n\n$link\n\n"
        "Mot de passe oublié ? Demandez-en un nouveau depuis l'écran de connexion.\n\n"
        "Si ce n'était pas vous, ignorez ce message." + SIGNATURE,
    ),
    "reset_password": (
        "Choisissez un nouveau mot de passe",
        "Bonjour $name,\n\n"
        "Vous avez demandé à changer de mot de passe. Choisissez-en un nouveau avec ce lien "
        "(valable 1 heure, une seule fois) :\n\n$link\n\n"
        "Une fois le mot de passe changé, vos autres appareils seront déconnectés.\n\n"
        "Vous n'avez rien demandé ? Ignorez ce message : votre mot de passe reste le même."
        + SIGNATURE,
    ),
    "password_changed": (
        "Votre mot de passe a été changé",
        "Bonjour $name,\n\n"
        "Le mot de passe de votre compte Voisinage vient d'être changé, et vos autres "
        "appareils ont été déconnectés.\n\n"
        "Si ce n'était pas vous, choisissez tout de suite un nouveau mot de passe avec "
        "« Mot de passe oublié » sur l'écran de connexion, puis écrivez-nous." + SIGNATURE,
    ),
    "account_deleted": (
        "Votre compte a été supprimé",
        "Bonjour $name,\n\n"
        "Votre compte Voisinage a été supprimé, comme vous l'avez demandé. Vos données "
        "personnelles ont été effacées ; ce que vos voisins ont gardé (annonces, prêts passés) "
        "est désormais signé « Ancien voisin ».\n\n"
        "Merci d'avoir participé à la vie du quartier." + SIGNATURE,
    ),
    "feedback_answer": (
        "Réponse à votre message",
        "Bonjour,\n\n"
        "Vous nous avez écrit :\n\n« $message »\n\n"
        "Notre réponse :\n\n$answer" + SIGNATURE,
    ),
    "weekly_digest": (
        "Ce qu'il s'est passé cette semaine dans votre voisinage",
        "Bonjour $name,\n\n"
        "Voici ce qu'il s'est passé cette semaine dans votre voisinage, $neighbourhood :"
        "\n\n$summary\n\n"
        "Pour tout voir et répondre à vos voisins :\n\n$feed_link\n\n"
        "Vous recevez ce résumé chaque semaine parce que vous l'avez demandé. Pour ne plus le "
        "recevoir, un clic suffit :\n\n$unsubscribe_link" + SIGNATURE,
    ),
}

DIGEST_SECTIONS = {
    "posts": "Nouvelles annonces",
    "events": "Événements",
    "items": "Nouveaux objets à prêter",
}
"""Headings of the digest's sections, in this order."""
DIGEST_MORE = "et $count autres"
DIGEST_EVENT = "$title, le $day à $time"

NOTICES: dict[str, str] = {
    "comment_added": "$name a commenté votre annonce « $title ».",
    "feedback_answered": "L'équipe Voisinage a répondu à votre message : $answer",
}
"""Notification sentences (the inbox and `notificationReceived`), by id; `$name` placeholders."""
