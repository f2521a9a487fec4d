"""The taxi_fare family end to end: a regression blessed on RMSE, on its sample.

One module-scoped fixture runs the real pipeline three times in one fresh build folder:
a first run (blessed on the absolute bound alone), a worse candidate (one training
step) judged against that baseline, and the first model again against a bound no model
can meet. The pushed model is then scored by the project's client and by TensorFlow's
own `saved_model_cli`.
"""

import math
import os
import re

import numpy as np
import pytest
import tensorflow_model_analysis as tfma

import conftest
from components import versioned_pusher
from components.run_report.readers import statistics as statistics_reader
from modules.common import tasks
from pipeline.definition import config as config_lib
from pipeline.definition import families
from pipeline.local import runner as local_runner
from pipeline.results import naive_baseline
from pipeline.serving import client as serving

# Whole pipeline runs: `make test-fast` leaves them out.
pytestmark = pytest.mark.slow

TAXI_FARE = families.load("taxi_fare")
CONTRACT = TAXI_FARE.contract
# About 38 epochs of the sample's ~670 training trips at 128 a batch.
TRAIN_STEPS = 200
TINY_BOUND = 0.01
# Two trips as a serving request carries them: short and long.
SHORT_TRIP = {
    "trip_miles": [1.0],
    "trip_seconds": [300],
    "payment_type": ["Cash"],
    "trip_start_hour": [9],
    "pickup_community_area": [8],
    "dropoff_community_area": [32],
}
LONG_TRIP = {
    "trip_miles": [15.0],
    "trip_seconds": [2400],
    "payment_type": ["Credit Card"],
    "company": ["Flash Cab"],
    "trip_start_hour": [17],
    "pickup_community_area": [76],
    "dropoff_community_area": [8],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(first, worse, tiny_bound, build folder, serving folder): three runs, one store."""
    build_dir = str(tmp_path_factory.mktemp("taxi_fare_build"))
    metadata = config_lib.metadata_path(build_dir)
    summary_path = os.path.join(build_dir, "run_summary.json")

    def run(**overrides):
        config = config_lib.local_config(
            build_dir,
            TAXI_FARE.sample_dir,
            family="taxi_fare",
            **{"train_steps": TRAIN_STEPS, **overrides},
        )
        return config, local_runner.run(config, metadata, summary_path)

    config, first = run()
    pushed_after_first = versioned_pusher.versions(config.serving_model_dir)
    # One training step: a far worse model, under a bound it cannot miss, so that
    # only the change against the baseline can fail it.
    _, worse = run(train_steps=1, blessing_bound=1000.0)
    # The first model again (the Trainer's cache), against a bound none can meet.
    _, tiny = run(blessing_bound=TINY_BOUND)
    return first, worse, tiny, build_dir, config.serving_model_dir, pushed_after_first


def test_the_first_run_is_blessed_on_rmse_below_its_bound_and_pushed(runs):
    first, *_ = runs
    assert first["status"] == "finished" and first["task"] == tasks.REGRESSION
    blessing = first["blessing"]
    assert blessing["metric"] == tasks.RMSE and blessing["direction"] == tasks.LOWER
    assert blessing["bound"] == CONTRACT.task.blessing.bound
    assert blessing["max_change"] == CONTRACT.task.blessing.max_change
    assert blessing["value"] == first["metrics"]["candidate"][tasks.RMSE]
    assert 0 < blessing["value"] < blessing["bound"]
    assert blessing["baseline_value"] is None
    assert set(first["metrics"]["candidate"]) == set(CONTRACT.task.metric_names)
    assert first["blessed"] is True and first["blessing_reasons"] == []
    assert first["pushed"]


def test_the_model_clearly_beats_predicting_the_training_mean(runs):
    first, _, _, build_dir, *_ = runs
    statistics = statistics_reader.load_statistics(
        naive_baseline.latest_statistics_uri(build_dir, "taxi_fare")
    )
    naive = naive_baseline.naive_baseline(CONTRACT.task, "fare", statistics)
    assert naive["eval_examples"] == first["metrics"]["candidate"][tasks.EXAMPLE_COUNT]
    assert first["blessing"]["value"] < 0.7 * naive["value"], (first["blessing"], naive)


def test_a_worse_candidate_is_judged_against_the_baseline_and_not_pushed(runs):
    first, worse, _, _, serving_dir, pushed_after_first = runs
    blessing = worse["blessing"]
    # The baseline is the first model, evaluated again on the same eval split.
    assert blessing["baseline_value"] == pytest.approx(first["blessing"]["value"], rel=1e-4)
    assert worse["metrics"]["baseline"][tasks.RMSE] == blessing["baseline_value"]
    assert blessing["value"] < blessing["bound"]  # the absolute bound passes
    assert blessing["value"] > blessing["baseline_value"] + blessing["max_change"]
    assert worse["blessed"] is False and not worse["pushed"]
    (reason,) = worse["blessing_reasons"]
    match = re.fullmatch(
        r"root_mean_squared_error changed by \+([0-9.]+) against the "
        r"baseline, more than the allowed \+0\.5000",
        reason,
    )
    assert match, reason
    assert float(match.group(1)) == pytest.approx(
        blessing["value"] - blessing["baseline_value"], abs=1e-3
    )
    assert versioned_pusher.versions(serving_dir) == pushed_after_first


def test_an_rmse_above_its_bound_is_not_blessed_nor_pushed_and_says_why(runs):
    first, _, tiny, _, serving_dir, pushed_after_first = runs
    blessing = tiny["blessing"]
    assert blessing["bound"] == TINY_BOUND
    # The same model as the first run's: no change against the baseline.
    assert blessing["value"] == pytest.approx(first["blessing"]["value"], rel=1e-4)
    assert blessing["baseline_value"] == pytest.approx(blessing["value"], rel=1e-4)
    assert tiny["blessed"] is False and not tiny["pushed"]
    assert tiny["blessing_reasons"] == [
        f"root_mean_squared_error {blessing['value']:.4f} is above the threshold 0.0100"
    ]
    assert versioned_pusher.versions(serving_dir) == pushed_after_first


def test_the_evaluation_is_sliced_by_payment_type(runs):
    _, _, _, build_dir, *_ = runs
    evaluator_dir = os.path.join(build_dir, "pipeline_root", "taxi_fare", "Evaluator", "evaluation")
    first_evaluation = min(os.listdir(evaluator_dir), key=int)
    slices = {
        (key.column, key.bytes_value)
        for slice_metrics in tfma.load_metrics(os.path.join(evaluator_dir, first_evaluation))
        for key in slice_metrics.slice_key.single_slice_keys
    }
    assert {column for column, _ in slices} == {"payment_type"}
    assert {("payment_type", b"Cash"), ("payment_type", b"Credit Card")} <= slices


def test_serving_requests_carry_neither_the_fare_nor_the_tip():
    types = serving.feature_types(serving.load_schema(TAXI_FARE.schema_file))
    assert "fare" not in types and "tips" not in types
    assert {"trip_miles", "trip_seconds", "payment_type", "company"} <= set(types)
    assert "tips" not in CONTRACT.model_input_keys and "tips_xf" not in CONTRACT.model_input_keys


def _examples(rows):
    types = serving.feature_types(serving.load_schema(TAXI_FARE.schema_file))
    return [serving.example_from_row({k: str(v[0]) for k, v in row.items()}, types) for row in rows]


def test_the_client_returns_one_finite_fare_per_row(runs):
    first, *_ = runs
    examples = serving.examples_from_csv(
        os.path.join(TAXI_FARE.sample_dir, "data.csv"), serving.load_schema(TAXI_FARE.schema_file)
    )[:40]
    predictions = serving.predict(first["pushed_model"], examples)
    assert predictions.classes is None
    assert predictions.scores.shape == (40,)
    assert np.all(np.isfinite(predictions.scores)) and np.ptp(predictions.scores) > 0
    short, long = serving.predict(first["pushed_model"], _examples([SHORT_TRIP, LONG_TRIP])).scores
    assert long > short, "a 15-mile trip should cost more than a 1-mile one"


def test_saved_model_cli_scores_raw_examples_with_the_pushed_model(runs):
    first, *_ = runs
    outputs = conftest.saved_model_cli_run(first["pushed_model"], [SHORT_TRIP, LONG_TRIP])
    assert set(outputs) == {CONTRACT.prediction_key}
    short, long = conftest.printed_numbers(outputs[CONTRACT.prediction_key])
    assert all(math.isfinite(v) for v in (short, long)) and long > short
    # The same model through the project's client gives the same fares.
    expected = serving.predict(first["pushed_model"], _examples([SHORT_TRIP, LONG_TRIP]))
    assert [short, long] == pytest.approx(expected.scores.tolist(), rel=1e-4)
