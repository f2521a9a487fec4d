"""The Trainer's entry point: the Keras model run through the Estimator API.

TFX's Estimator-based Trainer executor calls `trainer_fn`, then runs
`tf.estimator.train_and_evaluate` on what it returns and exports the EvalSavedModel
for the Evaluator. Input functions stream the transformed TFRecords through tf.data;
the serving signature takes raw serialized `tf.Example`s and applies the Transform
graph itself, so a client sends CSV columns, not model features.
"""

import json
import os
from typing import Optional

import tensorflow as tf
from absl import logging as absl_logging
import tensorflow_estimator as tf_estimator
import tensorflow_model_analysis as tfma
import tensorflow_transform as tft
from tensorflow_transform.tf_metadata import schema_utils

from modules import features
from modules import model as model_lib

# Hyperparameters a `custom_config` may override (see `pipeline.config`).
DEFAULT_HPARAMS = {
    "train_batch_size": 128,
    "eval_batch_size": 512,
    "hidden_units": [64, 32],
    "dropout": 0.1,
    "learning_rate": 0.003,
    # A checkpoint every 10 s bounds the work a crash loses; by steps (one every 100)
    # they cost a fifth of the training throughput here (`make bench`). Setting
    # `save_checkpoints_steps` instead checkpoints by steps.
    "save_checkpoints_secs": 10,
    "save_checkpoints_steps": None,
    # Evaluate during training at most this often; the last step is always evaluated.
    "eval_throttle_secs": 600,
}
EXPORTER_NAME = "chicago-taxi"
# Written in the model run folder: what this attempt trains on, and what it resumed.
TRAINING_INPUTS_FILE = "training_inputs.json"
RESUMED_FILE = "resumed_from.json"


def input_fn(file_pattern, tf_transform_output, batch_size, num_epochs=None):
    """Returns a `tf.data.Dataset` of (transformed features, label) batches.

    The files are read record by record (gzipped TFRecords written by Transform);
    nothing is loaded into memory beyond the prefetched batches.
    """
    return tf.data.experimental.make_batched_features_dataset(
        file_pattern=file_pattern,
        batch_size=batch_size,
        features=tf_transform_output.transformed_feature_spec(),
        reader=lambda files: tf.data.TFRecordDataset(files, compression_type="GZIP"),
        label_key=features.LABEL_KEY,
        num_epochs=num_epochs,
        shuffle=num_epochs is None,
        prefetch_buffer_size=tf.data.AUTOTUNE,
    )


def raw_serving_feature_spec(schema) -> dict:
    """Returns the raw `tf.Example` feature spec a serving request may carry."""
    spec = schema_utils.schema_as_feature_spec(schema).feature_spec
    for key in features.LABEL_SOURCE_KEYS:
        spec.pop(key, None)
    return spec


def serving_receiver_fn(tf_transform_output, schema):
    """Returns the serving input: serialized raw examples, transformed in the graph."""
    raw_input_fn = tf_estimator.estimator.export.build_parsing_serving_input_receiver_fn(
        raw_serving_feature_spec(schema), default_batch_size=None
    )
    receiver = raw_input_fn()
    transformed = tf_transform_output.transform_raw_features(receiver.features)
    transformed.pop(features.LABEL_KEY, None)
    return tf_estimator.estimator.export.ServingInputReceiver(
        transformed, receiver.receiver_tensors
    )


def eval_input_receiver_fn(tf_transform_output, schema):
    """Returns the EvalSavedModel's input: raw examples with the label.

    Raw features stay in the feature dict beside the transformed ones, so the
    Evaluator can slice on raw columns such as `trip_start_hour`.
    """
    serialized = tf.compat.v1.placeholder(
        dtype=tf.string, shape=[None], name="input_example_tensor"
    )
    raw_spec = schema_utils.schema_as_feature_spec(schema).feature_spec
    raw_features = tf.io.parse_example(serialized=serialized, features=raw_spec)
    transformed = tf_transform_output.transform_raw_features(raw_features)
    label = transformed.pop(features.LABEL_KEY)
    return tfma.export.EvalInputReceiver(
        features={**raw_features, **transformed},
        receiver_tensors={"examples": serialized},
        labels=label,
    )


def _training_inputs(fn_args, hparams) -> dict:
    """What makes two training attempts the same training: data, steps, settings."""
    return {
        "train_files": sorted(fn_args.train_files),
        "eval_files": sorted(fn_args.eval_files),
        "transform_output": fn_args.transform_output,
        "train_steps": fn_args.train_steps,
        "hparams": hparams,
    }


def resume_interrupted_training(fn_args, hparams) -> Optional[str]:
    """Continues an earlier attempt of this same training that was interrupted.

    TFX gives every Trainer execution a fresh `model_run` folder, so a run killed
    mid-training would otherwise start again from step 0. Each attempt records what
    it trains on; this looks for a sibling folder of an attempt with the same record,
    a checkpoint, and no export (it never finished), and copies its checkpoints into
    this attempt's model folder, where the Estimator restores them: the global step
    continues from the last checkpoint.

    Returns:
      The folder resumed from, or None.
    """
    inputs = _training_inputs(fn_args, hparams)
    tf.io.gfile.makedirs(fn_args.model_run_dir)
    with tf.io.gfile.GFile(os.path.join(fn_args.model_run_dir, TRAINING_INPUTS_FILE), "w") as f:
        json.dump(inputs, f)
    if tf.train.latest_checkpoint(fn_args.serving_model_dir):
        return None  # This attempt has checkpoints of its own.
    runs_dir = os.path.dirname(fn_args.model_run_dir.rstrip("/"))
    attempts = []
    for name in tf.io.gfile.listdir(runs_dir):
        run_dir = os.path.join(runs_dir, name.rstrip("/"))
        model_dir = os.path.join(run_dir, os.path.basename(fn_args.serving_model_dir))
        record = os.path.join(run_dir, TRAINING_INPUTS_FILE)
        if (run_dir.rstrip("/") == fn_args.model_run_dir.rstrip("/")
                or not tf.io.gfile.exists(record)
                or tf.io.gfile.exists(os.path.join(model_dir, "export"))):
            continue
        with tf.io.gfile.GFile(record) as f:
            if json.load(f) != inputs:
                continue
        checkpoint = tf.train.latest_checkpoint(model_dir)
        if checkpoint:
            step = int(checkpoint.rsplit("-", 1)[1])
            attempts.append((step, model_dir))
    if not attempts:
        return None
    step, source = max(attempts)
    tf.io.gfile.makedirs(fn_args.serving_model_dir)
    # The checkpoints only: TensorBoard events stay with the attempt that wrote them.
    for name in ["checkpoint"] + [os.path.basename(p) for p in tf.io.gfile.glob(
            os.path.join(source, "model.ckpt-*"))]:
        tf.io.gfile.copy(os.path.join(source, name),
                         os.path.join(fn_args.serving_model_dir, name), overwrite=True)
    absl_logging.warning("Resuming interrupted training from step %d of %s.", step, source)
    with tf.io.gfile.GFile(os.path.join(fn_args.model_run_dir, RESUMED_FILE), "w") as f:
        json.dump({"source": source, "step": step}, f)
    return source


def trainer_fn(fn_args, schema):
    """Builds the Estimator from the Keras model, and its train and eval specs.

    Args:
      fn_args: TFX's `FnArgs` (files, transform output, steps, model dirs,
        `custom_config` with hyperparameter overrides).
      schema: the raw data's `schema_pb2.Schema`.

    Returns:
      The dict TFX's Estimator executor expects: `estimator`, `train_spec`,
      `eval_spec` and `eval_input_receiver_fn`.
    """
    hparams = {**DEFAULT_HPARAMS, **((fn_args.custom_config or {}).get("hparams") or {})}
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    # Under TF_CONFIG, RunConfig takes this replica's role from it.
    run_config = tf_estimator.estimator.RunConfig(
        model_dir=fn_args.serving_model_dir,
        save_checkpoints_steps=hparams["save_checkpoints_steps"],
        save_checkpoints_secs=(
            None if hparams["save_checkpoints_steps"] else hparams["save_checkpoints_secs"]
        ),
        keep_checkpoint_max=3,
    )
    # Only the chief writes checkpoints, so only the chief resumes them.
    if fn_args.model_run_dir and run_config.is_chief:
        resume_interrupted_training(fn_args, hparams)

    keras_model = model_lib.build_keras_model(
        model_lib.categorical_sizes(tf_transform_output),
        hidden_units=hparams["hidden_units"],
        dropout=hparams["dropout"],
        learning_rate=hparams["learning_rate"],
    )
    estimator = tf.keras.estimator.model_to_estimator(
        keras_model=keras_model, config=run_config
    )

    train_spec = tf_estimator.estimator.TrainSpec(
        lambda: input_fn(
            fn_args.train_files, tf_transform_output, hparams["train_batch_size"]
        ),
        max_steps=fn_args.train_steps,
    )
    exporter = tf_estimator.estimator.FinalExporter(
        EXPORTER_NAME, lambda: serving_receiver_fn(tf_transform_output, schema)
    )
    eval_spec = tf_estimator.estimator.EvalSpec(
        lambda: input_fn(
            fn_args.eval_files,
            tf_transform_output,
            hparams["eval_batch_size"],
            num_epochs=1,
        ),
        steps=fn_args.eval_steps or None,
        exporters=[exporter],
        name="chicago-taxi-eval",
        start_delay_secs=0,
        throttle_secs=hparams["eval_throttle_secs"],
    )
    return {
        "estimator": estimator,
        "train_spec": train_spec,
        "eval_spec": eval_spec,
        "eval_input_receiver_fn": lambda: eval_input_receiver_fn(
            tf_transform_output, schema
        ),
    }
