"""The Evaluator's output: metrics per slice, per class, plots, thresholds, the verdict.

What is read depends on the task (the family's facts, `task`): every task has its
overall metrics per slice; a binary classifier its calibration; a multi-class one its
precision and recall per class and its confusion matrix, with the class names.
"""

import collections
import json
import math
import os
from typing import Dict, List, Mapping, Optional, Sequence

from google.protobuf import json_format

from components.evaluation import metric_name
from components.run_report.readers import ReportInputError

EVAL_CONFIG_FILE = "eval_config.json"
BLESSED_FILE = "BLESSED"
NOT_BLESSED_FILE = "NOT_BLESSED"
OVERALL = "Overall"
CONFUSION_MATRIX = "multi_class_confusion_matrix_plot"
CANDIDATE = "candidate"
# The task kinds, as `modules.common.tasks` names them in a family's facts.
BINARY = "binary"
MULTICLASS = "multiclass"
REGRESSION = "regression"


def slice_name(slice_key) -> str:
    """Returns 'Overall' or 'column = value' for a TFMA SliceKey proto."""
    parts = []
    for key in slice_key.single_slice_keys:
        value = getattr(key, key.WhichOneof("kind")) if key.WhichOneof("kind") else ""
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        parts.append(f"{key.column} = {value}")
    return ", ".join(parts) or OVERALL


def _slice_order(name: str):
    if name == OVERALL:
        return (0, "", 0, "")
    column, _, value = name.partition(" = ")
    try:
        return (1, column, 0, float(value))
    except ValueError:
        return (1, column, 1, value)


def _values(per_slice, candidate: str):
    """Yields (model, key, value) of a slice's numeric metrics, differences left out."""
    for key_and_value in per_slice.metric_keys_and_values:
        key = key_and_value.key
        if key.is_diff or not key_and_value.value.HasField("double_value"):
            continue
        yield key.model_name or candidate, key, key_and_value.value.double_value.value


def slice_metrics(
    evaluation_uri: str, candidate: str = CANDIDATE, metric_names: Optional[Sequence[str]] = None
) -> List[dict]:
    """Returns [{"slice", "models": {model: {metric: value}}}], overall first.

    Metrics are named by `components.evaluation.metric_name` (`macro_auc`); per-class
    values are left out. TFMA reports some metrics twice for an EvalSavedModel (the
    model's own and TFMA's, which carries `example_weighted`); TFMA's wins.
    """
    import tensorflow_model_analysis as tfma

    rows = []
    for per_slice in tfma.load_metrics(evaluation_uri):
        models = collections.defaultdict(dict)
        weighted = collections.defaultdict(set)
        for model, key, value in _values(per_slice, candidate):
            name = metric_name(key)
            if (
                "/" in name
                or key.HasField("sub_key")
                or (metric_names and name not in metric_names)
            ):
                continue
            is_weighted = key.HasField("example_weighted")
            if name in weighted[model] and not is_weighted:
                continue
            models[model][name] = value
            if is_weighted:
                weighted[model].add(name)
        rows.append({"slice": slice_name(per_slice.slice_key), "models": dict(models)})
    rows.sort(key=lambda row: _slice_order(row["slice"]))
    return rows


def class_metrics(
    evaluation_uri: str, classes: Sequence[str], candidate: str = CANDIDATE
) -> Dict[str, List[dict]]:
    """Per class, on the overall slice: {model: [{"class", "precision", "recall"}]}.

    TFMA keys a binarized metric by `sub_key.class_id`; class id i is `classes[i]`.
    """
    import tensorflow_model_analysis as tfma

    found = collections.defaultdict(lambda: collections.defaultdict(dict))
    for per_slice in tfma.load_metrics(evaluation_uri):
        if per_slice.slice_key.single_slice_keys:
            continue
        for model, key, value in _values(per_slice, candidate):
            if key.sub_key.HasField("class_id") and key.name in ("precision", "recall"):
                found[model][key.sub_key.class_id.value][key.name] = value
    return {
        model: [
            {"class": _class_name(classes, class_id), **values}
            for class_id, values in sorted(by_class.items())
        ]
        for model, by_class in found.items()
    }


def _class_name(classes: Sequence[str], class_id: int) -> str:
    return classes[class_id] if 0 <= class_id < len(classes) else f"class {class_id}"


def _overall_plots(evaluation_uri: str, candidate: str):
    """Yields (model, plot name, PlotData) of the overall slice."""
    import tensorflow_model_analysis as tfma

    for per_slice in tfma.load_plots(evaluation_uri):
        if per_slice.slice_key.single_slice_keys:
            continue
        for key_and_value in per_slice.plot_keys_and_values:
            key = key_and_value.key
            yield key.model_name or candidate, key.name, key_and_value.value


def confusion_matrices(
    evaluation_uri: str, classes: Sequence[str], candidate: str = CANDIDATE
) -> Dict[str, dict]:
    """The overall slice's confusion matrix per model, rows actual, columns predicted.

    Returns {model: {"classes": [...], "counts": [[...]]}} from TFMA's
    `multi_class_confusion_matrix_plot` (its first threshold, the most likely class).
    """
    result = {}
    for model, name, plot in _overall_plots(evaluation_uri, candidate):
        matrices = plot.multi_class_confusion_matrix_at_thresholds.matrices
        if name != CONFUSION_MATRIX or not matrices:
            continue
        entries = matrices[0].entries
        ids = {e.actual_class_id for e in entries} | {e.predicted_class_id for e in entries}
        size = max([len(classes)] + [i + 1 for i in ids if i >= 0])
        counts = [[0.0] * size for _ in range(size)]
        for entry in entries:
            if 0 <= entry.actual_class_id < size and 0 <= entry.predicted_class_id < size:
                counts[entry.actual_class_id][entry.predicted_class_id] += (
                    entry.num_weighted_examples
                )
        result[model] = {
            "classes": [_class_name(classes, i) for i in range(size)],
            "counts": counts,
        }
    return result


def calibration(
    evaluation_uri: str, bins: int = 10, candidate: str = CANDIDATE
) -> Dict[str, List[dict]]:
    """Re-bins TFMA's calibration histogram of the overall slice into `bins` bins.

    Returns {model: [{"low", "high", "examples", "mean_prediction",
    "observed_rate"}]}, empty bins left out. TFMA's buckets (about 1,000, plus one
    below 0 and one above 1) are summed by where their lower bound falls.
    """
    result = {}
    for model, _, plot in _overall_plots(evaluation_uri, candidate):
        buckets = plot.calibration_histogram_buckets.buckets
        if not buckets:
            continue
        sums = [[0.0, 0.0, 0.0] for _ in range(bins)]
        for bucket in buckets:
            low = bucket.lower_threshold_inclusive
            index = (
                min(bins - 1, max(0, int(math.floor(low * bins))))
                if math.isfinite(low)
                else (0 if low < 0 else bins - 1)
            )
            sums[index][0] += bucket.num_weighted_examples.value
            sums[index][1] += bucket.total_weighted_label.value
            sums[index][2] += bucket.total_weighted_refined_prediction.value
        result[model] = [
            {
                "low": i / bins,
                "high": (i + 1) / bins,
                "examples": n,
                "mean_prediction": prediction / n,
                "observed_rate": label / n,
            }
            for i, (n, label, prediction) in enumerate(sums)
            if n > 0
        ]
    return result


def load_eval_config(evaluation_uri: str):
    """Returns the `tfma.EvalConfig` the Evaluator wrote beside its results."""
    import tensorflow_model_analysis as tfma

    path = os.path.join(evaluation_uri, EVAL_CONFIG_FILE)
    with open(path) as config_file:
        try:
            data = json.load(config_file)
        except json.JSONDecodeError as error:
            raise ReportInputError(
                f"{path}: line {error.lineno}, column {error.colno}: {error.msg}"
            ) from None
    return json_format.ParseDict(
        data.get("evalConfig", {}), tfma.EvalConfig(), ignore_unknown_fields=True
    )


def _slicing_text(specs) -> str:
    names = [", ".join(spec.feature_keys) or "overall" for spec in specs]
    return " and ".join(names) or "every"


def _describe(name: str, threshold, where: str) -> List[str]:
    import tensorflow_model_analysis as tfma

    lines = []
    if threshold.HasField("value_threshold"):
        bound = threshold.value_threshold
        if bound.HasField("lower_bound"):
            lines.append(f"{name} at least {bound.lower_bound.value:g} ({where} slice)")
        if bound.HasField("upper_bound"):
            lines.append(f"{name} at most {bound.upper_bound.value:g} ({where} slice)")
    if threshold.HasField("change_threshold"):
        change = threshold.change_threshold
        if change.HasField("absolute"):
            allowed = abs(change.absolute.value)
            higher_is_better = change.direction == tfma.MetricDirection.HIGHER_IS_BETTER
            worse = "below" if higher_is_better else "above"
            lines.append(
                f"{name} no more than {allowed:g} {worse} the baseline's "
                f"({where} slice; checked once a baseline exists)"
            )
    return lines


def thresholds(eval_config) -> List[str]:
    """Returns the eval config's thresholds as readable lines."""
    lines = []
    for spec in eval_config.metrics_specs:
        macro = " (macro average)" if spec.aggregate.macro_average else ""
        for metric in spec.metrics:
            name = metric.class_name + macro
            if metric.HasField("threshold"):
                lines.extend(_describe(name, metric.threshold, "every"))
            for per_slice in metric.per_slice_thresholds:
                lines.extend(
                    _describe(name, per_slice.threshold, _slicing_text(per_slice.slicing_specs))
                )
        for name, threshold in spec.thresholds.items():
            lines.extend(_describe(name + macro, threshold, "every"))
    return lines


def blessing_reasons(evaluation_uri: str) -> List[str]:
    """Returns one readable line per failed threshold (empty when all passed)."""
    import tensorflow_model_analysis as tfma

    result = tfma.load_validation_result(evaluation_uri)
    reasons = []
    for per_slice in result.metric_validations_per_slice:
        for failure in per_slice.failures:
            name = metric_name(failure.metric_key)
            value = failure.metric_value.double_value.value
            threshold = failure.metric_threshold
            if failure.metric_key.is_diff:
                bound = threshold.change_threshold.absolute.value
                reasons.append(
                    f"{name} changed by {value:+.4f} against the baseline, "
                    f"more than the allowed {bound:+.4f}"
                )
            elif (
                threshold.value_threshold.HasField("upper_bound")
                and value > threshold.value_threshold.upper_bound.value
            ):
                # A lower-is-better metric (a regression's RMSE) above its bound.
                bound = threshold.value_threshold.upper_bound.value
                reasons.append(f"{name} {value:.4f} is above the threshold {bound:.4f}")
            else:
                bound = threshold.value_threshold.lower_bound.value
                reasons.append(f"{name} {value:.4f} is below the threshold {bound:.4f}")
    return reasons


def verdict(blessing_uri: Optional[str]) -> Optional[bool]:
    """True (BLESSED), False (NOT_BLESSED) or None (no blessing folder, or neither)."""
    if blessing_uri:
        if os.path.exists(os.path.join(blessing_uri, BLESSED_FILE)):
            return True
        if os.path.exists(os.path.join(blessing_uri, NOT_BLESSED_FILE)):
            return False
    return None


def evaluation_section(
    evaluation_uri: str,
    blessing_uri: Optional[str],
    task: Mapping,
    candidate: str = CANDIDATE,
    baseline: str = "baseline",
) -> dict:
    """Metrics per slice for candidate and baseline, what the task adds, the verdict.

    Args:
      evaluation_uri: the Evaluator's `evaluation` folder.
      blessing_uri: its `blessing` folder (None if there is none).
      task: the task's facts: "kind", "classes", "metric_names", "metric_labels",
        "blessing" (its "metric", "direction", "bound", "max_change").
      candidate, baseline: the model names of the eval config.
    """
    metric_names = list(task.get("metric_names") or [])
    rows = slice_metrics(evaluation_uri, candidate, metric_names or None)
    models = sorted({m for row in rows for m in row["models"]}, key=lambda m: (m != candidate, m))
    names = []
    for row in rows:
        for values in row["models"].values():
            names.extend(n for n in values if n not in names)
    if metric_names:
        names = [n for n in metric_names if n in names]
    kind = task.get("kind")
    classes = list(task.get("classes") or [])
    return {
        "kind": kind,
        "slices": rows,
        "models": models,
        "metric_names": names,
        # Readable names where the task gives them ("RMSE"), else TFMA's.
        "metric_labels": {n: (task.get("metric_labels") or {}).get(n, n) for n in names},
        "has_baseline": baseline in models,
        "candidate": candidate,
        "baseline": baseline,
        "blessing": dict(task.get("blessing") or {}),
        "calibration": calibration(evaluation_uri, candidate=candidate) if kind == BINARY else {},
        "classes": classes,
        "class_metrics": class_metrics(evaluation_uri, classes, candidate)
        if kind == MULTICLASS
        else {},
        "confusion": confusion_matrices(evaluation_uri, classes, candidate)
        if kind == MULTICLASS
        else {},
        "thresholds": thresholds(load_eval_config(evaluation_uri)),
        "blessed": verdict(blessing_uri),
        "reasons": blessing_reasons(evaluation_uri),
    }
