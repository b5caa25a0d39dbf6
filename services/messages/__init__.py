"""The e-mails the service sends, from a catalogue per language keyed by message id.

French is the language of the people using the service, so `fr` is the one catalogue for now;
a second language is a sibling module with the same ids. Values are inserted into the plain
text as given and into the HTML escaped; links are rendered as links.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from string import Template

from services.messages import fr

CATALOGUES = {"fr": fr.MESSAGES}


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(message_id: str, language: str = "fr", **values: str) -> Rendered:
    """The message `message_id` with `values` filled in; a missing value raises KeyError."""
    subject, body = CATALOGUES[language][message_id]
    text = Template(body).substitute(values)
    escaped = {
        key: (
            f'<a href="{html.escape(value)}">{html.escape(value)}</a>'
            if key.endswith("link")
            else html.escape(value)
        )
        for key, value in values.items()
    }
    paragraphs = Template(html.escape(body)).substitute(escaped).split("\n\n")
    markup = "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return Rendered(
        subject=Template(subject).substitute(values),
        text=text,
        html=f'<!doctype html><html lang="{language}"><body>{markup}</body></html>',
    )
