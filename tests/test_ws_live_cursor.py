"""Live-post cursors (`api.live_cursor`): only those the server signed are accepted."""

from __future__ import annotations

import base64
import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.errors import UserError
from api.live_cursor import LiveCursors, cursor_key, derive_key, key_file_secret
from api.pagination import encode_time_cursor
from api.settings import Settings

MOMENT = datetime(2026, 12, 7, 21, 30, 15, 123456, tzinfo=UTC)


def test_a_cursor_gives_back_its_exact_position() -> None:
    cursors = LiveCursors(derive_key("secret"))

    assert cursors.decode(cursors.encode(MOMENT, 4242)) == (MOMENT, 4242)


@pytest.mark.parametrize(
    "forged",
    [
        encode_time_cursor("l", datetime(2000, 1, 1, tzinfo=UTC), 0),  # the old, unsigned format
        "",
        "not base64 at all!",
        "AAAA",
    ],
)
def test_a_cursor_the_server_did_not_write_is_invalid(forged: str) -> None:
    with pytest.raises(UserError) as refused:
        LiveCursors(derive_key("secret")).decode(forged)

    assert refused.value.code == "INVALID_CURSOR"


def test_changing_any_byte_of_a_cursor_makes_it_invalid() -> None:
    cursors = LiveCursors(derive_key("secret"))
    raw = bytearray(base64.urlsafe_b64decode(cursors.encode(MOMENT, 7) + "=="))
    for index in range(len(raw)):
        altered = raw.copy()
        altered[index] ^= 0x01
        text = base64.urlsafe_b64encode(bytes(altered)).rstrip(b"=").decode()
        with pytest.raises(UserError):
            cursors.decode(text)


def test_a_cursor_signed_with_another_key_is_invalid() -> None:
    theirs = LiveCursors(derive_key("another server")).encode(MOMENT, 7)

    with pytest.raises(UserError):
        LiveCursors(derive_key("secret")).decode(theirs)


def test_without_a_configured_secret_the_key_is_kept_in_the_data_directory(
    settings: Settings, tmp_path: Path
) -> None:
    local = dataclasses.replace(settings, data_dir=tmp_path, live_cursor_secret="")
    first = cursor_key(local)
    key_file_secret.cache_clear()  # as another worker process would: read from the file

    assert cursor_key(local) == first
    assert len((tmp_path / "live-cursor.key").read_bytes()) == 32
    assert (tmp_path / "live-cursor.key").stat().st_mode & 0o077 == 0
    assert cursor_key(dataclasses.replace(local, live_cursor_secret="configured")) != first
