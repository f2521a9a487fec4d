"""The naive predictors' figures from TFDV statistics, against a direct computation."""

import math

import numpy as np
import pandas as pd
import pytest
import tensorflow_data_validation as tfdv

from modules.common import tasks
from pipeline.results import naive_baseline

TRAIN_FARES = [5.0, 7.5, 12.0, 3.25, 40.0, 9.0]
EVAL_FARES = [6.0, 15.5, 8.0, 70.0]


def _statistics(frame):
    return tfdv.generate_statistics_from_dataframe(frame).datasets[0]


@pytest.fixture(scope="module")
def splits():
    train = pd.DataFrame(
        {
            "fare": TRAIN_FARES,
            "species": ["Adelie", "Gentoo", "Adelie", "Chinstrap", "Adelie", "Gentoo"],
        }
    )
    evaluation = pd.DataFrame(
        {"fare": EVAL_FARES, "species": ["Gentoo", "Adelie", "Gentoo", "Chinstrap"]}
    )
    return {"train": _statistics(train), "eval": _statistics(evaluation)}


def test_the_training_mean_rmse_equals_the_direct_computation(splits):
    result = naive_baseline.naive_baseline(tasks.regression(7.0, 0.5), "fare", splits)
    direct = math.sqrt(np.mean((np.array(EVAL_FARES) - np.mean(TRAIN_FARES)) ** 2))
    assert result["metric"] == tasks.RMSE
    assert result["value"] == pytest.approx(direct, rel=1e-6)
    assert result["train_mean"] == pytest.approx(np.mean(TRAIN_FARES))
    assert result["eval_examples"] == len(EVAL_FARES) and result["eval_max"] == 70.0


def test_the_majority_class_comes_from_training_and_is_scored_on_eval(splits):
    task = tasks.multiclass(("Adelie", "Chinstrap", "Gentoo"), 0.9, 0.03)
    result = naive_baseline.naive_baseline(task, "species", splits)
    # Adelie is the training majority; eval holds one Adelie in four.
    assert result["majority_class"] == "Adelie"
    assert result["metric"] == tasks.ACCURACY and result["value"] == pytest.approx(0.25)


def test_an_unknown_column_is_named(splits):
    with pytest.raises(ValueError, match="no column 'tip'"):
        naive_baseline.naive_baseline(tasks.regression(7.0, 0.5), "tip", splits)


def test_a_build_folder_without_statistics_says_to_run_first(tmp_path):
    with pytest.raises(FileNotFoundError, match="run the pipeline first"):
        naive_baseline.latest_statistics_uri(str(tmp_path), "taxi_fare")
