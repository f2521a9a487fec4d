"""A SavedModel's signatures, read from `saved_model.pb` without loading the model."""

import os
from typing import Dict

from components.run_report.readers import ReportInputError

SAVED_MODEL_FILE = "saved_model.pb"


def _tensor_info(info) -> dict:
    from tensorflow.python.framework import dtypes

    shape = (
        "unknown"
        if info.tensor_shape.unknown_rank
        else "["
        + ", ".join("None" if d.size < 0 else str(d.size) for d in info.tensor_shape.dim)
        + "]"
    )
    return {"name": info.name, "dtype": dtypes.as_dtype(info.dtype).name, "shape": shape}


def has_saved_model(model_dir: str) -> bool:
    """Whether `model_dir` holds a SavedModel."""
    return os.path.exists(os.path.join(model_dir, SAVED_MODEL_FILE))


def serving_signatures(saved_model_dir: str) -> Dict[str, dict]:
    """Returns {signature: {"inputs": {...}, "outputs": {...}}} of a SavedModel."""
    from tensorflow.core.protobuf import saved_model_pb2

    path = os.path.join(saved_model_dir, SAVED_MODEL_FILE)
    with open(path, "rb") as model_file:
        saved_model = saved_model_pb2.SavedModel.FromString(model_file.read())
    if not saved_model.meta_graphs:
        raise ReportInputError(f"{path}: the SavedModel holds no graph.")
    signatures = {}
    for name, signature in sorted(saved_model.meta_graphs[0].signature_def.items()):
        if name.startswith("__"):
            continue
        signatures[name] = {
            "inputs": {k: _tensor_info(v) for k, v in sorted(signature.inputs.items())},
            "outputs": {k: _tensor_info(v) for k, v in sorted(signature.outputs.items())},
        }
    return signatures
