"""The intervals against published values, and their properties over many inputs."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reactivate.rules import stats


def test_wilson_matches_published_values() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857-872: 81/263 -> 0.2553 to 0.3662
    low, high = stats.wilson(81, 263) or (0, 0)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    assert stats.wilson(0, 10) == (0.0, pytest.approx(0.2775, abs=1e-4))
    assert stats.wilson(10, 10) == (pytest.approx(0.7225, abs=1e-4), 1.0)
    assert stats.wilson(0, 0) is None


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2", "expected"),
    [
        # Newcombe (1998), Statistics in Medicine 17:873-890, table II, method 10
        (56, 70, 48, 80, (0.0524, 0.3339)),
        (9, 10, 3, 10, (0.1705, 0.8090)),
        (6, 7, 2, 7, (0.0582, 0.8062)),
        (5, 56, 0, 29, (-0.0381, 0.1926)),
        (0, 10, 0, 20, (-0.1611, 0.2775)),
        (10, 10, 0, 20, (0.6791, 1.0)),
    ],
)
def test_newcombe_matches_the_paper(
    k1: int, n1: int, k2: int, n2: int, expected: tuple[float, float]
) -> None:
    low, high = stats.newcombe(k1, n1, k2, n2) or (9, 9)
    assert (round(low, 4), round(high, 4)) == expected


def test_newcombe_needs_both_groups() -> None:
    assert stats.newcombe(1, 10, 0, 0) is None
    assert stats.newcombe(0, 0, 1, 10) is None


@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_holds_the_estimate_inside_zero_one(kn: tuple[int, int]) -> None:
    k, n = kn
    low, high = stats.wilson(k, n) or (9, 9)
    assert 0.0 <= low <= k / n <= high <= 1.0


@given(
    st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
)
def test_newcombe_holds_the_difference(first: tuple[int, int], second: tuple[int, int]) -> None:
    (k1, n1), (k2, n2) = first, second
    low, high = stats.newcombe(k1, n1, k2, n2) or (9, 9)
    assert -1.0 <= low <= k1 / n1 - k2 / n2 + 1e-12
    assert k1 / n1 - k2 / n2 - 1e-12 <= high <= 1.0


@given(st.lists(st.floats(-1e6, 1e6), max_size=50))
def test_median_is_the_median(values: list[float]) -> None:
    expected = statistics.median(values) if values else None
    assert stats.median(values) == expected


def test_median_of_even_count_is_the_mean_of_the_middle_two() -> None:
    assert stats.median([4, 1, 3, 2]) == 2.5
    assert stats.median([]) is None
