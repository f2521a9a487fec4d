"""The reviews Keras model: Embedding -> LSTM -> Dropout -> Dense, as a data scientist writes it.

The `Input` is named by the contract's token key, the key Transform writes; the
`Embedding`'s size is read from Transform's vocabulary, so an id Transform emits
always fits. `mask_zero` makes the LSTM skip the padding.
"""

from typing import Mapping

import tensorflow as tf
import tensorflow_transform as tft

from . import contract


def embedding_input_dim(tf_transform_output: tft.TFTransformOutput) -> int:
    """Returns the number of ids: padding, the vocabulary, and the OOV buckets."""
    return contract.TEXT.input_dim(tf_transform_output)


def build_keras_model(
    input_dim: int,
    embedding_dim: int = 32,
    lstm_units: int = 32,
    dropout: float = 0.2,
    learning_rate: float = 0.001,
) -> tf.keras.Model:
    """Builds and compiles the sequence classifier.

    Args:
      input_dim: ids the embedding holds (`embedding_input_dim`).
      embedding_dim: width of each word's embedding.
      lstm_units: width of the LSTM's state.
      dropout: dropout rate after the LSTM.
      learning_rate: learning rate of the (legacy, graph-mode compatible) Adam.
    """
    tokens = tf.keras.Input(
        shape=(contract.SEQUENCE_LENGTH,), name=contract.TOKENS_KEY, dtype=tf.int64
    )
    embedded = tf.keras.layers.Embedding(
        input_dim, embedding_dim, mask_zero=True, name="word_embedding"
    )(tokens)
    state = tf.keras.layers.LSTM(lstm_units)(embedded)
    state = tf.keras.layers.Dropout(dropout)(state)
    task = contract.CONTRACT.task
    output = task.output_layer(contract.OUTPUT_NAME)(state)
    model = tf.keras.Model(inputs=tokens, outputs=output)
    task.compile(model, tf.keras.optimizers.legacy.Adam(learning_rate=learning_rate))
    return model


def build_from_transform(
    tf_transform_output: tft.TFTransformOutput, hparams: Mapping[str, object]
) -> tf.keras.Model:
    """The family's model builder: the embedding's size from Transform, the rest from `hparams`."""
    return build_keras_model(
        embedding_input_dim(tf_transform_output),
        embedding_dim=hparams["embedding_dim"],
        lstm_units=hparams["lstm_units"],
        dropout=hparams["dropout"],
        learning_rate=hparams["learning_rate"],
    )
