"""One replica of multi-worker Estimator training, run as TFX's Estimator Trainer runs it.

Every replica of a cluster (chief, workers, parameter servers, and an evaluator that is
not in the cluster spec) runs this same entry; its role comes from the `TF_CONFIG`
environment variable, which `RunConfig` reads. The entry builds TFX's `FnArgs` on
Transform's output, calls the model family's `trainer_fn` and
`tf.estimator.train_and_evaluate`, then, on the chief only, writes the EvalSavedModel
and publishes the serving and eval models the way
`tfx.components.trainer.executor.Executor` does (`Format-Serving`, `Format-TFMA`).

Roles, as tensorflow_estimator's `_TrainingExecutor` defines them: chief and workers
train asynchronously against the parameter servers; a parameter server serves variables
until it is killed (`server.join()` never returns); the evaluator evaluates each new
checkpoint and writes the serving export (the `FinalExporter`) once the evaluated step
reaches `train_steps`. So the chief waits for that export before publishing it.

Usage:
  TF_CONFIG='{"cluster": {...}, "task": {"type": "worker", "index": 0}}' \\
  python -m pipeline.cluster.replica --transform-output DIR \\
      --train-files GLOB --eval-files GLOB --model-run-dir DIR --model-dir DIR \\
      --train-steps N [--step-report FILE] [--chief-waits-for-workers SECS]
"""

import argparse
import json
import os
import sys
import time

import tensorflow as tf
import tensorflow_estimator as tf_estimator
import tensorflow_model_analysis as tfma
from tfx.components.trainer import fn_args_utils
from tfx.utils import io_utils
from tfx.utils import path_utils

from modules.common import estimator as estimator_lib
from pipeline.cluster import hooks as training_hooks
from pipeline.definition import families
from pipeline.serving import client as serving


def build_fn_args(args) -> fn_args_utils.FnArgs:
    """Returns the `FnArgs` TFX's Estimator executor hands `trainer_fn`.

    As in that executor, the Estimator works in `<model_run_dir>/Format-Serving`.
    """
    return estimator_lib.training_fn_args(
        args.transform_output,
        sorted(tf.io.gfile.glob(args.train_files)),
        sorted(tf.io.gfile.glob(args.eval_files)),
        args.train_steps,
        path_utils.serving_model_dir(args.model_run_dir),
        args.model_run_dir,
        eval_steps=args.eval_steps,
        custom_config={"hparams": json.loads(args.hparams)},
        eval_model_dir=path_utils.eval_model_dir(args.model_run_dir),
    )


def wait_for_final_export(export_dir: str, timeout_secs: float) -> str:
    """Returns the one finished export under `export_dir`, waiting up to `timeout_secs`.

    Estimator writes an export under `temp-<time>` and renames it to `<time>` when
    complete, so only all-digit folders are finished.

    Raises:
      TimeoutError: when no finished export appeared in time.
    """
    deadline = time.monotonic() + timeout_secs
    while True:
        if tf.io.gfile.isdir(export_dir):
            done = [
                name.rstrip("/")
                for name in tf.io.gfile.listdir(export_dir)
                if name.rstrip("/").isdigit()
            ]
            if done:
                return os.path.join(export_dir, max(done, key=int))
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"No serving export in {export_dir} after {timeout_secs:.0f}s: the "
                "evaluator writes it once it has evaluated the final checkpoint; "
                "is an evaluator running with the same model dir?"
            )
        time.sleep(1)


def publish_models(
    estimator, spec, fn_args, model_dir: str, exporter_name: str, timeout_secs: float
) -> None:
    """On the chief: writes the EvalSavedModel and copies both models to `model_dir`.

    The layout is the Model artifact's (`Format-Serving`, `Format-TFMA`), as written
    by TFX's Estimator executor.
    """
    serving_source = wait_for_final_export(
        os.path.join(fn_args.serving_model_dir, "export", exporter_name), timeout_secs
    )
    tfma.export.export_eval_savedmodel(
        estimator=estimator,
        export_dir_base=fn_args.eval_model_dir,
        eval_input_receiver_fn=spec["eval_input_receiver_fn"],
    )
    io_utils.copy_dir(serving_source, path_utils.serving_model_dir(model_dir))
    io_utils.copy_dir(
        path_utils.eval_model_path(fn_args.model_run_dir), path_utils.eval_model_dir(model_dir)
    )


def parse_args(argv=None) -> argparse.Namespace:
    """Parses this replica's command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transform-output", required=True, help="Transform's TransformFn folder")
    parser.add_argument("--train-files", required=True, help="glob of transformed TFRecords")
    parser.add_argument("--eval-files", required=True, help="glob of transformed TFRecords")
    parser.add_argument(
        "--model-run-dir",
        required=True,
        help="working folder shared by every replica (checkpoints, exports)",
    )
    parser.add_argument(
        "--model-dir",
        required=True,
        help="where the chief publishes Format-Serving and Format-TFMA",
    )
    parser.add_argument("--train-steps", type=int, required=True)
    parser.add_argument(
        "--eval-steps", type=int, default=0, help="evaluation steps; 0 reads the whole eval split"
    )
    parser.add_argument(
        "--hparams", default="{}", help="JSON overrides of the family's hyperparameters"
    )
    parser.add_argument("--model", default=families.DEFAULT_FAMILY, help="model family")
    parser.add_argument(
        "--step-report", default=None, help="write this replica's training step count here as JSON"
    )
    parser.add_argument(
        "--chief-waits-for-workers",
        type=float,
        default=0.0,
        help="seconds the chief may wait, before its first step, for "
        "another replica to train (0: no wait)",
    )
    parser.add_argument(
        "--export-timeout",
        type=float,
        default=300.0,
        help="seconds the chief waits for the evaluator's export",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """Runs this replica's part of `train_and_evaluate` (a parameter server never returns)."""
    args = parse_args(argv)
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.INFO)
    fn_args = build_fn_args(args)
    if not fn_args.train_files or not fn_args.eval_files:
        print(f"error: no files match {args.train_files!r} or {args.eval_files!r}", file=sys.stderr)
        return 2
    family = families.load(args.model)
    trainer_fn = families.trainer_fn(family)
    spec = trainer_fn(fn_args, serving.load_schema(family.schema_file))
    estimator = spec["estimator"]
    hooks = []
    if args.step_report:
        hooks.append(
            training_hooks.StepReportHook(
                args.step_report, estimator.config.task_type, estimator.config.task_id
            )
        )
    if args.chief_waits_for_workers > 0 and estimator.config.task_type == "chief":
        hooks.append(training_hooks.WaitForWorkersHook(args.chief_waits_for_workers))
    train_spec = spec["train_spec"]
    train_spec = train_spec._replace(hooks=tuple(train_spec.hooks) + tuple(hooks))
    tf_estimator.estimator.train_and_evaluate(estimator, train_spec, spec["eval_spec"])
    if estimator.config.is_chief:
        publish_models(
            estimator,
            spec,
            fn_args,
            args.model_dir,
            family.contract.exporter_name,
            args.export_timeout,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
