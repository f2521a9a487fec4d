"""Scoring raw CSV rows with a pushed model, as a serving client would.

A pushed model's `serving_default` signature takes serialized `tf.Example`s holding the
raw CSV columns (without the label) and applies the Transform graph itself; this module
turns CSV rows into such examples, typed by the project's schema, and calls it.
"""

import csv
import os
from typing import Iterable, List, Mapping

import numpy as np
import tensorflow as tf
from google.protobuf import text_format
from google.protobuf.message import DecodeError
from tensorflow_metadata.proto.v0 import schema_pb2

from modules.common.schema import raw_feature_spec

_PARSERS = {tf.float32: float, tf.int64: lambda text: int(float(text)), tf.string: str.encode}


def load_schema(path: str) -> schema_pb2.Schema:
    """Reads a text-format `Schema` proto."""
    with open(path) as schema_file:
        return text_format.Parse(schema_file.read(), schema_pb2.Schema())


def feature_types(schema: schema_pb2.Schema, serving: bool = True) -> dict:
    """Returns raw column -> dtype; for serving, without the columns of the label."""
    return {key: value.dtype for key, value in raw_feature_spec(schema, serving).items()}


def example_from_row(row: Mapping[str, str], types: Mapping[str, tf.DType],
                     where: str = "row") -> bytes:
    """Returns a serialized `tf.Example` of one CSV row; empty cells are left out.

    Raises:
      ValueError: naming `where` and the column when a cell does not parse as its type.
    """
    example = tf.train.Example()
    for key, dtype in types.items():
        text = (row.get(key) or "").strip()
        if not text:
            continue
        try:
            value = _PARSERS[dtype](text)
        except ValueError:
            raise ValueError(
                f"{where}: column {key!r} holds {text!r}, which is not a {dtype.name}"
            ) from None
        feature = example.features.feature[key]
        if dtype == tf.float32:
            feature.float_list.value.append(value)
        elif dtype == tf.int64:
            feature.int64_list.value.append(value)
        else:
            feature.bytes_list.value.append(value)
    return example.SerializeToString()


def examples_from_csv(csv_path: str, schema: schema_pb2.Schema,
                      serving: bool = True) -> List[bytes]:
    """Returns one serialized raw `tf.Example` per row of a CSV file with a header."""
    types = feature_types(schema, serving)
    with open(csv_path, newline="", encoding="utf-8") as csv_file:
        return [
            example_from_row(row, types, where=f"{csv_path}, line {line}")
            for line, row in enumerate(csv.DictReader(csv_file), start=2)
        ]


def latest_version_dir(serving_model_dir: str) -> str:
    """Returns the newest numbered version folder the Pusher wrote."""
    versions = [
        name for name in os.listdir(serving_model_dir)
        if name.isdigit() and os.path.isdir(os.path.join(serving_model_dir, name))
    ]
    if not versions:
        raise FileNotFoundError(f"No pushed model version in {serving_model_dir}.")
    return os.path.join(serving_model_dir, max(versions, key=int))


def check_examples(serialized_examples: Iterable[bytes]) -> List[bytes]:
    """Returns the examples, or raises ValueError naming the first that is no tf.Example.

    The model's own parser rejects such bytes too, but its message embeds the raw bytes
    and TensorFlow fails to decode them, hiding the cause.
    """
    examples = list(serialized_examples)
    for index, serialized in enumerate(examples):
        try:
            tf.train.Example.FromString(serialized)
        except DecodeError as error:
            raise ValueError(
                f"Example {index} is not a serialized tf.Example ({error})."
            ) from None
    return examples


def predict(model_dir: str, serialized_examples: Iterable[bytes]) -> np.ndarray:
    """Loads the SavedModel in `model_dir` and returns one probability per example.

    Raises:
      ValueError: an example is not a serialized tf.Example.
      tf.errors.InvalidArgumentError: an example does not match the model's features
        (for instance text where a number belongs); the message names the feature.
    """
    examples = check_examples(serialized_examples)
    model = tf.saved_model.load(model_dir)
    serve = model.signatures["serving_default"]
    outputs = serve(examples=tf.constant(examples))
    return next(iter(outputs.values())).numpy().reshape(-1)
