"""The raw features a curated schema describes, for training and for serving."""

from tensorflow_transform.tf_metadata import schema_utils

# The schema environment of a serving request: features marked not in it (the label's
# columns) are not part of the serving signature.
SERVING_ENVIRONMENT = "SERVING"


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
