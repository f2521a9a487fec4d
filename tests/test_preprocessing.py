"""`preprocessing_fn` run for real through tf.Transform on a handful of rows."""

import tempfile

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata

from modules.taxi import contract as features
from modules.taxi import preprocessing

FLOATS = (
    "fare",
    "tips",
    "trip_miles",
    "pickup_latitude",
    "pickup_longitude",
    "dropoff_latitude",
    "dropoff_longitude",
)
STRINGS = ("payment_type", "company")
# Every raw column is optional (variable length), as SchemaGen infers it here.
RAW_SPEC = {
    key: tf.io.VarLenFeature(
        tf.float32 if key in FLOATS else tf.string if key in STRINGS else tf.int64
    )
    for key in (
        features.DENSE_FLOAT_FEATURES
        + features.BUCKET_FEATURES
        + features.VOCAB_FEATURES
        + features.CATEGORICAL_INT_FEATURES
        + tuple(features.IDENTITY_FEATURES)
        + (features.TIPS_KEY,)
    )
}


def _row(fare, tips, miles, seconds, payment, company, hour, tract=None, lat=41.9):
    row = {
        "fare": [fare],
        "tips": [tips],
        "trip_miles": [miles],
        "trip_seconds": [seconds],
        "payment_type": [payment],
        "company": [company] if company else [],
        "trip_start_hour": [hour],
        "trip_start_day": [3],
        "trip_start_month": [5],
        "pickup_community_area": [8],
        "dropoff_community_area": [],
        "pickup_census_tract": [tract] if tract else [],
        "dropoff_census_tract": [],
        "pickup_latitude": [lat],
        "pickup_longitude": [-87.6],
        "dropoff_latitude": [],
        "dropoff_longitude": [-87.6],
    }
    return {
        k: np.array(v, dtype=RAW_SPEC[k].dtype.as_numpy_dtype)
        if k not in STRINGS
        else np.array([s.encode() for s in v], dtype=object)
        for k, v in row.items()
    }


TRAIN_ROWS = [
    _row(10.0, 3.0, 2.0, 600, "Credit Card", "Flash Cab", 9, 17031081500, lat=41.80),
    _row(20.0, 0.0, 5.0, 1200, "Cash", "Flash Cab", 17, 17031081500, lat=41.85),
    _row(30.0, 1.0, 8.0, 1800, "Cash", "Taxi Affiliation", 23, lat=41.90),
    _row(40.0, 10.0, 11.0, 2400, "Cash", None, 30, 17031320100, lat=41.95),
]


@pytest.fixture(scope="module")
def transformed():
    """Analyzes TRAIN_ROWS, then transforms them and one row of unseen categories."""
    unseen = _row(50.0, 0.0, 1.0, 60, "Bitcoin", "Brand New Cab", 5, 99999999999)
    metadata = dataset_metadata.DatasetMetadata.from_feature_spec(RAW_SPEC)
    with tft_beam.Context(temp_dir=tempfile.mkdtemp(), force_tf_compat_v1=True):
        (train_out, _), transform_fn = (TRAIN_ROWS, metadata) | tft_beam.AnalyzeAndTransformDataset(
            preprocessing.preprocessing_fn
        )
        unseen_out, _ = (([unseen], metadata), transform_fn) | tft_beam.TransformDataset()
    return train_out, unseen_out[0]


def test_dense_floats_are_z_scores(transformed):
    train_out, _ = transformed
    fares = np.array([10.0, 20.0, 30.0, 40.0])
    expected = (fares - fares.mean()) / fares.std()
    got = [row["fare_xf"] for row in train_out]
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_vocabulary_ids_rank_by_frequency(transformed):
    train_out, _ = transformed
    # Cash (3 rows) comes before Credit Card (1 row).
    assert [row["payment_type_xf"] for row in train_out] == [1, 0, 0, 0]
    # A missing company is its own category, "" (1 row), after Flash Cab (2 rows).
    company_ids = [row["company_xf"] for row in train_out]
    assert company_ids[0] == company_ids[1] == 0
    assert len(set(company_ids)) == 3


def test_unseen_categories_get_oov_ids(transformed):
    _, unseen = transformed
    vocab_size = 2  # Cash, Credit Card
    assert vocab_size <= unseen["payment_type_xf"] < vocab_size + features.OOV_BUCKETS
    assert 3 <= unseen["company_xf"] < 3 + features.OOV_BUCKETS
    assert 3 <= unseen["pickup_census_tract_xf"] < 3 + features.OOV_BUCKETS


def test_identity_ids_keep_values_and_map_out_of_range_to_oov(transformed):
    train_out, _ = transformed
    hours = [row["trip_start_hour_xf"] for row in train_out]
    assert hours == [9, 17, 23, features.IDENTITY_FEATURES["trip_start_hour"]]
    # A missing value is out of range too.
    assert all(row["dropoff_community_area_xf"] == 78 for row in train_out)


def test_coordinates_are_bucketized(transformed):
    train_out, _ = transformed
    buckets = [row["pickup_latitude_xf"] for row in train_out]
    assert buckets == sorted(buckets) and buckets[0] < buckets[-1]
    assert all(0 <= b < features.BUCKET_COUNT for b in buckets)


def test_label_is_tip_above_20_percent_of_fare(transformed):
    train_out, unseen = transformed
    # tips/fare: 0.3, 0.0, 0.033, 0.25
    assert [row[features.LABEL_KEY] for row in train_out] == [1, 0, 0, 1]
    assert unseen[features.LABEL_KEY] == 0
