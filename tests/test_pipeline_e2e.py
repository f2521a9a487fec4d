"""The real pipeline through BeamDagRunner on the sample, twice: fresh, then cached."""

import json
import os
import shutil

import numpy as np
import pytest

from pipeline.serving import client as serving

# Whole pipeline runs: `make test-fast` leaves them out.
pytestmark = pytest.mark.slow

ALL_COMPONENTS = {
    "CsvExampleGen", "StatisticsGen", "SchemaGen", "CuratedSchema", "ExampleValidator",
    "DataGate", "Transform", "Trainer", "Evaluator", "Pusher", "RunReport",
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
    probabilities = serving.predict(str(model_copy),
                                    serving.examples_from_csv(sample_csv, schema)[:50]).scores
    assert probabilities.shape == (50,)
    assert np.all((probabilities >= 0) & (probabilities <= 1))


def test_second_run_takes_all_but_the_evaluation_from_the_cache(runs):
    _, first, second, pipeline_run = runs
    states = _states(second)
    assert second["run_id"] != first["run_id"]
    assert {states[c] for c in ALL_COMPONENTS - {"Evaluator", "Pusher", "RunReport"}} == {
        "cached"}
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
