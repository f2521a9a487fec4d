"""What a model must beat: the naive predictor's figure, from a run's StatisticsGen output.

- regression: predicting the training split's mean label for every example; its eval
  RMSE is sqrt(var_eval + (mean_eval - mean_train)^2), both moments of the eval split
  (TFDV's standard deviation is the population's, so the formula is exact).
- multiclass (and binary): predicting the training split's most frequent class; its
  eval accuracy is that class's share of the eval split.

Usage: python -m pipeline.results.naive_baseline --model FAMILY [--build-dir DIR]
  (reads the newest StatisticsGen output under <build>/pipeline_root/<family>/)
"""

import argparse
import json
import os
import sys
from typing import Mapping

from tensorflow_metadata.proto.v0 import statistics_pb2

from components.run_report.readers import statistics
from modules.common import tasks
from pipeline.definition import families

TRAIN = "train"
EVAL = "eval"


def _feature(dataset: statistics_pb2.DatasetFeatureStatistics, column: str):
    for feature in dataset.features:
        if (".".join(feature.path.step) or feature.name) == column:
            return feature
    raise ValueError(f"The statistics have no column {column!r}.")


def mean_predictor_rmse(
    train: statistics_pb2.DatasetFeatureStatistics,
    evaluation: statistics_pb2.DatasetFeatureStatistics,
    column: str,
) -> dict:
    """The eval RMSE of predicting the training mean of numeric `column`."""
    train_stats = _feature(train, column).num_stats
    eval_stats = _feature(evaluation, column).num_stats
    rmse = statistics.mean_predictor_rmse(train_stats.mean, eval_stats.mean, eval_stats.std_dev)
    return {
        "metric": tasks.RMSE,
        "value": rmse,
        "train_mean": train_stats.mean,
        "eval_mean": eval_stats.mean,
        "eval_std": eval_stats.std_dev,
        "eval_max": eval_stats.max,
        "eval_examples": int(evaluation.num_examples),
    }


def _frequencies(feature) -> dict:
    if feature.HasField("string_stats"):
        stats = feature.string_stats
        return {b.label: b.sample_count for b in stats.rank_histogram.buckets} or {
            v.value: v.frequency for v in stats.top_values
        }
    raise ValueError(
        f"Column {feature.name or feature.path.step} has no class counts (not a string column)."
    )


def majority_class_accuracy(
    train: statistics_pb2.DatasetFeatureStatistics,
    evaluation: statistics_pb2.DatasetFeatureStatistics,
    column: str,
) -> dict:
    """The eval accuracy of predicting the training split's most frequent class."""
    train_counts = _frequencies(_feature(train, column))
    majority = max(train_counts, key=train_counts.get)
    eval_feature = _feature(evaluation, column)
    eval_counts = _frequencies(eval_feature)
    labelled = eval_feature.string_stats.common_stats.num_non_missing
    return {
        "metric": tasks.ACCURACY,
        "value": eval_counts.get(majority, 0) / labelled,
        "majority_class": majority,
        "eval_counts": eval_counts,
        "eval_examples": int(labelled),
    }


def naive_baseline(
    task: tasks.Task,
    label_column: str,
    by_split: Mapping[str, statistics_pb2.DatasetFeatureStatistics],
) -> dict:
    """The naive predictor's eval figure for `task`, from {split: statistics}."""
    if task.kind == tasks.REGRESSION:
        return mean_predictor_rmse(by_split[TRAIN], by_split[EVAL], label_column)
    return majority_class_accuracy(by_split[TRAIN], by_split[EVAL], label_column)


def latest_statistics_uri(build_dir: str, family: str) -> str:
    """The newest StatisticsGen output folder of `family` under a local build folder."""
    root = os.path.join(build_dir, "pipeline_root", family, "StatisticsGen", "statistics")
    runs = [name for name in os.listdir(root) if name.isdigit()] if os.path.isdir(root) else []
    if not runs:
        raise FileNotFoundError(f"No StatisticsGen output in {root}: run the pipeline first.")
    return os.path.join(root, max(runs, key=int))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=families.DEFAULT_FAMILY, help="the model family")
    parser.add_argument("--build-dir", default="build", help="the run's build folder")
    args = parser.parse_args(argv)
    contract = families.load(args.model).contract
    if not contract.label_column:
        print(
            f"error: {args.model}'s label is computed from several columns; "
            "no naive baseline from the statistics.",
            file=sys.stderr,
        )
        return 2
    uri = latest_statistics_uri(args.build_dir, args.model)
    result = naive_baseline(contract.task, contract.label_column, statistics.load_statistics(uri))
    print(json.dumps({"statistics": uri, **result}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
