"""A real SMTP server in the test process (aiosmtpd), and an app that sends its e-mail to it."""

from __future__ import annotations

import dataclasses
import re
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from api.app import create_app
from api.settings import Settings
from tests.api.conftest import GraphQLClient

LINK = re.compile(r"(https?://\S+?)\?token=([A-Za-z0-9_\-]+)")


class Inbox:
    """Every message the server accepted, parsed; an aiosmtpd handler."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)  # before the 250: there when the mutation returns
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def last_to(self, address: str) -> EmailMessage:
        found = self.to(address)
        assert found, f"no e-mail to {address}: {[m['To'] for m in self.messages]}"
        return found[-1]


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    content = body.get_content()
    assert isinstance(content, str)
    return content


def link_in(message: EmailMessage) -> tuple[str, str]:
    """(address before `?token=`, token) of the first link of the plain-text part."""
    found = LINK.search(text_of(message))
    assert found is not None, text_of(message)
    return found.group(1), found.group(2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """An SMTP server on a free port of 127.0.0.1, stopped whatever the test's outcome."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@asynccontextmanager
async def mailing_client(
    settings: Settings,
) -> AsyncIterator[tuple[GraphQLClient, Inbox]]:
    """A client of an app whose e-mail goes to an in-process SMTP server."""
    with smtp_server() as (inbox, port):
        app = create_app(dataclasses.replace(settings, smtp_url=f"smtp://127.0.0.1:{port}"))
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                yield GraphQLClient(http), inbox
        finally:
            await app.state.reads.close()
            await app.state.engine.dispose()
