"""The shared text steps (`modules.common.text`) run through tf.Transform on a few rows,
and the Keras side (`modules.common.text_model`): the masked average's empty-text guard."""

import tempfile

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata

from modules.common import tasks
from modules.common import text_model
from modules.common.contract import FamilyContract
from modules.common.text import PADDING_ID
from modules.common.text import TextColumn
from modules.common.text import tokenize
from modules.common.text import word_ids

# A small column: 3 words of vocabulary, 2 OOV buckets, 4 ids a row.
NOTE = TextColumn("note", sequence_length=4, vocabulary_size=3, oov_buckets=2)
RAW_SPEC = {"note": tf.io.VarLenFeature(tf.string)}
# "b" 4 times, "a" 3, "c" 2, "d" once: "d" is outside the 3-word vocabulary.
TRAIN = ["A b, B!", "b <i>a</i> c", "b a c d", "a"]


def _preprocessing_fn(inputs):
    return {"note_xf": word_ids(inputs["note"], NOTE)}


def _rows(texts):
    return [{"note": np.array([t.encode()] if t is not None else [], dtype=object)} for t in texts]


@pytest.fixture(scope="module")
def transformed():
    """TRAIN analyzed and transformed, then texts the analysis never saw transformed."""
    metadata = dataset_metadata.DatasetMetadata.from_feature_spec(RAW_SPEC)
    unseen = ["zzz qqq", "", None, "c d a b a b", "Élan B ÉLAN"]
    with tft_beam.Context(temp_dir=tempfile.mkdtemp(), force_tf_compat_v1=True):
        (train, _), transform_fn = (
            _rows(TRAIN),
            metadata,
        ) | tft_beam.AnalyzeAndTransformDataset(_preprocessing_fn)
        others, _ = ((_rows(unseen), metadata), transform_fn) | tft_beam.TransformDataset()
    return [list(r["note_xf"]) for r in train], [list(r["note_xf"]) for r in others]


def test_words_get_their_rank_plus_one_and_rows_are_padded(transformed):
    train, _ = transformed
    # b (rank 0) -> 1, a -> 2, c -> 3; markup and punctuation are not words.
    assert train[0] == [2, 1, 1, PADDING_ID]
    assert train[1] == [1, 2, 3, PADDING_ID]
    assert train[3] == [2, PADDING_ID, PADDING_ID, PADDING_ID]


def test_words_outside_the_vocabulary_size_share_the_oov_buckets(transformed):
    train, others = transformed
    oov = range(1 + NOTE.vocabulary_size, 1 + NOTE.vocabulary_size + NOTE.oov_buckets)
    assert train[2][:3] == [1, 2, 3] and train[2][3] in oov  # "d": seen, not kept
    assert all(i in oov for i in others[0][:2]) and others[0][2:] == [PADDING_ID] * 2


def test_empty_and_missing_texts_are_all_padding(transformed):
    _, others = transformed
    assert others[1] == others[2] == [PADDING_ID] * NOTE.sequence_length


def test_a_long_text_keeps_its_last_words(transformed):
    _, others = transformed
    # "c d a b a b": the last 4 words, "a b a b".
    assert others[3] == [2, 1, 2, 1]


def test_non_ascii_words_are_lower_cased_as_words(transformed):
    _, others = transformed
    elan, b, elan_again = others[4][:3]
    assert b == 1 and elan == elan_again and elan > NOTE.vocabulary_size


def test_tokenize_drops_markup_and_punctuation_in_any_script():
    words = tokenize(tf.constant(["Ça <br />marche -- très BIEN!", "", "x=1, y=2"]))
    assert words.to_list() == [
        ["ça".encode(), b"marche", "très".encode(), b"bien"],
        [],
        [b"x", b"1", b"y", b"2"],
    ]


def test_a_text_column_refuses_sizes_that_are_not_positive():
    with pytest.raises(ValueError, match="sequence_length must be a positive integer"):
        TextColumn("note", sequence_length=0, vocabulary_size=10)
    assert NOTE.vocab_filename == "note_vocab"


def _masked(embedded, lengths):
    """Embedded rows of 3 steps whose first `lengths[i]` steps are words."""
    mask = tf.sequence_mask(lengths, maxlen=3)
    return tf.constant(embedded, tf.float32), mask


def test_keras_average_pooling_is_nan_for_an_empty_text_and_masked_average_is_not():
    embedded, mask = _masked([[[1.0, 2.0], [3.0, 4.0], [9.0, 9.0]], [[5.0, 5.0]] * 3], [2, 0])
    keras_mean = tf.keras.layers.GlobalAveragePooling1D()(embedded, mask=mask).numpy()
    assert np.isnan(keras_mean[1]).all()  # the reason for the guard
    guarded = text_model.MaskedAverage()(embedded, mask=mask).numpy()
    assert guarded.tolist() == [[2.0, 3.0], [0.0, 0.0]]


@pytest.mark.parametrize("layer, width", [(text_model.AVERAGE, 8), (text_model.LSTM, 5)])
def test_the_encoder_reads_padded_ids_into_one_finite_vector_a_row(layer, width):
    ids = tf.keras.Input(shape=(4,), dtype=tf.int64)
    model = tf.keras.Model(ids, text_model.encode(ids, 20, 8, layer, units=5, name="note_xf"))
    out = model(tf.constant([[3, 4, 0, 0], [0, 0, 0, 0]], tf.int64)).numpy()
    assert out.shape == (2, width) and np.isfinite(out).all()
    # The model survives the Estimator's clone (model_to_estimator clones it).
    clone = tf.keras.models.clone_model(model)
    assert [type(layer) for layer in clone.layers] == [type(layer) for layer in model.layers]
    with pytest.raises(ValueError, match="sequence_layer 'gru'"):
        text_model.encode(ids, 20, 8, "gru")


def _contract(**changes):
    values = dict(
        name="notes",
        pipeline_name="notes",
        raw_columns=("note", "score", "label"),
        numeric_columns=("score", "label"),
        label_source_columns=("label",),
        label_key="label_xf",
        task=tasks.binary(bound=0.6, max_change=0.02),
        model_input_keys=("note_xf", "score_xf"),
        slice_columns=(),
        prediction_key="p",
        exporter_name="notes",
        train_steps=10,
        default_hparams={},
        default_data="",
        text_columns={"note": NOTE},
    )
    return FamilyContract(**{**values, **changes})


def test_the_contract_names_text_columns_that_are_raw_strings_only():
    assert set(_contract().text_columns) == {"note"}
    assert _contract(text_columns=("note",)).text_columns == ("note",)
    with pytest.raises(ValueError, match=r"text_columns names \['title'\], which raw_columns"):
        _contract(text_columns=("note", "title"))
    with pytest.raises(ValueError, match=r"text_columns names \['score'\]: numbers or the label"):
        _contract(text_columns=("score",))
