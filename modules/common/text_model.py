"""Free text in a Keras model: word ids -> `Embedding(mask_zero=True)` -> one vector a row.

The ids come from `modules.common.text.word_ids` (0 pads). The sequence layer is an
LSTM, or the average of the embedded words that are not padding (`MaskedAverage`):
a bag of words, several times faster and, measured on the reviews data, as good or
better at a short training (docs/text.md).
"""

import tensorflow as tf

LSTM = "lstm"
AVERAGE = "average"
SEQUENCE_LAYERS = (AVERAGE, LSTM)


@tf.keras.utils.register_keras_serializable(package="modules.common.text_model")
class MaskedAverage(tf.keras.layers.Layer):
    """The mean over time of `[batch, time, dim]` inputs where the mask is set.

    A row with no word (an empty text, all padding) is zeros. Keras'
    `GlobalAveragePooling1D` divides by the number of unmasked steps, which is 0 there:
    it returns NaN for an empty text, and one NaN score poisons a batch's loss.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return tf.reduce_mean(inputs, axis=1)
        weights = tf.cast(mask, inputs.dtype)[:, :, tf.newaxis]
        total = tf.reduce_sum(inputs * weights, axis=1)
        count = tf.reduce_sum(weights, axis=1)
        return total / tf.maximum(count, 1.0)

    def compute_mask(self, inputs, mask=None):  # noqa: ARG002
        return None


def encode(
    ids,
    input_dim: int,
    embedding_dim: int,
    sequence_layer: str = AVERAGE,
    units: int = 32,
    name: str = "text",
):
    """Returns `[batch, embedding_dim]` (average) or `[batch, units]` (LSTM) for the
    `[batch, length]` int64 word ids `ids` (a Keras tensor), 0 being padding.

    Args:
      ids: the word ids, a `tf.keras.Input` or a layer's output.
      input_dim: ids the embedding holds (`TextColumn.input_dim`).
      embedding_dim: width of each word's embedding.
      sequence_layer: `AVERAGE` (`MaskedAverage`) or `LSTM`.
      units: the LSTM's width (unused by the average).
      name: a prefix of the layers' names.
    """
    if sequence_layer not in SEQUENCE_LAYERS:
        raise ValueError(f"sequence_layer {sequence_layer!r} is not one of {SEQUENCE_LAYERS}.")
    embedded = tf.keras.layers.Embedding(
        input_dim, embedding_dim, mask_zero=True, name=f"{name}_embedding"
    )(ids)
    if sequence_layer == LSTM:
        return tf.keras.layers.LSTM(units, name=f"{name}_lstm")(embedded)
    return MaskedAverage(name=f"{name}_average")(embedded)
