"""Transform's `preprocessing_fn` for reviews: text to a fixed-length row of word ids.

Everything the `Embedding` sees is computed here, in the graph that also serves, by the
shared text steps (`modules.common.text.word_ids`): lower case, markup (`<br />`) and
punctuation removed, words split on white space, a vocabulary of the training data's
most frequent words with OOV buckets, ids shifted by one so that 0 is padding, padded
or truncated to `SEQUENCE_LENGTH`. A long review keeps its last words, as Keras'
`pad_sequences` does by default: a review's verdict tends to come at its end.
"""

from modules.common.preprocessing import label
from modules.common.text import word_ids

from . import contract


def preprocessing_fn(inputs):
    """Maps the raw review to token ids and the label.

    Args:
      inputs: raw feature name to `Tensor` or `SparseTensor`, as parsed by Transform.

    Returns:
      `text_xf`: int64 `[batch, SEQUENCE_LENGTH]` ids, 0 for padding, 1 ..
      vocabulary size + OOV buckets for words; `label_xf`: int64 `[batch]`.
    """
    return {
        contract.TOKENS_KEY: word_ids(inputs[contract.TEXT_KEY], contract.TEXT),
        contract.LABEL_KEY: label(inputs, contract.CONTRACT),
    }
