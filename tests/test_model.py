"""The Keras model builder: input names, embedding sizes from Transform, the contract."""

import pytest
import tensorflow as tf
import tensorflow_transform as tft

from modules.common import estimator
from modules.taxi import contract as features
from modules.taxi import model as model_lib


@pytest.fixture(scope="module")
def sizes(transformed_sample):
    return model_lib.categorical_sizes(tft.TFTransformOutput(transformed_sample.transform_output))


def test_one_input_per_transformed_feature(sizes):
    keras_model = model_lib.build_keras_model(sizes)
    assert sorted(keras_model.input_names) == sorted(features.MODEL_INPUT_KEYS)
    assert features.LABEL_KEY not in keras_model.input_names


def test_embedding_sizes_come_from_transform(sizes, transformed_sample):
    transform_output = tft.TFTransformOutput(transformed_sample.transform_output)
    keras_model = model_lib.build_keras_model(sizes)
    company_vocab = transform_output.vocabulary_size_by_name(features.vocabulary_name("company"))
    embeddings = {
        layer.name: layer.input_dim
        for layer in keras_model.layers
        if isinstance(layer, tf.keras.layers.Embedding)
    }
    assert len(embeddings) == len(features.CATEGORICAL_KEYS)
    assert embeddings["company_xf_embedding"] == company_vocab + features.OOV_BUCKETS
    assert embeddings["pickup_latitude_xf_embedding"] == features.BUCKET_COUNT
    # Identity ids 0..23 plus the one out-of-range id.
    assert embeddings["trip_start_hour_xf_embedding"] == 25


def test_every_id_transform_emits_fits_its_embedding(sizes, transformed_sample):
    dataset = tf.data.TFRecordDataset(transformed_sample.train_files, "GZIP")
    spec = tft.TFTransformOutput(transformed_sample.transform_output).transformed_feature_spec()
    for batch in dataset.batch(10_000).map(lambda x: tf.io.parse_example(x, spec)):
        for key in features.CATEGORICAL_KEYS:
            ids = batch[key].numpy()
            assert ids.min() >= 0 and ids.max() < sizes[key], key


def test_compiled_with_legacy_optimizer_loss_and_metrics(sizes, transformed_sample):
    keras_model = model_lib.build_keras_model(sizes)
    assert isinstance(keras_model.optimizer, tf.keras.optimizers.legacy.Adam)
    transform_output = tft.TFTransformOutput(transformed_sample.transform_output)
    batch = estimator.input_fn(
        transformed_sample.eval_files, transform_output, features.LABEL_KEY, 64, num_epochs=1
    ).take(1)
    results = keras_model.evaluate(batch, return_dict=True, verbose=0)
    assert set(results) == {"loss", "auc", "accuracy"}
    assert 0.0 <= results["accuracy"] <= 1.0


def test_naming_contract_mismatch_names_missing_and_unexpected_keys():
    produced = list(features.MODEL_INPUT_KEYS) + [features.LABEL_KEY]
    produced[produced.index("company_xf")] = "company_id"
    with pytest.raises(ValueError) as error:
        estimator.check_transform_outputs(features.CONTRACT, produced)
    assert "Family 'taxi'" in str(error.value)
    assert "modules/taxi/contract.py" in str(error.value)
    assert "missing keys ['company_xf']" in str(error.value)
    assert "unexpected keys ['company_id']" in str(error.value)
