"""Tuning in whole pipeline runs: a run with the Tuner, a run that fails every trial, and
later runs without the Tuner that reuse the latest tuned values of their own family."""

import dataclasses
import os

import pytest

import conftest
from pipeline.definition import config as config_lib
from pipeline.definition import families
from pipeline.definition import pipeline as pipeline_lib
from pipeline.local import runner as local_runner
from pipeline.results import summary as run_summary

# Whole pipeline runs: `make test-fast` leaves them out.
pytestmark = pytest.mark.slow

TRIAL_STEPS = 100


@pytest.fixture(scope="module")
def runs(pipeline_run, tmp_path_factory):
    """On a copy of the session's run: a tuning run, a failed one, then a plain run."""
    build = conftest.copy_of_run(pipeline_run, tmp_path_factory.mktemp("tuning_build"))
    tuning = dataclasses.replace(build.config, tune=True, tuning_trials=2, tuning_steps=TRIAL_STEPS)
    tuned = local_runner.run(tuning, build.metadata, build.summary_path)
    # Keras refuses a dropout rate above 1: every trial fails.
    with pytest.raises(Exception) as raised:
        local_runner.run(
            dataclasses.replace(tuning, hparams={"dropout": 1.5}),
            build.metadata,
            build.summary_path,
        )
    with open(build.summary_path) as summary_file:
        failed_summary_file = summary_file.read()
    reused = local_runner.run(build.config, build.metadata, build.summary_path)
    return build, tuned, (raised.value, failed_summary_file), reused


def _ids(summary, state):
    return {c["id"] for c in summary["components"] if c["state"] == state}


def test_a_run_before_any_tuning_trains_with_the_defaults(pipeline_run):
    hyperparameters = pipeline_run.first["hyperparameters"]
    assert hyperparameters["source"] == run_summary.DEFAULTS
    assert hyperparameters["tuned"] == {} and hyperparameters["trials"] == []
    taxi = pipeline_run.config.contract
    for name, value in taxi.default_hparams.items():
        assert hyperparameters["used"][name] == value
    assert "hyperparameters: the family's defaults" in run_summary.format_summary(
        pipeline_run.first
    )


def test_a_tuning_run_trains_with_its_best_trial_and_lists_the_trials(runs):
    _, tuned, _, _ = runs
    assert {pipeline_lib.TUNER, pipeline_lib.TRAINER} <= _ids(tuned, "executed")
    hyperparameters = tuned["hyperparameters"]
    assert hyperparameters["source"] == run_summary.TUNED_IN_THIS_RUN
    trials = hyperparameters["trials"]
    assert len(trials) == 2 and all(t["status"] == "COMPLETED" for t in trials)
    assert trials[0]["score"] >= trials[1]["score"]
    assert all(t["metrics"]["global_step"] == TRIAL_STEPS for t in trials)
    assert hyperparameters["tuned"] == trials[0]["hyperparameters"]
    for name, value in hyperparameters["tuned"].items():
        assert hyperparameters["used"][name] == value, name
    text = run_summary.format_summary(tuned)
    assert "hyperparameters: tuned in this run:" in text
    assert "trials (2, 0 failed; best first):" in text
    assert f"auc {trials[0]['score']:.4f}, {TRIAL_STEPS} steps" in text


def test_a_tuning_run_whose_trials_all_fail_stops_naming_the_first_trial(runs):
    _, _, (error, summary_file), _ = runs
    for text in (str(error), summary_file):
        assert "none of its 2 trials completed" in text
        assert "the first, trial 0 with hyperparameters" in text
        assert "ValueError: Invalid value 1.5 received for `rate`" in text
    assert '"status": "failed"' in summary_file
    assert local_runner.status_of(error) == "failed"


def test_a_later_run_without_the_tuner_reuses_the_latest_tuned_values(runs):
    _, tuned, _, reused = runs
    assert pipeline_lib.TUNER not in {c["id"] for c in reused["components"]}
    assert pipeline_lib.HYPERPARAMETERS_RESOLVER in _ids(reused, "executed")
    hyperparameters = reused["hyperparameters"]
    # Not the failed tuning run's: it published no hyperparameters.
    assert hyperparameters["source"] == f"tuned in run {tuned['run_id']}"
    assert hyperparameters["tuned"] == tuned["hyperparameters"]["tuned"]
    assert hyperparameters["trials"] == tuned["hyperparameters"]["trials"]
    # Same data, same values: the Trainer's output comes from the cache.
    assert pipeline_lib.TRAINER in _ids(reused, "cached")
    assert f"hyperparameters: tuned in run {tuned['run_id']}:" in run_summary.format_summary(reused)


def test_another_family_in_the_same_store_does_not_take_taxi_values(runs, tmp_path):
    build, _, _, _ = runs
    reviews = config_lib.local_config(
        build.build_dir,
        families.load("reviews").sample_dir,
        family="reviews",
        train_steps=10,
        blessing_bound=0.0,
    )
    summary = local_runner.run(reviews, build.metadata, os.path.join(tmp_path, "s.json"))
    assert summary["pipeline_name"] == "movie-reviews"
    assert summary["hyperparameters"]["source"] == run_summary.DEFAULTS
    assert summary["hyperparameters"]["used"]["lstm_units"] == 32


def test_before_any_tuning_the_resolver_resolves_nothing_without_failing(pipeline_run):
    states = {c["id"]: c["state"] for c in pipeline_run.first["components"]}
    assert states[pipeline_lib.HYPERPARAMETERS_RESOLVER] == "executed"
    assert "failed" not in states.values()
