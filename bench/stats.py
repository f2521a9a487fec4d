"""Small statistics used by every measurement, from numpy and scipy: median,
percentile, a run summary, and a bootstrap interval for the ratio of two medians."""

from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from scipy import stats as scipy_stats


def median(values: Sequence[float]) -> Optional[float]:
    """Returns the median of `values`, None values left out; None if none is left."""
    present = [v for v in values if v is not None]
    return float(np.median(present)) if present else None


def percentile(values: Sequence[float], q: float) -> Optional[float]:
    """Returns numpy's q-th percentile (0-100, linear interpolation); None if empty."""
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within [0, 100], got {q}.")
    return float(np.percentile(values, q)) if len(values) else None


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


def ratio_of_medians_interval(
    numerator: Sequence[float],
    denominator: Sequence[float],
    confidence: float = 0.9,
    resamples: int = 4000,
    seed: int = 0,
) -> Optional[Tuple[float, float]]:
    """Returns a bootstrap interval for median(numerator) / median(denominator).

    The two samples are independent measurements (not paired), so each is resampled
    on its own: scipy's percentile bootstrap, seeded, so the same values give the same
    interval. None when either sample has fewer than two values.
    """
    if len(numerator) < 2 or len(denominator) < 2:
        return None

    def ratio(top, bottom, axis):
        return np.median(top, axis=axis) / np.median(bottom, axis=axis)

    result = scipy_stats.bootstrap(
        (np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)),
        ratio,
        n_resamples=resamples,
        confidence_level=confidence,
        method="percentile",
        paired=False,
        vectorized=True,
        random_state=np.random.default_rng(seed),
    )
    interval = result.confidence_interval
    return float(interval.low), float(interval.high)
