"""The taxi_fare Keras model: scaled trip length and embedded categories, two dense
layers, one linear output, the fare in dollars."""

from typing import Mapping

import tensorflow as tf
import tensorflow_transform as tft

from . import contract


def build_keras_model(
    sizes: Mapping[str, int],
    hidden_units=(64, 32),
    learning_rate: float = 0.01,
    embedding_dim: int = 4,
) -> tf.keras.Model:
    """Builds and compiles the regression.

    Args:
      sizes: categorical transformed key to its number of ids (from Transform).
      hidden_units: widths of the dense layers.
      learning_rate: learning rate of the (legacy, graph-mode compatible) Adam.
      embedding_dim: width of every category's embedding.
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
        tf.keras.layers.Embedding(sizes[key], embedding_dim, name=f"{key}_embedding")(inputs[key])
        for key in contract.CATEGORICAL_KEYS
    ]
    hidden = tf.keras.layers.Concatenate()(columns)
    for units in hidden_units:
        hidden = tf.keras.layers.Dense(units, activation="relu")(hidden)
    task = contract.CONTRACT.task
    output = task.output_layer(contract.OUTPUT_NAME)(hidden)
    model = tf.keras.Model(inputs=inputs, outputs=output)
    task.compile(model, tf.keras.optimizers.legacy.Adam(learning_rate=learning_rate))
    return model


def build_from_transform(
    tf_transform_output: tft.TFTransformOutput, hparams: Mapping[str, object]
) -> tf.keras.Model:
    """The family's model builder: id ranges from Transform, the rest from `hparams`."""
    sizes = {
        key: tf_transform_output.num_buckets_for_transformed_feature(key)
        for key in contract.CATEGORICAL_KEYS
    }
    return build_keras_model(
        sizes,
        hidden_units=(hparams["first_layer_units"], hparams["second_layer_units"]),
        learning_rate=hparams["learning_rate"],
        embedding_dim=hparams["embedding_dim"],
    )
