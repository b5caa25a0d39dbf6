"""Sending e-mail: to an SMTP server (aiosmtplib) when SMTP_URL is set, else to an outbox folder.

The outbox (`<data dir>/outbox/*.eml`, the link also logged) is what `make run` uses: a developer
signs up and opens the link without a mail server. Sending happens after the transaction
commits and never fails the request: a server that is down is logged, and the person asks for
the link again (the answers of signUp and requestPasswordReset must not depend on the mail
either, or they would tell who has an account).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import aiosmtplib

from services.messages import render

log = logging.getLogger("voisinage.mail")
SEND_TIMEOUT_S = 10.0
VERIFY_PATH = "/verifier"
RESET_PATH = "/reinitialiser"


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where to hand mail over; `smtp://user:password@host:587?starttls=true` or `smtps://`."""

    hostname: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    start_tls: bool | None = None
    """None: STARTTLS if the server offers it (aiosmtplib's default); True: required."""

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://host:port or smtps://host:port")
        query = parse_qs(parts.query)
        starttls = query.get("starttls", [""])[0].lower()
        return cls(
            hostname=parts.hostname,
            port=parts.port or (465 if parts.scheme == "smtps" else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=parts.scheme == "smtps",
            start_tls={"true": True, "false": False}.get(starttls),
        )


@dataclass(frozen=True, slots=True)
class Mailer:
    """How this process sends mail and builds links; cheap to build (per request is fine)."""

    sender: str
    public_url: str
    outbox: Path
    smtp: SmtpServer | None = None

    @classmethod
    def create(cls, *, smtp_url: str | None, sender: str, public_url: str, outbox: Path) -> Mailer:
        smtp = SmtpServer.from_url(smtp_url) if smtp_url else None
        return cls(sender=sender, public_url=public_url.rstrip("/"), outbox=outbox, smtp=smtp)

    def link(self, path: str, token: str) -> str:
        """A link of the web client: `<PUBLIC_URL><path>?token=<token>`."""
        return f"{self.public_url}{path}?{urlencode({'token': token})}"

    def compose(self, to: str, message_id: str, **values: str) -> EmailMessage:
        rendered = render(message_id, **values)
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = rendered.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="voisinage")
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(rendered.text)
        message.add_alternative(rendered.html, subtype="html")
        return message

    async def send(self, message: EmailMessage) -> bool:
        """Deliver one message; False (and logged) when it could not be."""
        try:
            if self.smtp is None:
                await asyncio.to_thread(self._write_to_outbox, message)
            else:
                await aiosmtplib.send(
                    message,
                    hostname=self.smtp.hostname,
                    port=self.smtp.port,
                    username=self.smtp.username,
                    password=self.smtp.password,
                    use_tls=self.smtp.use_tls,
                    start_tls=self.smtp.start_tls,
                    timeout=SEND_TIMEOUT_S,
                )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            log.error("could not send %r: %s", message["Subject"], type(error).__name__)
            return False
        return True

    def _write_to_outbox(self, message: EmailMessage) -> None:
        self.outbox.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}.eml"
        path = self.outbox / name
        path.write_bytes(bytes(message))
        body = message.get_body(("plain",))
        links = [
            word
            for word in (body.get_content() if body is not None else "").split()
            if word.startswith(self.public_url)
        ]
        log.info("mail to the outbox (no SMTP_URL): %s %s", path, " ".join(links))
