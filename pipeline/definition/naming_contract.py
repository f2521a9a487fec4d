"""The naming contract between Transform and the Keras model, checked before any run.

The Estimator feeds the model the dict of Transform's outputs: every Keras `Input`
must be one of them, with its dtype and shape; the Trainer refuses outputs that no
input reads; the label must be what the task trains on (an integer class for a
classifier, a number for a regression; never a string). `preprocessing_fn` is traced
on the schema's columns (names, dtypes and shapes; no data, no analyzer runs) and the
model is built from a stand-in of Transform's output whose vocabularies and buckets
all have `StandInTransformOutput.SIZE` ids.
"""

from typing import Dict, List, Mapping, Tuple

import tensorflow as tf

from modules.common import tasks
from modules.common.contract import FamilyContract

# name -> (dtype, shape), as the trace of `preprocessing_fn` gives them.
Outputs = Mapping[str, Tuple[tf.dtypes.DType, tf.TensorShape]]


class StandInTransformOutput:
    """What a model builder reads of a `tft.TFTransformOutput`, before Transform ran."""

    SIZE = 10

    def __init__(self, outputs: Outputs):
        self._outputs = outputs

    def transformed_feature_spec(self) -> Dict[str, tf.io.FixedLenFeature]:
        return {
            name: tf.io.FixedLenFeature(shape[1:], dtype)
            for name, (dtype, shape) in self._outputs.items()
        }

    def num_buckets_for_transformed_feature(self, key: str) -> int:
        if key not in self._outputs:
            raise ValueError(f"preprocessing_fn makes no output {key!r}")
        return self.SIZE

    def vocabulary_size_by_name(self, vocab_filename: str) -> int:  # noqa: ARG002
        return self.SIZE


def trace(preprocessing_fn, feature_spec) -> Dict[str, Tuple[tf.dtypes.DType, tf.TensorShape]]:
    """Traces `preprocessing_fn` on `feature_spec`: each output's dtype and shape."""
    from tensorflow_transform import impl_helper

    with tf.compat.v1.Graph().as_default():
        _, _, outputs = impl_helper.trace_preprocessing_function(
            preprocessing_fn, feature_spec, use_tf_compat_v1=True
        )
        return {name: (tensor.dtype, tensor.shape) for name, tensor in outputs.items()}


def output_problems(contract: FamilyContract, outputs: Outputs) -> List[str]:
    """What the Trainer would refuse in Transform's outputs, and a label the task cannot use."""
    problems = []
    expected = set(contract.model_input_keys) | {contract.label_key}
    missing = sorted(expected - set(outputs))
    extra = sorted(set(outputs) - expected)
    if missing:
        problems.append(
            f"preprocessing_fn does not produce {missing}, which the family's "
            "contract.py names as model_input_keys or label_key"
        )
    if extra:
        problems.append(
            f"preprocessing_fn produces {extra}, which no model input reads "
            "(the Trainer refuses them): add them to model_input_keys in "
            "contract.py, or drop them"
        )
    if contract.label_key in outputs:
        dtype = outputs[contract.label_key][0]
        wanted = "a number" if contract.task.kind == tasks.REGRESSION else "an integer class id"
        fits = (
            (dtype.is_integer or dtype.is_floating)
            if contract.task.kind == tasks.REGRESSION
            else dtype.is_integer
        )
        if not fits:
            problems.append(
                f"the label {contract.label_key!r} is {dtype.name}; a "
                f"{contract.task.kind} model trains on {wanted} (map it in "
                "preprocessing_fn, e.g. modules.common.preprocessing.label)"
            )
    return problems


def _compatible(input_shape: tf.TensorShape, output_shape: tf.TensorShape) -> bool:
    return input_shape.is_compatible_with(output_shape)


def model_problems(build_model, hparams: Mapping[str, object], outputs: Outputs) -> List[str]:
    """What the model built from a stand-in Transform output expects that Transform lacks."""
    with tf.compat.v1.Graph().as_default():
        try:
            model = build_model(StandInTransformOutput(outputs), hparams)
        except (TypeError, ValueError, KeyError) as error:
            return [
                f"the model does not build on Transform's outputs (with "
                f"{StandInTransformOutput.SIZE} ids per vocabulary): "
                f"{type(error).__name__}: {str(error).splitlines()[0]}"
            ]
        inputs = dict(zip(model.input_names, model.inputs))
    problems = []
    for name, tensor in inputs.items():
        if name not in outputs:
            problems.append(
                f"the Keras Input {name!r} is not an output of preprocessing_fn "
                f"(it makes {sorted(outputs)})"
            )
            continue
        dtype, shape = outputs[name]
        if tensor.dtype != dtype:
            problems.append(
                f"the Keras Input {name!r} is {tensor.dtype.name}, but "
                f"preprocessing_fn makes it {dtype.name}"
            )
        elif not _compatible(tensor.shape, shape):
            problems.append(
                f"the Keras Input {name!r} has shape {tensor.shape.as_list()}, "
                f"but preprocessing_fn makes {shape.as_list()} (Input(shape=()) "
                "reads a [batch] tensor)"
            )
    return problems
