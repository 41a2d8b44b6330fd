"""Small, exact statistics for reports: Wilson and Newcombe intervals, the median.

Pure standard library. Intervals are returned as (low, high) shares in [0, 1]
(differences in [-1, 1]); None when there is nothing to measure (n = 0).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

#: The 97.5% quantile of the standard normal: a two-sided 95% interval.
Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval for k successes in n trials; None when n is 0.

    Unlike p ± z·se, it stays inside [0, 1] and is honest for small n and for p near 0
    or 1, which is why a two-client advisor with two conversions does not top a ranking.
    """
    if n <= 0:
        return None
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    p = k / n
    z2 = z * z
    centre = p + z2 / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    denominator = 1 + z2 / n
    low = (centre - spread) / denominator
    high = (centre + spread) / denominator
    # exact bounds at the edges (rounding would leave -1e-17 or 1 - 1e-16)
    return (0.0 if k == 0 else max(0.0, low), 1.0 if k == n else min(1.0, high))


def newcombe(k1: int, n1: int, k2: int, n2: int, z: float = Z95) -> tuple[float, float] | None:
    """The 95% interval of p1 - p2 by Newcombe's hybrid score method (his method 10).

    Combines the two groups' Wilson intervals; well behaved for small groups and rare
    events (Newcombe 1998, Statistics in Medicine 17:873-890). None when a group is empty.
    """
    first, second = wilson(k1, n1, z), wilson(k2, n2, z)
    if first is None or second is None:
        return None
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = first
    l2, u2 = second
    difference = p1 - p2
    low = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return (max(-1.0, low), min(1.0, high))


def median(values: Iterable[float]) -> float | None:
    """The median (mean of the two middle values for an even count); None when empty."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return None
    middle = n // 2
    if n % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2
