"""The Estimator's summaries: loss and metrics against the step, train and eval.

Training summaries lie in the model folder, evaluation summaries in its `eval*/`
subfolders; exported models hold none. TensorBoard's `EventAccumulator` reads them:
TF1 summaries as scalars, TF2 ones as scalar tensors.
"""

import collections
import math
import os
from typing import Dict, Iterable, List, Optional

EVENT_FILE_PREFIX = "events.out.tfevents."
# Scalars an Estimator writes that say nothing about the model.
SKIPPED_TAGS = ("global_step/sec", "checkpoint_path")


def find_event_files(model_run_uri: str) -> Dict[str, List[str]]:
    """Returns {"train": [...], "eval": [...]} event files of an Estimator's model_run."""
    found = {"train": [], "eval": []}
    for root, dirs, files in os.walk(model_run_uri):
        dirs[:] = sorted(d for d in dirs if d != "export")
        for name in sorted(files):
            if name.startswith(EVENT_FILE_PREFIX):
                kind = "eval" if os.path.basename(root).startswith("eval") else "train"
                found[kind].append(os.path.join(root, name))
    return found


def metric_name(tag: str) -> str:
    """The metric a summary tag records: Keras through the Estimator logs `loss_1`."""
    head, _, tail = tag.rpartition("_")
    return head if head and tail.isdigit() else tag


def _tensor_value(tensor_proto) -> Optional[float]:
    """A scalar number's value (TF2 summaries); None for text or shaped tensors."""
    from tensorboard.util import tensor_util

    if tensor_proto.tensor_shape.dim:
        return None
    value = tensor_util.make_ndarray(tensor_proto)
    return float(value) if value.dtype.kind in "fiu" else None


def _points(path: str):
    """Yields (tag, step, value) of every scalar in one event file."""
    from tensorboard.backend.event_processing import event_accumulator

    accumulator = event_accumulator.EventAccumulator(
        path, size_guidance={event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0}
    )
    accumulator.Reload()
    tags = accumulator.Tags()
    for tag in tags.get(event_accumulator.SCALARS, []):
        for event in accumulator.Scalars(tag):
            yield tag, event.step, float(event.value)
    for tag in tags.get(event_accumulator.TENSORS, []):
        for event in accumulator.Tensors(tag):
            value = _tensor_value(event.tensor_proto)
            if value is not None:
                yield tag, event.step, value


def read_scalars(event_files: Iterable[str]) -> Dict[str, List[List[float]]]:
    """Returns {metric: [[step, value], ...]} of the scalar summaries in event files."""
    series = collections.defaultdict(dict)
    for path in event_files:
        for tag, step, value in _points(path):
            if tag not in SKIPPED_TAGS and math.isfinite(value):
                series[metric_name(tag)][int(step)] = value
    return {
        name: sorted([step, v] for step, v in points.items())
        for name, points in sorted(series.items())
    }
