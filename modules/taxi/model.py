"""The taxi Keras model: one `Input` per transformed feature, embeddings, dense layers.

The model is written as a data scientist would write it in Keras;
`modules.common.estimator` turns it into an Estimator. Embedding sizes are read from
Transform's output, never hard-coded, so a vocabulary that grows cannot push an id past
its `Embedding`.
"""

from typing import Mapping

import tensorflow as tf
import tensorflow_transform as tft

from . import contract


def categorical_sizes(tf_transform_output: tft.TFTransformOutput) -> dict:
    """Returns each categorical key's id range (ids are 0 .. size - 1), from Transform."""
    return {
        key: tf_transform_output.num_buckets_for_transformed_feature(key)
        for key in contract.CATEGORICAL_KEYS
    }


def embedding_dim(size: int, scale: float = 2.0) -> int:
    """Returns the width of an embedding for `size` ids: grows as the fourth root.

    `scale` widens every embedding alike; the cap (16 at the default scale) grows
    with it.
    """
    return max(2, min(round(8 * scale), round(scale * size**0.25)))


def build_keras_model(
    sizes: Mapping[str, int],
    hidden_units=(64, 32),
    dropout: float = 0.1,
    learning_rate: float = 0.003,
    embedding_scale: float = 2.0,
) -> tf.keras.Model:
    """Builds and compiles the functional Keras model.

    Args:
      sizes: categorical transformed key to its number of ids (`categorical_sizes`).
      hidden_units: widths of the dense layers.
      dropout: dropout rate after each dense layer.
      learning_rate: learning rate of the (legacy, graph-mode compatible) Adam.
      embedding_scale: widens the embeddings (`embedding_dim`).

    Returns:
      A compiled model whose inputs are named by `contract.MODEL_INPUT_KEYS` and
      take `[batch]` tensors, as Transform emits them.
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

    # Transform emits scalars as [batch]; the reshape to [batch, 1] happens here,
    # once, so training, serving and evaluation feed the model the same way.
    columns = [tf.keras.layers.Reshape((1,))(inputs[key]) for key in contract.DENSE_KEYS]
    for key in contract.CATEGORICAL_KEYS:
        embedding = tf.keras.layers.Embedding(
            sizes[key], embedding_dim(sizes[key], embedding_scale), name=f"{key}_embedding"
        )
        columns.append(embedding(inputs[key]))
    hidden = tf.keras.layers.Concatenate()(columns)
    for units in hidden_units:
        hidden = tf.keras.layers.Dense(units, activation="relu")(hidden)
        hidden = tf.keras.layers.Dropout(dropout)(hidden)
    task = contract.CONTRACT.task
    output = task.output_layer(contract.OUTPUT_NAME)(hidden)

    model = tf.keras.Model(inputs=inputs, outputs=output)
    task.compile(model, tf.keras.optimizers.legacy.Adam(learning_rate=learning_rate))
    return model


def build_from_transform(
    tf_transform_output: tft.TFTransformOutput, hparams: Mapping[str, object]
) -> tf.keras.Model:
    """The family's model builder: sizes from Transform, widths from `hparams`."""
    return build_keras_model(
        categorical_sizes(tf_transform_output),
        hidden_units=(hparams["first_layer_units"], hparams["second_layer_units"]),
        dropout=hparams["dropout"],
        learning_rate=hparams["learning_rate"],
        embedding_scale=hparams["embedding_scale"],
    )
