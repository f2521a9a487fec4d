"""The reviews family's Keras model, trained through the shared Estimator code and served."""

import glob
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_estimator as tf_estimator
import tensorflow_transform as tft
from tfx.components.trainer import fn_args_utils

from modules.common import estimator
from modules.reviews import contract
from modules.reviews import model as model_lib
from pipeline.definition import families
from pipeline.serving import client as serving

# The Trainer's entry for the family: the shared one (modules/common/entry.py).
TRAINER_FN = families.trainer_fn(families.load("reviews"))

TRAIN_STEPS = 20


@pytest.fixture(scope="module")
def transform_output(transformed_reviews):
    return tft.TFTransformOutput(transformed_reviews.transform_output)


def test_the_input_is_named_by_the_contract_and_takes_fixed_length_ids(transform_output):
    keras_model = model_lib.build_from_transform(
        transform_output, contract.CONTRACT.default_hparams
    )
    assert keras_model.input_names == [contract.TOKENS_KEY]
    assert keras_model.inputs[0].shape.as_list() == [None, contract.SEQUENCE_LENGTH]
    assert [type(layer).__name__ for layer in keras_model.layers] == [
        "InputLayer",
        "Embedding",
        "LSTM",
        "Dropout",
        "Dense",
    ]


def test_embedding_size_is_padding_plus_transform_vocabulary_plus_oov(transform_output):
    keras_model = model_lib.build_from_transform(
        transform_output, contract.CONTRACT.default_hparams
    )
    embedding = keras_model.get_layer("word_embedding")
    vocabulary = transform_output.vocabulary_size_by_name(contract.VOCAB_NAME)
    assert 100 < vocabulary <= contract.VOCAB_SIZE
    assert embedding.input_dim == 1 + vocabulary + contract.OOV_BUCKETS
    assert embedding.mask_zero


def test_every_id_transform_emits_fits_the_embedding(transformed_reviews, transform_output):
    input_dim = model_lib.embedding_input_dim(transform_output)
    spec = transform_output.transformed_feature_spec()
    dataset = tf.data.TFRecordDataset(transformed_reviews.train_files, "GZIP")
    for batch in dataset.batch(10_000).map(lambda x: tf.io.parse_example(x, spec)):
        ids = batch[contract.TOKENS_KEY].numpy()
        assert ids.min() == 0 and ids.max() < input_dim


@pytest.fixture(scope="module")
def trained(tmp_path_factory, transformed_reviews):
    """The shared trainer_fn's specs through train_and_evaluate, as TFX's executor does."""
    family = families.load("reviews")
    model_dir = str(tmp_path_factory.mktemp("reviews_run") / "serving_model_dir")
    fn_args = fn_args_utils.FnArgs(
        train_files=transformed_reviews.train_files,
        eval_files=transformed_reviews.eval_files,
        transform_output=transformed_reviews.transform_output,
        serving_model_dir=model_dir,
        train_steps=TRAIN_STEPS,
        eval_steps=0,
        custom_config={"hparams": {"train_batch_size": 32, "lstm_units": 8}},
    )
    spec = TRAINER_FN(fn_args, serving.load_schema(family.schema_file))
    metrics, _ = tf_estimator.estimator.train_and_evaluate(
        spec["estimator"], spec["train_spec"], spec["eval_spec"]
    )
    (export,) = glob.glob(os.path.join(model_dir, "export", contract.CONTRACT.exporter_name, "*"))
    return metrics, export


def test_trains_through_the_estimator_and_evaluates(trained):
    metrics, _ = trained
    assert metrics["global_step"] == TRAIN_STEPS
    assert {"auc", "accuracy", "loss"} <= set(metrics)


def _text_example(text: bytes) -> bytes:
    return tf.train.Example(
        features=tf.train.Features(
            feature={"text": tf.train.Feature(bytes_list=tf.train.BytesList(value=[text]))}
        )
    ).SerializeToString()


def test_the_export_scores_raw_review_texts_of_every_kind(trained):
    _, export = trained
    texts = [
        b"A wonderful, moving film.",
        b"qwertyuiop zxcvbnm asdfghjkl",  # Unseen words only.
        b"",  # Empty.
        b"great " * 5000,  # Far longer than the sequence length.
        "Un film très émouvant, à voir ! 映画".encode(),  # Not ASCII.
    ]
    probabilities = serving.predict(export, [_text_example(t) for t in texts]).scores
    assert probabilities.shape == (len(texts),)
    assert np.all((probabilities >= 0) & (probabilities <= 1))


def test_the_export_scores_the_sample_csv_through_the_serving_client(trained):
    _, export = trained
    family = families.load("reviews")
    examples = serving.examples_from_csv(
        os.path.join(family.sample_dir, "data.csv"), serving.load_schema(family.schema_file)
    )[:30]
    assert set(tf.train.Example.FromString(examples[0]).features.feature) == {"text"}
    assert serving.predict(export, examples).scores.shape == (30,)


def test_a_text_of_the_wrong_type_fails_naming_the_feature(trained):
    _, export = trained
    wrong = tf.train.Example(
        features=tf.train.Features(
            feature={"text": tf.train.Feature(float_list=tf.train.FloatList(value=[1.0]))}
        )
    ).SerializeToString()
    with pytest.raises(tf.errors.InvalidArgumentError, match="text"):
        serving.predict(export, [wrong])


def test_transform_outputs_are_checked_against_the_contract():
    with pytest.raises(ValueError, match=r"Family 'reviews'.*missing keys \['text_xf'\]"):
        estimator.check_transform_outputs(contract.CONTRACT, ["tokens", contract.LABEL_KEY])
