"""Training throughput: the Estimator path against the same Keras model's `fit`.

Both train a family's Keras model (`families.model_builder`) on Transform's output
through `modules.common.estimator.input_fn`, with the family's batch size. The
Estimator path is what the pipeline's Trainer runs: the family's `trainer_fn`
(`model_to_estimator`) and `tf.estimator.train_and_evaluate` on the specs it returns,
checkpoints, summaries and the final evaluation and export included. The Keras path is
`model.fit` (tf.function, compiled metrics updated every step).

Each child process makes one training run and timestamps the end of every step (a
`SessionRunHook` for the Estimator, a Keras `Callback` for `fit`). Training stops after
a warm-up and enough time for `windows` windows. The warm-up (graph building or
tracing, the first steps) is cut; the rest is cut into consecutive windows of at least
`window_seconds` of training each, and each window gives examples/s. Whatever the
Estimator does periodically (checkpoints every 10 s, summaries) falls inside the
windows, as it does in the pipeline; one-off costs (start-up, the evaluation after the
first periodic checkpoint, the final evaluation and exports) are measured by
`bench.trainer_split`. Estimator and Keras runs are interleaved (ABBA...), and the
median of the windows is reported with their spread; the ratio of the two medians
comes with a bootstrap interval over the windows, which says whether the runs
resolve the difference at all.

Run as a child process, one mode at a time:
    python -m bench.training_throughput --mode keras --model taxi --build-dir DIR
"""

import argparse
import glob
import json
import os
import sys
import tempfile
import time
from typing import Dict, List, Mapping, Optional, Sequence

from bench import process_monitor
from bench import stats

MODES = ("estimator", "keras")
# Past the first periodic checkpoint (every 10 s), after which the Estimator runs its
# one evaluation during training: a one-off, reported by bench/trainer_split.py. An
# evaluation runs inside one step, so it never falls inside a window.
WARMUP_SECONDS = 15.0
WINDOW_SECONDS = 10.0
# Per run: 18 windows a path at 3 runs, for a ratio interval about a tenth wide.
WINDOWS = 6
# Training goes on this long past warm-up + windows, so the last window can close
# even if a checkpoint lands at its end.
STOP_SLACK_SECONDS = 2.0
# A step count no run reaches: runs stop on time.
UNBOUNDED_STEPS = 10**9
# The ratio's interval: windows of one path differ by several percent on these
# machines, more than the two paths differ per step where a step is long (reviews).
RATIO_CONFIDENCE = 0.9


def _newest(folder: str) -> str:
    ids = [name for name in os.listdir(folder) if name.isdigit()]
    if not ids:
        raise FileNotFoundError(f"No artifact folder in {folder}; run the pipeline first.")
    return os.path.join(folder, max(ids, key=int))


def transform_paths(build_dir: str, family: str) -> Dict[str, object]:
    """Returns the newest Transform output of `family`'s runs under `build_dir`."""
    root = os.path.join(build_dir, "pipeline_root", family, "Transform")
    examples = _newest(os.path.join(root, "transformed_examples"))
    paths = {
        "transform_graph": _newest(os.path.join(root, "transform_graph")),
        "train_files": sorted(glob.glob(os.path.join(examples, "Split-train", "*"))),
        "eval_files": sorted(glob.glob(os.path.join(examples, "Split-eval", "*"))),
    }
    if not paths["train_files"] or not paths["eval_files"]:
        raise FileNotFoundError(f"No transformed train/eval files under {examples}.")
    return paths


# ---------------------------------------------------------------------------
# The pure parts: windows, order, statistics.


def steady_windows(
    step_ends: Sequence[float],
    start: float,
    batch_size: int,
    warmup_seconds: float = WARMUP_SECONDS,
    window_seconds: float = WINDOW_SECONDS,
) -> List[dict]:
    """Cuts a run's step end times into consecutive steady-state windows.

    Args:
      step_ends: the time each step ended, increasing (one entry per step).
      start: the time the first step began.
      batch_size: examples per step.
      warmup_seconds: training time cut at the start; the first window begins at the
        end of the first step that ends at or after `start + warmup_seconds`.
      window_seconds: a window closes at the end of the first step that ends at least
        this long after the window began; it holds the steps ended within it.

    Returns:
      One dict per complete window, in order: `steps`, `seconds`,
      `examples_per_second`, `begins_at` (seconds after `start`). A trailing window
      shorter than `window_seconds` is left out.
    """
    if window_seconds <= 0:
        raise ValueError(f"window_seconds must be positive, got {window_seconds}.")
    cut = start + warmup_seconds
    begin = next((i for i, end in enumerate(step_ends) if end >= cut), None)
    windows = []
    if begin is None:
        return windows
    for index in range(begin + 1, len(step_ends)):
        seconds = step_ends[index] - step_ends[begin]
        if seconds >= window_seconds:
            steps = index - begin
            windows.append(
                {
                    "steps": steps,
                    "seconds": seconds,
                    "examples_per_second": steps * batch_size / seconds,
                    "begins_at": step_ends[begin] - start,
                }
            )
            begin = index
    return windows


def interleaved_order(modes: Sequence[str], repeats: int) -> List[str]:
    """Returns the run order: each repeat runs every mode once, reversed every other
    repeat (A B B A A B ...), so a drift in the machine's load hits all modes alike."""
    order: List[str] = []
    for repeat in range(repeats):
        order.extend(modes if repeat % 2 == 0 else list(reversed(modes)))
    return order


def window_summary(runs: Sequence[Sequence[dict]]) -> dict:
    """Returns the examples/s of all windows of one mode's runs, pooled.

    `median`, `min`, `max`, `p25`, `p75` and `windows` over every window, and `rates`,
    each window's examples/s; `run_medians` is each run's own median, in run order.
    """
    rates = [w["examples_per_second"] for windows in runs for w in windows]
    return {
        "rates": rates,
        "median": stats.median(rates),
        "min": min(rates) if rates else None,
        "max": max(rates) if rates else None,
        "p25": stats.percentile(rates, 25),
        "p75": stats.percentile(rates, 75),
        "windows": len(rates),
        "run_medians": [
            stats.median([w["examples_per_second"] for w in windows]) for windows in runs
        ],
    }


def ratio_summary(numerator: dict, denominator: dict, confidence: float = RATIO_CONFIDENCE) -> dict:
    """Returns the ratio of two modes' window medians, its bootstrap interval over the
    windows (`interval`: low, high, confidence; None with under two windows a mode),
    and the spread of the ratios of their runs paired in order (run k of one against
    run k of the other)."""
    top, bottom = numerator["median"], denominator["median"]
    paired = [
        a / b for a, b in zip(numerator["run_medians"], denominator["run_medians"]) if a and b
    ]
    return {
        "median_ratio": top / bottom if top and bottom else None,
        "interval": ratio_interval(numerator["rates"], denominator["rates"], confidence),
        "paired": stats.spread(paired),
    }


def ratio_interval(
    numerator_rates: Sequence[float],
    denominator_rates: Sequence[float],
    confidence: float = RATIO_CONFIDENCE,
) -> Optional[dict]:
    """Returns {low, high, confidence}: the bootstrap interval of the ratio of the two
    rates' medians; None with under two rates a side."""
    bounds = stats.ratio_of_medians_interval(numerator_rates, denominator_rates, confidence)
    return {"low": bounds[0], "high": bounds[1], "confidence": confidence} if bounds else None


def step_microseconds(examples_per_second: Optional[float], batch_size: int) -> Optional[float]:
    """Returns the time of one step, in microseconds, at a throughput."""
    if not examples_per_second:
        return None
    return batch_size / examples_per_second * 1e6


# ---------------------------------------------------------------------------
# The training runs (child process).


def fn_args(paths, steps: int, model_dir: str, hparams: Mapping):
    """Returns the `FnArgs` a `trainer_fn` reads, for a fresh run in `model_dir`."""
    from modules.common import estimator

    # No model_run_dir: no resuming of an earlier attempt, every run is fresh.
    return estimator.training_fn_args(
        paths["transform_graph"],
        paths["train_files"],
        paths["eval_files"],
        steps,
        model_dir,
        custom_config={"hparams": dict(hparams)},
    )


def _estimator_hook(seconds: float):
    import tensorflow as tf

    class StepTimesHook(tf.compat.v1.train.SessionRunHook):
        """Records the end time of every training step; stops after `seconds`."""

        def __init__(self):
            self.start = None
            self.step_ends: List[float] = []

        def after_create_session(self, session, coord):
            self.start = time.perf_counter()

        def after_run(self, run_context, run_values):
            now = time.perf_counter()
            self.step_ends.append(now)
            if now - self.start >= seconds:
                run_context.request_stop()

    return StepTimesHook()


def _train_estimator(family, paths, seconds: float, work_dir: str, hparams: Mapping) -> dict:
    import tensorflow_estimator as tf_estimator

    from pipeline.definition import families
    from pipeline.serving import client as serving

    trainer_args = fn_args(paths, UNBOUNDED_STEPS, tempfile.mkdtemp(dir=work_dir), hparams)
    built = families.trainer_fn(family)(trainer_args, serving.load_schema(family.schema_file))
    hook = _estimator_hook(seconds)
    train_spec = built["train_spec"]._replace(hooks=tuple(built["train_spec"].hooks) + (hook,))
    tf_estimator.estimator.train_and_evaluate(built["estimator"], train_spec, built["eval_spec"])
    return {"start": hook.start, "step_ends": hook.step_ends}


def _train_keras(family, paths, seconds: float, work_dir: str, hparams: Mapping) -> dict:
    del work_dir  # Keras keeps its model in memory.
    import tensorflow as tf
    import tensorflow_transform as tft

    from modules.common import estimator
    from pipeline.definition import families

    class StepTimes(tf.keras.callbacks.Callback):
        """Records the end time of every training step; stops after `seconds`."""

        def __init__(self):
            super().__init__()
            self._supports_tf_logs = True  # Leaves the logs as tensors: no sync per step.
            self.start = None
            self.step_ends: List[float] = []

        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            now = time.perf_counter()
            self.step_ends.append(now)
            if now - self.start >= seconds:
                self.model.stop_training = True

    hparams = {**estimator.hparams_for(family.contract, None), **hparams}
    tf_transform_output = tft.TFTransformOutput(paths["transform_graph"])
    keras_model = families.model_builder(family)(tf_transform_output, hparams)
    dataset = estimator.input_fn(
        paths["train_files"],
        tf_transform_output,
        family.contract.label_key,
        hparams["train_batch_size"],
    )
    callback = StepTimes()
    keras_model.fit(
        dataset, steps_per_epoch=UNBOUNDED_STEPS, epochs=1, verbose=0, callbacks=[callback]
    )
    return {"start": callback.start, "step_ends": callback.step_ends}


def measure(
    mode: str,
    build_dir: str,
    family_name: str = "taxi",
    warmup_seconds: float = WARMUP_SECONDS,
    windows: int = WINDOWS,
    window_seconds: float = WINDOW_SECONDS,
    hparams: Optional[Mapping] = None,
) -> dict:
    """Makes one training run of `mode` and returns its steady-state windows."""
    from modules.common import estimator
    from pipeline.definition import families

    hparams = dict(hparams or {})
    family = families.load(family_name)
    train = {"estimator": _train_estimator, "keras": _train_keras}[mode]
    paths = transform_paths(build_dir, family_name)
    batch_size = {**estimator.hparams_for(family.contract, None), **hparams}["train_batch_size"]
    seconds = warmup_seconds + windows * window_seconds + STOP_SLACK_SECONDS
    with tempfile.TemporaryDirectory(prefix=f"bench-{mode}-") as work_dir:
        began = time.perf_counter()
        timed = train(family, paths, seconds, work_dir, hparams)
        ended = time.perf_counter()
    found = steady_windows(
        timed["step_ends"], timed["start"], batch_size, warmup_seconds, window_seconds
    )
    return {
        "mode": mode,
        "model": family_name,
        "batch_size": batch_size,
        "hparams": hparams,
        "steps": len(timed["step_ends"]),
        "start_up_seconds": timed["start"] - began,
        "training_seconds": timed["step_ends"][-1] - timed["start"],
        "after_training_seconds": ended - timed["step_ends"][-1],
        "windows": found[:windows],
    }


def compare(
    build_dir: str,
    repeats: int,
    out_dir: str,
    family: str = "taxi",
    windows: int = WINDOWS,
    window_seconds: float = WINDOW_SECONDS,
    warmup_seconds: float = WARMUP_SECONDS,
) -> dict:
    """Runs both modes `repeats` times, interleaved, and returns windows and ratio."""
    from bench import machine

    records: Dict[str, List[dict]] = {mode: [] for mode in MODES}
    for index, mode in enumerate(interleaved_order(MODES, repeats)):
        run = len(records[mode]) + 1
        print(f"[bench] training throughput ({family}): {mode}, run {run}", flush=True)
        result = process_monitor.run_json(
            "bench.training_throughput",
            [
                "--mode",
                mode,
                "--build-dir",
                build_dir,
                "--model",
                family,
                "--windows",
                str(windows),
                "--window-seconds",
                str(window_seconds),
                "--warmup-seconds",
                str(warmup_seconds),
            ],
            os.path.join(out_dir, "logs", f"train-{family}-{index + 1}-{mode}"),
        )
        result["load_average_1m"] = machine.machine_info()["load_average_1m"]
        records[mode].append(result)
    batch_size = records["keras"][0]["batch_size"]
    summary = {mode: window_summary([r["windows"] for r in runs]) for mode, runs in records.items()}
    for figures in summary.values():
        figures["step_microseconds"] = step_microseconds(figures["median"], batch_size)
    ratio = ratio_summary(summary["estimator"], summary["keras"])
    return {
        "build_dir": build_dir,
        "model": family,
        "batch_size": batch_size,
        "warmup_seconds": warmup_seconds,
        "window_seconds": window_seconds,
        "windows_per_run": windows,
        "order": interleaved_order(MODES, repeats),
        "reported": "steady state: examples/s in consecutive windows of at least "
        f"{window_seconds:g} s of training after a {warmup_seconds:g} s "
        "warm-up, one training run per child process; median of all windows",
        "modes": summary,
        "ratio_estimator_to_keras": ratio["median_ratio"],
        "ratio_interval": ratio["interval"],
        "ratio_paired_runs": ratio["paired"],
        "run_records": records,
    }


def main(argv=None) -> int:
    """Makes one training run of one mode and prints its windows as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--model", default="taxi", help="model family")
    parser.add_argument(
        "--build-dir", required=True, help="a pipeline build folder holding Transform's output"
    )
    parser.add_argument("--windows", type=int, default=WINDOWS)
    parser.add_argument("--window-seconds", type=float, default=WINDOW_SECONDS)
    parser.add_argument("--warmup-seconds", type=float, default=WARMUP_SECONDS)
    parser.add_argument(
        "--hparams", default="{}", help="JSON object of hyperparameter overrides (both modes)"
    )
    args = parser.parse_args(argv)
    if args.windows < 1 or args.window_seconds <= 0 or args.warmup_seconds < 0:
        parser.error(
            "--windows must be at least 1, --window-seconds positive, --warmup-seconds not negative"
        )
    print(
        json.dumps(
            measure(
                args.mode,
                args.build_dir,
                args.model,
                args.warmup_seconds,
                args.windows,
                args.window_seconds,
                json.loads(args.hparams),
            )
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
