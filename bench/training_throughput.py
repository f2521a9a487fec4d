"""Training throughput: the Estimator path against the same Keras model's `fit`.

Both train `modules.model.build_keras_model` on Transform's output through
`modules.trainer.input_fn`, with the trainer's batch size. The Estimator path is what
the pipeline's Trainer runs: `trainer_fn` (`model_to_estimator`) and
`tf.estimator.train_and_evaluate`. The Keras path is `model.fit` in eager/tf.function
mode.

Each timed run builds its model from scratch and trains a given number of steps. Two
step counts are timed and the steady-state figure is their difference:
(steps2 - steps1) * batch / (t2 - t1). Everything paid once per run cancels out:
graph building or tracing, the Estimator's first checkpoint, its evaluation and
export at the end. The Estimator's periodic checkpoints (every `save_checkpoints_secs`
in trainer.py) grow with the time trained and are counted, as they are in the
pipeline. Each mode first runs a short unmeasured warm-up in the same
process, so lazy imports and thread pools are not charged to the first timed run.

Run as a child process, one mode at a time:
    python -m bench.training_throughput --mode keras --build-dir build/bench/runs/cold-1
"""

import argparse
import glob
import json
import os
import sys
import tempfile
import time
import types
from typing import Dict, List, Sequence

from bench import process_monitor
from bench import stats

MODES = ("estimator", "keras")
DEFAULT_STEPS = (200, 1200)
WARMUP_STEPS = 20


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


def _train_estimator(family, paths, steps: int, work_dir: str) -> None:
    import tensorflow_estimator as tf_estimator
    from pipeline.definition import families
    from pipeline.serving import client as serving

    fn_args = types.SimpleNamespace(
        transform_output=paths["transform_graph"],
        train_files=paths["train_files"],
        eval_files=paths["eval_files"],
        train_steps=steps,
        eval_steps=0,
        serving_model_dir=tempfile.mkdtemp(dir=work_dir),
        model_run_dir=None,  # No resuming of an earlier attempt: every run is fresh.
        custom_config=None,  # The family's own hyperparameters, checkpoints included.
    )
    built = families.trainer_fn(family)(fn_args, serving.load_schema(family.schema_file))
    tf_estimator.estimator.train_and_evaluate(
        built["estimator"], built["train_spec"], built["eval_spec"])


def _train_keras(family, paths, steps: int, work_dir: str) -> None:
    del work_dir  # Keras keeps its model in memory.
    import tensorflow_transform as tft
    from modules.common import estimator
    from pipeline.definition import families

    hparams = estimator.hparams_for(family.contract, None)
    tf_transform_output = tft.TFTransformOutput(paths["transform_graph"])
    keras_model = families.model_builder(family)(tf_transform_output, hparams)
    dataset = estimator.input_fn(paths["train_files"], tf_transform_output,
                                 family.contract.label_key, hparams["train_batch_size"])
    keras_model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)


def measure(mode: str, build_dir: str, step_counts: Sequence[int],
            family_name: str = "taxi") -> dict:
    """Times training runs of `mode` for each step count, after a warm-up run."""
    from modules.common import estimator
    from pipeline.definition import families

    family = families.load(family_name)
    train = {"estimator": _train_estimator, "keras": _train_keras}[mode]
    paths = transform_paths(build_dir, family_name)
    with tempfile.TemporaryDirectory(prefix=f"bench-{mode}-") as work_dir:
        timed = []
        for steps in (WARMUP_STEPS, *step_counts):
            start = time.perf_counter()
            train(family, paths, steps, work_dir)
            timed.append({"steps": steps, "seconds": time.perf_counter() - start})
    batch_size = estimator.hparams_for(family.contract, None)["train_batch_size"]
    return {"mode": mode, "model": family_name, "batch_size": batch_size,
            "warmup": timed[0], "runs": timed[1:]}


def steady_state(result: dict) -> dict:
    """Returns examples/s from the difference of the first and last timed runs.

    Also returns the throughput of the longest run start-up included, and the
    start-up (seconds of the longest run not explained by steady-state training).
    """
    first, last = result["runs"][0], result["runs"][-1]
    batch = result["batch_size"]
    extra = last["seconds"] - first["seconds"]
    steady = (last["steps"] - first["steps"]) * batch / extra if extra > 0 else None
    return {
        "steady_examples_per_second": steady,
        "overall_examples_per_second": last["steps"] * batch / last["seconds"],
        "startup_seconds": (last["seconds"] - last["steps"] * batch / steady
                            if steady else None),
    }


def compare(build_dir: str, repeats: int, out_dir: str,
            step_counts: Sequence[int] = DEFAULT_STEPS, family: str = "taxi") -> dict:
    """Measures both modes `repeats` times, in alternating order, and their ratio."""
    per_mode: Dict[str, List[dict]] = {mode: [] for mode in MODES}
    for repeat in range(repeats):
        order = MODES if repeat % 2 == 0 else tuple(reversed(MODES))
        for mode in order:
            print(f"[bench] training throughput: {mode}, run {repeat + 1}", flush=True)
            result = process_monitor.run_json(
                "bench.training_throughput",
                ["--mode", mode, "--build-dir", build_dir, "--model", family,
                 "--steps", ",".join(map(str, step_counts))],
                os.path.join(out_dir, "logs", f"train-{mode}-{repeat + 1}"))
            result.update(steady_state(result))
            per_mode[mode].append(result)
    summary = {
        mode: {key: stats.spread([r[key] for r in results]) for key in (
            "steady_examples_per_second", "overall_examples_per_second",
            "startup_seconds")}
        for mode, results in per_mode.items()
    }
    estimator = summary["estimator"]["steady_examples_per_second"]["median"]
    keras = summary["keras"]["steady_examples_per_second"]["median"]
    return {
        "build_dir": build_dir,
        "batch_size": per_mode["keras"][0]["batch_size"],
        "step_counts": list(step_counts),
        "reported": "steady state: (steps2 - steps1) * batch / (t2 - t1), start-up excluded",
        "modes": summary,
        "ratio_estimator_to_keras": estimator / keras if estimator and keras else None,
        "run_records": per_mode,
    }


def main(argv=None) -> int:
    """Measures one mode and prints its timings as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--model", default="taxi", help="model family")
    parser.add_argument("--build-dir", required=True,
                        help="a pipeline build folder holding Transform's output")
    parser.add_argument("--steps", default=",".join(map(str, DEFAULT_STEPS)),
                        help="two or more increasing step counts, comma-separated")
    args = parser.parse_args(argv)
    step_counts = [int(s) for s in args.steps.split(",")]
    if len(step_counts) < 2 or step_counts != sorted(set(step_counts)):
        parser.error("--steps needs two or more increasing step counts")
    print(json.dumps(measure(args.mode, args.build_dir, step_counts, args.model)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
