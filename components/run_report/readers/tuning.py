"""The Tuner's trials, from `tuner_results.json`."""

import json
import os
from typing import List

from components.run_report.readers import ReportInputError

TUNER_RESULTS_FILE = "tuner_results.json"


def read_tuning_trials(tuner_results_uri: str) -> List[dict]:
    """Returns the Tuner's trials (`tuner_results.json`: id, score, values), best first."""
    path = os.path.join(tuner_results_uri, TUNER_RESULTS_FILE)
    try:
        with open(path) as results_file:
            trials = json.load(results_file)
    except json.JSONDecodeError as error:
        raise ReportInputError(f"{path}: line {error.lineno}, column {error.colno}: "
                               f"{error.msg}") from None
    if not isinstance(trials, list):
        raise ReportInputError(f"{path}: expected a list of trials, found "
                               f"{type(trials).__name__}.")
    return trials
