from datetime import UTC, datetime
from itertools import permutations

import pytest

from geo.assignment import Candidate, choose_neighbourhood

JANUARY = datetime(2024, 1, 1, tzinfo=UTC)
JUNE = datetime(2024, 6, 1, tzinfo=UTC)


def test_no_candidate_means_no_neighbourhood() -> None:
    assert choose_neighbourhood([]) is None


def test_smallest_area_wins_even_if_newer() -> None:
    commune = Candidate(id=1, area_m2=10_000_000.0, created_at=JANUARY)
    street = Candidate(id=2, area_m2=200_000.0, created_at=JUNE)

    assert choose_neighbourhood([commune, street]) == street


def test_equal_areas_go_to_the_oldest() -> None:
    newer = Candidate(id=1, area_m2=500_000.0, created_at=JUNE)
    older = Candidate(id=2, area_m2=500_000.0, created_at=JANUARY)

    assert choose_neighbourhood([newer, older]) == older


def test_equal_area_and_age_go_to_the_smallest_id() -> None:
    first = Candidate(id=3, area_m2=500_000.0, created_at=JUNE)
    second = Candidate(id=8, area_m2=500_000.0, created_at=JUNE)

    assert choose_neighbourhood([second, first]) == first


def test_choice_does_not_depend_on_input_order() -> None:
    candidates = [
        Candidate(id=5, area_m2=500_000.0, created_at=JUNE),
        Candidate(id=4, area_m2=500_000.0, created_at=JUNE),
        Candidate(id=9, area_m2=500_000.0, created_at=JANUARY),
        Candidate(id=1, area_m2=900_000.0, created_at=JANUARY),
        Candidate(id=2, area_m2=5_000_000.0, created_at=JANUARY),
    ]

    chosen = {choose_neighbourhood(order) for order in permutations(candidates)}

    assert chosen == {candidates[2]}


def test_rejects_a_nan_area_that_would_make_the_order_arbitrary() -> None:
    with pytest.raises(ValueError, match="candidate 1"):
        choose_neighbourhood([Candidate(id=1, area_m2=float("nan"), created_at=JUNE)])
