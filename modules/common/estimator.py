"""What every family's Trainer shares: a compiled Keras model run through the Estimator API.

TFX's Estimator-based Trainer executor calls a family's `trainer_fn`, then runs
`tf.estimator.train_and_evaluate` on what it returns and exports the EvalSavedModel
for the Evaluator. Here, once for every family: input functions that stream
Transform's TFRecords through tf.data, the serving receiver (raw serialized
`tf.Example`s, transformed inside the graph), the eval receiver, the run config,
resuming an interrupted training, and `model_to_estimator` with its specs and exporter.
A family brings its contract and a function that builds its compiled Keras model.
"""

import json
import os
from typing import Callable, Iterable, Mapping, Optional

import tensorflow as tf
import tensorflow_estimator as tf_estimator
import tensorflow_model_analysis as tfma
import tensorflow_transform as tft
from absl import logging as absl_logging

from modules.common import epochs as epochs_lib
from modules.common import tasks
from modules.common.contract import TRAINING_DEFAULTS
from modules.common.contract import FamilyContract
from modules.common.files import write_json_atomically
from modules.common.schema import raw_feature_spec

# Written in the model run folder: what this attempt trains on, and what it resumed.
TRAINING_INPUTS_FILE = "training_inputs.json"
RESUMED_FILE = "resumed_from.json"

# (tf_transform_output, hparams) -> a compiled Keras model whose inputs are named by
# the contract's `model_input_keys`.
ModelBuilder = Callable[[tft.TFTransformOutput, Mapping[str, object]], tf.keras.Model]


def tuned_values(contract: FamilyContract, hyperparameters: Optional[Mapping]) -> dict:
    """Returns the values of a Tuner's best hyperparameters that the family has.

    Args:
      contract: the family's contract.
      hyperparameters: a keras-tuner `HyperParameters.get_config()` dict, as TFX's
        Trainer executor puts it in `fn_args.hyperparameters`; None: nothing tuned.

    A value the family no longer has (a hyperparameter renamed since the tuning) is
    left out with a warning: the family's default takes its place.
    """
    values = dict((hyperparameters or {}).get("values") or {})
    known = set(contract.hparam_defaults)
    unknown = sorted(set(values) - known)
    if unknown:
        absl_logging.warning(
            "Family %r: the tuned hyperparameters %s are not the family's; its defaults "
            "are used for them. Tune again (make tune) to tune what it has now.",
            contract.name,
            unknown,
        )
    return {name: value for name, value in values.items() if name in known}


def hparams_for(
    contract: FamilyContract,
    custom_config: Optional[Mapping],
    hyperparameters: Optional[Mapping] = None,
) -> dict:
    """Returns the hyperparameters a training uses, later sources winning.

    The training defaults, the family's defaults, the tuned values (a Tuner's best,
    see `tuned_values`), then a run's explicit overrides (`custom_config["hparams"]`):
    an operator who sets a value for one run means it, tuned or not.
    """
    overrides = (custom_config or {}).get("hparams") or {}
    return {**contract.hparam_defaults, **tuned_values(contract, hyperparameters), **overrides}


def check_transform_outputs(contract: FamilyContract, keys: Iterable[str]) -> None:
    """Fails unless Transform's outputs are exactly the model's inputs and the label.

    Raises:
      ValueError: naming the family, every model input Transform does not produce and
        every Transform output no model input reads.
    """
    available = set(keys) - {contract.label_key}
    expected = set(contract.model_input_keys)
    missing, unexpected = sorted(expected - available), sorted(available - expected)
    if missing or unexpected:
        raise ValueError(
            f"Family {contract.name!r}: Transform's outputs do not match the model's "
            f"inputs (model_input_keys in modules/{contract.name}/contract.py): "
            f"missing keys {missing}, unexpected keys {unexpected}."
        )


def input_fn(
    file_pattern,
    tf_transform_output,
    label_key,
    batch_size,
    num_epochs=None,
    shuffle_buffer_size=TRAINING_DEFAULTS["shuffle_buffer_size"],
    shuffle=None,
):
    """Returns a `tf.data.Dataset` of (transformed features, label) batches.

    The files are read record by record (gzipped TFRecords written by Transform);
    nothing is held in memory beyond the shuffle buffer and the prefetched batches.
    Training (`num_epochs=None`, endless; or `shuffle=True` with a number) shuffles;
    evaluation reads each example once, in order.
    """
    return tf.data.experimental.make_batched_features_dataset(
        file_pattern=file_pattern,
        batch_size=batch_size,
        features=tf_transform_output.transformed_feature_spec(),
        reader=lambda files: tf.data.TFRecordDataset(files, compression_type="GZIP"),
        label_key=label_key,
        num_epochs=num_epochs,
        shuffle=num_epochs is None if shuffle is None else shuffle,
        shuffle_buffer_size=shuffle_buffer_size,
        prefetch_buffer_size=tf.data.AUTOTUNE,
    )


def serving_receiver_fn(tf_transform_output, schema, label_key):
    """Returns the serving input: serialized raw examples, transformed in the graph."""
    raw_input_fn = tf_estimator.estimator.export.build_parsing_serving_input_receiver_fn(
        raw_feature_spec(schema, serving=True), default_batch_size=None
    )
    receiver = raw_input_fn()
    transformed = tf_transform_output.transform_raw_features(receiver.features)
    transformed.pop(label_key, None)
    return tf_estimator.estimator.export.ServingInputReceiver(
        transformed, receiver.receiver_tensors
    )


def eval_input_receiver_fn(tf_transform_output, schema, label_key):
    """Returns the EvalSavedModel's input: raw examples with the label.

    Raw features stay in the feature dict beside the transformed ones, so the
    Evaluator can slice on raw columns.
    """
    serialized = tf.compat.v1.placeholder(
        dtype=tf.string, shape=[None], name="input_example_tensor"
    )
    raw_features = tf.io.parse_example(serialized=serialized, features=raw_feature_spec(schema))
    transformed = tf_transform_output.transform_raw_features(raw_features)
    label = transformed.pop(label_key)
    return tfma.export.EvalInputReceiver(
        features={**raw_features, **transformed},
        receiver_tensors={"examples": serialized},
        labels=label,
    )


def with_class_names(estimator, prediction_key: str, classes) -> tf_estimator.estimator.Estimator:
    """Returns `estimator` whose serving signature also names the classes.

    `model_to_estimator` exports one output per Keras output and cannot carry strings
    (a second Keras output would enter the training). This Estimator runs the same
    model function with the same config and warm start (the Keras model's initial
    weights); in PREDICT mode, which the export uses, it returns `scores` `[N, K]`
    (the Keras output) and `classes` `[N, K]`, the class names, so a caller needs
    nothing else to read a score. Training and evaluation are unchanged.
    """
    keras_model_fn = estimator.model_fn

    def model_fn(features, labels, mode, config):
        spec = keras_model_fn(features, labels, mode, config)
        if mode != tf_estimator.estimator.ModeKeys.PREDICT:
            return spec
        scores = spec.predictions[prediction_key]
        names = tf.tile(tf.constant([list(classes)]), [tf.shape(scores)[0], 1])
        outputs = {tasks.SCORES_OUTPUT: scores, tasks.CLASSES_OUTPUT: names}
        serving_key = tf.compat.v1.saved_model.signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY
        return spec._replace(
            predictions=outputs,
            export_outputs={serving_key: tf_estimator.estimator.export.PredictOutput(outputs)},
        )

    return tf_estimator.estimator.Estimator(
        model_fn, config=estimator.config, warm_start_from=estimator._warm_start_settings
    )  # pylint: disable=protected-access


def _training_inputs(fn_args, hparams) -> dict:
    """What makes two training attempts the same training: data, steps, settings."""
    return {
        "train_files": sorted(fn_args.train_files),
        "eval_files": sorted(fn_args.eval_files),
        "transform_output": fn_args.transform_output,
        "train_steps": fn_args.train_steps,
        "train_epochs": epochs_lib.epochs_to_train(fn_args.train_steps, fn_args.custom_config),
        "hparams": hparams,
    }


def _read_record(path: str) -> Optional[dict]:
    """Returns an attempt's training record, or None (with a warning) if unreadable."""
    try:
        with tf.io.gfile.GFile(path) as record_file:
            return json.load(record_file)
    except (ValueError, tf.errors.OpError) as error:
        absl_logging.warning("Ignoring the unreadable training record %s: %s", path, error)
        return None


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
    write_json_atomically(os.path.join(fn_args.model_run_dir, TRAINING_INPUTS_FILE), inputs)
    if tf.train.latest_checkpoint(fn_args.serving_model_dir):
        return None  # This attempt has checkpoints of its own.
    runs_dir = os.path.dirname(fn_args.model_run_dir.rstrip("/"))
    attempts = []
    for name in tf.io.gfile.listdir(runs_dir):
        run_dir = os.path.join(runs_dir, name.rstrip("/"))
        model_dir = os.path.join(run_dir, os.path.basename(fn_args.serving_model_dir))
        record = os.path.join(run_dir, TRAINING_INPUTS_FILE)
        if (
            run_dir.rstrip("/") == fn_args.model_run_dir.rstrip("/")
            or not tf.io.gfile.exists(record)
            or tf.io.gfile.exists(os.path.join(model_dir, "export"))
            or _read_record(record) != inputs
        ):
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
    for name in ["checkpoint"] + [
        os.path.basename(p) for p in tf.io.gfile.glob(os.path.join(source, "model.ckpt-*"))
    ]:
        tf.io.gfile.copy(
            os.path.join(source, name),
            os.path.join(fn_args.serving_model_dir, name),
            overwrite=True,
        )
    absl_logging.warning("Resuming interrupted training from step %d of %s.", step, source)
    write_json_atomically(
        os.path.join(fn_args.model_run_dir, RESUMED_FILE), {"source": source, "step": step}
    )
    return source


def training_fn_args(
    transform_output: str,
    train_files,
    eval_files,
    train_steps: int,
    serving_model_dir: str,
    model_run_dir: Optional[str] = None,
    eval_steps: Optional[int] = 0,
    custom_config: Optional[Mapping] = None,
    **more,
):
    """Returns the `FnArgs` a `trainer_fn` reads, as TFX's Estimator executor builds them.

    `model_run_dir` None: the training never resumes an earlier attempt (a tuning trial,
    a benchmark run). `more` are further `FnArgs` fields (`working_dir`,
    `eval_model_dir`).
    """
    from tfx.components.trainer import fn_args_utils

    return fn_args_utils.FnArgs(
        transform_output=transform_output,
        train_files=list(train_files),
        eval_files=list(eval_files),
        train_steps=train_steps,
        eval_steps=eval_steps,
        serving_model_dir=serving_model_dir,
        model_run_dir=model_run_dir,
        custom_config=dict(custom_config or {}),
        **more,
    )


def training_run_config(model_dir: str, hparams: Mapping[str, object]):
    """The Estimator's `RunConfig`: checkpoints, summaries; under TF_CONFIG, the replica's role."""
    return tf_estimator.estimator.RunConfig(
        model_dir=model_dir,
        save_checkpoints_steps=hparams["save_checkpoints_steps"],
        save_checkpoints_secs=(
            None if hparams["save_checkpoints_steps"] else hparams["save_checkpoints_secs"]
        ),
        keep_checkpoint_max=3,
        save_summary_steps=hparams["save_summary_steps"],
        log_step_count_steps=hparams["log_step_count_steps"],
    )


def build_trainer_spec(
    fn_args,
    schema,
    contract: FamilyContract,
    build_model: ModelBuilder,
    hparams: Optional[Mapping[str, object]] = None,
) -> dict:
    """Builds the Estimator from a family's Keras model, and its train and eval specs.

    Args:
      fn_args: TFX's `FnArgs` (files, transform output, steps, model dirs,
        `custom_config` with hyperparameter overrides, tuned `hyperparameters`).
      schema: the raw data's `schema_pb2.Schema`.
      contract: the family's contract.
      build_model: the family's builder of its compiled Keras model.
      hparams: every hyperparameter, used as given (a tuning trial's); None: from
        `hparams_for` and `fn_args`.

    Returns:
      The dict TFX's Estimator executor expects: `estimator`, `train_spec`,
      `eval_spec` and `eval_input_receiver_fn`.
    """
    if hparams is None:
        hparams = hparams_for(
            contract, fn_args.custom_config, getattr(fn_args, "hyperparameters", None)
        )
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    check_transform_outputs(contract, tf_transform_output.transformed_feature_spec())
    run_config = training_run_config(fn_args.serving_model_dir, hparams)
    # Only the chief writes checkpoints, so only the chief resumes them.
    if fn_args.model_run_dir and run_config.is_chief:
        resume_interrupted_training(fn_args, hparams)

    keras_model = build_model(tf_transform_output, hparams)
    estimator = tf.keras.estimator.model_to_estimator(keras_model=keras_model, config=run_config)
    if contract.task.kind == tasks.MULTICLASS:
        estimator = with_class_names(estimator, contract.prediction_key, contract.task.classes)
    label_key = contract.label_key
    # Steps, or (no step count: Kubeflow) epochs that end the input (modules.common.epochs).
    epochs = epochs_lib.epochs_to_train(fn_args.train_steps, fn_args.custom_config)
    train_spec = tf_estimator.estimator.TrainSpec(
        lambda: input_fn(
            fn_args.train_files,
            tf_transform_output,
            label_key,
            hparams["train_batch_size"],
            num_epochs=epochs or None,
            shuffle_buffer_size=hparams["shuffle_buffer_size"],
            shuffle=True,
        ),
        max_steps=None if epochs else fn_args.train_steps,
    )
    exporter = epochs_lib.serving_exporter(
        contract.exporter_name,
        lambda: serving_receiver_fn(tf_transform_output, schema, label_key),
        epochs,
    )
    eval_spec = tf_estimator.estimator.EvalSpec(
        lambda: input_fn(
            fn_args.eval_files,
            tf_transform_output,
            label_key,
            hparams["eval_batch_size"],
            num_epochs=1,
        ),
        steps=fn_args.eval_steps or None,
        exporters=[exporter],
        name=f"{contract.exporter_name}-eval",
        start_delay_secs=0,
        throttle_secs=hparams["eval_throttle_secs"],
    )
    return {
        "estimator": estimator,
        "train_spec": train_spec,
        "eval_spec": eval_spec,
        "eval_input_receiver_fn": lambda: eval_input_receiver_fn(
            tf_transform_output, schema, label_key
        ),
    }


def trainer_fn_for(contract: FamilyContract, build_model: ModelBuilder):
    """Returns the `trainer_fn(fn_args, schema)` TFX's Estimator executor calls."""

    def trainer_fn(fn_args, schema):
        return build_trainer_spec(fn_args, schema, contract, build_model)

    return trainer_fn
