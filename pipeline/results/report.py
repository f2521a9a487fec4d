"""The run report of a local run, from ML Metadata and the pipeline root.

Finds the run's executions (executed, cached or failed) and their artifacts, and hands
them to the report component's functions (`components/run_report/`), which gather
each section and render the page. Written to `<build>/report/<run id>/index.html`,
with `<build>/report/latest` pointing at the newest.

Usage: python -m pipeline.results.report [--build-dir DIR] [--model FAMILY]
  [--run-id ID]   (re-renders a run's report from a build folder alone)
"""

import argparse
import datetime
import json
import os
import sys
from typing import Optional

from tfx.orchestration import metadata

from components.data_gate import executor as gate_executor
from components.run_report import render
from components.run_report import sections
from modules.common.contract import FamilyContract
from pipeline.definition import config as config_lib
from pipeline.definition import families
from pipeline.definition import trainers
from pipeline.results import run_record
from pipeline.results.facts import family_facts

REPORT_DIR = "report"
# A local run's summary (`pipeline.local.runner`), beside the report folder.
SUMMARY_FILE = "run_summary.json"
LATEST = "latest"
PAGE_FILE = "index.html"
# Beside the page: what stopped the run, as the runner said it, for later re-renders.
STOPPED_FILE = "stopped.txt"
# Artifact types the report reads, by the role they play on the page.
_ROLES = {
    "Examples": "examples",
    "ExampleStatistics": "statistics",
    "ExampleAnomalies": "anomalies",
    "ModelRun": "model_run",
    "ModelEvaluation": "evaluation",
    "ModelBlessing": "blessing",
}


def read_run(
    connection_config, pipeline_name: str, pipeline_root: str, run_id: Optional[str] = None
) -> dict:
    """Returns what ML Metadata recorded of a run: components and artifact folders.

    Returns {"run_id", "components", "uris", "pushed", "gate_stopped",
    "data_root", "trainer_fn", "hparam_overrides", "train_steps", "started",
    "wall_seconds"}. The newest run unless `run_id` is given.
    """
    run = run_record.read_run(connection_config, pipeline_name, run_id)
    start = min(s.start_ms for s in run.steps)
    end = max(s.end_ms for s in run.steps)
    found = {
        "run_id": run.run_id,
        "components": [],
        "uris": {},
        "pushed": None,
        "gate_stopped": False,
        "data_root": None,
        "trainer_fn": None,
        "hparam_overrides": {},
        "train_steps": None,
        "started": datetime.datetime.fromtimestamp(start / 1000).strftime("%Y-%m-%d %H:%M:%S"),
        "wall_seconds": (end - start) / 1000.0,
    }
    for step in run.steps:
        found["components"].append(
            {
                "id": step.node_id,
                "state": step.state,
                "start": (step.start_ms - start) / 1000.0,
                "end": (step.end_ms - start) / 1000.0,
                "seconds": step.seconds,
            }
        )
        if step.property("input_base"):
            found["data_root"] = step.property("input_base")
        if step.property("trainer_fn"):
            found["tuning"] = run_record.tuning_of(run, step)
            found["trainer_fn"] = step.property("trainer_fn")
            found["hparam_overrides"] = step.json_property("custom_config", {}).get("hparams") or {}
            found["train_steps"] = step.json_property("train_args", {}).get("num_steps")
        if step.property("blocking_kinds"):
            found["blocking_kinds"] = step.json_property("blocking_kinds", None)
            if step.state == "failed":
                kept = os.path.join(pipeline_root, step.node_id, gate_executor.REJECTED_DIR)
                found["gate_stopped"] = os.path.isdir(kept)
        for artifact in step.outputs:
            if artifact.type in _ROLES:
                # The first: ExampleGen's raw examples, not Transform's.
                found["uris"].setdefault(_ROLES[artifact.type], artifact.uri)
            elif artifact.type == "PushedModel":
                found["pushed"] = {
                    "pushed": bool(run_record.custom(artifact, "pushed")),
                    "destination": run_record.custom(artifact, "pushed_destination"),
                    "version": run_record.custom(artifact, "pushed_version"),
                    "forced": bool(run_record.custom(artifact, "forced")),
                }
    return found


def training_length(summary_path: str, run_id: str) -> dict:
    """{"trained_examples", "epochs"} of the run's summary, if it is this run's ({})."""
    if not os.path.isfile(summary_path):
        return {}
    with open(summary_path, encoding="utf-8") as summary_file:
        summary = json.load(summary_file)
    if summary.get("run_id") != run_id:
        return {}
    return {key: summary.get(key) for key in ("trained_examples", "epochs")}


def build_page(
    run: dict,
    contract: FamilyContract,
    error: str = "",
    length=None,
    trainer: str = trainers.ESTIMATOR,
) -> dict:
    """The report page's sections for a run read by `read_run`, trained by `trainer`;
    `length`: the training's length from the run's summary (`training_length`)."""
    facts = family_facts(
        contract, run["hparam_overrides"], run["train_steps"], run.get("blocking_kinds")
    )
    facts.update(length or {})
    tuning = run.get("tuning") or {}
    facts.update(
        hparam_tuned=tuning.get("tuned") or {},
        tuned_source=tuning.get("source", "tuned"),
        trials=tuning.get("trials"),
    )
    pipeline_name = trainers.suffixed(contract.pipeline_name, trainer)
    return sections.collect_page(
        title=f"{pipeline_name}: run {run['run_id']}",
        run={
            "family": contract.name,
            "pipeline": pipeline_name,
            "trainer": trainer,
            "run_id": run["run_id"],
            "data_root": run["data_root"],
            "components": run["components"],
            "started": run["started"],
            "wall_seconds": run["wall_seconds"],
        },
        facts=facts,
        uris=run["uris"],
        pushed=run["pushed"],
        gate_stopped=run["gate_stopped"],
        error=error,
        generated=datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
    )


def _point_latest(report_root: str, run_dir: str) -> None:
    """Points `<report_root>/latest` at `run_dir` (a relative symlink, swapped atomically)."""
    latest = os.path.join(report_root, LATEST)
    temporary = latest + f".{os.getpid()}"
    os.symlink(os.path.basename(run_dir), temporary)
    os.replace(temporary, latest)


def write_report(
    build_dir: str,
    family: str = families.DEFAULT_FAMILY,
    error: str = "",
    run_id: Optional[str] = None,
    trainer: str = trainers.ESTIMATOR,
) -> str:
    """Renders a run's report from a build folder; returns the page's path.

    Args:
      build_dir: the local run's build folder (metadata and pipeline roots).
      family: the model family whose run it is.
      error: what stopped the run, when the caller knows (shown on the page, and
        kept beside it for later re-renders).
      run_id: the run to report; the newest when None.
      trainer: the trainer of the run's pipeline (`pipeline.definition.trainers`).

    Raises:
      ValueError: the metadata store holds no run of the pipeline.
    """
    metadata_path = config_lib.metadata_path(build_dir)
    if not os.path.exists(metadata_path):
        raise ValueError(f"{metadata_path}: no ML Metadata store in this build folder.")
    connection_config = metadata.sqlite_metadata_connection_config(metadata_path)
    contract = families.load(family).contract
    pipeline_root = os.path.join(build_dir, "pipeline_root", trainers.suffixed(family, trainer))
    pipeline_name = trainers.suffixed(contract.pipeline_name, trainer)
    run = read_run(connection_config, pipeline_name, pipeline_root, run_id)
    report_root = os.path.join(build_dir, REPORT_DIR)
    run_dir = os.path.join(report_root, run["run_id"])
    stopped_path = os.path.join(run_dir, STOPPED_FILE)
    if error:
        os.makedirs(run_dir, exist_ok=True)
        with open(stopped_path, "w", encoding="utf-8") as stopped_file:
            stopped_file.write(error)
    elif os.path.exists(stopped_path):
        with open(stopped_path, encoding="utf-8") as stopped_file:
            error = stopped_file.read()
    length = training_length(os.path.join(build_dir, SUMMARY_FILE), run["run_id"])
    path = render.write_page(
        build_page(run, contract, error, length, trainer), os.path.join(run_dir, PAGE_FILE)
    )
    if run_id is None:
        _point_latest(report_root, run_dir)
    return path


def main(argv=None) -> int:
    """Re-renders the report of a build folder's newest (or a given) run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", default=os.path.join(config_lib.PROJECT_ROOT, "build"))
    parser.add_argument(
        "--model",
        default=families.DEFAULT_FAMILY,
        help=f"model family ({', '.join(families.available())})",
    )
    parser.add_argument("--run-id", default=None, help="a run id (default: the newest run)")
    parser.add_argument("--trainer", default=trainers.DEFAULT_TRAINER, choices=trainers.TRAINERS)
    args = parser.parse_args(argv)
    try:
        path = write_report(
            os.path.abspath(args.build_dir), args.model, run_id=args.run_id, trainer=args.trainer
        )
    except ValueError as error:  # FamilyError included.
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"[report] {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
