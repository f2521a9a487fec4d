"""The reviews family end to end: BeamDagRunner on its sample, beside a blessed taxi model.

The run shares its ML Metadata store with a taxi pipeline that has a blessed, pushed
model, so the tests also show that families stay apart: their own baseline, their own
serving folder.
"""

import os
import shutil

import numpy as np
import pytest
import tensorflow_model_analysis as tfma

import conftest
from components import versioned_pusher
from pipeline.definition import config as config_lib
from pipeline.definition import families
from pipeline.local import runner as local_runner
from pipeline.serving import client as serving

# Whole pipeline runs: `make test-fast` leaves them out.
pytestmark = pytest.mark.slow

REVIEWS = families.load("reviews")


@pytest.fixture(scope="module")
def runs(pipeline_run, tmp_path_factory):
    """A reviews run in a copy of the taxi run's build folder."""
    build = conftest.copy_of_run(pipeline_run, tmp_path_factory.mktemp("families_build"))
    taxi_versions = versioned_pusher.versions(build.config.serving_model_dir)
    config = config_lib.local_config(
        build.build_dir, REVIEWS.sample_dir, family="reviews", train_steps=150, blessing_bound=0.5
    )
    summary = local_runner.run(config, build.metadata, build.summary_path)
    return build, taxi_versions, config, summary


def test_the_reviews_run_is_blessed_and_pushed_to_its_own_folder(runs):
    build, _, config, summary = runs
    assert summary["status"] == "finished" and summary["family"] == "reviews"
    assert summary["pipeline_name"] == "movie-reviews"
    assert summary["blessed"] is True and summary["pushed"]
    assert os.path.dirname(summary["pushed_model"]) == os.path.join(
        build.build_dir, "serving_model", "reviews"
    )


def test_a_taxi_model_blessed_in_the_same_store_is_no_baseline_for_reviews(runs):
    build, taxi_versions, _, summary = runs
    assert "baseline" not in summary["metrics"]
    assert versioned_pusher.versions(build.config.serving_model_dir) == taxi_versions


def test_the_evaluation_is_sliced_by_source(runs):
    _, _, config, _ = runs
    evaluator_dir = os.path.join(config.pipeline_root, "Evaluator", "evaluation")
    (execution,) = os.listdir(evaluator_dir)
    slices = {
        (key.column, key.bytes_value)
        for slice_metrics in tfma.load_metrics(os.path.join(evaluator_dir, execution))
        for key in slice_metrics.slice_key.single_slice_keys
    }
    assert slices == {("source", b"imdb"), ("source", b"rotten_tomatoes")}


def test_the_pushed_model_alone_scores_raw_review_texts(runs, tmp_path):
    _, _, _, summary = runs
    model_copy = shutil.copytree(summary["pushed_model"], tmp_path / "model")
    examples = serving.examples_from_csv(
        os.path.join(REVIEWS.sample_dir, "data.csv"), serving.load_schema(REVIEWS.schema_file)
    )[:40]
    probabilities = serving.predict(str(model_copy), examples).scores
    assert probabilities.shape == (40,)
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    assert np.ptp(probabilities) > 0, "different reviews should score differently"
