"""The whole Trainer component's time, split: build, start-up, training, evaluation, exports.

One child process runs what TFX's Estimator-based Trainer executor runs, at the
family's default step count: the family's `trainer_fn`, `tf.estimator.train_and_evaluate`
on its specs, then `tfma.export.export_eval_savedmodel`. Timestamps come from a
training hook (first step begins, each step ends), a checkpoint listener (each save,
and the end of training), an evaluation hook (each evaluation ends) and a wrapper of
the serving exporter; `phase_split` turns them into seconds per phase.

    python -m bench.trainer_split --model reviews --build-dir DIR
"""

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Dict, Optional

from bench import process_monitor
from bench import stats
from bench import training_throughput

PHASES = (
    "build",
    "start_up",
    "training",
    "evaluation_during_training",
    "final_checkpoint",
    "final_evaluation",
    "serving_export",
    "training_session_close",
    "eval_savedmodel_export",
)


def phase_split(events: Dict[str, object]) -> Dict[str, Optional[float]]:
    """Returns seconds per phase from a Trainer run's timestamps.

    Args:
      events: `began` (trainer_fn called), `built` (it returned), `first_step`
        (the first training step began), `last_step` (the last one ended), `saves`
        (each checkpoint written, in order; the last one is the final checkpoint),
        `evaluations`: [(began, ended)] of each evaluation that ran during training
        (they interrupt training and are subtracted from it), `export`: (began, ended)
        of the serving export, `returned` (train_and_evaluate returned),
        `eval_savedmodel`: (began, ended).

    The final evaluation runs from the final checkpoint to the serving export: both run
    inside the training session's closing hooks; the session itself (its input
    pipeline included) closes after the export, until train_and_evaluate returns.
    """
    during = sum(end - begin for begin, end in events["evaluations"])
    final_save = events["saves"][-1]
    export_began, export_ended = events["export"]
    eval_began, eval_ended = events["eval_savedmodel"]
    return {
        "build": events["built"] - events["began"],
        "start_up": events["first_step"] - events["built"],
        "training": events["last_step"] - events["first_step"] - during,
        "evaluation_during_training": during,
        "final_checkpoint": final_save - events["last_step"],
        "final_evaluation": export_began - final_save,
        "serving_export": export_ended - export_began,
        "training_session_close": events["returned"] - export_ended,
        "eval_savedmodel_export": eval_ended - eval_began,
    }


def _instruments():
    import tensorflow as tf
    import tensorflow_estimator as tf_estimator

    events: Dict[str, object] = {"evaluations": [], "saves": []}

    class TrainingTimes(tf.compat.v1.train.SessionRunHook):
        def before_run(self, run_context):
            events.setdefault("first_step", time.perf_counter())

        def after_run(self, run_context, run_values):
            events["last_step"] = time.perf_counter()

    class SaveTimes(tf.compat.v1.train.CheckpointSaverListener):
        # Runs before the Estimator's own listener, which may evaluate after a save.
        def after_save(self, session, global_step_value):
            events["saves"].append(time.perf_counter())

    class EvaluationTimes(tf.compat.v1.train.SessionRunHook):
        def end(self, session):
            # An evaluation begins right after the save that triggered it.
            events["evaluations"].append((events["saves"][-1], time.perf_counter()))

    class TimedExporter(tf_estimator.estimator.Exporter):
        def __init__(self, exporter):
            self._exporter = exporter

        @property
        def name(self):
            return self._exporter.name

        def export(self, estimator, export_path, checkpoint_path, eval_result, is_the_final_export):
            began = time.perf_counter()
            result = self._exporter.export(
                estimator, export_path, checkpoint_path, eval_result, is_the_final_export
            )
            if is_the_final_export:
                events["export"] = (began, time.perf_counter())
            return result

    return events, TrainingTimes(), SaveTimes(), EvaluationTimes(), TimedExporter


def measure(
    build_dir: str,
    family_name: str,
    train_steps: Optional[int] = None,
    hparams: Optional[Dict[str, object]] = None,
) -> dict:
    """Runs a family's Trainer as TFX's Estimator executor does and times its phases."""
    import tensorflow_estimator as tf_estimator
    import tensorflow_model_analysis as tfma

    from pipeline.definition import families
    from pipeline.serving import client as serving

    family = families.load(family_name)
    steps = train_steps or family.contract.train_steps
    paths = training_throughput.transform_paths(build_dir, family_name)
    events, training, saves, evaluations, timed_exporter = _instruments()
    with tempfile.TemporaryDirectory(prefix="bench-trainer-") as work_dir:
        fn_args = training_throughput.fn_args(paths, steps, f"{work_dir}/model", hparams or {})
        events["began"] = time.perf_counter()
        built = families.trainer_fn(family)(fn_args, serving.load_schema(family.schema_file))
        events["built"] = time.perf_counter()
        train_spec = built["train_spec"]._replace(
            hooks=tuple(built["train_spec"].hooks) + (training,),
            saving_listeners=tuple(built["train_spec"].saving_listeners) + (saves,),
        )
        eval_spec = built["eval_spec"]._replace(
            hooks=tuple(built["eval_spec"].hooks) + (evaluations,),
            exporters=tuple(timed_exporter(e) for e in built["eval_spec"].exporters),
        )
        tf_estimator.estimator.train_and_evaluate(built["estimator"], train_spec, eval_spec)
        events["returned"] = time.perf_counter()
        began = time.perf_counter()
        tfma.export.export_eval_savedmodel(
            estimator=built["estimator"],
            export_dir_base=f"{work_dir}/eval_model",
            eval_input_receiver_fn=built["eval_input_receiver_fn"],
        )
        events["eval_savedmodel"] = (began, time.perf_counter())
    # The final evaluation is the last one; the others ran during training.
    events["evaluations"] = events["evaluations"][:-1]
    return {
        "model": family_name,
        "train_steps": steps,
        "hparams": hparams or {},
        "evaluations_during_training": len(events["evaluations"]),
        "seconds": phase_split(events),
        "total_seconds": events["eval_savedmodel"][1] - events["began"],
    }


def run(build_dir: str, family: str, repeats: int, out_dir: str) -> dict:
    """Times `repeats` Trainer runs, each in its own process; medians per phase."""
    runs = []
    for repeat in range(repeats):
        print(f"[bench] Trainer time split ({family}): run {repeat + 1}", flush=True)
        runs.append(
            process_monitor.run_json(
                "bench.trainer_split",
                ["--model", family, "--build-dir", build_dir],
                os.path.join(out_dir, "logs", f"trainer-split-{family}-{repeat + 1}"),
            )
        )
    return {
        "train_steps": runs[0]["train_steps"],
        "median_seconds": {
            phase: stats.median([r["seconds"][phase] for r in runs]) for phase in PHASES
        },
        "median_total_seconds": stats.median([r["total_seconds"] for r in runs]),
        "evaluations_during_training": [r["evaluations_during_training"] for r in runs],
        "runs": runs,
    }


def main(argv=None) -> int:
    """Times one Trainer run and prints its split as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="taxi", help="model family")
    parser.add_argument(
        "--build-dir", required=True, help="a pipeline build folder holding Transform's output"
    )
    parser.add_argument(
        "--train-steps", type=int, default=None, help="training steps (default: the family's)"
    )
    parser.add_argument("--hparams", default="{}", help="JSON object of hyperparameter overrides")
    args = parser.parse_args(argv)
    print(
        json.dumps(measure(args.build_dir, args.model, args.train_steps, json.loads(args.hparams))),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
