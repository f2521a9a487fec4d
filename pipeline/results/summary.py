"""What a pipeline run did, read back from ML Metadata and the Evaluator's output.

The summary says which components ran and which came from the cache, how long each
took, which hyperparameters the Trainer used and where they came from (the family's
defaults, this run's Tuner or an earlier run's) with that tuning's trials, the task,
the candidate's (and the baseline's) eval metrics as the task names them, what blesses
(the metric, its value, bound, allowed change and direction, and the baseline's
value), whether the model was blessed and why, and where it was pushed.
"""

import collections
import json
import os
from typing import Dict, List, Mapping, Optional, Sequence

import tensorflow_model_analysis as tfma
from ml_metadata.proto import metadata_store_pb2

from components import evaluation
from components.data_gate.component import DataValidationReport

# One reading of the Evaluator's validation result, shared with the run report.
from components.run_report.readers.evaluation import blessing_reasons
from modules.common import tasks
from pipeline.results import run_record
from pipeline.results.run_record import DEFAULTS
from pipeline.results.run_record import TUNED_IN_THIS_RUN  # noqa: F401  (re-exported)


def _training_record(model_run_uri: str) -> dict:
    """What a Trainer execution recorded in its model run folder (steps, hparams, files)."""
    path = os.path.join(model_run_uri, "training_inputs.json")
    if not os.path.isfile(path):
        return {}
    with open(path) as inputs_file:
        return json.load(inputs_file)


def _training_hparams(model_run_uri: str) -> dict:
    """The hyperparameters a Trainer execution recorded in its model run folder."""
    return _training_record(model_run_uri).get("hparams", {})


def trained_examples(model_run_uri: str) -> Optional[int]:
    """Examples the training read: its steps times its batch size (None: unrecorded)."""
    record = _training_record(model_run_uri)
    batch = record.get("hparams", {}).get("train_batch_size")
    return record["train_steps"] * batch if batch and record.get("train_steps") else None


def overall_metrics(
    evaluation_uri: str, metric_names: Sequence[str]
) -> Dict[str, Dict[str, float]]:
    """Returns {model name: {metric: value}} for the overall slice of an evaluation.

    Args:
      evaluation_uri: the Evaluator's output folder.
      metric_names: the metrics to read, named as `modules.common.tasks` names them
        (a macro average with the `macro_` prefix); per-class values are left out.
    """
    metrics = collections.defaultdict(dict)
    for slice_metrics in tfma.load_metrics(evaluation_uri):
        if slice_metrics.slice_key.single_slice_keys:
            continue
        for key_and_value in slice_metrics.metric_keys_and_values:
            key = key_and_value.key
            name = evaluation.metric_name(key)
            if (
                key.is_diff
                or name not in metric_names
                or key.HasField("sub_key")
                or not key_and_value.value.HasField("double_value")
            ):
                continue
            model = key.model_name or evaluation.CANDIDATE
            metrics[model][name] = key_and_value.value.double_value.value
    # In the task's order, for the printed summary.
    return {
        model: {name: values[name] for name in metric_names if name in values}
        for model, values in metrics.items()
    }


def blessing_of(task: tasks.Task, metrics: Mapping[str, Mapping[str, float]]) -> dict:
    """The blessing as the summary states it: the metric, its values, bound and change."""
    blessing = task.blessing
    return {
        **blessing.as_dict(),
        "value": metrics.get(evaluation.CANDIDATE, {}).get(blessing.metric),
        "baseline_value": metrics.get(evaluation.BASELINE, {}).get(blessing.metric),
    }


def empty_summary(pipeline_name: str, task: Optional[tasks.Task] = None) -> dict:
    """Returns the summary of a run of which ML Metadata recorded nothing."""
    return {
        "pipeline_name": pipeline_name,
        "run_id": None,
        "components": [],
        "task": task.kind if task else None,
        "metrics": {},
        "blessing": blessing_of(task, {}) if task else None,
        "blessed": None,
        "blessing_reasons": [],
        "pushed": False,
        "pushed_model": None,
        "forced_push": False,
        "data_anomalies": [],
        "hyperparameters": None,
        # The training's length: examples read (steps x batch) and, from a local run's
        # row count, about how many epochs of the training split that is.
        "trained_examples": None,
        "epochs": None,
    }


def summarize_latest_run(
    connection_config: metadata_store_pb2.ConnectionConfig,
    pipeline_name: str,
    task: tasks.Task,
    since_ms: int = 0,
) -> Optional[dict]:
    """Returns the summary of the newest run of `pipeline_name` as a JSON-able dict.

    Args:
      connection_config: the ML Metadata store.
      pipeline_name: the pipeline.
      task: the model's task, with the run's blessing bound and allowed change.
      since_ms: only a run started at this time or later (ms since the epoch) counts.

    Returns:
      The summary, or None when the store holds no such run.
    """
    try:
        run = run_record.read_run(connection_config, pipeline_name, since_ms=since_ms)
    except ValueError:
        return None
    summary = {**empty_summary(pipeline_name, task), "run_id": run.run_id}
    for step in run.steps:
        summary["components"].append(
            {"id": step.node_id, "state": step.state, "seconds": round(step.seconds, 1)}
        )
        for artifact in step.outputs:
            if artifact.type == "ModelEvaluation":
                summary["metrics"] = overall_metrics(artifact.uri, task.metric_names)
                summary["blessing"] = blessing_of(task, summary["metrics"])
                summary["blessing_reasons"] = blessing_reasons(artifact.uri)
            elif artifact.type == "ModelBlessing":
                summary["blessed"] = bool(run_record.custom(artifact, "blessed"))
            elif artifact.type == "PushedModel" and run_record.custom(artifact, "pushed"):
                summary["pushed"] = True
                summary["pushed_model"] = run_record.custom(artifact, "pushed_destination")
                summary["forced_push"] = bool(run_record.custom(artifact, "forced"))
            elif artifact.type == "ModelRun":
                summary["hyperparameters"] = {
                    **run_record.tuning_of(run, step),
                    "used": _training_hparams(artifact.uri),
                }
                summary["trained_examples"] = trained_examples(artifact.uri)
            elif artifact.type == DataValidationReport.TYPE_NAME:
                with open(os.path.join(artifact.uri, "report.json")) as report_file:
                    summary["data_anomalies"] = json.load(report_file)
    return summary


def _format_metrics(metrics: Optional[Dict[str, float]]) -> str:
    if not metrics:
        return "none"
    return ", ".join(
        f"{tasks.LABELS.get(name, name)} {value:.4f}"
        if name != tasks.EXAMPLE_COUNT
        else f"{int(value)} examples"
        for name, value in metrics.items()
    )


def _format_blessing(blessing: Optional[dict]) -> str:
    """The blessing rule in words, with the candidate's and the baseline's values."""
    if not blessing:
        return ""
    label = tasks.LABELS.get(blessing["metric"], blessing["metric"])
    bound = "at least" if blessing["direction"] == tasks.HIGHER else "at most"
    worse = "below" if blessing["direction"] == tasks.HIGHER else "above"
    text = (
        f"  judged on: {label} ({blessing['direction']} is better), {bound} "
        f"{blessing['bound']:g}, and at most {blessing['max_change']:g} {worse} the "
        "baseline's"
    )
    if blessing["value"] is not None:
        text += f"; candidate {blessing['value']:.4f}"
    if blessing["baseline_value"] is not None:
        text += f", baseline {blessing['baseline_value']:.4f}"
    elif blessing["value"] is not None:
        text += ", no baseline yet"
    return text


def _format_values(values: dict) -> str:
    return ", ".join(
        f"{name} {value:.4g}" if isinstance(value, float) else f"{name} {value}"
        for name, value in sorted(values.items())
    )


def _format_trial(trial: dict) -> str:
    values = _format_values(trial["hyperparameters"])
    if trial["score"] is None:
        return f"    trial {trial['trial_id']}: {trial['status']}: {values}: {trial['error']}"
    metrics = trial["metrics"]
    return (
        f"    trial {trial['trial_id']}: {trial.get('objective', 'score')} "
        f"{trial['score']:.4f}, "
        f"{int(metrics.get('global_step', 0))} steps, {metrics.get('seconds', 0):.0f}s: "
        f"{values}"
    )


def _format_hyperparameters(hyperparameters: Optional[dict]) -> List[str]:
    """Lines on the Trainer's hyperparameters: their source, values and trials."""
    if not hyperparameters:
        return []
    source = hyperparameters["source"]
    if source == DEFAULTS:
        lines = ["  hyperparameters: the family's defaults (no tuning yet: make tune)"]
    else:
        lines = [f"  hyperparameters: {source}: {_format_values(hyperparameters['tuned'])}"]
    if hyperparameters.get("used"):
        lines.append(f"  trained with: {_format_values(hyperparameters['used'])}")
    trials = hyperparameters.get("trials") or []
    if trials:
        failed = sum(trial["score"] is None for trial in trials)
        lines.append(f"  trials ({len(trials)}, {failed} failed; best first):")
        lines.extend(_format_trial(trial) for trial in trials)
    return lines


def format_summary(summary: dict) -> str:
    """Returns the summary as the few lines printed at the end of a run."""
    by_state = collections.defaultdict(list)
    for component in summary["components"]:
        by_state[component["state"]].append(component["id"])
    lines = [f"Run {summary['run_id']} of {summary['pipeline_name']}:"]
    for finding in summary["data_anomalies"]:
        lines.append(
            f"  data note: column {finding['column']!r}: {finding['kind']}: "
            f"{finding['description']}"
        )
    for state in ("executed", "cached", "failed"):
        if by_state[state]:
            lines.append(f"  {state}: {', '.join(by_state[state])}")
    timings = ", ".join(
        f"{c['id']} {c['seconds']:.1f}s" for c in summary["components"] if c["state"] == "executed"
    )
    if timings:
        lines.append(f"  time: {timings}")
    lines.extend(_format_hyperparameters(summary.get("hyperparameters")))
    if summary.get("trained_examples"):
        epochs = summary.get("epochs")
        lines.append(
            f"  trained on: {summary['trained_examples']:,} examples"
            + (f", about {epochs:g} epochs of the training split" if epochs else "")
        )
    metrics = summary["metrics"]
    if summary.get("task"):
        lines.append(f"  task: {summary['task']}")
    lines.append(f"  candidate: {_format_metrics(metrics.get(evaluation.CANDIDATE))}")
    if evaluation.BASELINE in metrics:
        lines.append(f"  baseline:  {_format_metrics(metrics[evaluation.BASELINE])}")
    if summary.get("blessing"):
        lines.append(_format_blessing(summary["blessing"]))
    if summary["blessed"]:
        lines.append("  blessed: yes, every threshold passed")
    elif summary["blessed"] is False:
        lines.append("  blessed: NO: " + "; ".join(summary["blessing_reasons"]))
    if summary["pushed"]:
        forced = " (FORCED: not blessed)" if summary["forced_push"] else ""
        lines.append(f"  pushed to: {summary['pushed_model']}{forced}")
    else:
        lines.append("  pushed: no; the serving folder keeps its previous model")
    return "\n".join(lines)
