import pytest

from geo.errors import GeoValidationError


def test_carries_code_and_message_and_prints_the_message() -> None:
    error = GeoValidationError("INVALID_CELL", "'abc' is not an H3 cell")

    assert error.code == "INVALID_CELL"
    assert error.message == "'abc' is not an H3 cell"
    assert str(error) == "'abc' is not an H3 cell"


def test_is_caught_as_value_error() -> None:
    with pytest.raises(ValueError, match="bad"):
        raise GeoValidationError("INVALID_GEOMETRY", "bad")
