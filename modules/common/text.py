"""Free text in Transform: a text column to a fixed-length row of word ids.

The steps every family with text shares, in the graph that also serves: the text is
lower-cased, markup (`<br />`) and punctuation become spaces (letters and digits of any
script stay), words are split on white space, a vocabulary of the most frequent words
computed over the training data maps each word to an id (an unseen word to one of the
OOV buckets), and the ids, shifted by one so that 0 is padding, are padded or truncated
to the column's sequence length. As Keras' `pad_sequences` does by default, a long text
keeps its last words. An empty cell is an empty text: all padding.
"""

import dataclasses

# Id 0 pads; vocabulary and OOV ids start at 1.
PADDING_ID = 0


@dataclasses.dataclass(frozen=True)
class TextColumn:
    """How one raw text column becomes word ids.

    Attributes:
      name: the raw column.
      sequence_length: word ids per row; longer texts keep their last words, shorter
        ones are padded with 0.
      vocabulary_size: the most frequent words of the training data that get an id
        each; the others share the OOV buckets.
      oov_buckets: ids shared by the words outside the vocabulary.
    """

    name: str
    sequence_length: int
    vocabulary_size: int
    oov_buckets: int = 10

    def __post_init__(self):
        for field in ("sequence_length", "vocabulary_size", "oov_buckets"):
            if not isinstance(getattr(self, field), int) or getattr(self, field) < 1:
                raise ValueError(
                    f"TextColumn {self.name!r}: {field} must be a positive integer, "
                    f"got {getattr(self, field)!r}."
                )

    @property
    def vocab_filename(self) -> str:
        """The name of the column's vocabulary in Transform's output."""
        from modules.common.preprocessing import transformed_key

        return transformed_key(self.name)[: -len("_xf")] + "_vocab"

    def input_dim(self, tf_transform_output) -> int:
        """Ids an `Embedding` of the column holds: padding, vocabulary, OOV buckets."""
        vocabulary = tf_transform_output.vocabulary_size_by_name(self.vocab_filename)
        return 1 + vocabulary + self.oov_buckets


def tokenize(text):
    """Returns the words of each text of a `[batch]` string tensor, as a RaggedTensor:
    lower case, without markup or punctuation."""
    import tensorflow as tf

    text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, r"<[^>]*>", " ")
    # Letters and digits of any script stay; apostrophes inside words too (don't).
    text = tf.strings.regex_replace(text, r"[^\pL\pN']+|'\B|\B'", " ")
    return tf.strings.split(text)


def word_ids(tensor, column: TextColumn):
    """Maps a raw text column (dense `[batch]` or Transform's sparse one) to int64
    `[batch, column.sequence_length]` word ids: 0 pads, 1 .. vocabulary size + OOV
    buckets are words. Must run inside a `preprocessing_fn` (it computes the vocabulary).
    """
    import tensorflow_transform as tft

    from modules.common.preprocessing import dense

    words = tokenize(dense(tensor, ""))
    ids = tft.compute_and_apply_vocabulary(
        words,
        top_k=column.vocabulary_size,
        num_oov_buckets=column.oov_buckets,
        vocab_filename=column.vocab_filename,
    )
    last_words = (ids + 1)[:, -column.sequence_length :]
    return last_words.to_tensor(default_value=PADDING_ID, shape=[None, column.sequence_length])
