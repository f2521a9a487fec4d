"""The bench's `trainers` section: both trainers of a family as whole pipelines, side by side.

For each trainer (`estimator`, `keras`), `repeats` cold runs of the family's pipeline,
each from an empty build folder, in one invocation (the trainers alternate, so a
change in the machine's load falls on both): the process wall time, the Trainer's and
the Evaluator's seconds, and the blessing metric of the pushed model.
"""

import os
import shutil
from typing import List, Optional, Sequence

from bench import pipeline_runs
from bench import stats
from pipeline.definition import trainers

# Components whose time the trainer changes: the training itself, and the Evaluator,
# which reads an EvalSavedModel (estimator) or the serving model (keras).
COMPARED = ("Trainer", "Evaluator")


def _seconds(record: dict, component: str) -> Optional[float]:
    for found in record["components"]:
        if found["id"] == component:
            return found["seconds"]
    return None


def run(
    data_dir: Optional[str], out_dir: str, repeats: int, extra_args: Sequence[str] = ()
) -> dict:
    """Cold runs of both trainers, alternating; returns the spread of each figure."""
    log_dir = os.path.join(out_dir, "trainers", "logs")
    records = {name: [] for name in trainers.TRAINERS}
    for index in range(1, repeats + 1):
        for name in trainers.TRAINERS:
            build_dir = os.path.join(out_dir, "trainers", "runs", f"{name}-{index}")
            shutil.rmtree(build_dir, ignore_errors=True)
            record = pipeline_runs.run_pipeline(
                data_dir, build_dir, f"{name}-{index}", log_dir, [*extra_args, "--trainer", name]
            )
            if record["returncode"] != 0:
                raise RuntimeError(
                    f"{name} run {index} failed (exit {record['returncode']}); see {record['logs']}"
                )
            records[name].append(record)
    return {
        name: {
            "runs": len(runs),
            "wall_seconds": stats.spread([r["wall_seconds"] for r in runs]),
            **{
                f"{component}_seconds": stats.spread([_seconds(r, component) for r in runs])
                for component in COMPARED
            },
            "blessing": stats.spread([(r["blessing"] or {}).get("value") for r in runs]),
            "blessing_metric": (runs[0]["blessing"] or {}).get("metric"),
            "run_records": runs,
        }
        for name, runs in records.items()
    }


def markdown(section: dict, fmt, table) -> List[str]:
    """The section's table: one row per trainer, medians with (min-max) of the runs."""

    def cell(spread: dict, digits: int = 1) -> str:
        return (
            f"{fmt(spread['median'], digits)} ({fmt(spread['min'], digits)}-"
            f"{fmt(spread['max'], digits)})"
        )

    rows = [
        [
            name,
            cell(section[name]["wall_seconds"]),
            *(cell(section[name][f"{c}_seconds"]) for c in COMPARED),
            f"{section[name]['blessing_metric']} {cell(section[name]['blessing'], 4)}",
            str(section[name]["runs"]),
        ]
        for name in trainers.TRAINERS
        if name in section
    ]
    return [
        "## Trainers: the Estimator and the Keras trainer, whole cold runs",
        "",
        *table(
            ["trainer", "cold run s", "Trainer s", "Evaluator s", "blessing metric", "runs"], rows
        ),
        "",
    ]
