"""`trainer_fn`: the Keras model as an Estimator, trained, exported and served."""

import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_estimator as tf_estimator
from tfx.components.trainer import fn_args_utils
from tfx.utils import path_utils

import training_events
from modules.common import estimator
from modules.taxi import contract
from pipeline.definition import families
from pipeline.serving import client as serving

# The Trainer's entry for the family: the shared one (modules/common/entry.py).
TRAINER_FN = families.trainer_fn(families.load("taxi"))

TRAIN_STEPS = 30


@pytest.fixture(scope="module")
def trained(tmp_path_factory, transformed_sample, schema):
    """Runs trainer_fn's specs through train_and_evaluate, as TFX's executor does."""
    model_dir = str(tmp_path_factory.mktemp("model_run") / "serving_model_dir")
    fn_args = fn_args_utils.FnArgs(
        train_files=transformed_sample.train_files,
        eval_files=transformed_sample.eval_files,
        transform_output=transformed_sample.transform_output,
        serving_model_dir=model_dir,
        train_steps=TRAIN_STEPS,
        eval_steps=0,
        custom_config={"hparams": {"train_batch_size": 32}},
    )
    spec = TRAINER_FN(fn_args, schema)
    metrics, _ = tf_estimator.estimator.train_and_evaluate(
        spec["estimator"], spec["train_spec"], spec["eval_spec"]
    )
    return spec, model_dir, metrics


def test_returns_a_keras_estimator_and_specs(trained):
    spec, _, _ = trained
    assert isinstance(spec["estimator"], tf_estimator.estimator.Estimator)
    assert spec["train_spec"].max_steps == TRAIN_STEPS
    assert [e.name for e in spec["eval_spec"].exporters] == [contract.CONTRACT.exporter_name]
    assert callable(spec["eval_input_receiver_fn"])


def test_trains_the_requested_steps_and_evaluates(trained):
    _, model_dir, metrics = trained
    assert metrics["global_step"] == TRAIN_STEPS
    assert {"auc", "accuracy", "loss"} <= set(metrics)
    assert tf.train.latest_checkpoint(model_dir).endswith(f"-{TRAIN_STEPS}")
    assert glob.glob(os.path.join(model_dir, "events.out.tfevents.*"))


def test_exported_signature_scores_raw_csv_rows(trained, schema, sample_csv):
    _, model_dir, _ = trained
    exports = glob.glob(os.path.join(model_dir, "export", contract.CONTRACT.exporter_name, "*"))
    assert len(exports) == 1, "a FinalExporter leaves exactly one export"
    examples = serving.examples_from_csv(sample_csv, schema)[:20]
    probabilities = serving.predict(exports[0], examples).scores
    assert probabilities.shape == (20,)
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    assert np.ptp(probabilities) > 0, "different rows should score differently"


def _attempt(runs_dir, transformed_sample, attempt, steps, hparams):
    """FnArgs of one Trainer attempt, in its own folder under `runs_dir`."""
    run_dir = str(runs_dir / attempt)
    return fn_args_utils.FnArgs(
        train_files=transformed_sample.train_files,
        eval_files=transformed_sample.eval_files,
        transform_output=transformed_sample.transform_output,
        model_run_dir=run_dir,
        serving_model_dir=os.path.join(run_dir, "serving_model_dir"),
        train_steps=steps,
        eval_steps=0,
        custom_config={"hparams": hparams},
    )


def test_an_interrupted_attempt_is_resumed_from_its_last_checkpoint(
    tmp_path, transformed_sample, schema
):
    hparams = {"train_batch_size": 32, "save_checkpoints_steps": 20}

    # The first attempt dies after 40 of its 60 steps: checkpoints, no export.
    first = TRAINER_FN(_attempt(tmp_path, transformed_sample, "1", 60, hparams), schema)
    first["estimator"].train(first["train_spec"].input_fn, max_steps=40)

    second_args = _attempt(tmp_path, transformed_sample, "2", 60, hparams)
    second = TRAINER_FN(second_args, schema)
    with open(os.path.join(second_args.model_run_dir, estimator.RESUMED_FILE)) as f:
        assert json.load(f)["step"] == 40
    metrics, _ = tf_estimator.estimator.train_and_evaluate(
        second["estimator"], second["train_spec"], second["eval_spec"]
    )
    assert metrics["global_step"] == 60
    # The second attempt trained steps 41-60 only: its summaries start after 40.
    steps = training_events.summary_steps(second_args.serving_model_dir)
    assert steps and min(steps) > 40


def test_a_different_training_does_not_resume_from_an_attempt(tmp_path, transformed_sample, schema):
    hparams = {"save_checkpoints_steps": 10}
    first = TRAINER_FN(_attempt(tmp_path, transformed_sample, "1", 50, hparams), schema)
    first["estimator"].train(first["train_spec"].input_fn, max_steps=20)
    # Another number of steps: another training.
    other = _attempt(tmp_path, transformed_sample, "2", 70, hparams)
    TRAINER_FN(other, schema)
    assert not os.path.exists(os.path.join(other.model_run_dir, estimator.RESUMED_FILE))
    assert tf.train.latest_checkpoint(other.serving_model_dir) is None


def test_an_unreadable_record_of_another_attempt_is_skipped(tmp_path, transformed_sample, schema):
    # An earlier attempt killed while writing its record left half a JSON file.
    broken = tmp_path / "1"
    broken.mkdir()
    (broken / estimator.TRAINING_INPUTS_FILE).write_text('{"train_files": ["a", ')
    args = _attempt(tmp_path, transformed_sample, "2", 20, {"train_batch_size": 32})
    spec = TRAINER_FN(args, schema)
    metrics, _ = tf_estimator.estimator.train_and_evaluate(
        spec["estimator"], spec["train_spec"], spec["eval_spec"]
    )
    assert metrics["global_step"] == 20
    assert not os.path.exists(os.path.join(args.model_run_dir, estimator.RESUMED_FILE))
    with open(os.path.join(args.model_run_dir, estimator.TRAINING_INPUTS_FILE)) as record:
        assert json.load(record)["train_steps"] == 20
    assert not [n for n in os.listdir(args.model_run_dir) if ".partial" in n]


def test_trains_for_epochs_with_no_step_count_and_exports(
    tmp_path, transformed_sample, schema, sample_csv
):
    """As on Kubeflow: no step count, the epochs in custom_config end the input."""
    batch, epochs = 128, 2
    fn_args = fn_args_utils.FnArgs(
        train_files=transformed_sample.train_files,
        eval_files=transformed_sample.eval_files,
        transform_output=transformed_sample.transform_output,
        # Where TFX's Estimator executor trains: <model_run>/Format-Serving.
        serving_model_dir=path_utils.serving_model_dir(str(tmp_path)),
        train_steps=None,  # TrainArgs(num_steps=0), as TFX hands it over.
        eval_steps=0,
        custom_config={"hparams": {"train_batch_size": batch}, "train_epochs": epochs},
    )
    spec = TRAINER_FN(fn_args, schema)
    assert spec["train_spec"].max_steps is None
    metrics, _ = tf_estimator.estimator.train_and_evaluate(
        spec["estimator"], spec["train_spec"], spec["eval_spec"]
    )
    rows = sum(
        1 for _ in tf.data.TFRecordDataset(transformed_sample.train_files, compression_type="GZIP")
    )
    # Every example read `epochs` times, in batches (the last one partial), then it ended.
    assert metrics["global_step"] == -(-rows * epochs // batch)
    # The one export TFX's executor copies (it refuses a folder of several).
    export = path_utils.serving_model_path(str(tmp_path))
    examples = serving.examples_from_csv(sample_csv, schema)[:5]
    assert serving.predict(export, examples).scores.shape == (5,)
