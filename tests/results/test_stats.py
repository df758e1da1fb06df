"""Wilson intervals and the one-sided two-proportion z-test."""

from __future__ import annotations

import math

import pytest

from grasp_bench.results import two_proportion_test, wilson_interval


def wilson_reference(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Textbook Wilson score interval, written independently of the package."""
    p = k / n
    centre = (2 * n * p + z**2) / (2 * (n + z**2))
    half = z * math.sqrt(z**2 + 4 * n * p * (1 - p)) / (2 * (n + z**2))
    return centre - half, centre + half


def test_wilson_published_values() -> None:
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(10, 10)[1] == 1.0 and wilson_interval(0, 10)[0] == 0.0


@pytest.mark.parametrize(("k", "n"), [(0, 10), (1, 4), (5, 10), (10, 10), (59, 100), (295, 500)])
def test_wilson_matches_formula(k: int, n: int) -> None:
    low, high = wilson_interval(k, n)
    ref_low, ref_high = wilson_reference(k, n)
    assert (low, high) == pytest.approx((max(0.0, ref_low), min(1.0, ref_high)), abs=1e-9)
    assert 0.0 <= low <= k / n <= high <= 1.0


def test_wilson_confidence_and_edges() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    narrow, wide = wilson_interval(5, 10, 0.5), wilson_interval(5, 10, 0.99)
    assert wide[0] < narrow[0] < 0.5 < narrow[1] < wide[1]
    for bad in ((11, 10), (-1, 10), (0, -1)):
        with pytest.raises(ValueError):
            wilson_interval(*bad)
    with pytest.raises(ValueError):
        wilson_interval(1, 2, confidence=1.0)


def test_two_proportion_known_value() -> None:
    # p1 = .6, p2 = .5, pooled .55: z = .1 / sqrt(.55 * .45 * .02) = 1.42134
    z, p = two_proportion_test(60, 100, 50, 100)
    assert z == pytest.approx(1.42134, abs=1e-4)
    assert p == pytest.approx(0.07761, abs=1e-4)


def test_two_proportion_direction() -> None:
    z, p = two_proportion_test(90, 100, 40, 100)
    assert z > 7 and p < 1e-6
    assert two_proportion_test(50, 100, 50, 100) == pytest.approx((0.0, 0.5))
    z, p = two_proportion_test(40, 100, 90, 100)  # an increase is no drop
    assert z < 0 and p > 0.99


@pytest.mark.parametrize("args", [(0, 0, 5, 10), (5, 10, 0, 0), (0, 50, 0, 50), (50, 50, 20, 20)])
def test_two_proportion_degenerate(args: tuple[int, int, int, int]) -> None:
    assert two_proportion_test(*args) == (0.0, 1.0)


def test_two_proportion_rejects_bad_counts() -> None:
    with pytest.raises(ValueError):
        two_proportion_test(11, 10, 5, 10)
    with pytest.raises(ValueError):
        two_proportion_test(5, 10, -1, 10)


def test_bad_arguments_are_refused_naming_the_rule() -> None:
    """Each refusal is the function's own, not a math error further down (a count check
    that let 11 of 10 through would still fail, in sqrt)."""
    for confidence in (-0.5, 0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"confidence must be in \(0, 1\)"):
            wilson_interval(1, 2, confidence)
    for bad in ((11, 10), (-1, 10), (0, -1)):
        with pytest.raises(ValueError, match="need 0 <= successes <= n"):
            wilson_interval(*bad)
    for bad in ((11, 10, 5, 10), (5, 10, -1, 10), (0, -1, 0, 1)):
        with pytest.raises(ValueError, match="need 0 <= successes <= n"):
            two_proportion_test(*bad)


@pytest.mark.parametrize("n", [9, 13, 17, 100, 258])
def test_wilson_bounds_are_exact_with_all_or_no_successes(n: int) -> None:
    """The formula's bound at k = n is 1 up to rounding (1 + 2e-16 at n = 9, 1 - 1e-16 at
    n = 13 and 258); the interval's is exactly 1, and exactly 0 at k = 0.  The counts are
    equal but distinct int objects, as when read from two columns (past 256 Python does not
    share them), so the test is on their values."""
    k = int(str(n))
    assert wilson_interval(k, n)[1] == 1.0 and wilson_interval(0, n)[0] == 0.0


def test_wilson_upper_bound_clamped_to_one_against_rounding() -> None:
    """Near-certain rates with huge n: the formula rounds to just above 1."""
    low, high = wilson_interval(10**15 - 1, 10**15, confidence=0.9999999999)
    assert high == 1.0 and 0.999 < low < 1.0
