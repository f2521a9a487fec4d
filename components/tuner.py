"""TFX's Tuner, writing every trial (completed or failed) beside the best values.

TFX's own Tuner executor writes `best_hyperparameters.txt` and, in `tuner_results`,
the completed trials' scores only. This executor also writes `trials.json` there:
each trial's id, status, hyperparameter values, score and its objective's name, the
metrics its tuner reported (such as steps and seconds) and, for a trial that raised,
its error; best first, failed trials last. It knows nothing of any model family: the search is the
`tuner_fn`'s.
"""

import json
import os
from typing import Any, Dict, List

from keras_tuner.engine import trial as trial_lib
from tfx import types
from tfx.components.tuner import component as tuner_component
from tfx.components.tuner import executor as tuner_executor
from tfx.dsl.components.base import executor_spec
from tfx.types import artifact_utils
from tfx.types import standard_component_specs
from tfx.utils import io_utils

TRIALS_FILE = "trials.json"


def _error_line(message: str) -> str:
    """The exception line of a keras-tuner trial message (a formatted traceback)."""
    lines = [line for line in (message or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def trial_records(oracle) -> List[Dict[str, Any]]:
    """Returns every trial of `oracle` as a JSON-able dict, best first, failed last."""
    records = []
    for trial in oracle.trials.values():
        completed = trial.status == trial_lib.TrialStatus.COMPLETED
        records.append(
            {
                "trial_id": trial.trial_id,
                "status": trial.status,
                "hyperparameters": dict(trial.hyperparameters.values),
                "score": trial.score if completed else None,
                "objective": oracle.objective.name,
                "metrics": {
                    name: trial.metrics.get_last_value(name) for name in trial.metrics.metrics
                },
                "error": "" if completed else _error_line(trial.message),
            }
        )
    maximize = oracle.objective.direction == "max"
    done = sorted(
        (r for r in records if r["score"] is not None), key=lambda r: r["score"], reverse=maximize
    )
    rest = sorted((r for r in records if r["score"] is None), key=lambda r: r["trial_id"])
    return done + rest


def read_trials(tuner_results_uri: str) -> List[Dict[str, Any]]:
    """Returns the trials written by `Executor` in a `TunerResults` artifact's folder."""
    with open(os.path.join(tuner_results_uri, TRIALS_FILE)) as trials_file:
        return json.load(trials_file)


class Executor(tuner_executor.Executor):
    """TFX's Tuner executor, plus `trials.json` in the `tuner_results` output."""

    def Do(
        self,
        input_dict: Dict[str, List[types.Artifact]],
        output_dict: Dict[str, List[types.Artifact]],
        exec_properties: Dict[str, Any],
    ) -> None:
        if tuner_executor.get_tune_args(exec_properties):
            raise ValueError(
                "TuneArgs is not supported by this Tuner's executor; "
                "give the search's settings in custom_config."
            )
        # The tuner's search raises if no trial completed, before anything is written.
        tuner = tuner_executor.search(
            input_dict, exec_properties, self._get_tmp_dir(), print_tuning_summary=False
        )
        tuner_executor.write_best_hyperparameters(tuner, output_dict)
        results_uri = artifact_utils.get_single_uri(
            output_dict[standard_component_specs.TUNER_RESULTS_KEY]
        )
        io_utils.write_string_file(
            os.path.join(results_uri, TRIALS_FILE),
            json.dumps(trial_records(tuner.oracle), indent=2),
        )


class Tuner(tuner_component.Tuner):
    """TFX's Tuner component with `Executor`: every trial is reported."""

    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)
