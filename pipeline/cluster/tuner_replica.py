"""One process of a distributed search: the chief oracle, or a worker that runs trials.

keras-tuner's distributed mode: one chief process holds the oracle behind a gRPC
server and proposes every trial; each worker asks it for a trial, trains it (here:
the family's `tuner_fn`, so every trial goes through the Estimator as production
training does) and reports its eval objective back (its task's: AUC, accuracy or
RMSE), until the oracle has no trial left. The role comes from the environment, as
keras-tuner reads it:

  KERASTUNER_TUNER_ID     "chief" for the oracle; any other id ("tuner0", ...) for a worker
  KERASTUNER_ORACLE_IP    the chief's address (127.0.0.1 on one machine)
  KERASTUNER_ORACLE_PORT  the chief's port

Every process gets the same arguments; `--directory` must be storage all of them
share (each trial trains in its own `trial_<id>/model` below it). When the search is
over, the chief writes what TFX's Tuner component writes: `best_hyperparameters.txt`
(the JSON of `HyperParameters.get_config()`, which a Trainer reads) and `trials.json`.

Usage:
  KERASTUNER_TUNER_ID=chief KERASTUNER_ORACLE_IP=127.0.0.1 KERASTUNER_ORACLE_PORT=8000 \\
  python -m pipeline.cluster.tuner_replica --model taxi --transform-output DIR \\
      --train-files GLOB --eval-files GLOB --schema FILE --directory SHARED_DIR \\
      --trials N --trial-steps N [--hparams JSON] [--algorithm random|bayesian] [--seed N]
"""

import argparse
import json
import os
import sys

import tensorflow as tf
from keras_tuner.src.distribute import utils as dist_utils
from tfx.components.trainer import fn_args_utils

from components import tuner as tuner_component
from pipeline.definition import families

BEST_HYPERPARAMETERS_FILE = "best_hyperparameters.txt"


def build_fn_args(args) -> fn_args_utils.FnArgs:
    """Returns the `FnArgs` TFX's Tuner executor hands `tuner_fn`."""
    return fn_args_utils.FnArgs(
        working_dir=args.directory,
        train_files=sorted(tf.io.gfile.glob(args.train_files)),
        eval_files=sorted(tf.io.gfile.glob(args.eval_files)),
        transform_graph_path=args.transform_output,
        schema_path=args.schema,
        train_steps=args.trial_steps,
        eval_steps=None,
        custom_config={
            "tuning": {"algorithm": args.algorithm, "trials": args.trials, "seed": args.seed},
            "hparams": json.loads(args.hparams),
        },
    )


def write_results(tuner, directory: str) -> None:
    """Writes the best hyperparameters and every trial, as TFX's Tuner component does."""
    best = tuner.get_best_hyperparameters()[0].get_config()
    with tf.io.gfile.GFile(os.path.join(directory, BEST_HYPERPARAMETERS_FILE), "w") as out:
        out.write(json.dumps(best))
    with tf.io.gfile.GFile(os.path.join(directory, tuner_component.TRIALS_FILE), "w") as out:
        out.write(json.dumps(tuner_component.trial_records(tuner.oracle), indent=2))


def main(argv=None) -> int:
    """Runs this process's part of the search; the chief writes the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=families.DEFAULT_FAMILY)
    parser.add_argument("--transform-output", required=True)
    parser.add_argument("--train-files", required=True)
    parser.add_argument("--eval-files", required=True)
    parser.add_argument("--schema", required=True, help="the raw data's schema.pbtxt")
    parser.add_argument("--directory", required=True, help="storage every process shares")
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--trial-steps", type=int, required=True)
    parser.add_argument("--hparams", default="{}", help="JSON of fixed hyperparameters")
    parser.add_argument("--algorithm", default="random")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if not dist_utils.has_chief_oracle():
        print(
            "error: set KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP and "
            "KERASTUNER_ORACLE_PORT (see the module's docstring)",
            file=sys.stderr,
        )
        return 2
    family = families.load(args.model)
    if not family.tunable:
        print(
            f"error: the {family.name!r} family cannot be tuned (no search_space)", file=sys.stderr
        )
        return 2
    result = families.tuner_fn(family)(build_fn_args(args))
    result.tuner.search(**result.fit_kwargs)
    print(f"[tuner] {result.tuner.tuner_id} ran trials {result.tuner.trials_run}", flush=True)
    if dist_utils.is_chief_oracle():
        write_results(result.tuner, args.directory)
        print(
            f"[tuner] chief: {len(result.tuner.oracle.trials)} trials; results in {args.directory}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
