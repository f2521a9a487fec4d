"""The scale section's plot: seconds per component against rows, one line a component.

Both axes are logarithmic, so 10 x the rows is the same step at every scale; a dotted
line of slope one through the whole run's smallest time shows what growing in step
with the rows would look like. Written with matplotlib's Agg backend (no display).
"""

import os
from typing import Dict, List, Sequence, Tuple

from bench.targets import MAX_TIME_RATIO_TO_1X as TIME_RATIO_TARGET

# Components under this many seconds at every scale are left out of the plot.
MIN_SECONDS = 1.0


def component_series(runs: Sequence[dict]) -> Dict[str, List[Tuple[int, float]]]:
    """Returns component id -> [(rows, seconds)] over the runs that finished, by rows.

    The whole run is the series `whole run`; components under `MIN_SECONDS` at every
    scale are left out.
    """
    finished = sorted((run for run in runs if run["returncode"] == 0), key=lambda r: r["rows"])
    series: Dict[str, List[Tuple[int, float]]] = {
        "whole run": [(run["rows"], run["wall_seconds"]) for run in finished]
    }
    for run in finished:
        for component in run["components"]:
            if component.get("seconds") is not None:
                series.setdefault(component["id"], []).append((run["rows"], component["seconds"]))
    return {
        name: points
        for name, points in series.items()
        if any(seconds >= MIN_SECONDS for _, seconds in points)
    }


def write(runs: Sequence[dict], path: str, title: str) -> str:
    """Draws `component_series(runs)` into the PNG file `path`; returns `path`.

    Raises:
      ValueError: fewer than two finished runs: no line to draw.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    series = component_series(runs)
    whole = series.get("whole run", [])
    if len(whole) < 2:
        raise ValueError(f"a scale plot needs two finished runs, got {len(whole)}")
    figure, axes = pyplot.subplots(figsize=(8, 5.5), dpi=110)
    for name, points in series.items():
        rows, seconds = zip(*points)
        style = {"linewidth": 2.5, "color": "black"} if name == "whole run" else {}
        axes.plot(rows, seconds, marker="o", label=name, **style)
        axes.annotate(
            f"{seconds[-1]:.0f} s",
            (rows[-1], seconds[-1]),
            fontsize=7,
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
        )
    (rows_low, seconds_low), rows_high = whole[0], whole[-1][0]
    axes.plot(
        [rows_low, rows_high],
        [seconds_low, seconds_low * rows_high / rows_low],
        linestyle=":",
        color="grey",
        label="in step with the rows",
    )
    axes.plot(
        [rows_high],
        [TIME_RATIO_TARGET * seconds_low],
        marker="*",
        markersize=12,
        linestyle="none",
        color="red",
        label=f"target: {TIME_RATIO_TARGET:g} x the smallest run",
    )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xticks([rows for rows, _ in whole])
    axes.set_xticklabels([f"{rows:,}" for rows, _ in whole])
    axes.set_xlabel("rows of CSV")
    axes.set_ylabel("seconds (log)")
    axes.set_title(title, fontsize=9)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path)
    pyplot.close(figure)
    return path
