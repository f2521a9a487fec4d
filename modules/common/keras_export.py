"""The Keras trainer's export: a SavedModel that serves raw `tf.Example`s, as the Estimator's.

The Estimator export's `serving_default` takes serialized raw examples (the schema's
SERVING environment: no label columns) under the input `examples`, transforms them in
the graph and returns the model's output: `<prediction_key>` `[N, 1]` for a binary or a
regression family, `scores` `[N, K]` and `classes` `[N, K]` (the class names) for a
multi-class one. This export returns the same, from the same Transform graph (TFT's
`tft_layer`), so the serving client, the Pusher and TF Serving see no difference.

It also carries `transform_features`: serialized raw examples with the label columns
in, their transformed features out (the label among them). TFMA evaluates the serving
model through it (`preprocessing_function_names`), reading the transformed label
without an EvalSavedModel.
"""

import tensorflow as tf
import tensorflow_transform as tft

from modules.common import tasks
from modules.common.contract import FamilyContract
from modules.common.schema import raw_feature_spec

SERVING_SIGNATURE = "serving_default"
TRANSFORM_SIGNATURE = "transform_features"
# The serving input's name, as the Estimator's parsing receiver names it.
EXAMPLES_INPUT = "examples"


def serving_outputs(contract: FamilyContract, output) -> dict:
    """The serving signature's outputs from the Keras model's output, as the Estimator's."""
    if contract.task.kind == tasks.MULTICLASS:
        names = tf.tile(tf.constant([list(contract.task.classes)]), [tf.shape(output)[0], 1])
        return {tasks.SCORES_OUTPUT: output, tasks.CLASSES_OUTPUT: names}
    return {contract.prediction_key: output}


def signatures(
    model: tf.keras.Model,
    tf_transform_output: tft.TFTransformOutput,
    schema,
    contract: FamilyContract,
) -> dict:
    """Returns the export's signatures: `serving_default` and `transform_features`.

    Args:
      model: the trained Keras model, its inputs named by `contract.model_input_keys`.
      tf_transform_output: Transform's output the model was trained on.
      schema: the raw data's `schema_pb2.Schema`.
      contract: the family's contract.
    """
    # Tracked on the model, so the Transform graph's assets and tables are saved with it.
    model.tft_layer = tf_transform_output.transform_features_layer()
    serving_spec = raw_feature_spec(schema, serving=True)
    full_spec = raw_feature_spec(schema)
    input_keys = tuple(contract.model_input_keys)
    examples = tf.TensorSpec(shape=[None], dtype=tf.string, name=EXAMPLES_INPUT)

    @tf.function(input_signature=[examples])
    def serve(examples):
        raw = tf.io.parse_example(examples, serving_spec)
        transformed = model.tft_layer(raw)
        output = model({key: transformed[key] for key in input_keys}, training=False)
        return serving_outputs(contract, output)

    @tf.function(input_signature=[examples])
    def transform_features(examples):
        raw = tf.io.parse_example(examples, full_spec)
        return model.tft_layer(raw)

    return {
        SERVING_SIGNATURE: serve.get_concrete_function(),
        TRANSFORM_SIGNATURE: transform_features.get_concrete_function(),
    }


def export_serving_model(
    model: tf.keras.Model,
    tf_transform_output: tft.TFTransformOutput,
    schema,
    contract: FamilyContract,
    export_dir: str,
) -> str:
    """Saves `model` with its serving and transform signatures into `export_dir`."""
    # Without the Keras layers' traced call functions: every consumer (TF Serving, the
    # serving client, TFMA) reads the signatures, and tracing each layer for a later
    # `tf.keras.models.load_model` costs export time.
    model.save(
        export_dir,
        save_format="tf",
        signatures=signatures(model, tf_transform_output, schema, contract),
        save_traces=False,
    )
    return export_dir
