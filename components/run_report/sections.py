"""The data of each report section, read from artifact folders into plain dicts.

Every function takes folder paths (the `uri` of an artifact) and a model family's
facts as arguments, and returns JSON-able values: the charts and the page are made
from them elsewhere (`charts.py`, `render.py`).
"""

import collections
import glob
import json
import math
import os
import re
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

from google.protobuf import json_format
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tensorflow_metadata.proto.v0 import statistics_pb2

from components.data_gate import report as gate_report

# File names the standard components write inside their artifact folders.
STATISTICS_FILE = "FeatureStats.pb"
ANOMALIES_FILE = "SchemaDiff.pb"
EVAL_CONFIG_FILE = "eval_config.json"
TUNER_RESULTS_FILE = "tuner_results.json"
BLESSED_FILE = "BLESSED"
NOT_BLESSED_FILE = "NOT_BLESSED"
SAVED_MODEL_FILE = "saved_model.pb"
OVERALL = "Overall"
# Scalars an Estimator writes that say nothing about the model.
_SKIPPED_TAGS = ("global_step/sec", "checkpoint_path")


class ReportInputError(ValueError):
    """An artifact folder does not hold what its kind of artifact should."""


def _splits(uri: str, file_name: str) -> Dict[str, str]:
    """Returns {split name: file path} for `Split-<name>/<file_name>` under `uri`."""
    found = {}
    for path in sorted(glob.glob(os.path.join(uri, "Split-*", file_name))):
        found[os.path.basename(os.path.dirname(path))[len("Split-"):]] = path
    if not found:
        raise ReportInputError(f"{uri}: no Split-*/{file_name} in this folder.")
    return found


# --- the data -----------------------------------------------------------------------------

def _common(feature: statistics_pb2.FeatureNameStatistics):
    kind = feature.WhichOneof("stats")
    return getattr(feature, kind).common_stats if kind else statistics_pb2.CommonStatistics()


def _feature_split(feature: statistics_pb2.FeatureNameStatistics, num_examples: int) -> dict:
    common = _common(feature)
    present = int(common.num_non_missing)
    result = {
        "type": statistics_pb2.FeatureNameStatistics.Type.Name(feature.type),
        "count": present,
        "missing": int(num_examples - present),
        "missing_share": (num_examples - present) / num_examples if num_examples else 0.0,
    }
    if feature.HasField("num_stats"):
        stats = feature.num_stats
        result.update(kind="numeric", min=stats.min, mean=stats.mean, max=stats.max,
                      std=stats.std_dev, median=stats.median, zeros=int(stats.num_zeros))
        for histogram in stats.histograms:
            if histogram.type == statistics_pb2.Histogram.STANDARD:
                result["histogram"] = [[b.low_value, b.high_value, b.sample_count]
                                       for b in histogram.buckets]
            elif histogram.type == statistics_pb2.Histogram.QUANTILES and histogram.buckets:
                # The middle quantile boundary: the median when TFDV did not store one.
                middle = histogram.buckets[len(histogram.buckets) // 2]
                result.setdefault("quantile_median", middle.low_value)
    elif feature.HasField("string_stats"):
        stats = feature.string_stats
        result.update(kind="categorical", unique=int(stats.unique),
                      top_values=[[v.value, v.frequency] for v in stats.top_values])
    else:
        result["kind"] = "other"
    return result


def load_statistics(statistics_uri: str) -> Dict[str, statistics_pb2.DatasetFeatureStatistics]:
    """Returns {split: DatasetFeatureStatistics} from a StatisticsGen output folder."""
    result = {}
    for split, path in _splits(statistics_uri, STATISTICS_FILE).items():
        with open(path, "rb") as stats_file:
            stats_list = statistics_pb2.DatasetFeatureStatisticsList.FromString(stats_file.read())
        if not stats_list.datasets:
            raise ReportInputError(f"{path}: the statistics hold no data set.")
        result[split] = stats_list.datasets[0]
    return result


def data_section(statistics_uri: str) -> dict:
    """Per feature and split: count, missing, min/mean/max or top values, histogram.

    Returns {"splits": {split: examples}, "features": [{"name", "splits": {split:
    {...}}}]}, features in name order, splits in the order train, eval, others.
    """
    by_split = load_statistics(statistics_uri)
    order = sorted(by_split, key=lambda s: ({"train": 0, "eval": 1}.get(s, 2), s))
    features = collections.defaultdict(dict)
    for split in order:
        dataset = by_split[split]
        for feature in dataset.features:
            name = ".".join(feature.path.step) or feature.name
            features[name][split] = _feature_split(feature, dataset.num_examples)
    return {
        "splits": {split: int(by_split[split].num_examples) for split in order},
        "features": [{"name": name, "splits": features[name]} for name in sorted(features)],
    }


def typical_row(data: dict, split: str = "train",
                leave_out: Iterable[str] = ()) -> Dict[str, str]:
    """Returns one plausible raw row, as CSV text per column, from the statistics.

    Numbers take the median (rounded for integer columns), categories their most
    frequent value; columns entirely missing and `leave_out` (the label's sources)
    are left out.
    """
    skipped = set(leave_out)
    row = {}
    for feature in data["features"]:
        stats = feature["splits"].get(split)
        if feature["name"] in skipped or not stats or not stats["count"]:
            continue
        if stats["kind"] == "numeric":
            value = stats.get("median") or stats.get("quantile_median", stats["mean"])
            row[feature["name"]] = (str(int(round(value))) if stats["type"] == "INT"
                                    else f"{value:.6g}")
        elif stats["kind"] == "categorical" and stats["top_values"]:
            row[feature["name"]] = stats["top_values"][0][0]
    return row


# --- anomalies ----------------------------------------------------------------------------

def load_anomalies(anomalies_uri: str) -> Dict[str, anomalies_pb2.Anomalies]:
    """Returns {split: Anomalies} from an ExampleValidator output folder."""
    result = {}
    for split, path in _splits(anomalies_uri, ANOMALIES_FILE).items():
        with open(path, "rb") as anomalies_file:
            result[split] = anomalies_pb2.Anomalies.FromString(anomalies_file.read())
    return result


def anomalies_section(anomalies_uri: str, blocking_kinds: Iterable[str],
                      stopped: bool = False) -> dict:
    """The validator's findings, each marked blocking or not, and what to do.

    Args:
      anomalies_uri: ExampleValidator's output folder.
      blocking_kinds: the TFDV anomaly kinds that stop a run (the gate's parameter).
      stopped: whether the run stopped at the gate.
    """
    findings = gate_report.findings(load_anomalies(anomalies_uri), blocking_kinds)
    findings.sort(key=lambda f: (not f["blocking"], f["column"], f["split"]))
    blocking = [f for f in findings if f["blocking"]]
    return {
        "findings": findings,
        "blocking": len(blocking),
        "stopped": stopped,
        "advice": gate_report.WHAT_TO_DO if blocking else "",
        "blocking_kinds": sorted(blocking_kinds),
    }


# --- training -----------------------------------------------------------------------------

def _scalar(value) -> Optional[float]:
    kind = value.WhichOneof("value")
    if kind == "simple_value":
        return float(value.simple_value)
    if kind == "tensor" and value.tensor.dtype in (1, 2) and not value.tensor.tensor_shape.dim:
        # DT_FLOAT or DT_DOUBLE scalars written by TF2 summaries.
        if value.tensor.float_val:
            return float(value.tensor.float_val[0])
        if value.tensor.double_val:
            return float(value.tensor.double_val[0])
        import numpy as np
        dtype = np.float32 if value.tensor.dtype == 1 else np.float64
        return float(np.frombuffer(value.tensor.tensor_content, dtype=dtype)[0])
    return None


def _metric_name(tag: str) -> str:
    # Keras through the Estimator names the training loss `loss_1`.
    head, _, tail = tag.rpartition("_")
    return head if head and tail.isdigit() else tag


def read_scalars(event_files: Iterable[str]) -> Dict[str, List[List[float]]]:
    """Returns {metric: [[step, value], ...]} of the scalar summaries in event files."""
    from tensorflow.core.util import event_pb2
    from tensorflow.python.lib.io import tf_record

    series = collections.defaultdict(dict)
    for path in event_files:
        for record in tf_record.tf_record_iterator(path):
            event = event_pb2.Event.FromString(record)
            for value in event.summary.value:
                if value.tag in _SKIPPED_TAGS:
                    continue
                number = _scalar(value)
                if number is not None and math.isfinite(number):
                    series[_metric_name(value.tag)][int(event.step)] = number
    return {name: sorted([step, v] for step, v in points.items())
            for name, points in sorted(series.items())}


def find_event_files(model_run_uri: str) -> Dict[str, List[str]]:
    """Returns {"train": [...], "eval": [...]} event files of an Estimator's model_run.

    Training summaries lie in the model folder, evaluation summaries in its
    `eval*/` subfolders; exported models hold none.
    """
    found = {"train": [], "eval": []}
    for root, dirs, files in os.walk(model_run_uri):
        dirs[:] = sorted(d for d in dirs if d != "export")
        for name in sorted(files):
            if name.startswith("events.out.tfevents."):
                kind = "eval" if os.path.basename(root).startswith("eval") else "train"
                found[kind].append(os.path.join(root, name))
    return found


def read_tuning_trials(tuner_results_uri: str) -> List[dict]:
    """Returns the Tuner's trials (`tuner_results.json`: id, score, values), best first."""
    path = os.path.join(tuner_results_uri, TUNER_RESULTS_FILE)
    try:
        with open(path) as results_file:
            trials = json.load(results_file)
    except json.JSONDecodeError as error:
        raise ReportInputError(f"{path}: line {error.lineno}, column {error.colno}: "
                               f"{error.msg}") from None
    if not isinstance(trials, list):
        raise ReportInputError(f"{path}: expected a list of trials, found "
                               f"{type(trials).__name__}.")
    return trials


def training_section(model_run_uri: str, hparam_defaults: Mapping[str, object],
                     hparam_overrides: Mapping[str, object],
                     tuner_results_uri: Optional[str] = None,
                     train_steps: Optional[int] = None,
                     hparam_tuned: Optional[Mapping[str, object]] = None,
                     tuned_source: str = "tuned") -> dict:
    """Loss and metrics against the step (train and eval), hyperparameters, trials.

    Args:
      model_run_uri: the Trainer's `model_run` folder.
      hparam_defaults: the model family's default hyperparameters.
      hparam_overrides: what the pipeline set on top of them.
      tuner_results_uri: a Tuner's `tuner_results` folder, when one ran.
      train_steps: the training steps asked for.
      hparam_tuned: a Tuner's best values the Trainer took (between the defaults and
        the pipeline's settings), with `tuned_source` saying where they came from.
    """
    files = find_event_files(model_run_uri)
    hparam_tuned = hparam_tuned or {}
    hparams = []
    for name in sorted(set(hparam_defaults) | set(hparam_tuned) | set(hparam_overrides)):
        for values, source in ((hparam_overrides, "pipeline setting"),
                               (hparam_tuned, tuned_source),
                               (hparam_defaults, "family default")):
            if name in values:
                hparams.append({"name": name, "value": json.dumps(values[name]),
                                "source": source})
                break
    return {
        "train": read_scalars(files["train"]),
        "eval": read_scalars(files["eval"]),
        "event_files": sum(len(v) for v in files.values()),
        "hparams": hparams,
        "trials": read_tuning_trials(tuner_results_uri) if tuner_results_uri else None,
        "train_steps": train_steps,
        "model_run": model_run_uri,
    }


# --- evaluation ---------------------------------------------------------------------------

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


def blessing_reasons(evaluation_uri: str) -> List[str]:
    """Returns one readable line per failed threshold (empty when all passed)."""
    import tensorflow_model_analysis as tfma

    result = tfma.load_validation_result(evaluation_uri)
    reasons = []
    for per_slice in result.metric_validations_per_slice:
        for failure in per_slice.failures:
            name = failure.metric_key.name
            value = failure.metric_value.double_value.value
            threshold = failure.metric_threshold
            if failure.metric_key.is_diff:
                bound = threshold.change_threshold.absolute.value
                reasons.append(
                    f"{name} changed by {value:+.4f} against the baseline, "
                    f"more than the allowed {bound:+.4f}"
                )
            elif (threshold.value_threshold.HasField("upper_bound")
                  and value > threshold.value_threshold.upper_bound.value):
                # A lower-is-better metric (a regression's RMSE) above its bound.
                bound = threshold.value_threshold.upper_bound.value
                reasons.append(f"{name} {value:.4f} is above the threshold {bound:.4f}")
            else:
                bound = threshold.value_threshold.lower_bound.value
                reasons.append(f"{name} {value:.4f} is below the threshold {bound:.4f}")
    return reasons


def slice_metrics(evaluation_uri: str, candidate: str,
                  metric_names: Optional[Sequence[str]] = None) -> List[dict]:
    """Returns [{"slice", "models": {model: {metric: value}}}], overall first.

    TFMA reports some metrics twice for an EvalSavedModel (the model's own and TFMA's,
    which carries `example_weighted`); TFMA's wins. Differences to the baseline are
    left out: the page computes them from both models' values.
    """
    import tensorflow_model_analysis as tfma

    rows = []
    for per_slice in tfma.load_metrics(evaluation_uri):
        models = collections.defaultdict(dict)
        weighted = collections.defaultdict(set)
        for key_and_value in per_slice.metric_keys_and_values:
            key = key_and_value.key
            name = key.name
            if key.is_diff or "/" in name or (metric_names and name not in metric_names):
                continue
            if not key_and_value.value.HasField("double_value"):
                continue
            model = key.model_name or candidate
            is_weighted = key.HasField("example_weighted")
            if name in weighted[model] and not is_weighted:
                continue
            models[model][name] = key_and_value.value.double_value.value
            if is_weighted:
                weighted[model].add(name)
        rows.append({"slice": slice_name(per_slice.slice_key), "models": dict(models)})
    rows.sort(key=lambda row: _slice_order(row["slice"]))
    return rows


def calibration(evaluation_uri: str, bins: int = 10) -> Dict[str, List[dict]]:
    """Re-bins TFMA's calibration histogram of the overall slice into `bins` bins.

    Returns {model: [{"low", "high", "examples", "mean_prediction",
    "observed_rate"}]}, empty bins left out. TFMA's buckets (about 1,000, plus one
    below 0 and one above 1) are summed by where their lower bound falls.
    """
    import tensorflow_model_analysis as tfma

    result = {}
    for per_slice in tfma.load_plots(evaluation_uri):
        if per_slice.slice_key.single_slice_keys:
            continue
        for key_and_value in per_slice.plot_keys_and_values:
            buckets = key_and_value.value.calibration_histogram_buckets.buckets
            if not buckets:
                continue
            sums = [[0.0, 0.0, 0.0] for _ in range(bins)]
            for bucket in buckets:
                low = bucket.lower_threshold_inclusive
                index = min(bins - 1, max(0, int(math.floor(low * bins)))) if math.isfinite(
                    low) else (0 if low < 0 else bins - 1)
                sums[index][0] += bucket.num_weighted_examples.value
                sums[index][1] += bucket.total_weighted_label.value
                sums[index][2] += bucket.total_weighted_refined_prediction.value
            result[key_and_value.key.model_name or "candidate"] = [
                {"low": i / bins, "high": (i + 1) / bins, "examples": n,
                 "mean_prediction": prediction / n, "observed_rate": label / n}
                for i, (n, label, prediction) in enumerate(sums) if n > 0
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
            raise ReportInputError(f"{path}: line {error.lineno}, column {error.colno}: "
                                   f"{error.msg}") from None
    return json_format.ParseDict(data.get("evalConfig", {}), tfma.EvalConfig(),
                                 ignore_unknown_fields=True)


def _slicing_text(specs) -> str:
    names = [", ".join(spec.feature_keys) or "overall" for spec in specs]
    return " and ".join(names) or "every"


def thresholds(eval_config) -> List[str]:
    """Returns the eval config's thresholds as readable lines."""
    import tensorflow_model_analysis as tfma

    lines = []

    def describe(name, threshold, where):
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
                lines.append(f"{name} no more than {allowed:g} {worse} the baseline's "
                             f"({where} slice; checked once a baseline exists)")

    for spec in eval_config.metrics_specs:
        for metric in spec.metrics:
            name = metric.class_name
            if metric.HasField("threshold"):
                describe(name, metric.threshold, "every")
            for per_slice in metric.per_slice_thresholds:
                describe(name, per_slice.threshold, _slicing_text(per_slice.slicing_specs))
        for name, threshold in spec.thresholds.items():
            describe(name, threshold, "every")
    return lines


def evaluation_section(evaluation_uri: str, blessing_uri: Optional[str],
                       candidate: str = "candidate", baseline: str = "baseline",
                       metric_names: Optional[Sequence[str]] = None) -> dict:
    """Metrics per slice for candidate and baseline, calibration, thresholds, verdict.

    Args:
      evaluation_uri: the Evaluator's `evaluation` folder.
      blessing_uri: its `blessing` folder (None if there is none).
      candidate, baseline: the model names of the eval config.
      metric_names: the metrics to show (all, when None).
    """
    blessed = None
    if blessing_uri:
        if os.path.exists(os.path.join(blessing_uri, BLESSED_FILE)):
            blessed = True
        elif os.path.exists(os.path.join(blessing_uri, NOT_BLESSED_FILE)):
            blessed = False
    rows = slice_metrics(evaluation_uri, candidate, metric_names)
    models = sorted({m for row in rows for m in row["models"]},
                    key=lambda m: (m != candidate, m))
    names = []
    for row in rows:
        for values in row["models"].values():
            names.extend(n for n in values if n not in names)
    if metric_names:
        names = [n for n in metric_names if n in names]
    return {
        "slices": rows,
        "models": models,
        "metric_names": names,
        "has_baseline": baseline in models,
        "candidate": candidate,
        "baseline": baseline,
        "calibration": calibration(evaluation_uri),
        "thresholds": thresholds(load_eval_config(evaluation_uri)),
        "blessed": blessed,
        "reasons": blessing_reasons(evaluation_uri),
    }


# --- the pushed model ---------------------------------------------------------------------

def _tensor_info(info) -> dict:
    from tensorflow.python.framework import dtypes

    shape = ("unknown" if info.tensor_shape.unknown_rank
             else "[" + ", ".join("None" if d.size < 0 else str(d.size)
                                  for d in info.tensor_shape.dim) + "]")
    return {"name": info.name, "dtype": dtypes.as_dtype(info.dtype).name, "shape": shape}


def serving_signatures(saved_model_dir: str) -> Dict[str, dict]:
    """Returns {signature: {"inputs": {...}, "outputs": {...}}} of a SavedModel.

    Read from `saved_model.pb` itself, without loading the model.
    """
    from tensorflow.core.protobuf import saved_model_pb2

    path = os.path.join(saved_model_dir, SAVED_MODEL_FILE)
    with open(path, "rb") as model_file:
        saved_model = saved_model_pb2.SavedModel.FromString(model_file.read())
    if not saved_model.meta_graphs:
        raise ReportInputError(f"{path}: the SavedModel holds no graph.")
    signatures = {}
    for name, signature in sorted(saved_model.meta_graphs[0].signature_def.items()):
        if name.startswith("__"):
            continue
        signatures[name] = {
            "inputs": {k: _tensor_info(v) for k, v in sorted(signature.inputs.items())},
            "outputs": {k: _tensor_info(v) for k, v in sorted(signature.outputs.items())},
        }
    return signatures


def pushed_section(pushed: bool, destination: Optional[str], version: Optional[str],
                   forced: bool = False, example_template: str = "",
                   row: Optional[Mapping[str, str]] = None) -> dict:
    """The pushed model: version, folder, signatures and a copy-paste scoring example.

    Args:
      pushed: whether the Pusher pushed a model in this run.
      destination: the version folder it pushed to.
      version: the version's name.
      forced: pushed although not blessed (an operator's override).
      example_template: Python code with `{model_dir}` and `{row}` placeholders.
      row: one raw row (column -> CSV text) for the example.
    """
    section = {"pushed": pushed, "destination": destination, "version": version,
               "forced": forced, "signatures": {}, "example": ""}
    if pushed and destination and os.path.exists(os.path.join(destination, SAVED_MODEL_FILE)):
        section["signatures"] = serving_signatures(destination)
    if pushed and destination and example_template:
        section["example"] = example_template.format(
            model_dir=json.dumps(destination),
            row="{\n" + "".join(f"    {json.dumps(k)}: {json.dumps(v)},\n"
                                for k, v in sorted((row or {}).items())) + "}")
    return section


# --- the whole page -----------------------------------------------------------------------

def outcome(components: Sequence[Mapping], evaluation: Optional[Mapping],
            pushed: Optional[Mapping], anomalies: Optional[Mapping],
            error: str = "") -> dict:
    """Returns {"kind": ok|warn|stop, "text": one sentence} for how the run ended."""
    failed = [c["id"] for c in components if c.get("state") == "failed"]
    if anomalies and anomalies.get("stopped"):
        return {"kind": "stop", "text": (
            f"Stopped at the data gate: {anomalies['blocking']} anomalies of kinds that stop "
            "a run; nothing was trained or pushed.")}
    if failed or error:
        where = f" in {failed[0]}" if failed else ""
        # Beam appends the step it was running; the component is named already.
        first_line = re.sub(r"\s*\[while running '[^']*'\]$", "",
                            error.strip().splitlines()[0]) if error.strip() else ""
        cause = f": {first_line}" if first_line else ""
        return {"kind": "stop", "text": f"Stopped{where}{cause}; nothing after it ran."}
    blessed = evaluation.get("blessed") if evaluation else None
    reasons = "; ".join(evaluation.get("reasons", [])) if evaluation else ""
    if pushed and pushed.get("pushed"):
        version = pushed.get("version")
        if blessed:
            return {"kind": "ok", "text": f"Blessed and pushed as version {version}."}
        if pushed.get("forced"):
            return {"kind": "warn", "text": (
                f"Not blessed ({reasons or 'a threshold failed'}), but pushed anyway by an "
                f"operator's override as version {version}.")}
        return {"kind": "warn", "text": f"Pushed as version {version}, without a blessing."}
    if blessed is False:
        return {"kind": "warn", "text": (
            f"Not blessed: {reasons or 'a threshold failed'}; nothing was pushed, the "
            "serving folder keeps its previous model.")}
    if blessed:
        return {"kind": "ok", "text": ("Blessed; nothing new was pushed: the serving folder "
                                       "already holds this model.")}
    return {"kind": "warn", "text": "The run ended before the model was evaluated."}


def _guarded(errors: List[str], what: str, build, *args, **kwargs):
    """Builds one section; a section that cannot be read is named on the page instead."""
    try:
        return build(*args, **kwargs)
    except (ReportInputError, OSError, ValueError) as error:
        errors.append(f"{what}: {error}")
        return None


def collect_page(title: str, run: Mapping, facts: Mapping,
                 uris: Mapping[str, Optional[str]], pushed: Optional[Mapping] = None,
                 gate_stopped: bool = False, error: str = "", generated: str = "") -> dict:
    """Gathers every section the run got far enough to have.

    Args:
      title: the page's title.
      run: {"family", "pipeline", "run_id", "data_root", "components", "started",
        "wall_seconds"}; `components` as [{"id", "state", "seconds", "start", "end"}].
      facts: the model family's facts: "blocking_kinds", "hparam_defaults",
        "hparam_overrides", "hparam_tuned" and "tuned_source" (values a Tuner chose,
        and where), "train_steps", "metric_names", "candidate", "baseline",
        "label_sources", "example_template".
      uris: artifact folders by role: "statistics", "anomalies", "model_run",
        "tuner_results", "evaluation", "blessing"; missing or None when the run did
        not produce them.
      pushed: {"pushed", "destination", "version", "forced"} from the Pusher.
      gate_stopped: the data gate stopped the run.
      error: what stopped the run, when something did.
      generated: when the page was made (text).
    """
    errors: List[str] = []
    page = {"title": title, "generated": generated, "errors": errors}
    data = _guarded(errors, "statistics", data_section, uris["statistics"]) if uris.get(
        "statistics") else None
    page["data"] = data
    page["anomalies"] = _guarded(
        errors, "anomalies", anomalies_section, uris["anomalies"],
        facts.get("blocking_kinds", ()), gate_stopped) if uris.get("anomalies") else None
    page["training"] = _guarded(
        errors, "training", training_section, uris["model_run"],
        facts.get("hparam_defaults", {}), facts.get("hparam_overrides", {}),
        uris.get("tuner_results"), facts.get("train_steps"), facts.get("hparam_tuned"),
        facts.get("tuned_source", "tuned")) if uris.get("model_run") else None
    page["evaluation"] = _guarded(
        errors, "evaluation", evaluation_section, uris["evaluation"], uris.get("blessing"),
        facts.get("candidate", "candidate"), facts.get("baseline", "baseline"),
        facts.get("metric_names")) if uris.get("evaluation") else None
    if pushed is not None:
        row = typical_row(data, leave_out=facts.get("label_sources", ())) if data else {}
        page["pushed"] = _guarded(
            errors, "pushed model", pushed_section, bool(pushed.get("pushed")),
            pushed.get("destination"), pushed.get("version"), bool(pushed.get("forced")),
            facts.get("example_template", ""), row)
    else:
        page["pushed"] = None
    run = dict(run)
    verdict = outcome(run.get("components", []), page["evaluation"], page["pushed"],
                      page["anomalies"], error)
    run.update(outcome=verdict["text"], outcome_kind=verdict["kind"], error=error)
    page["run"] = run
    return page
