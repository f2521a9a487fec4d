"""Per-component figures from a run's timeline: progress lines and RSS samples.

The local runner prints `[pipeline] <Node>: running` when a node starts and
`[pipeline] <Node>: done in <s>s` (or `FAILED after`) when it ends. With those lines
and timestamped RSS samples of the process tree, each node gets the peak RSS seen
while it ran. Nodes that overlap in time share the samples of the overlap.
"""

import re
from typing import Dict, List, Optional, Sequence, Tuple

_START = re.compile(r"^\[pipeline\] (?P<node>[\w.-]+): running\s*$")
_END = re.compile(r"^\[pipeline\] (?P<node>[\w.-]+): (?:done in|FAILED after) ")

Sample = Tuple[float, float]  # (monotonic seconds, RSS in bytes)
Line = Tuple[float, str]  # (monotonic seconds, stdout line)


def component_intervals(lines: Sequence[Line]) -> Dict[str, Tuple[float, Optional[float]]]:
    """Returns node id -> (start, end) from progress lines; end is None if never done."""
    intervals: Dict[str, Tuple[float, Optional[float]]] = {}
    for when, text in lines:
        text = text.rstrip("\n")
        started = _START.match(text)
        if started:
            intervals[started.group("node")] = (when, None)
            continue
        ended = _END.match(text)
        if ended and ended.group("node") in intervals:
            node = ended.group("node")
            intervals[node] = (intervals[node][0], when)
    return intervals


def peak_between(samples: Sequence[Sample], start: float, end: float) -> Optional[float]:
    """Returns the largest RSS sampled within [start, end].

    A node shorter than the sampling interval may hold no sample: it then gets the
    sample nearest to its middle, which is the best the timeline can say.
    """
    inside = [rss for when, rss in samples if start <= when <= end]
    if inside:
        return max(inside)
    if not samples:
        return None
    middle = (start + end) / 2.0
    return min(samples, key=lambda sample: abs(sample[0] - middle))[1]


def component_peaks(
    lines: Sequence[Line], samples: Sequence[Sample], run_end: Optional[float] = None
) -> Dict[str, Optional[float]]:
    """Returns node id -> peak RSS (bytes) while that node ran.

    A node with a start line but no end line (the run failed or was killed) is taken
    to run until `run_end`, or the last sample.
    """
    last = run_end if run_end is not None else (samples[-1][0] if samples else 0.0)
    return {
        node: peak_between(samples, start, end if end is not None else last)
        for node, (start, end) in component_intervals(lines).items()
    }


def overall_peak(samples: Sequence[Sample]) -> Optional[float]:
    """Returns the largest RSS sampled, or None without samples."""
    return max((rss for _, rss in samples), default=None)


def merge_states(summary_components: List[dict], peaks: Dict[str, Optional[float]]) -> List[dict]:
    """Returns the summary's components with `peak_rss_mb` from the timeline added."""
    merged = []
    for component in summary_components:
        peak = peaks.get(component["id"])
        merged.append(
            {**component, "peak_rss_mb": None if peak is None else round(peak / 2**20, 1)}
        )
    return merged
