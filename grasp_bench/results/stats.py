"""Statistics of success rates: Wilson intervals, the regression test's z-test, and the
paired (exact McNemar) test with Holm's adjustment for planners on the same problems."""

from __future__ import annotations

import math
from statistics import NormalDist


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    Args:
        successes: number of successes, ``0 <= successes <= n``.
        n: number of trials. ``n == 0`` returns ``(0.0, 1.0)``: no data, no information.
        confidence: two-sided confidence level in (0, 1).

    Returns:
        ``(low, high)`` as fractions in [0, 1].
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denom
    # The exact bounds at 0 and n are 0 and 1; clamp away rounding noise.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def two_proportion_test(s1: int, n1: int, s2: int, n2: int) -> tuple[float, float]:
    """One-sided pooled two-proportion z-test for a drop from sample 1 to sample 2.

    Sample 1 is the baseline, sample 2 the current run. H0: p2 = p1;
    H1: p2 < p1. ``z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2))`` with the pooled
    ``p = (s1 + s2) / (n1 + n2)``; ``p_one_sided = P(Z >= z) = erfc(z / sqrt 2) / 2``.
    A positive z means the current rate is lower.

    Degenerate cases carry no evidence of a drop and return ``(0.0, 1.0)``:
    ``n1 == 0`` or ``n2 == 0``, or a pooled rate of exactly 0 or 1 (both samples
    all failures or all successes).

    Returns:
        ``(z, p_one_sided)``.
    """
    for s, n in ((s1, n1), (s2, n2)):
        if n < 0 or s < 0 or s > n:
            raise ValueError(f"need 0 <= successes <= n, got successes={s}, n={n}")
    if n1 == 0 or n2 == 0:
        return 0.0, 1.0
    pooled = (s1 + s2) / (n1 + n2)
    if pooled <= 0.0 or pooled >= 1.0:
        return 0.0, 1.0
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    z = (s1 / n1 - s2 / n2) / se
    return z, 0.5 * math.erfc(z / math.sqrt(2.0))


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar test of two planners run on the same problems.

    ``only_a`` problems were solved by A and not by B, ``only_b`` the reverse (problems
    both or neither solved carry no evidence).  Under H0 (equal success rates) each of the
    ``n = only_a + only_b`` discordant problems falls either way with probability 1/2, so
    ``p = min(1, 2 P(X <= min(only_a, only_b)))`` with ``X ~ Bin(n, 1/2)``; ``n == 0``
    gives 1.0.
    """
    if only_a < 0 or only_b < 0:
        raise ValueError(f"need non-negative counts, got {only_a}, {only_b}")
    n = only_a + only_b
    tail = sum(math.comb(n, i) for i in range(min(only_a, only_b) + 1))
    return min(1.0, 2 * tail / 2**n)  # exact integers: no overflow at large n


def holm(pvalues: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the given order: the i-th smallest of m is
    multiplied by ``m - i`` (i from 0), kept monotone, capped at 1."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    out, running = [0.0] * len(pvalues), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(pvalues) - rank) * pvalues[i]))
        out[i] = running
    return out
