"""The reviews `preprocessing_fn` run for real through tf.Transform on hand-made texts."""

import tempfile

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata

from modules.common import text
from modules.reviews import contract
from modules.reviews import preprocessing

RAW_SPEC = {
    "text": tf.io.VarLenFeature(tf.string),
    "label": tf.io.VarLenFeature(tf.int64),
    "source": tf.io.VarLenFeature(tf.string),
}


def _row(text, label=1):
    return {
        "text": np.array([text.encode()], dtype=object),
        "label": np.array([label], dtype=np.int64),
        "source": np.array([b"imdb"], dtype=object),
    }


# "great" 3 times, "movie" twice, each other word once.
TRAIN_ROWS = [
    _row("A GREAT movie.<br /><br />Great!", 1),
    _row("great acting, dull movie", 0),
]
# 50 words more than fit: the last SEQUENCE_LENGTH words are kept, as Keras'
# pad_sequences keeps them.
LONG_TEXT = " ".join(["movie"] * 50 + ["great"] * contract.SEQUENCE_LENGTH)


@pytest.fixture(scope="module")
def transformed():
    """Analyzes TRAIN_ROWS, then transforms them and texts the vocabulary never saw."""
    metadata = dataset_metadata.DatasetMetadata.from_feature_spec(RAW_SPEC)
    others = [_row("zyzzyva great"), _row("", 0), _row(LONG_TEXT), _row("Ça été génial")]
    with tft_beam.Context(temp_dir=tempfile.mkdtemp(), force_tf_compat_v1=True):
        (train_out, _), transform_fn = (TRAIN_ROWS, metadata) | tft_beam.AnalyzeAndTransformDataset(
            preprocessing.preprocessing_fn
        )
        other_out, _ = ((others, metadata), transform_fn) | tft_beam.TransformDataset()
    return train_out, other_out


def _ids(row):
    return list(row[contract.TOKENS_KEY])


def test_ids_are_vocabulary_ranks_shifted_past_the_padding(transformed):
    train_out, _ = transformed
    ids = _ids(train_out[0])
    # great (rank 0) -> 1, movie (rank 1) -> 2; "a" ranks after them.
    assert ids[:4] == [ids[0], 1, 2, 1]
    assert ids[0] > 2
    assert len(ids) == contract.SEQUENCE_LENGTH


def test_markup_and_punctuation_are_not_words(transformed):
    train_out, _ = transformed
    # "A GREAT movie.<br /><br />Great!" is four words, then padding.
    assert _ids(train_out[0])[4:] == [contract.PADDING_ID] * (contract.SEQUENCE_LENGTH - 4)


def test_unseen_words_get_oov_ids_after_the_vocabulary(transformed):
    _, others = transformed
    vocabulary = 5  # great, movie, a, acting, dull
    oov, great = _ids(others[0])[:2]
    assert great == 1
    assert 1 + vocabulary <= oov < 1 + vocabulary + contract.OOV_BUCKETS


def test_empty_text_is_all_padding(transformed):
    _, others = transformed
    assert _ids(others[1]) == [contract.PADDING_ID] * contract.SEQUENCE_LENGTH


def test_long_text_keeps_its_last_words(transformed):
    _, others = transformed
    assert _ids(others[2]) == [1] * contract.SEQUENCE_LENGTH  # great, never movie (2)


def test_non_ascii_text_is_lower_cased_and_tokenized(transformed):
    _, others = transformed
    ids = _ids(others[3])
    assert all(i > 5 for i in ids[:3]), "three unseen words"
    assert ids[3:] == [contract.PADDING_ID] * (contract.SEQUENCE_LENGTH - 3)


def test_label_is_an_integer(transformed):
    train_out, others = transformed
    assert [row[contract.LABEL_KEY] for row in train_out] == [1, 0]
    assert others[1][contract.LABEL_KEY] == 0


def test_tokenize_keeps_apostrophes_inside_words_only():
    words = text.tokenize(tf.constant(["Don't say 'never' -- NAÏVE"]))
    assert words.to_list() == [[b"don't", b"say", b"never", "naïve".encode()]]
