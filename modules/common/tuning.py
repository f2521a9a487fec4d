"""Hyperparameter tuning: every trial trains as production does, by either trainer.

TFX's Tuner executor calls a family's `tuner_fn(fn_args)` and runs
`tuner.search(**fit_kwargs)` on what it returns. Here, once for every family: the
search space from the family's contract, a keras-tuner oracle (random search or
Bayesian optimization) whose first trial is the family's defaults, and a tuner whose
`run_trial` builds the family's Keras model from the trial's values, turns it into an
Estimator with `build_trainer_spec` (the production Trainer's code), trains it from
scratch in the trial's own folder with `train_and_evaluate` on Transform's output,
and scores it on the Estimator's eval metric its task optimizes (`Task.objective`:
AUC, accuracy or RMSE, the compiled Keras metric's name). With the Keras trainer
(`custom_config["tuning"]["trainer"]`), a trial trains with `model.fit` as its `run_fn`
does (`modules.common.keras_training.evaluated_fit`) and is scored on the same metric.

A trial that raises is marked failed and the search moves on; a search in which no
trial completes (or `MAX_FAILURES_IN_A_ROW` fail one after the other) raises a
`TuningError` naming the first failed trial, its values and its error.
"""

import os
import time
from typing import Mapping, Optional, Tuple

import keras_tuner
import tensorflow as tf
import tensorflow_estimator as tf_estimator
from absl import logging as absl_logging
from keras_tuner.engine import base_tuner
from keras_tuner.engine import trial as trial_lib
from keras_tuner.src.distribute import utils as dist_utils
from tfx.components.tuner.component import TunerFnResult

from modules.common import estimator
from modules.common.contract import TUNING_ALGORITHMS
from modules.common.contract import Choice
from modules.common.contract import FamilyContract
from modules.common.contract import FloatRange
from modules.common.contract import IntRange
from modules.common.schema import load_schema

# keras-tuner stops a search after this many failed trials in a row.
MAX_FAILURES_IN_A_ROW = 3
# Defaults of the tuning settings, which come in the Tuner's `custom_config["tuning"]`.
DEFAULT_SETTINGS = {"algorithm": "random", "trials": 4, "seed": 1, "trainer": "estimator"}


class TuningError(RuntimeError):
    """No trial of a search completed, or too many failed in a row."""


class TrialError(RuntimeError):
    """One trial failed; the message names the trial, its values and the cause."""


def search_space(contract: FamilyContract, fixed=()) -> keras_tuner.HyperParameters:
    """Returns the family's search space as keras-tuner hyperparameters.

    Each dimension's default is the family's default, so the space's values before
    any sampling are the defaults. Names in `fixed` (set explicitly for the run)
    are left out: they are not searched.
    """
    defaults = contract.hparam_defaults
    space = keras_tuner.HyperParameters()
    for name, dimension in contract.search_space.items():
        if name in fixed:
            continue
        if isinstance(dimension, Choice):
            space.Choice(name, list(dimension.values), default=defaults[name])
        elif isinstance(dimension, IntRange):
            space.Int(
                name, dimension.low, dimension.high, step=dimension.step, default=defaults[name]
            )
        elif isinstance(dimension, FloatRange):
            space.Float(
                name,
                dimension.low,
                dimension.high,
                sampling="log" if dimension.log else "linear",
                default=defaults[name],
            )
    return space


class _DefaultsFirst:
    """An oracle whose first trial is the space's defaults: the family's own values.

    The search then always scores the defaults beside the alternatives, on the same
    data and steps, and never returns values worse than them on its eval split.
    """

    def populate_space(self, trial_id):
        if not self.trials:
            return {
                "status": trial_lib.TrialStatus.RUNNING,
                "values": dict(self.get_space().values),
            }
        return super().populate_space(trial_id)


class _RandomSearchOracle(_DefaultsFirst, keras_tuner.oracles.RandomSearchOracle):
    pass


class _BayesianOracle(_DefaultsFirst, keras_tuner.oracles.BayesianOptimizationOracle):
    pass


def make_oracle(
    algorithm: str,
    space: keras_tuner.HyperParameters,
    trials: int,
    seed: int,
    objective: Tuple[str, str],
) -> keras_tuner.Oracle:
    """Returns the oracle of `algorithm` ("random" or "bayesian") for `objective`.

    `objective` is (the Estimator's eval metric, "max" or "min"): a task's `objective`.

    Raises:
      ValueError: an unknown algorithm, fewer than one trial, or an empty space.
    """
    if algorithm not in TUNING_ALGORITHMS:
        raise ValueError(
            f"Unknown tuning algorithm {algorithm!r}; the algorithms are "
            f"{', '.join(TUNING_ALGORITHMS)}."
        )
    if trials < 1:
        raise ValueError(f"A search needs at least one trial, got {trials}.")
    if not space.space:
        raise ValueError(
            "The search space is empty: the family's contract declares no "
            "search_space, or the run fixes every hyperparameter of it."
        )
    oracle_class = _RandomSearchOracle if algorithm == "random" else _BayesianOracle
    return oracle_class(
        objective=keras_tuner.Objective(*objective),
        max_trials=trials,
        hyperparameters=space,
        # The space is the family's: a trial may not add names of its own.
        allow_new_entries=False,
        tune_new_entries=False,
        seed=seed,
        max_consecutive_failed_trials=MAX_FAILURES_IN_A_ROW,
    )


def _one_line(text: str, limit: int = 500) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


class EstimatorTuner(base_tuner.BaseTuner):
    """A keras-tuner tuner whose trials train the family's model as an Estimator.

    `search(fn_args=..., schema=...)` takes the Tuner's `FnArgs` (Transform's files
    and graph, the steps of each trial) and the raw data's schema.
    """

    def __init__(
        self,
        oracle,
        contract: FamilyContract,
        build_model: estimator.ModelBuilder,
        fixed_hparams: Optional[Mapping[str, object]] = None,
        directory: Optional[str] = None,
        trainer: str = DEFAULT_SETTINGS["trainer"],
    ):
        self.contract = contract
        self.trainer = trainer
        self.build_model = build_model
        self.fixed_hparams = dict(fixed_hparams or {})
        # trial id -> (seconds, one-line error) of the trials that raised.
        self.failures = {}
        # The ids of the trials this process ran (in distributed mode, its share).
        self.trials_run = []
        # Never overwrite: in distributed mode every worker shares the project folder.
        super().__init__(oracle=oracle, directory=directory, project_name=contract.name)

    def trial_hparams(self, values: Mapping[str, object]) -> dict:
        """Returns every hyperparameter of a trial: defaults < its values < fixed ones."""
        return {**self.contract.hparam_defaults, **values, **self.fixed_hparams}

    def run_trial(self, trial, fn_args=None, schema=None, **_):
        """Trains one trial from scratch through the Estimator; returns its eval metrics.

        Raises:
          TrialError: the training raised, or ran no evaluation.
        """
        values = dict(trial.hyperparameters.values)
        objective, _ = self.contract.task.objective
        self.trials_run.append(trial.trial_id)
        model_dir = os.path.join(self.get_trial_dir(trial.trial_id), "model")
        if tf.io.gfile.exists(model_dir):
            tf.io.gfile.rmtree(model_dir)  # A retried trial starts from scratch too.
        # No model_run_dir: a trial never resumes another attempt.
        trial_args = estimator.training_fn_args(
            fn_args.transform_graph_path,
            fn_args.train_files,
            fn_args.eval_files,
            fn_args.train_steps,
            model_dir,
            eval_steps=fn_args.eval_steps,
            custom_config=fn_args.custom_config,
            working_dir=fn_args.working_dir,
        )
        start = time.monotonic()
        tf.keras.backend.clear_session()
        try:
            if self.trainer == "keras":
                return self._keras_trial(trial, trial_args, values, objective, start)
            spec = estimator.build_trainer_spec(
                trial_args,
                schema,
                self.contract,
                self.build_model,
                hparams=self.trial_hparams(values),
            )
            metrics, _ = tf_estimator.estimator.train_and_evaluate(
                spec["estimator"], spec["train_spec"], spec["eval_spec"]
            )
            if not metrics or objective not in metrics:
                raise RuntimeError(
                    f"the training ran no evaluation with {objective!r} (metrics: {metrics})"
                )
        except Exception as error:
            seconds = time.monotonic() - start
            message = _one_line(f"{type(error).__name__}: {error}")
            self.failures[trial.trial_id] = (seconds, message)
            raise TrialError(
                f"Trial {trial.trial_id} with {values} failed after {seconds:.1f}s: {message}"
            ) from error
        seconds = time.monotonic() - start
        absl_logging.info(
            "Trial %s with %s: %s %.4f after %d steps in %.1fs",
            trial.trial_id,
            values,
            objective,
            metrics[objective],
            metrics["global_step"],
            seconds,
        )
        return {
            objective: float(metrics[objective]),
            "global_step": float(metrics["global_step"]),
            "seconds": round(seconds, 1),
        }

    def _keras_trial(self, trial, trial_args, values, objective, start) -> dict:
        """One trial through the Keras trainer's `model.fit`; its eval metrics."""
        from modules.common import keras_training

        metrics = keras_training.evaluated_fit(
            trial_args, self.contract, self.build_model, self.trial_hparams(values)
        )
        if objective not in metrics:
            raise RuntimeError(f"the training ran no evaluation with {objective!r} ({metrics})")
        seconds = time.monotonic() - start
        absl_logging.info("Trial %s with %s: %s", trial.trial_id, values, metrics)
        return {
            objective: float(metrics[objective]),
            "global_step": float(metrics["global_step"]),
            "seconds": round(seconds, 1),
        }

    def _first_failure(self) -> str:
        failed = [
            t
            for t in self.oracle.trials.values()
            if t.status in (trial_lib.TrialStatus.FAILED, trial_lib.TrialStatus.INVALID)
        ]
        if not failed:
            return "no trial ran"
        first = min(failed, key=lambda t: t.trial_id)
        # A trial another process ran (distributed mode) has only keras-tuner's message.
        last_line = ((first.message or "").strip().splitlines() or [""])[-1]
        seconds, message = self.failures.get(first.trial_id, (None, _one_line(last_line)))
        return (
            f"the first, trial {first.trial_id} with hyperparameters "
            f"{dict(first.hyperparameters.values)}, failed"
            + (f" after {seconds:.1f}s" if seconds is not None else "")
            + f": {message}"
        )

    def search(self, *fit_args, **fit_kwargs):
        """Runs the trials; fails unless at least one completed.

        Raises:
          TuningError: every trial failed, or `MAX_FAILURES_IN_A_ROW` did in a row;
            the message names the first failed trial, its values and its error.
        """
        fit_kwargs.setdefault("verbose", 0)
        try:
            super().search(*fit_args, **fit_kwargs)
        except RuntimeError as error:
            if "consecutive failures" not in str(error):
                raise
            raise TuningError(
                f"Tuning {self.contract.name!r} stopped: {MAX_FAILURES_IN_A_ROW} trials "
                f"failed in a row; {self._first_failure()}"
            ) from None
        if dist_utils.has_chief_oracle() and not dist_utils.is_chief_oracle():
            return  # A worker: the chief's oracle holds the trials and judges them.
        completed = [
            t for t in self.oracle.trials.values() if t.status == trial_lib.TrialStatus.COMPLETED
        ]
        if not completed:
            raise TuningError(
                f"Tuning {self.contract.name!r} failed: none of its "
                f"{len(self.oracle.trials)} trials completed; "
                f"{self._first_failure()}"
            )


def tuning_settings(custom_config: Optional[Mapping]) -> dict:
    """Returns the search's settings: `DEFAULT_SETTINGS` < `custom_config["tuning"]`."""
    settings = {**DEFAULT_SETTINGS, **((custom_config or {}).get("tuning") or {})}
    unknown = sorted(set(settings) - set(DEFAULT_SETTINGS))
    if unknown:
        raise ValueError(
            f"Unknown tuning settings {unknown}; the settings are {sorted(DEFAULT_SETTINGS)}."
        )
    return settings


def build_tuner(
    fn_args, contract: FamilyContract, build_model: estimator.ModelBuilder
) -> EstimatorTuner:
    """Returns the tuner of a family for the Tuner component's `fn_args`.

    The run's explicit hyperparameters (`custom_config["hparams"]`) are fixed: they
    are not searched, and every trial uses them.
    """
    settings = tuning_settings(fn_args.custom_config)
    fixed = (fn_args.custom_config or {}).get("hparams") or {}
    oracle = make_oracle(
        settings["algorithm"],
        search_space(contract, fixed),
        int(settings["trials"]),
        int(settings["seed"]),
        contract.task.objective,
    )
    return EstimatorTuner(
        oracle,
        contract,
        build_model,
        fixed_hparams=fixed,
        directory=os.path.join(fn_args.working_dir, "tuning"),
        trainer=settings["trainer"],
    )


def tuner_fn_for(contract: FamilyContract, build_model: estimator.ModelBuilder):
    """Returns the `tuner_fn(fn_args)` TFX's Tuner executor calls, for one family."""

    def tuner_fn(fn_args):
        schema = load_schema(fn_args.schema_path)
        return TunerFnResult(
            tuner=build_tuner(fn_args, contract, build_model),
            fit_kwargs={"fn_args": fn_args, "schema": schema},
        )

    return tuner_fn
