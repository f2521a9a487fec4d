"""Transform's `preprocessing_fn` for reviews: text to a fixed-length row of word ids.

Everything the `Embedding` sees is computed here, in the graph that also serves: the
text is lower-cased, markup (`<br />`) and punctuation become spaces, words are split
on white space, a vocabulary computed over the training data maps each word to an id
(unseen words to one of the OOV buckets), and the ids, shifted by one so that 0 is
padding, are padded or truncated to `SEQUENCE_LENGTH`. As Keras' `pad_sequences` does by
default, a long text keeps its last words: a review's verdict tends to come at its end.
"""

import tensorflow as tf
import tensorflow_transform as tft

from modules.common.preprocessing import dense
from modules.common.preprocessing import label

from . import contract


def tokenize(text: tf.Tensor) -> tf.RaggedTensor:
    """Returns the words of each text: lower case, without markup or punctuation."""
    text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, r"<[^>]*>", " ")
    # Letters and digits of any script stay; apostrophes inside words too (don't).
    text = tf.strings.regex_replace(text, r"[^\pL\pN']+|'\B|\B'", " ")
    return tf.strings.split(text)


def preprocessing_fn(inputs):
    """Maps the raw review to token ids and the label.

    Args:
      inputs: raw feature name to `Tensor` or `SparseTensor`, as parsed by Transform.

    Returns:
      `text_xf`: int64 `[batch, SEQUENCE_LENGTH]` ids, 0 for padding, 1 ..
      vocabulary size + OOV buckets for words; `label_xf`: int64 `[batch]`.
    """
    words = tokenize(dense(inputs[contract.TEXT_KEY], ""))
    ids = tft.compute_and_apply_vocabulary(
        words,
        top_k=contract.VOCAB_SIZE,
        num_oov_buckets=contract.OOV_BUCKETS,
        vocab_filename=contract.VOCAB_NAME,
    )
    last_words = (ids + 1)[:, -contract.SEQUENCE_LENGTH :]
    padded = last_words.to_tensor(
        default_value=contract.PADDING_ID, shape=[None, contract.SEQUENCE_LENGTH]
    )
    return {contract.TOKENS_KEY: padded, contract.LABEL_KEY: label(inputs, contract.CONTRACT)}
