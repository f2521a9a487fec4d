"""Readers of a run's artifacts, one module per source.

Each reader takes artifact folders (an artifact's `uri`) and returns plain JSON-able
values; `components/run_report/sections.py` assembles the page from them.

- `statistics`: StatisticsGen's `FeatureStats.pb` (counts, missing cells, histograms).
- `anomalies`: ExampleValidator's `SchemaDiff.pb`.
- `events`: the Estimator's event files (TensorBoard's `EventAccumulator`).
- `tuning`: what the Trainer trained with, the tuned values, the Tuner's `trials.json`.
- `evaluation`: the Evaluator's metrics, plots, validations and eval config.
- `signatures`: a SavedModel's signatures, read from `saved_model.pb`.
- `predictions`: a sample of the eval split scored with the pushed model.
"""

import glob
import os
from typing import Dict


class ReportInputError(ValueError):
    """An artifact folder does not hold what its kind of artifact should."""


def split_files(uri: str, file_name: str) -> Dict[str, str]:
    """Returns {split name: file path} for `Split-<name>/<file_name>` under `uri`."""
    found = {}
    for path in sorted(glob.glob(os.path.join(uri, "Split-*", file_name))):
        found[os.path.basename(os.path.dirname(path))[len("Split-") :]] = path
    if not found:
        raise ReportInputError(f"{uri}: no Split-*/{file_name} in this folder.")
    return found
