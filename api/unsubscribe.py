"""`/desabonnement?token=…`: leave the weekly digest from the e-mail, without signing in.

GET shows a small French page with one button (a link scanner following the link unsubscribes
nobody); POST unsubscribes: the button, and mail clients' own one-click button (RFC 8058: they
POST `List-Unsubscribe=One-Click` to the `List-Unsubscribe` address). The web client may call
`unsubscribeDigest(token)` instead; both end in `services.digest.unsubscribe`.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from api.live_cursor import cursor_key
from api.settings import Settings
from services import digest
from services.errors import Refusal

MAX_FORM_BYTES = 4096
PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Résumé de la semaine</title></head><body><main><h1>Résumé de la semaine</h1>
{body}</main></body></html>"""
ASK = """<p>Vous ne souhaitez plus recevoir le résumé hebdomadaire de votre voisinage ?</p>
<form method="post"><input type="hidden" name="token" value="{token}">
<button type="submit">Me désabonner</button></form>"""
DONE = """<p>C'est fait : vous ne recevrez plus le résumé de la semaine.</p>
<p>Vous pourrez le réactiver à tout moment depuis votre compte.</p>"""
INVALID = """<p>Ce lien n'est pas valide. Vous pouvez vous désabonner depuis votre compte.</p>"""


def digest_secret(settings: Settings) -> bytes:
    """The tokens' key: derived from the live cursors' secret (LIVE_CURSOR_SECRET, or the key
    file of the data directory), so every worker and the `digest` command agree on it."""
    return digest.digest_key(cursor_key(settings))


def page(body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(PAGE.format(body=body), status_code=status_code)


async def unsubscribe_page(request: Request) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    key = digest_secret(settings)
    token = request.query_params.get("token", "")
    if request.method == "GET":
        if digest.account_of(key, token) is None:
            return page(INVALID, 400)
        return page(ASK.format(token=html.escape(token, quote=True)))
    # A urlencoded body (the page's button: `token=…`; a mail client: `List-Unsubscribe=
    # One-Click`, the token then in the URL), read without a multipart parser.
    form = parse_qs((await request.body())[:MAX_FORM_BYTES].decode("utf-8", "replace"))
    token = form.get("token", [token])[0]
    outcome = await digest.unsubscribe(request.app.state.engine, key, token)
    if isinstance(outcome, Refusal):
        return page(INVALID, 400)
    return page(DONE)


def unsubscribe_routes() -> list[Route]:
    return [Route(digest.UNSUBSCRIBE_PATH, unsubscribe_page, methods=["GET", "POST"])]
