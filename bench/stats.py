"""Small statistics used by every measurement: median, percentile, a run summary, and
a bootstrap interval for the ratio of two medians."""

import math
from typing import Dict, Optional, Sequence, Tuple


def median(values: Sequence[float]) -> Optional[float]:
    """Returns the median of `values` (mean of the middle two when even); None if empty."""
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2.0


def percentile(values: Sequence[float], q: float) -> Optional[float]:
    """Returns the q-th percentile (0-100), interpolating linearly between ranks.

    The same definition as numpy's default ("linear"): rank q/100 * (n - 1).
    """
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within [0, 100], got {q}.")
    ordered = sorted(values)
    if not ordered:
        return None
    rank = q / 100.0 * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def spread(values: Sequence[float]) -> Dict[str, object]:
    """Returns {median, min, max, runs, values} of repeated measurements."""
    present = [v for v in values if v is not None]
    return {
        "median": median(present),
        "min": min(present) if present else None,
        "max": max(present) if present else None,
        "runs": len(present),
        "values": list(present),
    }


def ratio_of_medians_interval(numerator: Sequence[float], denominator: Sequence[float],
                              confidence: float = 0.9, resamples: int = 4000,
                              seed: int = 0) -> Optional[Tuple[float, float]]:
    """Returns a bootstrap interval for median(numerator) / median(denominator).

    The two samples are independent measurements (not paired), so each is resampled
    on its own: scipy's percentile bootstrap, seeded, so the same values give the same
    interval. None when either sample has fewer than two values.
    """
    import numpy as np
    from scipy import stats as scipy_stats

    if len(numerator) < 2 or len(denominator) < 2:
        return None

    def ratio(top, bottom, axis):
        return np.median(top, axis=axis) / np.median(bottom, axis=axis)

    result = scipy_stats.bootstrap(
        (np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)), ratio,
        n_resamples=resamples, confidence_level=confidence, method="percentile",
        paired=False, vectorized=True, random_state=np.random.default_rng(seed))
    interval = result.confidence_interval
    return float(interval.low), float(interval.high)
