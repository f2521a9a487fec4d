"""What the Trainer trained with, and the Tuner's trials, from their artifact folders.

One trials file: `trials.json`, which this project's Tuner executor writes beside TFX's
results (`components/tuner.py`): every trial, completed or failed, best first.
"""

import json
import os
from typing import Dict, List, Optional

from components import tuner as tuner_lib
from components.run_report.readers import ReportInputError

# Written by the Trainer in its model run folder (`modules/common/estimator.py`): what
# the training used, every hyperparameter included.
TRAINING_RECORD_FILE = "training_inputs.json"
# Written by TFX's Tuner in its best_hyperparameters folder.
BEST_HYPERPARAMETERS_FILE = "best_hyperparameters.txt"


def _json(path: str):
    try:
        with open(path) as json_file:
            return json.load(json_file)
    except json.JSONDecodeError as error:
        raise ReportInputError(
            f"{path}: line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None


def trained_with(model_run_uri: str) -> Dict[str, object]:
    """The hyperparameters the Trainer recorded in its model run folder ({} if none)."""
    path = os.path.join(model_run_uri, TRAINING_RECORD_FILE)
    return dict(_json(path).get("hparams") or {}) if os.path.isfile(path) else {}


def training_length(model_run_uri: str) -> Dict[str, Optional[float]]:
    """{"trained_examples", "epochs"} the Trainer's record tells: steps times the batch
    size when it trained by steps, the epochs when it trained by epochs (None where
    the record cannot tell: the rows are counted before a local run only)."""
    path = os.path.join(model_run_uri, TRAINING_RECORD_FILE)
    record = _json(path) if os.path.isfile(path) else {}
    batch = (record.get("hparams") or {}).get("train_batch_size")
    steps = record.get("train_steps")
    return {
        "trained_examples": steps * batch if steps and batch else None,
        "epochs": record.get("train_epochs") or None,
    }


def tuned_values(hyperparameters_uri: str) -> Dict[str, object]:
    """A Tuner's best values, from a `HyperParameters` artifact's folder."""
    return dict(
        _json(os.path.join(hyperparameters_uri, BEST_HYPERPARAMETERS_FILE)).get("values") or {}
    )


def read_trials(tuner_results_uri: str) -> List[dict]:
    """Returns the Tuner's trials (`trials.json`), best first, failed last."""
    path = os.path.join(tuner_results_uri, tuner_lib.TRIALS_FILE)
    trials = _json(path)
    if not isinstance(trials, list):
        raise ReportInputError(f"{path}: expected a list of trials, found {type(trials).__name__}.")
    return trials


def trial_rows(trials: Optional[List[dict]]) -> Optional[List[dict]]:
    """The trials as table rows: id, score, each hyperparameter, status and error."""
    if not trials:
        return None
    return [
        {
            "trial_id": t["trial_id"],
            "score": t.get("score"),
            **t.get("hyperparameters", {}),
            "status": t.get("status", ""),
            "error": t.get("error", ""),
        }
        for t in trials
    ]
