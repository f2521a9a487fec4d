"""The Keras trainer (TRAINER=keras): TFX's GenericExecutor and the shared `run_fn`.

The slow tests run the Keras pipeline on the taxi sample and hold its pushed model
against the Estimator's of the session's `pipeline_run`; a real `model.fit` on the
session's Transform output is interrupted and resumed.
"""

import json
import math
import os
import subprocess

import numpy as np
import pytest
import tensorflow as tf

from components import evaluation
from modules.common import keras_training
from modules.common.estimator import RESUMED_FILE
from modules.common.estimator import hparams_for
from modules.common.estimator import training_fn_args
from pipeline.definition import config as config_lib
from pipeline.definition import families
from pipeline.definition import trainers
from pipeline.local import arguments
from pipeline.serving import client as serving

PROJECT_ROOT = config_lib.PROJECT_ROOT
TAXI = families.load("taxi")


@pytest.mark.parametrize(
    "steps, expected",
    [(1, (1, 1)), (100, (1, 100)), (101, (2, 51)), (250, (3, 84)), (1000, (10, 100))],
)
def test_training_runs_in_chunks_of_at_most_100_steps_covering_the_steps(steps, expected):
    count, per_chunk = keras_training.chunks(steps)
    assert (count, per_chunk) == expected
    assert per_chunk <= keras_training.CHUNK_STEPS
    assert steps <= count * per_chunk < steps + count


def test_no_steps_is_refused():
    with pytest.raises(ValueError, match="train_steps must be positive, got 0"):
        keras_training.chunks(0)


def test_the_keras_trainer_has_its_own_pipeline_name_and_folders(tmp_path):
    estimator_config = config_lib.local_config(str(tmp_path), TAXI.sample_dir)
    keras_config = config_lib.local_config(str(tmp_path), TAXI.sample_dir, trainer="keras")
    assert estimator_config.trainer == "estimator"
    assert keras_config.pipeline_name == estimator_config.pipeline_name + "-keras"
    assert keras_config.pipeline_root == str(tmp_path / "pipeline_root" / "taxi-keras")
    assert keras_config.serving_model_dir == str(tmp_path / "serving_model" / "taxi-keras")


def test_an_unknown_trainer_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="trainer must be one of estimator, keras, got 'tfx'"):
        config_lib.local_config(str(tmp_path), TAXI.sample_dir, trainer="tfx")


@pytest.mark.parametrize("flag, expected", [([], {}), (["--trainer", "keras"], "keras")])
def test_the_runner_takes_the_trainer(flag, expected):
    args = arguments.parser("run").parse_args(flag)
    assert arguments.overrides(args).get("trainer", {}) == expected


@pytest.mark.parametrize("target", ["run", "tune", "report", "tensorboard", "kfp"])
def test_make_passes_trainer_to_every_target_that_reads_a_pipeline(target):
    dry_run = subprocess.run(
        ["make", "-n", "-o", ".venv/.installed", target, "TRAINER=keras"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--trainer keras" in dry_run.stdout, dry_run.stdout


def test_the_evaluator_reads_a_keras_model_through_its_signatures():
    specs = TAXI.contract.task.metrics_specs()
    config = evaluation.eval_config(specs, ["trip_start_hour"], "probability", "big_tipper_xf")
    for spec in config.model_specs:
        assert spec.model_type == "tf_generic"
        assert spec.signature_name == "serving_default"
        assert spec.label_key == "big_tipper_xf"
        assert list(spec.preprocessing_function_names) == ["transform_features"]
    estimator_config = evaluation.eval_config(specs, [], "probability")
    assert [s.signature_name for s in estimator_config.model_specs] == ["eval", "eval"]
    assert not estimator_config.model_specs[0].label_key


# --- the pipeline, the pushed model, the resume ---------------------------------------


@pytest.fixture(scope="module")
def keras_run(tmp_path_factory, sample_dir):
    """The Keras pipeline run on the taxi sample, as `pipeline_run` runs the Estimator's."""
    from pipeline.local import runner as local_runner

    build_dir = str(tmp_path_factory.mktemp("keras_build"))
    config = config_lib.local_config(
        build_dir, sample_dir, train_steps=200, blessing_bound=0.8, trainer=trainers.KERAS
    )
    summary_path = os.path.join(build_dir, "run_summary.json")
    local_runner.run(config, config_lib.metadata_path(build_dir), summary_path)
    with open(summary_path) as summary_file:
        return config, json.load(summary_file)


@pytest.mark.slow
def test_the_keras_pipeline_blesses_and_pushes_a_model(keras_run):
    config, summary = keras_run
    assert summary["status"] == "finished", summary["reason"]
    assert summary["trainer"] == "keras"
    assert summary["pipeline_name"] == "chicago-taxi-keras"
    assert summary["blessed"] is True and summary["pushed"] is True
    assert summary["metrics"]["candidate"]["auc"] >= 0.8
    pushed = os.path.basename(summary["pushed_model"])
    assert os.listdir(config.serving_model_dir) == [pushed]


def _signature(model_dir, name):
    signature = tf.saved_model.load(model_dir).signatures[name]
    inputs = {
        k: (v.dtype, v.shape.as_list()) for k, v in signature.structured_input_signature[1].items()
    }
    outputs = {k: (v.dtype, v.shape.as_list()) for k, v in signature.structured_outputs.items()}
    return inputs, outputs


@pytest.mark.slow
def test_both_pushed_models_serve_the_same_signature_and_score_alike(
    keras_run, pipeline_run, schema, sample_csv
):
    keras_config, _ = keras_run
    keras_dir = serving.latest_version_dir(keras_config.serving_model_dir)
    estimator_dir = serving.latest_version_dir(pipeline_run.config.serving_model_dir)
    assert _signature(keras_dir, "serving_default") == _signature(estimator_dir, "serving_default")
    transform_inputs, transformed = _signature(keras_dir, "transform_features")
    assert set(transform_inputs) == {"examples"}
    assert set(transformed) == set(TAXI.contract.model_input_keys) | {TAXI.contract.label_key}

    examples = serving.examples_from_csv(sample_csv, schema)[:300]
    keras_scores = serving.predict(keras_dir, examples).scores
    estimator_scores = serving.predict(estimator_dir, examples).scores
    assert keras_scores.shape == estimator_scores.shape == (300,)
    for scores in (keras_scores, estimator_scores):
        assert ((scores >= 0) & (scores <= 1)).all()
    # The same probability of the same class: two trainings of one model agree closely.
    assert np.corrcoef(keras_scores, estimator_scores)[0, 1] > 0.8


class _StopAfterChunk(tf.keras.callbacks.Callback):
    """Raises at the end of chunk `chunk` (0-based), after the backup of it is saved."""

    def __init__(self, chunk):
        super().__init__()
        self.chunk = chunk

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.chunk:
            raise KeyboardInterrupt("interrupted")


class _CountSteps(tf.keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1


@pytest.mark.slow
def test_an_interrupted_fit_resumes_from_its_backup(transformed_sample, tmp_path):
    contract = TAXI.contract
    from modules.taxi import model

    def args(attempt):
        return training_fn_args(
            transformed_sample.transform_output,
            transformed_sample.train_files,
            transformed_sample.eval_files,
            300,
            serving_model_dir=str(tmp_path / "runs" / attempt / "Format-Serving"),
            model_run_dir=str(tmp_path / "runs" / attempt),
            custom_config={"family": "taxi"},
        )

    with pytest.raises(KeyboardInterrupt):
        keras_training.fit(
            args("1"), contract, model.build_from_transform, callbacks=[_StopAfterChunk(1)]
        )
    counter = _CountSteps()
    resumed = keras_training.fit(
        args("2"), contract, model.build_from_transform, callbacks=[counter]
    )
    with open(tmp_path / "runs" / "2" / RESUMED_FILE) as resumed_file:
        record = json.load(resumed_file)
    assert record == {"source": str(tmp_path / "runs" / "1"), "step": 200}
    assert counter.steps == 100
    assert int(resumed.optimizer.iterations.numpy()) == 300


@pytest.mark.slow
def test_a_keras_tuning_trial_trains_by_fit_and_is_scored_on_the_eval_auc(
    transformed_sample, tmp_path
):
    from test_tuning import run_tuner

    best, trials = run_tuner(
        tmp_path,
        transformed_sample,
        "taxi",
        TAXI.tuner_fn_path,
        trials=1,
        steps=60,
        custom_config={"tuning": {"trials": 1, "trainer": "keras"}},
    )
    (trial,) = trials
    assert trial["status"] == "COMPLETED"
    assert trial["metrics"]["global_step"] == 60
    assert 0.5 < trial["score"] == trial["metrics"]["auc"] <= 1.0
    assert best["values"] == trial["hyperparameters"]


@pytest.mark.slow
def test_by_epochs_with_no_step_count_each_keras_epoch_is_one_pass(transformed_sample, tmp_path):
    """On Kubeflow a family trained by epochs gets no step count: fit passes over the data."""
    from modules.taxi import model

    args = training_fn_args(
        transformed_sample.transform_output,
        transformed_sample.train_files,
        transformed_sample.eval_files,
        None,
        serving_model_dir=str(tmp_path / "run" / "Format-Serving"),
        model_run_dir=str(tmp_path / "run"),
        custom_config={"family": "taxi", "train_epochs": 2},
    )
    fitted = keras_training.fit(args, TAXI.contract, model.build_from_transform)
    rows = sum(1 for _ in tf.data.TFRecordDataset(args.train_files, compression_type="GZIP"))
    batch = hparams_for(TAXI.contract, args.custom_config, None)["train_batch_size"]
    assert len(fitted.history.history["loss"]) == 2
    assert int(fitted.optimizer.iterations.numpy()) == 2 * math.ceil(rows / batch)
