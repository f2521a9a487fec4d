"""The real pipeline through BeamDagRunner on the sample, twice: fresh, then cached."""

import json
import os
import shutil

import numpy as np
import pytest

import conftest
from pipeline.serving import client as serving

# Whole pipeline runs: `make test-fast` leaves them out.
pytestmark = pytest.mark.slow

ALL_COMPONENTS = {
    "CsvExampleGen",
    "StatisticsGen",
    "SchemaGen",
    "CuratedSchema",
    "ExampleValidator",
    "DataGate",
    "Transform",
    "Trainer",
    "Evaluator",
    "Pusher",
}


@pytest.fixture(scope="module")
def runs(pipeline_run):
    """The first run on the sample, and a second one with the same settings."""
    return pipeline_run.config, pipeline_run.first, pipeline_run.second, pipeline_run


def _states(summary):
    return {c["id"]: c["state"] for c in summary["components"]}


def test_first_run_executes_every_component(runs):
    _, first, _, _ = runs
    states = _states(first)
    assert ALL_COMPONENTS <= set(states)
    # The page of a local run is rendered once, after it, not by a RunReport step.
    assert "RunReport" not in states
    assert {states[c] for c in ALL_COMPONENTS} == {"executed"}


def test_first_run_is_blessed_on_the_absolute_threshold_and_pushed(runs):
    config, first, _, _ = runs
    assert first["metrics"]["candidate"]["auc"] >= 0.8
    assert "baseline" not in first["metrics"]
    assert first["blessed"] is True and first["blessing_reasons"] == []
    assert first["pushed"]
    assert os.path.dirname(first["pushed_model"]) == config.serving_model_dir
    assert os.path.basename(first["pushed_model"]).isdigit()


def test_pushed_model_alone_scores_raw_csv_rows(runs, tmp_path, schema, sample_csv):
    _, first, _, _ = runs
    # Copy the version folder elsewhere: serving needs nothing but that folder.
    model_copy = shutil.copytree(first["pushed_model"], tmp_path / "model")
    probabilities = serving.predict(
        str(model_copy), serving.examples_from_csv(sample_csv, schema)[:50]
    ).scores
    assert probabilities.shape == (50,)
    assert np.all((probabilities >= 0) & (probabilities <= 1))


def test_second_run_takes_all_but_the_evaluation_from_the_cache(runs):
    _, first, second, pipeline_run = runs
    states = _states(second)
    assert second["run_id"] != first["run_id"]
    assert {states[c] for c in ALL_COMPONENTS - {"Evaluator", "Pusher"}} == {"cached"}
    # The first model is now the latest blessed one, so the Evaluator runs once more,
    # against it as baseline; it is the same model, so the metrics match.
    assert states["Evaluator"] == "executed"
    metrics = second["metrics"]
    assert metrics["baseline"]["auc"] == pytest.approx(metrics["candidate"]["auc"])
    assert json.loads(pipeline_run.second_summary_file) == second


def test_the_same_model_is_never_pushed_twice(runs):
    config, first, second, _ = runs
    assert second["blessed"] and second["pushed_model"] == first["pushed_model"]
    pipeline_run = runs[3]
    assert pipeline_run.serving_after_first == [os.path.basename(first["pushed_model"])]
    assert pipeline_run.serving_after_second == pipeline_run.serving_after_first


def test_the_binary_task_is_blessed_on_auc_and_judged_against_its_baseline(runs):
    config, first, second, _ = runs
    assert first["task"] == second["task"] == "binary"
    assert first["blessing"]["metric"] == "auc" and first["blessing"]["direction"] == "higher"
    assert first["blessing"]["bound"] == config.blessing_bound
    assert first["blessing"]["value"] >= first["blessing"]["bound"]
    assert first["blessing"]["baseline_value"] is None
    assert second["blessing"]["baseline_value"] == pytest.approx(first["blessing"]["value"])


def test_saved_model_cli_scores_raw_examples_with_the_pushed_model(runs, schema):
    _, first, _, _ = runs
    trips = [
        {
            "trip_miles": [1.2],
            "fare": [6.25],
            "trip_seconds": [420],
            "payment_type": ["Cash"],
            "trip_start_hour": [8],
            "trip_start_day": [2],
            "trip_start_month": [3],
        },
        {
            "trip_miles": [9.8],
            "fare": [27.5],
            "trip_seconds": [1500],
            "payment_type": ["Credit Card"],
            "company": ["Flash Cab"],
            "trip_start_hour": [19],
            "trip_start_day": [6],
            "trip_start_month": [7],
            "pickup_community_area": [8],
        },
    ]
    outputs = conftest.saved_model_cli_run(first["pushed_model"], trips)
    (key,) = outputs
    printed = conftest.printed_numbers(outputs[key])
    assert len(printed) == 2 and all(0.0 <= p <= 1.0 for p in printed)
    # The same probabilities as the project's client computes.
    types = serving.feature_types(schema)
    examples = [
        serving.example_from_row({k: str(v[0]) for k, v in trip.items()}, types) for trip in trips
    ]
    expected = serving.predict(first["pushed_model"], examples).scores
    assert expected.shape == (2,)
    assert printed == pytest.approx(expected.tolist(), rel=1e-4, abs=1e-6)
