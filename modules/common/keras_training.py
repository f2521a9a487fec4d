"""The Keras trainer: the same family trained by `model.fit` under TFX's GenericExecutor.

TFX 1.16 dropped the Estimator Trainer and its `trainer_fn`; what stays is the
GenericExecutor, which calls `run_fn(fn_args)`. This `run_fn` trains a family folder
unchanged: the same contract and model builder (`modules.common.entry.family_parts`),
the same hyperparameters (`estimator.hparams_for`), the same Transform output through
the same `tf.data` input function, then exports a SavedModel that serves raw
`tf.Example`s as the Estimator's export does (`modules.common.keras_export`).

Checkpoints: Keras checkpoints are object-based and written at epoch ends, not every
N seconds, so the training runs in chunks of at most `CHUNK_STEPS` steps, each a Keras
"epoch"; `tf.keras.callbacks.BackupAndRestore` saves the state after each. A crashed
attempt loses at most one chunk: the next attempt of the same training (same data,
steps and hyperparameters) copies the backup of the interrupted one and resumes there.

Summaries: the loss and the compiled metrics against the step, in the model run folder
(training) and its `eval_<exporter>-eval/` folder (evaluation), where the Estimator
writes its own, so the report and TensorBoard read either trainer.
"""

import math
import os
from typing import Optional

import tensorflow as tf
import tensorflow_transform as tft
from absl import logging as absl_logging

from modules.common import epochs as epochs_lib
from modules.common import estimator
from modules.common import keras_export
from modules.common.files import write_json_atomically
from modules.common.schema import load_schema

# Training steps per chunk ("epoch" to Keras): the most work a crash loses.
CHUNK_STEPS = 100
# The backup `BackupAndRestore` keeps, in the model run folder, until the fit ends.
BACKUP_DIR = "backup"


def chunks(train_steps: int, chunk_steps: int = CHUNK_STEPS) -> tuple:
    """Returns (chunks, steps per chunk): at most `chunk_steps` each, covering the steps.

    The chunks are as even as can be; their total is `train_steps` rounded up to a
    multiple of their number (at most one step more per chunk).
    """
    if train_steps <= 0:
        raise ValueError(f"train_steps must be positive, got {train_steps}.")
    count = math.ceil(train_steps / chunk_steps)
    return count, math.ceil(train_steps / count)


class StepSummaries(tf.keras.callbacks.Callback):
    """Writes the training and evaluation metrics against the step, as the Estimator does.

    Training: every `every_steps` steps (and at each chunk's end), the batch's running
    loss and metrics into `train_dir`. Evaluation: the `val_` metrics of a chunk's end
    into `eval_dir`, without the prefix.
    """

    def __init__(self, train_dir: str, eval_dir: str, every_steps: int):
        super().__init__()
        self._every = max(1, int(every_steps or CHUNK_STEPS))
        self._train = tf.summary.create_file_writer(train_dir)
        self._eval = tf.summary.create_file_writer(eval_dir)

    def _step(self) -> int:
        return int(self.model.optimizer.iterations.numpy())

    def _write(self, writer, logs, step, prefix=""):
        with writer.as_default():
            for name, value in (logs or {}).items():
                if name.startswith(prefix) and (prefix or not name.startswith("val_")):
                    tf.summary.scalar(name[len(prefix) :], float(value), step=step)
        writer.flush()

    def on_train_batch_end(self, batch, logs=None):
        step = self._step()
        if step % self._every == 0:
            self._write(self._train, logs, step)

    def on_epoch_end(self, epoch, logs=None):
        step = self._step()
        self._write(self._train, logs, step)
        self._write(self._eval, logs, step, prefix="val_")


def _backup_step(backup_dir: str) -> Optional[int]:
    """The optimizer step of the checkpoint in a `BackupAndRestore` folder, or None."""
    checkpoint = tf.train.latest_checkpoint(os.path.join(backup_dir, "chief"))
    if not checkpoint:
        return None
    reader = tf.train.load_checkpoint(checkpoint)
    for name in reader.get_variable_to_shape_map():
        if name.startswith("model/optimizer/iter/"):
            return int(reader.get_tensor(name))
    return 0


def resume_interrupted_fit(fn_args, hparams) -> Optional[str]:
    """Continues an earlier attempt of this same training that was interrupted.

    TFX gives every Trainer execution a fresh `model_run` folder. Each attempt records
    what it trains on (`estimator.TRAINING_INPUTS_FILE`); this looks for a sibling
    attempt with the same record whose backup is still there (`BackupAndRestore`
    removes it when a fit ends), and copies it into this attempt's backup folder, from
    which the fit resumes at the chunk after the last one saved.

    Returns:
      The folder resumed from, or None.
    """
    inputs = estimator._training_inputs(fn_args, hparams)  # pylint: disable=protected-access
    tf.io.gfile.makedirs(fn_args.model_run_dir)
    write_json_atomically(
        os.path.join(fn_args.model_run_dir, estimator.TRAINING_INPUTS_FILE), inputs
    )
    own_backup = os.path.join(fn_args.model_run_dir, BACKUP_DIR)
    if _backup_step(own_backup) is not None:
        return None
    runs_dir = os.path.dirname(fn_args.model_run_dir.rstrip("/"))
    attempts = []
    for name in tf.io.gfile.listdir(runs_dir):
        run_dir = os.path.join(runs_dir, name.rstrip("/"))
        record = os.path.join(run_dir, estimator.TRAINING_INPUTS_FILE)
        if (
            run_dir.rstrip("/") == fn_args.model_run_dir.rstrip("/")
            or not tf.io.gfile.exists(record)
            or estimator._read_record(record) != inputs  # pylint: disable=protected-access
        ):
            continue
        step = _backup_step(os.path.join(run_dir, BACKUP_DIR))
        if step is not None:
            attempts.append((step, run_dir))
    if not attempts:
        return None
    step, source = max(attempts)
    for path in tf.io.gfile.glob(os.path.join(source, BACKUP_DIR, "chief", "*")):
        target = os.path.join(own_backup, "chief", os.path.basename(path))
        tf.io.gfile.makedirs(os.path.dirname(target))
        tf.io.gfile.copy(path, target, overwrite=True)
    absl_logging.warning("Resuming interrupted training from step %d of %s.", step, source)
    write_json_atomically(
        os.path.join(fn_args.model_run_dir, estimator.RESUMED_FILE),
        {"source": source, "step": step},
    )
    return source


def fit(fn_args, contract, build_model, hparams=None, callbacks=()) -> tf.keras.Model:
    """Trains the family's compiled Keras model on Transform's output; returns it.

    Args:
      fn_args: TFX's `FnArgs` (files, Transform output, steps, model run folder).
      contract: the family's contract.
      build_model: the family's builder of its compiled Keras model.
      hparams: every hyperparameter; None: `estimator.hparams_for` and `fn_args`.
      callbacks: more Keras callbacks (a test's interruption).

    Without `fn_args.model_run_dir` (a tuning trial) nothing is backed up or summarized.
    """
    if hparams is None:
        hparams = estimator.hparams_for(
            contract, fn_args.custom_config, getattr(fn_args, "hyperparameters", None)
        )
    # The GenericExecutor names Transform's output `transform_graph_path`; the training
    # record (and so the resume) reads `transform_output`, as the Estimator's does.
    fn_args.transform_output = fn_args.transform_output or fn_args.transform_graph_path
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    estimator.check_transform_outputs(contract, tf_transform_output.transformed_feature_spec())
    label_key = contract.label_key
    # By epochs (Kubeflow, where no row count is known): a Keras epoch is one pass over
    # the training files, so the backup and resume work a pass at a time.
    epochs = epochs_lib.epochs_to_train(fn_args.train_steps, fn_args.custom_config)
    train = estimator.input_fn(
        fn_args.train_files,
        tf_transform_output,
        label_key,
        hparams["train_batch_size"],
        num_epochs=1 if epochs else None,
        shuffle_buffer_size=hparams["shuffle_buffer_size"],
        shuffle=True,
    )
    evaluation = estimator.input_fn(
        fn_args.eval_files, tf_transform_output, label_key, hparams["eval_batch_size"], num_epochs=1
    )
    count, steps = (epochs, None) if epochs else chunks(fn_args.train_steps)
    all_callbacks = list(callbacks)
    if fn_args.model_run_dir:
        resume_interrupted_fit(fn_args, hparams)
        eval_dir = os.path.join(fn_args.model_run_dir, f"eval_{contract.exporter_name}-eval")
        all_callbacks = [
            tf.keras.callbacks.BackupAndRestore(os.path.join(fn_args.model_run_dir, BACKUP_DIR)),
            StepSummaries(fn_args.model_run_dir, eval_dir, hparams["save_summary_steps"]),
            *all_callbacks,
        ]
    model = build_model(tf_transform_output, hparams)
    model.fit(
        train,
        epochs=count,
        steps_per_epoch=steps,
        validation_data=evaluation,
        validation_steps=fn_args.eval_steps or None,
        # Evaluated once, at the end, as the Estimator's throttled evaluation of a
        # short run; a long run would spend its time evaluating otherwise.
        validation_freq=[count],
        callbacks=all_callbacks,
        verbose=0,
    )
    if fn_args.model_run_dir:  # The backup's files are gone once a fit ends; its folder too.
        backup = os.path.join(fn_args.model_run_dir, BACKUP_DIR)
        if tf.io.gfile.isdir(backup) and not tf.io.gfile.glob(os.path.join(backup, "*", "*")):
            tf.io.gfile.rmtree(backup)
    return model


def evaluated_fit(fn_args, contract, build_model, hparams) -> dict:
    """Trains as `fit` does (no backup, no summaries: a tuning trial); returns its eval.

    Returns:
      The end-of-training evaluation's compiled metrics by name (`auc`, `accuracy`,
      `rmse`, ...), as the Estimator's evaluation names them, and `global_step`.
    """
    model = fit(fn_args, contract, build_model, hparams)
    last = {
        name[len("val_") :]: values[-1]
        for name, values in model.history.history.items()
        if name.startswith("val_")
    }
    return {**last, "global_step": int(model.optimizer.iterations.numpy())}


def run_fn(fn_args, contract=None, build_model=None) -> None:
    """TFX's GenericExecutor entry: trains the named family and exports its serving model.

    The family comes by name in `fn_args.custom_config` (as for `trainer_fn`), or as
    `contract` and `build_model`.
    """
    from modules.common import entry

    if contract is None or build_model is None:
        contract, build_model = entry.family_parts(fn_args.custom_config)
    model = fit(fn_args, contract, build_model)
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    schema = load_schema(fn_args.schema_path or fn_args.schema_file)
    keras_export.export_serving_model(
        model, tf_transform_output, schema, contract, fn_args.serving_model_dir
    )
