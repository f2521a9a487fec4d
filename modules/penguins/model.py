"""The penguins Keras model: measurements and embedded categories, one hidden layer, a
softmax over the species."""

from typing import Mapping

import tensorflow as tf
import tensorflow_transform as tft

from . import contract


def build_keras_model(
    sizes: Mapping[str, int], hidden_units: int = 16, learning_rate: float = 0.01
) -> tf.keras.Model:
    """Builds and compiles the classifier.

    Args:
      sizes: categorical transformed key to its number of ids (from Transform).
      hidden_units: width of the hidden layer.
      learning_rate: learning rate of the (legacy, graph-mode compatible) Adam.
    """
    inputs = {
        key: tf.keras.Input(shape=(), name=key, dtype=tf.float32) for key in contract.DENSE_KEYS
    }
    inputs.update(
        {
            key: tf.keras.Input(shape=(), name=key, dtype=tf.int64)
            for key in contract.CATEGORICAL_KEYS
        }
    )
    columns = [tf.keras.layers.Reshape((1,))(inputs[key]) for key in contract.DENSE_KEYS]
    columns += [
        tf.keras.layers.Embedding(sizes[key], 2, name=f"{key}_embedding")(inputs[key])
        for key in contract.CATEGORICAL_KEYS
    ]
    hidden = tf.keras.layers.Dense(hidden_units, activation="relu")(
        tf.keras.layers.Concatenate()(columns)
    )
    task = contract.CONTRACT.task
    output = task.output_layer(contract.OUTPUT_NAME)(hidden)
    model = tf.keras.Model(inputs=inputs, outputs=output)
    task.compile(model, tf.keras.optimizers.legacy.Adam(learning_rate=learning_rate))
    return model


def build_from_transform(
    tf_transform_output: tft.TFTransformOutput, hparams: Mapping[str, object]
) -> tf.keras.Model:
    """The family's model builder: vocabulary sizes from Transform, the rest from `hparams`."""
    sizes = {
        key: tf_transform_output.num_buckets_for_transformed_feature(key)
        for key in contract.CATEGORICAL_KEYS
    }
    return build_keras_model(
        sizes, hidden_units=hparams["hidden_units"], learning_rate=hparams["learning_rate"]
    )
