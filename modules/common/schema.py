"""The curated schema: reading it, and the raw features it describes for training and serving."""

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
                not feature.in_environment or SERVING_ENVIRONMENT in feature.in_environment)
            if not in_serving:
                spec.pop(feature.name, None)
    return spec
