"""StatisticsGen's statistics: per column and split, counts, missing cells, histograms.

TFX's CSV reading writes an empty cell as an empty list, which TFDV counts as present
(`num_missing` stays 0). The examples with a value are therefore counted from the
number of values (`tot_num_values`) for a column of at most one value per example;
the missing count is every other example.
"""

import collections
import math
from typing import Dict, Iterable, Optional

from tensorflow_metadata.proto.v0 import statistics_pb2

from components.run_report.readers import ReportInputError
from components.run_report.readers import split_files

STATISTICS_FILE = "FeatureStats.pb"


def load_statistics(statistics_uri: str) -> Dict[str, statistics_pb2.DatasetFeatureStatistics]:
    """Returns {split: DatasetFeatureStatistics} from a StatisticsGen output folder."""
    result = {}
    for split, path in split_files(statistics_uri, STATISTICS_FILE).items():
        with open(path, "rb") as stats_file:
            stats_list = statistics_pb2.DatasetFeatureStatisticsList.FromString(stats_file.read())
        if not stats_list.datasets:
            raise ReportInputError(f"{path}: the statistics hold no data set.")
        result[split] = stats_list.datasets[0]
    return result


def _common(feature: statistics_pb2.FeatureNameStatistics) -> statistics_pb2.CommonStatistics:
    kind = feature.WhichOneof("stats")
    return getattr(feature, kind).common_stats if kind else statistics_pb2.CommonStatistics()


def examples_with_a_value(common: statistics_pb2.CommonStatistics) -> int:
    """The examples holding at least one value of a column (an empty list is none).

    Exact for a column of at most one value per example (every CSV column) and for one
    whose every present list holds a value; otherwise read from the histogram of the
    number of values per example, whose buckets at 0 are the empty lists.
    """
    present = int(common.num_non_missing)
    if common.max_num_values <= 1:
        return min(present, int(common.tot_num_values))
    if common.min_num_values >= 1:
        return present
    empty = sum(
        bucket.sample_count
        for bucket in common.num_values_histogram.buckets
        if bucket.high_value <= 0
    )
    return max(0, present - int(round(empty)))


def _numeric(stats: statistics_pb2.NumericStatistics) -> dict:
    result = {
        "kind": "numeric",
        "min": stats.min,
        "mean": stats.mean,
        "max": stats.max,
        "std": stats.std_dev,
        "median": stats.median,
        "zeros": int(stats.num_zeros),
    }
    for histogram in stats.histograms:
        if histogram.type == statistics_pb2.Histogram.STANDARD:
            result["histogram"] = [
                [b.low_value, b.high_value, b.sample_count] for b in histogram.buckets
            ]
        elif histogram.type == statistics_pb2.Histogram.QUANTILES and histogram.buckets:
            # The middle quantile boundary: the median when TFDV did not store one.
            middle = histogram.buckets[len(histogram.buckets) // 2]
            result.setdefault("quantile_median", middle.low_value)
    return result


def feature_split(feature: statistics_pb2.FeatureNameStatistics, num_examples: int) -> dict:
    """One column in one split: its type, count, missing count and share, and values."""
    with_value = examples_with_a_value(_common(feature))
    missing = int(num_examples) - with_value
    result = {
        "type": statistics_pb2.FeatureNameStatistics.Type.Name(feature.type),
        "count": with_value,
        "missing": missing,
        "missing_share": missing / num_examples if num_examples else 0.0,
    }
    if feature.HasField("num_stats"):
        result.update(_numeric(feature.num_stats))
    elif feature.HasField("string_stats"):
        stats = feature.string_stats
        result.update(
            kind="categorical",
            unique=int(stats.unique),
            top_values=[[v.value, v.frequency] for v in stats.top_values],
        )
    else:
        result["kind"] = "other"
    return result


def data_section(statistics_uri: str) -> dict:
    """Per feature and split: count, missing, min/mean/max or top values, histogram.

    Returns {"splits": {split: examples}, "features": [{"name", "splits": {split:
    {...}}}]}, features in name order, splits in the order train, eval, others.
    """
    by_split = load_statistics(statistics_uri)
    order = sorted(by_split, key=lambda s: ({"train": 0, "eval": 1}.get(s, 2), s))
    features = collections.defaultdict(dict)
    for split in order:
        dataset = by_split[split]
        for feature in dataset.features:
            name = ".".join(feature.path.step) or feature.name
            features[name][split] = feature_split(feature, dataset.num_examples)
    return {
        "splits": {split: int(by_split[split].num_examples) for split in order},
        "features": [{"name": name, "splits": features[name]} for name in sorted(features)],
    }


def column(data: dict, name: str) -> Optional[dict]:
    """Returns {split: stats} of the column `name` in a `data_section`, or None."""
    for feature in data["features"]:
        if feature["name"] == name:
            return feature["splits"]
    return None


def mean_predictor_rmse(train_mean: float, eval_mean: float, eval_std: float) -> float:
    """The eval RMSE of predicting the training mean for every example.

    sqrt(var_eval + (mean_eval - mean_train)^2): exact with TFDV's standard deviation,
    which is the population's.
    """
    return math.sqrt(eval_std**2 + (eval_mean - train_mean) ** 2)


def typical_row(data: dict, split: str = "train", leave_out: Iterable[str] = ()) -> Dict[str, str]:
    """Returns one plausible raw row, as CSV text per column, from the statistics.

    Numbers take the median (rounded for integer columns), categories their most
    frequent value; columns entirely missing and `leave_out` (the label's sources)
    are left out.
    """
    skipped = set(leave_out)
    row = {}
    for feature in data["features"]:
        stats = feature["splits"].get(split)
        if feature["name"] in skipped or not stats or not stats["count"]:
            continue
        if stats["kind"] == "numeric":
            value = stats.get("median") or stats.get("quantile_median", stats["mean"])
            row[feature["name"]] = (
                str(int(round(value))) if stats["type"] == "INT" else f"{value:.6g}"
            )
        elif stats["kind"] == "categorical" and stats["top_values"]:
            row[feature["name"]] = stats["top_values"][0][0]
    return row
