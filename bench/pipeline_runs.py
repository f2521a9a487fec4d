"""Whole-pipeline runs: cold, warm and at scale, each in its own `pipeline.local.runner` process.

Each run's wall time is the runner process's, start-up included (what `make run`
costs); per-component seconds and states come from the `run_summary.json` the runner
writes; per-component peak memory from the RSS timeline (see `bench.timeline`).
"""

import json
import os
import shutil
import sys
from typing import Dict, List, Optional, Sequence

from bench import process_monitor
from bench import stats
from bench import timeline
from components import data_files
from data import make_scaled
from pipeline.local import sizing

RUNNER_MODULE = "pipeline.local.runner"


def count_rows(data_dir: str) -> int:
    """Returns the number of data rows (header excluded) of a folder's data files.

    The runner's own count (`pipeline.local.sizing.count_rows`) of the files ExampleGen
    reads (`components.data_files`).
    """
    return sizing.count_rows(data_files.in_folder(data_dir).files)


def run_pipeline(
    data_dir: Optional[str],
    build_dir: str,
    label: str,
    log_dir: str,
    extra_args: Sequence[str] = (),
    timeout: Optional[float] = None,
) -> dict:
    """Runs the pipeline once and returns its record (JSON-able).

    The run's raw timeline (stdout lines and RSS samples) is kept beside its logs as
    `<label>.timeline.json`.
    """
    data_args = ["--data", os.path.abspath(data_dir)] if data_dir else []
    cmd = [
        sys.executable,
        "-m",
        RUNNER_MODULE,
        *data_args,
        "--build-dir",
        os.path.abspath(build_dir),
        *extra_args,
    ]
    log_prefix = os.path.join(log_dir, label)
    run = process_monitor.run_monitored(cmd, log_prefix, timeout=timeout)
    os.makedirs(log_dir, exist_ok=True)  # Again: a `make clean` meanwhile removes it.
    with open(f"{log_prefix}.timeline.json", "w") as timeline_file:
        json.dump(
            {"start": run["start"], "lines": run["lines"], "samples": run["samples"]}, timeline_file
        )

    summary = {}
    summary_path = os.path.join(build_dir, "run_summary.json")
    if run["returncode"] == 0 and os.path.exists(summary_path):
        with open(summary_path) as summary_file:
            summary = json.load(summary_file)
    peaks = timeline.component_peaks(
        run["lines"], run["samples"], run_end=run["start"] + run["wall_seconds"]
    )
    peak = timeline.overall_peak(run["samples"])
    candidate = summary.get("metrics", {}).get("candidate", {})
    return {
        "label": label,
        "command": " ".join(cmd),
        "returncode": run["returncode"],
        "timed_out": run["timed_out"],
        "wall_seconds": round(run["wall_seconds"], 2),
        "peak_rss_mb": None if peak is None else round(peak / 2**20, 1),
        "kernel_peak_rss_mb": round(run["kernel_maxrss_bytes"] / 2**20, 1),
        "components": timeline.merge_states(summary.get("components", []), peaks),
        "auc": candidate.get("auc"),
        # What blesses the family's model (its task's metric), with its bound.
        "blessing": summary.get("blessing"),
        "eval_examples": candidate.get("example_count"),
        "trained_examples": summary.get("trained_examples"),
        "epochs": summary.get("epochs"),
        "blessed": summary.get("blessed"),
        "pushed": summary.get("pushed"),
        "logs": log_prefix + ".{stdout,stderr}.log",
    }


def _blessing(runs: List[dict]) -> Optional[dict]:
    """The blessing metric over the runs: its name, direction, bound and values' spread."""
    blessings = [r["blessing"] for r in runs if r.get("blessing")]
    if not blessings:
        return None
    return {
        **{k: blessings[0][k] for k in ("metric", "direction", "bound")},
        "value": stats.spread([b["value"] for b in blessings]),
    }


def aggregate(runs: List[dict]) -> dict:
    """Returns medians (and spread) over repeated runs, overall and per component."""
    by_component: Dict[str, List[dict]] = {}
    for run in runs:
        for component in run["components"]:
            by_component.setdefault(component["id"], []).append(component)
    return {
        "runs": len(runs),
        "failed_runs": sum(1 for run in runs if run["returncode"] != 0),
        "wall_seconds": stats.spread([r["wall_seconds"] for r in runs]),
        "peak_rss_mb": stats.spread([r["peak_rss_mb"] for r in runs]),
        "kernel_peak_rss_mb": stats.spread([r["kernel_peak_rss_mb"] for r in runs]),
        "auc": stats.spread([r["auc"] for r in runs]),
        "blessing": _blessing(runs),
        "components": [
            {
                "id": node,
                "states": sorted({c["state"] for c in records}),
                "seconds": stats.spread([c["seconds"] for c in records]),
                "peak_rss_mb": stats.spread([c["peak_rss_mb"] for c in records]),
            }
            for node, records in by_component.items()
        ],
        "run_records": runs,
    }


def _fail_unless_ok(record: dict) -> None:
    if record["returncode"] != 0:
        raise RuntimeError(
            f"pipeline run {record['label']} failed "
            f"(exit {record['returncode']}); see {record['logs']}"
        )


def cold_runs(
    data_dir: Optional[str], out_dir: str, repeats: int, extra_args: Sequence[str] = ()
) -> dict:
    """Runs the pipeline `repeats` times, each from an empty build folder; aggregated."""
    log_dir = os.path.join(out_dir, "logs")
    cold = []
    for index in range(1, repeats + 1):
        build_dir = os.path.join(out_dir, "runs", f"cold-{index}")
        shutil.rmtree(build_dir, ignore_errors=True)
        cold.append(run_pipeline(data_dir, build_dir, f"cold-{index}", log_dir, extra_args))
        _fail_unless_ok(cold[-1])
    return aggregate(cold)


def cold_and_warm(
    data_dir: str, out_dir: str, repeats: int, extra_args: Sequence[str] = ()
) -> dict:
    """Runs the pipeline `repeats` times cold and `repeats` times warm.

    Cold runs each start from an empty build folder. Warm runs reuse the first cold
    run's folder after one unmeasured settling run: the second run on a folder still
    executes the Evaluator (a baseline now exists), only later runs are fully cached.
    """
    log_dir = os.path.join(out_dir, "logs")
    cold = cold_runs(data_dir, out_dir, repeats, extra_args)
    warm_dir = os.path.join(out_dir, "runs", "cold-1")
    settling = run_pipeline(data_dir, warm_dir, "second", log_dir, extra_args)
    _fail_unless_ok(settling)
    warm = []
    for index in range(1, repeats + 1):
        warm.append(run_pipeline(data_dir, warm_dir, f"warm-{index}", log_dir, extra_args))
        _fail_unless_ok(warm[-1])
    return {
        "data": os.path.abspath(data_dir),
        "rows": count_rows(data_dir),
        "build_dir": warm_dir,
        "cold": cold,
        "second_run": settling,
        "warm": aggregate(warm),
    }


def scaled_data_dir(source_csv: str, scale: float, out_dir: str) -> str:
    """Returns a folder holding the source scaled `scale` times, writing it if missing.

    The copies of a source row share its side of the split the pipeline makes of the
    written rows (`make_scaled`, with the local runner's hash buckets for that count).
    """
    name = os.path.basename(os.path.dirname(os.path.abspath(source_csv)))
    rows = round(scale * count_rows(os.path.dirname(os.path.abspath(source_csv))))
    train, evaluation = sizing.split_buckets_for_rows(rows)
    folder = os.path.join(out_dir, "data", f"{name}-{scale:g}x-split{train}-{evaluation}")
    path = os.path.join(folder, "data.csv")
    if not os.path.exists(path) or os.path.getmtime(path) < os.path.getmtime(source_csv):
        print(
            f"[bench] writing {scale:g}x of {source_csv} to {path}, every copy of a row "
            f"in its split of {train}:{evaluation} buckets",
            flush=True,
        )
        make_scaled.write_scaled(source_csv, path, scale, split_buckets=(train, evaluation))
    return folder


def read_floor(csv_path: str, log_prefix: str) -> dict:
    """pyarrow reading the CSV alone, in its own process (`bench.read_floor`)."""
    return process_monitor.run_json("bench.read_floor", [csv_path], log_prefix)


def scale_runs(
    source_csv: str,
    scales: Sequence[float],
    out_dir: str,
    extra_args: Sequence[str] = (),
    timeout: Optional[float] = None,
) -> dict:
    """Runs the pipeline once, cold, per scale factor of the source data.

    A failed run (out of memory, timeout) is recorded, not raised: it is a result.
    """
    log_dir = os.path.join(out_dir, "logs")
    runs = []
    for scale in scales:
        data_dir = scaled_data_dir(source_csv, scale, out_dir)
        build_dir = os.path.join(out_dir, "runs", f"scale-{scale:g}x")
        shutil.rmtree(build_dir, ignore_errors=True)
        print(f"[bench] pipeline at {scale:g}x", flush=True)
        record = run_pipeline(
            data_dir, build_dir, f"scale-{scale:g}x", log_dir, extra_args, timeout=timeout
        )
        rows = count_rows(data_dir)
        record.update(
            scale=scale,
            rows=rows,
            seconds_per_1k_rows=(round(record["wall_seconds"] / rows * 1000, 3) if rows else None),
        )
        print(f"[bench] pyarrow reading the {scale:g}x CSV (the floor)", flush=True)
        record["read_floor"] = read_floor(
            os.path.join(data_dir, "data.csv"), os.path.join(log_dir, f"floor-{scale:g}x")
        )
        runs.append(record)
    return {
        "source": os.path.abspath(source_csv),
        "repetitions": 1,
        "runs": runs,
        "time_ratios": time_ratios(runs),
    }


def time_ratios(runs: Sequence[dict]) -> List[dict]:
    """Returns time(b)/time(a) and rows(b)/rows(a) for each successive pair of scales."""
    ok = [r for r in sorted(runs, key=lambda r: r["scale"]) if r["returncode"] == 0]
    return [
        {
            "from": a["scale"],
            "to": b["scale"],
            "rows_ratio": round(b["rows"] / a["rows"], 2),
            "time_ratio": round(b["wall_seconds"] / a["wall_seconds"], 2),
        }
        for a, b in zip(ok, ok[1:])
    ]
