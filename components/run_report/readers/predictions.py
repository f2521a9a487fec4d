"""A regression's predictions against the truth, on a sample of the eval split.

TFMA keeps no per-example predictions, so the report scores a few hundred eval
examples (ExampleGen's gzipped TFRecords under `Split-eval/`) with the pushed model's
`serving_default` signature, the way a serving client would, read with TensorFlow
directly. Beside the model stands what predicting the training mean would score,
from the statistics of the label column: RMSE sqrt(var_eval + (mean_eval -
mean_train)^2).
"""

import glob
import math
import os
from typing import List, Mapping, Optional, Sequence, Tuple

from components.run_report.readers import ReportInputError
from components.run_report.readers import statistics

EVAL_SPLIT = "eval"
SAMPLE_SIZE = 300
_BATCH = 256


def read_examples(
    examples_uri: str, split: str = EVAL_SPLIT, limit: int = SAMPLE_SIZE
) -> List[bytes]:
    """Returns up to `limit` serialized `tf.Example`s of a split, in file order."""
    import tensorflow as tf

    files = sorted(glob.glob(os.path.join(examples_uri, f"Split-{split}", "*")))
    if not files:
        raise ReportInputError(f"{examples_uri}: no Split-{split}/ files in this folder.")
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").take(limit)
    return [record.numpy() for record in dataset]


def label_of(serialized: bytes, label_column: str) -> Optional[float]:
    """The example's numeric label, or None when its cell was empty."""
    import tensorflow as tf

    feature = tf.train.Example.FromString(serialized).features.feature.get(label_column)
    if feature is None:
        return None
    values = list(feature.float_list.value) or list(feature.int64_list.value)
    return float(values[0]) if values else None


def score(model_dir: str, examples: Sequence[bytes]) -> List[float]:
    """Scores serialized raw examples with a SavedModel's `serving_default` (one output)."""
    import tensorflow as tf

    serve = tf.saved_model.load(model_dir).signatures["serving_default"]
    scores = []
    for start in range(0, len(examples), _BATCH):
        try:
            outputs = serve(examples=tf.constant(list(examples[start : start + _BATCH])))
        except tf.errors.OpError as error:
            raise ReportInputError(
                f"{model_dir}: scoring eval examples failed: {error.message.splitlines()[0]}"
            ) from None
        if len(outputs) != 1:
            raise ReportInputError(
                f"{model_dir}: the serving signature returns "
                f"{sorted(outputs)}; a regression returns one output."
            )
        scores.extend(float(v) for v in next(iter(outputs.values())).numpy().reshape(-1))
    return scores


def mean_baseline(label_stats: Mapping[str, Mapping]) -> Optional[dict]:
    """What predicting the training mean scores on the eval split, from the statistics.

    Args:
      label_stats: {split: numeric stats of the label column} (`statistics.column`).
    """
    train, evaluation = label_stats.get("train"), label_stats.get(EVAL_SPLIT)
    if not train or not evaluation or "mean" not in train or "mean" not in evaluation:
        return None
    rmse = statistics.mean_predictor_rmse(train["mean"], evaluation["mean"], evaluation["std"])
    return {"train_mean": train["mean"], "rmse": rmse}


def _errors(pairs: Sequence[Tuple[float, float]]) -> dict:
    residuals = [predicted - actual for actual, predicted in pairs]
    return {
        "rmse": math.sqrt(sum(r * r for r in residuals) / len(residuals)),
        "mae": sum(abs(r) for r in residuals) / len(residuals),
    }


def predictions_section(
    examples_uri: str,
    model_dir: str,
    label_column: str,
    label_stats: Optional[Mapping[str, Mapping]] = None,
    limit: int = SAMPLE_SIZE,
) -> dict:
    """Predicted against actual on up to `limit` eval examples, with the mean's baseline.

    Returns {"points": [[actual, predicted], ...], "examples", "rmse", "mae",
    "mean_baseline": {"train_mean", "rmse"} or None, "model_dir", "split"}.
    """
    examples, labels = [], []
    for serialized in read_examples(examples_uri, EVAL_SPLIT, limit):
        label = label_of(serialized, label_column)
        if label is not None:
            examples.append(serialized)
            labels.append(label)
    if not examples:
        raise ReportInputError(f"{examples_uri}: no eval example holds the label {label_column!r}.")
    pairs = list(zip(labels, score(model_dir, examples), strict=True))
    return {
        "points": [list(pair) for pair in pairs],
        "examples": len(pairs),
        **_errors(pairs),
        "mean_baseline": mean_baseline(label_stats or {}),
        "model_dir": model_dir,
        "split": EVAL_SPLIT,
    }
