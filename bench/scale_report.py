"""The scale section of results.md: 1x and 100x side by side, the floor, what holds back.

Each component's time at two scales is split into a fixed part (start-up, graph
construction: what it costs on no rows) and a part per row, from a straight line
through the two points. The time target, time(100x) <= 4 x time(1x), leaves the 100x
run three times the 1x run's time for its rows' work: the report says how much of the
1x run is fixed cost and which components spend more than their share on rows.
"""

from typing import Dict, List, Optional, Sequence

from bench import targets
from bench.markdown import fmt
from bench.markdown import machine_line
from bench.markdown import table

# Components less than this far beyond their share are left out of the breakdown.
MIN_EXCESS_SECONDS = 1.0


def cost_split(seconds_1x: float, rows_1x: int, seconds: float, rows: int) -> Dict[str, float]:
    """Returns `fixed_seconds` and `us_per_row` of the straight line through two runs.

    The fixed part is never below 0 s nor above the 1x time: noise between two runs
    can tilt the line either way.
    """
    if rows <= rows_1x:
        raise ValueError(f"the larger run must have more rows: {rows:,} against {rows_1x:,}")
    per_row = max(0.0, (seconds - seconds_1x) / (rows - rows_1x))
    fixed = min(seconds_1x, max(0.0, seconds_1x - per_row * rows_1x))
    return {"fixed_seconds": fixed, "us_per_row": per_row * 1e6}


def _status(run: dict) -> str:
    if run["returncode"] == 0:
        return "ok"
    return "timed out" if run.get("timed_out") else f"failed (exit {run['returncode']})"


def _runs_table(runs: Sequence[dict]) -> List[str]:
    rows = [
        [
            f"{run['scale']:g}x",
            f"{run['rows']:,}",
            fmt(run.get("eval_examples"), 0),
            fmt(run.get("trained_examples"), 0),
            fmt(run.get("epochs"), 1),
            fmt(run["wall_seconds"]),
            fmt(run["peak_rss_mb"], 0),
            fmt(run["kernel_peak_rss_mb"], 0),
            fmt(run["seconds_per_1k_rows"], 3),
            fmt(run["auc"], 4),
            _status(run),
        ]
        for run in runs
    ]
    headers = [
        "scale",
        "rows",
        "eval examples",
        "trained examples",
        "epochs",
        "wall s",
        "peak RSS MB (tree)",
        "largest process MB",
        "s per 1k rows",
        "AUC",
        "status",
    ]
    return table(headers, rows)


def _components_table(runs: Sequence[dict], compare: bool) -> List[str]:
    scales = [f"{run['scale']:g}x" for run in runs]
    figures = {}  # component id -> {scale: (seconds, peak MB)}, in the order they ran
    for run, scale in zip(runs, scales):
        for component in run["components"]:
            figures.setdefault(component["id"], {})[scale] = (
                component["seconds"],
                component.get("peak_rss_mb"),
            )
    headers = ["component"] + [f"{scale} {what}" for scale in scales for what in ("s", "peak MB")]
    if compare:
        headers.append(f"time {targets.SCALE_FACTOR}x / 1x")
    rows = []
    for component_id, values in figures.items():
        if not any((seconds or 0) >= 1 for seconds, _ in values.values()):
            continue
        row = [component_id]
        for scale in scales:
            seconds, peak = values.get(scale, (None, None))
            row += [fmt(seconds), fmt(peak, 0)]
        if compare:
            base = values.get("1x", (None,))[0]
            top = values.get(f"{targets.SCALE_FACTOR}x", (None,))[0]
            row.append(fmt(top / base, 1) if base and top is not None else "–")
        rows.append(row)
    return table(headers, rows)


def render(section: dict) -> List[str]:
    """Returns the lines of the scale section of results.md."""
    runs = section["runs"]
    by_scale = {run["scale"]: run for run in runs}
    small, big = by_scale.get(1), by_scale.get(targets.SCALE_FACTOR)
    compare = small is not None and big is not None
    ratios = [
        f"time({r['to']:g}x) / time({r['from']:g}x) = **{r['time_ratio']:.2f}** "
        f"for {r['rows_ratio']:g} x the rows"
        for r in section["time_ratios"]
    ]
    plot = section.get("plot")
    return [
        f"## Scale (`{section['source']}` resampled with noise by `data/make_scaled.py`)",
        "",
        machine_line(section),
        "One cold run per scale (one repetition, not a median). The Trainer trains for "
        "the family's length: in epochs, it grows with the data (trained examples, and "
        "epochs of the training split, below). Every noisy copy of a source row lies in "
        "that row's split (`make_scaled` with the run's hash buckets), so the eval AUC is "
        "measured on rows whose copies were not trained on.",
        "",
        *_runs_table(runs),
        "",
        *[f"- {line}" for line in ratios],
        "",
        "Seconds and peak RSS of the process tree per component, side by side "
        "(components under 1 s at every scale left out):",
        "",
        *_components_table(runs, compare),
        "",
        *([f"Seconds per component against rows: `{plot}`.", ""] if plot else []),
        *_floor(runs),
        *(breakdown(small, big) if compare else []),
    ]


def _floor(runs: Sequence[dict]) -> List[str]:
    lines = []
    for run in runs:
        floor = run.get("read_floor")
        if not floor:
            continue
        example_gen = next(
            (c["seconds"] for c in run["components"] if c["id"] == "CsvExampleGen"), None
        )
        times = (
            f"; CsvExampleGen took {fmt(example_gen)} s, {example_gen / floor['seconds']:,.0f} "
            "x the floor"
            if example_gen and floor["seconds"]
            else ""
        )
        lines.append(
            f"- {run['scale']:g}x: pyarrow {floor['pyarrow']} reads the CSV "
            f"({floor['bytes'] / 2**20:,.0f} MB, {floor['rows']:,} rows) in "
            f"{fmt(floor['seconds'], 2)} s with its own types on {floor['threads']} threads, "
            f"{fmt(floor['text_one_thread_seconds'], 2)} s as text on one thread{times}."
        )
    if not lines:
        return []
    return [
        "The floor: the same CSV read by pyarrow alone, best of 3, in its own process "
        "(`bench/read_floor.py`):",
        "",
        *lines,
        "",
    ]


def _fixed_cost_line(small: dict, big: dict, limit: float) -> Optional[str]:
    """Why the time target is hard: how much of the 1x run is fixed cost."""
    fixed = sum(
        cost_split(row["seconds_1x"], small["rows"], row["seconds"], big["rows"])["fixed_seconds"]
        for row in targets.component_excess(small, big)
    )
    components_1x = sum(c.get("seconds") or 0 for c in small.get("components", []))
    rest_1x = max(0.0, small["wall_seconds"] - components_1x)
    rest_big = max(0.0, big["wall_seconds"] - sum(c.get("seconds") or 0 for c in big["components"]))
    budget = limit * small["wall_seconds"]
    return (
        f"The 1x run took {fmt(small['wall_seconds'])} s: {fmt(fixed)} s of it the "
        f"components' fixed costs (each component's line through its two times, at 0 rows) "
        f"and {fmt(rest_1x)} s outside the components (the runner's start-up, imports, "
        f"ML Metadata; {fmt(rest_big)} s at {targets.SCALE_FACTOR}x). The target allows "
        f"{fmt(budget)} s at {targets.SCALE_FACTOR}x, so about "
        f"{fmt(budget - small['wall_seconds'])} s for the work on "
        f"{big['rows'] - small['rows']:,} more rows; the {targets.SCALE_FACTOR}x run spent "
        f"{fmt(big['wall_seconds'] - small['wall_seconds'])} s on them."
    )


def breakdown(small: dict, big: dict) -> List[str]:
    """What holds the scale targets back: components over their share, and why."""
    if small["returncode"] != 0 or big["returncode"] != 0:
        return []
    limit = targets.MAX_TIME_RATIO_TO_1X
    lines = []
    for row in targets.component_excess(small, big):
        if row["excess"] < MIN_EXCESS_SECONDS:
            continue
        split = cost_split(row["seconds_1x"], small["rows"], row["seconds"], big["rows"])
        per_row_part = split["us_per_row"] * big["rows"] / 1e6
        lines.append(
            f"- **{row['id']}**: {fmt(row['seconds'])} s at {targets.SCALE_FACTOR}x against "
            f"{fmt(row['seconds_1x'])} s at 1x ({fmt(row['ratio'], 1)} x for "
            f"{big['rows'] / small['rows']:,.0f} x the rows), {fmt(row['excess'])} s beyond "
            f"{limit:g} x its 1x time. Why: {fmt(split['us_per_row'], 0)} us a row, "
            f"{fmt(per_row_part)} s of work on the rows at {targets.SCALE_FACTOR}x, "
            f"against a fixed {fmt(split['fixed_seconds'])} s."
        )
    held = targets.holdups(small, big)
    if not lines and not held.get("memory"):
        return []
    ratio = big["wall_seconds"] / small["wall_seconds"]
    if not lines:
        head = ["Every component stays within its share of the time target."]
    elif ratio <= limit:
        head = [
            f"time({targets.SCALE_FACTOR}x) / time(1x) = {ratio:.2f}, within {limit:g}; "
            f"the components beyond {limit:g} x their own 1x time, most first:"
        ]
    else:
        head = [
            f"Where time({targets.SCALE_FACTOR}x) <= {limit:g} x time(1x) is lost (measured "
            f"{ratio:.2f} x): the components beyond {limit:g} x their own 1x time, most "
            "first.",
            "",
            _fixed_cost_line(small, big, limit),
        ]
    memory = (
        [f"Peak memory at {targets.SCALE_FACTOR}x was reached during {held['memory']}."]
        if held.get("memory")
        else []
    )
    return [*head, "", *lines, "", *memory, ""]
