"""The curated schema: reading it, and the raw features it describes for training and serving."""

from typing import NamedTuple, Tuple

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2
from tensorflow_transform.tf_metadata import schema_utils

# The schema environment of a serving request: features marked not in it (the label's
# columns) are not part of the serving signature.
SERVING_ENVIRONMENT = "SERVING"


def load_schema(path: str) -> schema_pb2.Schema:
    """Reads a text-format `Schema` proto (local or gs://).

    Raises:
      text_format.ParseError: the file is not a schema.
    """
    import tensorflow as tf

    with tf.io.gfile.GFile(path) as schema_file:
        return text_format.Parse(schema_file.read(), schema_pb2.Schema())


def raw_feature_spec(schema, serving: bool = False) -> dict:
    """Returns the raw `tf.Example` feature spec of the schema's columns.

    Args:
      schema: a `schema_pb2.Schema`.
      serving: only the features of the schema's `SERVING` environment, that is,
        without the columns the label comes from, which a request does not carry.
    """
    spec = schema_utils.schema_as_feature_spec(schema).feature_spec
    if serving:
        for feature in schema.feature:
            in_serving = SERVING_ENVIRONMENT not in feature.not_in_environment and (
                not feature.in_environment or SERVING_ENVIRONMENT in feature.in_environment
            )
            if not in_serving:
                spec.pop(feature.name, None)
    return spec


class SchemaColumns(NamedTuple):
    """A curated schema's columns, in its order: all, the numeric ones, the string ones."""

    raw: Tuple[str, ...]
    numeric: Tuple[str, ...]
    strings: Tuple[str, ...]


def schema_columns(path: str) -> SchemaColumns:
    """Reads the raw columns of the schema file `path` (a local file; no TensorFlow).

    A family's contract takes its `raw_columns` and `numeric_columns` from here, so
    that the column lists live once, in `data/<family>/schema.pbtxt`.
    """
    with open(path, encoding="utf-8") as schema_file:
        schema = text_format.Parse(schema_file.read(), schema_pb2.Schema())
    numeric_types = (schema_pb2.INT, schema_pb2.FLOAT)
    return SchemaColumns(
        raw=tuple(f.name for f in schema.feature),
        numeric=tuple(f.name for f in schema.feature if f.type in numeric_types),
        strings=tuple(f.name for f in schema.feature if f.type == schema_pb2.BYTES),
    )
