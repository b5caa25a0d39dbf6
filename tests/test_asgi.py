"""The server entry point settles its heap once the app is built (see api.asgi)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from api.asgi import GC_THRESHOLDS, settle_heap


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_settling_freezes_the_start_up_heap_and_collects_less_often() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    settle_heap()
    assert gc.get_freeze_count() > 10_000  # modules and the schema's objects at least
    assert gc.get_threshold() == GC_THRESHOLDS
