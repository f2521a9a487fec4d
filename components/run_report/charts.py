"""The report's charts: matplotlib figures (Agg) returned as embedded PNG data URIs.

Figures are built with `matplotlib.figure.Figure`, not pyplot, so no global state or
display is involved and nothing needs closing.
"""

import base64
import io
from typing import Dict, List, Mapping, Optional, Sequence

from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter
from matplotlib.ticker import MaxNLocator

# Colors per split, per model, per component state.
SPLIT_COLORS = {"train": "#1f77b4", "eval": "#ff7f0e"}
MODEL_COLORS = {"candidate": "#1f77b4", "baseline": "#7f7f7f"}
STATE_COLORS = {"executed": "#2ca02c", "cached": "#9ecae1", "failed": "#d62728"}
_DPI = 96


def data_uri(figure: Figure) -> str:
    """Returns the figure as a `data:image/png;base64,...` URI."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(width: float, height: float, margins: Optional[Mapping] = None) -> Figure:
    # Fixed margins draw once; the constrained layout measures every label first.
    if margins:
        figure = Figure(figsize=(width, height))
        figure.subplots_adjust(**margins)
        return figure
    return Figure(figsize=(width, height), layout="constrained")


def _style(axes) -> None:
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(labelsize=8)
    axes.grid(True, alpha=0.3, linewidth=0.5)


def timeline(components: Sequence[Mapping]) -> Optional[str]:
    """A Gantt chart of the components: when each started and how long it took.

    `components` carry `id`, `state`, `start` and `end` (seconds since the run began).
    """
    shown = [c for c in components if c.get("start") is not None]
    if not shown:
        return None
    figure = _figure(11, 0.24 * len(shown) + 0.8)
    axes = figure.add_subplot()
    for row, component in enumerate(shown):
        length = max(component["end"] - component["start"], 0.05)
        axes.barh(
            row,
            length,
            left=component["start"],
            height=0.6,
            color=STATE_COLORS.get(component["state"], "#bbbbbb"),
        )
        seconds = component["end"] - component["start"]
        axes.text(component["start"] + length, row, f" {seconds:.1f} s", va="center", fontsize=7)
    axes.set_yticks(range(len(shown)), [c["id"] for c in shown], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("seconds since the run started", fontsize=8)
    _style(axes)
    states = [s for s in STATE_COLORS if any(c["state"] == s for c in shown)]
    axes.legend(
        handles=[Patch(color=STATE_COLORS[s], label=s) for s in states],
        ncols=len(states),
        fontsize=7,
        loc="upper right",
        frameon=False,
    )
    return data_uri(figure)


def feature_histogram(feature: Mapping) -> Optional[str]:
    """Train against eval for one feature: shares of examples per bucket or value."""
    splits = feature["splits"]
    kinds = {stats.get("kind") for stats in splits.values()}
    # Categories' labels take up to 18 characters on the left.
    figure = _figure(
        3.3,
        1.7,
        dict(left=0.42 if kinds == {"categorical"} else 0.16, right=0.93, bottom=0.22, top=0.96),
    )
    axes = figure.add_subplot()
    drawn = False
    if kinds == {"numeric"}:
        for split, stats in splits.items():
            buckets = stats.get("histogram") or []
            total = sum(b[2] for b in buckets)
            if not total:
                continue
            edges = [buckets[0][0]] + [b[1] for b in buckets]
            shares = [b[2] / total for b in buckets]
            axes.stairs(shares, edges, label=split, linewidth=1.4, color=SPLIT_COLORS.get(split))
            drawn = True
        axes.set_ylabel("share", fontsize=7)
        # Plain tick labels: census tracts or timestamps otherwise get an offset.
        axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:.6g}"))
        axes.xaxis.set_major_locator(MaxNLocator(3))
    elif kinds == {"categorical"}:
        reference = next(iter(splits.values()))
        values = [v for v, _ in reference.get("top_values", [])[:6]]
        if values:
            width = 0.8 / len(splits)
            for index, (split, stats) in enumerate(splits.items()):
                frequencies = dict((v, f) for v, f in stats.get("top_values", []))
                count = stats["count"] or 1
                axes.barh(
                    [i + index * width for i in range(len(values))],
                    [frequencies.get(v, 0) / count for v in values],
                    height=width,
                    label=split,
                    color=SPLIT_COLORS.get(split),
                )
            axes.set_yticks(
                [i + width * (len(splits) - 1) / 2 for i in range(len(values))],
                [v if len(v) <= 18 else v[:17] + "…" for v in values],
                fontsize=6,
            )
            axes.invert_yaxis()
            axes.set_xlabel("share", fontsize=7)
            drawn = True
    if not drawn:
        return None
    _style(axes)
    axes.legend(fontsize=6, frameon=False)
    return data_uri(figure)


def training_curves(train: Mapping[str, List], evaluation: Mapping[str, List]) -> List[dict]:
    """One chart per metric the Estimator recorded: train as a line, eval as points.

    Returns [{"metric", "image"}], loss first.
    """
    names = sorted(set(train) | set(evaluation), key=lambda n: (n != "loss", n))
    charts = []
    for name in names:
        figure = _figure(4.2, 2.4)
        axes = figure.add_subplot()
        if name in train:
            steps, values = zip(*train[name], strict=True)
            axes.plot(
                steps,
                values,
                marker="." if len(steps) < 30 else None,
                color=SPLIT_COLORS["train"],
                label="train",
            )
        if name in evaluation:
            steps, values = zip(*evaluation[name], strict=True)
            axes.plot(
                steps, values, marker="o", linestyle="--", color=SPLIT_COLORS["eval"], label="eval"
            )
        last = max(
            point[0]
            for series in (train.get(name, []), evaluation.get(name, []))
            for point in series
        )
        axes.set_xlim(0, max(last, 1) * 1.05)
        axes.set_title(name, fontsize=9)
        axes.set_xlabel("step", fontsize=8)
        _style(axes)
        axes.legend(fontsize=7, frameon=False)
        charts.append({"metric": name, "image": data_uri(figure)})
    return charts


def reliability_diagram(calibration: Mapping[str, List[Mapping]]) -> Optional[str]:
    """Observed positive rate against mean prediction per bin, for each model."""
    if not calibration:
        return None
    figure = _figure(4.6, 3.6)
    axes, counts = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    axes.plot(
        [0, 1], [0, 1], color="#999999", linestyle=":", linewidth=1, label="perfectly calibrated"
    )
    width = 0.1 / max(len(calibration), 1)
    for index, (model, bins) in enumerate(sorted(calibration.items())):
        color = MODEL_COLORS.get(model)
        axes.plot(
            [b["mean_prediction"] for b in bins],
            [b["observed_rate"] for b in bins],
            marker="o",
            markersize=4,
            color=color,
            label=model,
        )
        counts.bar(
            [b["low"] + width * (index + 0.5) for b in bins],
            [b["examples"] for b in bins],
            width=width * 0.9,
            color=color,
        )
    axes.set_ylabel("observed rate", fontsize=8)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.legend(fontsize=7, frameon=False, loc="upper left")
    counts.set_xlabel("predicted probability", fontsize=8)
    counts.set_ylabel("examples", fontsize=8)
    _style(axes)
    _style(counts)
    return data_uri(figure)


def regression_charts(predictions: Optional[Mapping]) -> Dict[str, Optional[str]]:
    """Predicted against actual (the diagonal is a perfect model) and the residuals."""
    if not predictions or not predictions.get("points"):
        return {"scatter": None, "residuals": None}
    actual = [a for a, _ in predictions["points"]]
    predicted = [p for _, p in predictions["points"]]
    low, high = min(actual + predicted), max(actual + predicted)
    scatter = _figure(4.2, 3.6)
    axes = scatter.add_subplot()
    axes.plot(
        [low, high],
        [low, high],
        color="#999999",
        linestyle=":",
        linewidth=1,
        label="predicted = actual",
    )
    axes.scatter(
        actual, predicted, s=9, alpha=0.6, color=MODEL_COLORS["candidate"], label="pushed model"
    )
    baseline = predictions.get("mean_baseline")
    if baseline:
        axes.axhline(
            baseline["train_mean"],
            color="#ff7f0e",
            linewidth=1,
            linestyle="--",
            label="training mean",
        )
    axes.set_xlabel("actual", fontsize=8)
    axes.set_ylabel("predicted", fontsize=8)
    _style(axes)
    axes.legend(fontsize=7, frameon=False, loc="upper left")
    residuals = _figure(4.2, 3.6)
    axes = residuals.add_subplot()
    axes.hist([p - a for a, p in predictions["points"]], bins=30, color=MODEL_COLORS["candidate"])
    axes.axvline(0, color="#999999", linestyle=":", linewidth=1)
    axes.set_xlabel("residual (predicted - actual)", fontsize=8)
    axes.set_ylabel("examples", fontsize=8)
    _style(axes)
    return {"scatter": data_uri(scatter), "residuals": data_uri(residuals)}


def slice_chart(rows: Sequence[Mapping], metric: str, models: Sequence[str]) -> Optional[str]:
    """One metric per slice: a dot per model on one line per slice."""
    rows = [r for r in rows if any(metric in r["models"].get(m, {}) for m in models)]
    if not rows:
        return None
    figure = _figure(5.2, 0.17 * len(rows) + 0.9)
    axes = figure.add_subplot()
    positions = range(len(rows))
    for model in reversed(list(models)):
        axes.plot(
            [r["models"].get(model, {}).get(metric, float("nan")) for r in rows],
            positions,
            "o",
            markersize=4,
            color=MODEL_COLORS.get(model),
            label=model,
        )
    axes.set_yticks(positions, [r["slice"] for r in rows], fontsize=7)
    axes.set_ylim(len(rows) - 0.5, -0.5)
    axes.set_xlabel(metric, fontsize=8)
    _style(axes)
    axes.legend(fontsize=7, frameon=False, loc="lower left")
    return data_uri(figure)


def all_charts(page: Mapping) -> Dict[str, object]:
    """Every chart of a report's sections (see `render.render_page`), by place."""
    charts: Dict[str, object] = {}
    run = page.get("run") or {}
    charts["timeline"] = timeline(run.get("components", []))
    data = page.get("data")
    if data:
        charts["features"] = {f["name"]: feature_histogram(f) for f in data["features"]}
    training = page.get("training")
    if training:
        charts["training"] = training_curves(training["train"], training["eval"])
    evaluation = page.get("evaluation")
    if evaluation:
        charts["reliability"] = reliability_diagram(evaluation["calibration"])
        charts["regression"] = regression_charts(evaluation.get("predictions"))
        # The metric that blesses, else the first shown.
        names = evaluation["metric_names"]
        blessing_metric = (evaluation.get("blessing") or {}).get("metric")
        main_metric = blessing_metric if blessing_metric in names else (names or [None])[0]
        charts["slices"] = (
            slice_chart(evaluation["slices"], main_metric, evaluation["models"])
            if main_metric
            else None
        )
        charts["slice_metric"] = main_metric
    return charts
