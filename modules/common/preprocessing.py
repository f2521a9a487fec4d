"""What every family's `preprocessing_fn` shares: filling missing cells, making the label."""

import re
from typing import Sequence

import tensorflow as tf
from tensorflow_transform import schema_inference

from modules.common import tasks
from modules.common.contract import FamilyContract


def dense(tensor, default):
    """Returns a dense `[batch]` tensor of an optional raw column, `default` where empty.

    TFX's CSV reading writes an empty cell as an empty list, which Transform reads as a
    `SparseTensor` with no value in that row.
    """
    if isinstance(tensor, tf.sparse.SparseTensor):
        tensor = tf.sparse.to_dense(
            tf.sparse.SparseTensor(tensor.indices, tensor.values, [tensor.dense_shape[0], 1]),
            default_value=tf.cast(default, tensor.dtype),
        )
    return tf.reshape(tensor, [-1])


def identity_ids(tensor, size: int) -> tf.Tensor:
    """Returns raw integer values as int64 ids in [0, size], `size` meaning out of range.

    For columns whose values are already small ids (an hour, a community area): a value
    in [0, size) is its own id; anything else, a missing cell too, gets the one OOV id,
    `size`. The range is recorded in the transformed schema, so the model reads the
    number of ids from Transform's output as it does for vocabularies.
    """
    values = tf.cast(dense(tensor, tf.constant(-1, tensor.dtype)), tf.int64)
    ids = tf.where((values >= 0) & (values < size), values, tf.constant(size, tf.int64))
    schema_inference.set_tensor_schema_override(
        ids, tf.constant(0, tf.int64), tf.constant(size, tf.int64)
    )
    return ids


def transformed_key(column: str) -> str:
    """The transformed feature key of raw column `column`: `<column>_xf`, '.' as '_'.

    A key is also a Keras `Input`'s name, which takes letters, digits and '_'.
    """
    return re.sub(r"[^A-Za-z0-9_]", "_", column) + "_xf"


def z_score(tensor) -> tf.Tensor:
    """Returns a numeric raw column z-scored over its present values, 0 (the mean) where empty."""
    import tensorflow_transform as tft

    values = (
        tensor
        if isinstance(tensor, tf.sparse.SparseTensor)
        else tf.sparse.from_dense(tf.reshape(tensor, [-1, 1]))
    )
    return dense(tft.scale_to_z_score(tf.sparse.map_values(tf.cast, values, tf.float32)), 0.0)


def positive_ids(tensor, positive: str) -> tf.Tensor:
    """A binary label as int64: 1 where the value is `positive` (compared as the CSV
    writes it: text, or a number for a numeric column), else 0."""
    if tensor.dtype == tf.string:
        target = tf.constant(positive)
    else:
        target = tf.strings.to_number(tf.constant(positive), out_type=tensor.dtype)
    missing = "" if tensor.dtype == tf.string else -1
    return tf.cast(tf.equal(dense(tensor, missing), target), tf.int64)


def label(inputs, contract: FamilyContract) -> tf.Tensor:
    """The label of a family whose label is one raw column, as its task trains on it.

    Multi-class: the class id (`class_ids`); regression: float32; binary: int64,
    1 for the task's positive class when it names one (`positive_ids`).
    The CSV checks have stopped a run with an empty or unknown label cell before
    Transform (or left such rows out, if the family drops them).
    """
    raw = inputs[contract.label_column]
    kind = contract.task.kind
    if kind == tasks.MULTICLASS:
        missing = "" if raw.dtype == tf.string else -1
        return class_ids(dense(raw, missing), contract.task.classes)
    if kind == tasks.REGRESSION:
        return tf.cast(dense(raw, 0), tf.float32)
    if contract.task.positive:
        return positive_ids(raw, contract.task.positive)
    return tf.cast(dense(raw, 0), tf.int64)


def class_ids(labels, classes: Sequence[str]):
    """Maps a `[batch]` tensor of class labels to int64 ids: `classes[i]` -> i.

    Labels are compared as text (an integer label 3 is the class "3"), floating-point
    labels as numbers (a label 2.0 is the class "2.0" or "2"); a label outside
    `classes` maps to -1, which the CSV checks stop before Transform sees it.
    """
    if labels.dtype.is_floating:
        values = tf.strings.to_number(tf.constant(list(classes)), out_type=labels.dtype)
        matches = tf.cast(tf.equal(tf.reshape(labels, [-1, 1]), values), tf.int64)
        return tf.where(
            tf.reduce_any(matches > 0, axis=1),
            tf.argmax(matches, axis=1),
            tf.constant(-1, tf.int64),
        )
    if labels.dtype != tf.string:
        labels = tf.strings.as_string(labels)
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(list(classes)), tf.range(len(classes), dtype=tf.int64)
        ),
        default_value=-1,
    )
    return table.lookup(labels)
