"""Parity of the two trainers: the same family, data and steps, through the Estimator and Keras.

Reads a finished run of a family (either trainer) in a build folder: its Trainer's
record (`training_inputs.json`: Transform's output, the train and eval files, the
steps, the hyperparameters). Then, for each seed, trains the family's model from that
same Transform output both ways, in this process:

- estimator: the production `trainer_fn` spec, `tf.estimator.train_and_evaluate`;
- keras: the Keras trainer's `model.fit` (`modules.common.keras_training`).

Both are scored by the same compiled Keras metric (the task's objective: AUC,
accuracy or RMSE) on the whole eval split, and timed. The seed sets the Keras model's
initial weights, which the Estimator starts from too (`model_to_estimator` warm-starts
from them); shuffling and dropout stay unseeded on the Estimator's side. The
tolerance is the seeds' spread: the larger range (max - min) of the two trainers.

    python -m bench.trainer_parity --model taxi --build-dir build --seeds 1,2,3
"""

import argparse
import glob
import json
import os
import sys
import tempfile
import time

import tensorflow as tf
import tensorflow_estimator as tf_estimator

from bench import machine
from bench import stats
from modules.common import estimator
from modules.common import keras_training
from modules.common.schema import load_schema
from pipeline.definition import families
from pipeline.definition import trainers


def latest_training_record(build_dir: str, family: str, trainer: str) -> dict:
    """The newest Trainer record of the family's runs of `trainer` in `build_dir`.

    Raises:
      FileNotFoundError: no run of that family and trainer left a record there.
    """
    folder = os.path.join(
        build_dir, "pipeline_root", trainers.suffixed(family, trainer), "Trainer", "model_run"
    )
    records = glob.glob(os.path.join(folder, "*", estimator.TRAINING_INPUTS_FILE))
    if not records:
        raise FileNotFoundError(
            f"{folder}: no Trainer record; run the family first "
            f"(make run MODEL={family} TRAINER={trainer} BUILD={build_dir})."
        )
    newest = max(records, key=lambda path: int(path.split(os.sep)[-2]))
    with open(newest) as record_file:
        return json.load(record_file)


def _fn_args(record: dict, model_dir: str):
    return estimator.training_fn_args(
        record["transform_output"],
        record["train_files"],
        record["eval_files"],
        record["train_steps"],
        serving_model_dir=model_dir,
    )


def train_once(trainer: str, record: dict, family, seed: int) -> dict:
    """Trains one model `trainer`'s way; returns its objective metric and seconds."""
    objective, _ = family.contract.task.objective
    build_model = families.model_builder(family)
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(seed)
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as model_dir:
        fn_args = _fn_args(record, model_dir)
        if trainer == trainers.KERAS:
            metrics = keras_training.evaluated_fit(
                fn_args, family.contract, build_model, record["hparams"]
            )
        else:
            schema = load_schema(family.schema_file)
            spec = estimator.build_trainer_spec(
                fn_args, schema, family.contract, build_model, hparams=record["hparams"]
            )
            metrics, _ = tf_estimator.estimator.train_and_evaluate(
                spec["estimator"], spec["train_spec"], spec["eval_spec"]
            )
    return {
        "seed": seed,
        objective: float(metrics[objective]),
        "seconds": round(time.monotonic() - start, 1),
    }


def compare(build_dir: str, family_name: str, seeds, source_trainer: str = trainers.KERAS):
    """Trains both ways for every seed; returns the figures and the stated tolerance."""
    family = families.load(family_name)
    record = latest_training_record(build_dir, family_name, source_trainer)
    objective, _ = family.contract.task.objective
    runs = {name: [] for name in trainers.TRAINERS}
    for seed in seeds:
        for name in trainers.TRAINERS:
            runs[name].append(train_once(name, record, family, seed))
            print(f"[parity] {family_name} {name} seed {seed}: {runs[name][-1]}", flush=True)
    summary = {
        name: {
            objective: stats.spread([r[objective] for r in runs[name]]),
            "seconds": stats.spread([r["seconds"] for r in runs[name]]),
        }
        for name in trainers.TRAINERS
    }
    ranges = [s[objective]["max"] - s[objective]["min"] for s in summary.values()]
    means = {name: sum(s[objective]["values"]) / len(seeds) for name, s in summary.items()}
    difference = means[trainers.KERAS] - means[trainers.ESTIMATOR]
    return {
        "family": family_name,
        "metric": objective,
        "train_steps": record["train_steps"],
        "seeds": list(seeds),
        "means": means,
        "difference": difference,
        "tolerance": max(ranges),
        "within": abs(difference) <= max(ranges),
        "trainers": summary,
        "runs": runs,
        "machine": machine.machine_info(),
    }


def main(argv=None) -> int:
    """Runs the comparison of one family and writes it as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=families.DEFAULT_FAMILY)
    parser.add_argument("--build-dir", default="build")
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated seeds")
    parser.add_argument("--source-trainer", default=trainers.KERAS, choices=trainers.TRAINERS)
    parser.add_argument("--out", default=None, help="JSON file (default: build/bench/parity)")
    args = parser.parse_args(argv)
    seeds = [int(seed) for seed in args.seeds.split(",") if seed.strip()]
    try:
        result = compare(os.path.abspath(args.build_dir), args.model, seeds, args.source_trainer)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    result["command"] = "python -m bench.trainer_parity " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    out = args.out or os.path.join(args.build_dir, "bench", "parity", f"{args.model}.json")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as out_file:
        json.dump(result, out_file, indent=2)
    metric, means = result["metric"], result["means"]
    print(
        f"[parity] {args.model} {metric}: estimator {means['estimator']:.4f}, keras "
        f"{means['keras']:.4f}, difference {result['difference']:+.4f}, tolerance "
        f"{result['tolerance']:.4f} (seed spread): "
        + ("within" if result["within"] else "OUTSIDE")
        + f"; {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
