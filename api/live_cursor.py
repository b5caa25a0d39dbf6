"""Cursors of live posts (`postCreated.cursor`, `after`): accepted only if this server issued them.

Why: a catch-up starts from the client's cursor. With a cursor anyone could write (it was
base64 JSON of a time and an id), a hand-made one from the year 2000 replayed the whole history.
A cursor now carries its position, (created time in microseconds, post id), followed by an
HMAC-SHA256 of it under the server's key (truncated to 128 bits), base64url without padding.
Anything else, or a changed byte, is INVALID_CURSOR. The position itself is no secret (postsNear
shows every post's id and time); the MAC only proves the server wrote it. How far back a valid
cursor may reach is bounded separately (`db.queries.live.CATCH_UP_MAX_AGE`).

The key is `LIVE_CURSOR_SECRET`, or, when unset, a random key kept in the data directory
(`<VOISINAGE_DATA_DIR>/live-cursor.key`, created on first use), which the server's workers
share. Servers on several machines must be given the same LIVE_CURSOR_SECRET.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import secrets
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

from api.errors import ErrorCode, UserError
from api.settings import Settings

VERSION = b"L1"
POSITION = struct.Struct(">qq")
"""(microseconds since the Unix epoch, post id), big-endian."""
TAG_BYTES = 16
KEY_FILE = "live-cursor.key"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def derive_key(secret: str | bytes) -> bytes:
    """The MAC key from a configured secret (any length), separated from other uses."""
    raw = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(raw, b"voisinage live cursor v1", hashlib.sha256).digest()


@functools.cache
def key_file_secret(data_dir: Path) -> bytes:
    """The random secret in the data directory, written once (atomically: the first worker to
    create it wins, the others read it)."""
    path = data_dir / KEY_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(f"{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    candidate.write_bytes(secrets.token_bytes(32))
    candidate.chmod(0o600)
    try:
        os.link(candidate, path)  # fails if another process linked its own first
    except FileExistsError:
        pass
    finally:
        candidate.unlink(missing_ok=True)
    return path.read_bytes()


def cursor_key(settings: Settings) -> bytes:
    configured = settings.live_cursor_secret
    return derive_key(configured if configured else key_file_secret(settings.data_dir))


class LiveCursors:
    """Encodes and checks the cursors of live posts under one key."""

    __slots__ = ("key",)

    def __init__(self, key: bytes) -> None:
        self.key = key

    def encode(self, created_at: datetime, post_id: int) -> str:
        micros = (created_at - EPOCH) // timedelta(microseconds=1)
        body = VERSION + POSITION.pack(micros, post_id)
        return base64.urlsafe_b64encode(body + self._tag(body)).rstrip(b"=").decode()

    def decode(self, cursor: str) -> tuple[datetime, int]:
        """(created time, post id), or INVALID_CURSOR for anything this server did not write."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise invalid_cursor() from None
        size = len(VERSION) + POSITION.size
        body, tag = raw[:size], raw[size:]
        if len(raw) != size + TAG_BYTES or not hmac.compare_digest(tag, self._tag(body)):
            raise invalid_cursor()
        if not body.startswith(VERSION):
            raise invalid_cursor()
        micros, post_id = POSITION.unpack(body[len(VERSION) :])
        return EPOCH + timedelta(microseconds=micros), post_id

    def _tag(self, body: bytes) -> bytes:
        return hmac.new(self.key, body, hashlib.sha256).digest()[:TAG_BYTES]


def invalid_cursor() -> UserError:
    return UserError(
        ErrorCode.INVALID_CURSOR,
        "This cursor was not issued by this server (or was altered): resubscribe without "
        "`after`, and read older posts with `Neighbourhood.posts` or `postsNear`.",
        argument="after",
    )
