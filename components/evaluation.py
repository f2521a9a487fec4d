"""The Evaluator's configuration: the candidate against the baseline, on which slices."""

from typing import Sequence

import tensorflow_model_analysis as tfma

# The candidate is the model just trained; the baseline the latest blessed one.
CANDIDATE = "candidate"
BASELINE = "baseline"


def eval_config(
    metrics_specs: Sequence[tfma.MetricsSpec], slice_columns: Sequence[str], prediction_key: str
) -> tfma.EvalConfig:
    """Returns the TFMA config that decides whether a model may ship.

    The metrics and the thresholds that bless come from the model's task
    (`modules.common.tasks.Task.metrics_specs`). A change threshold is checked only
    once a baseline (the latest blessed model) exists, so the first run is judged on
    the absolute thresholds alone.

    Args:
      metrics_specs: the metrics to compute, the blessing's thresholds in them.
      slice_columns: raw columns to slice on, besides the overall slice.
      prediction_key: the model's output the metrics read.

    Raises:
      ValueError: no metric carries a threshold: such a config never blesses.
    """
    if not any(
        metric.per_slice_thresholds or metric.HasField("threshold")
        for spec in metrics_specs
        for metric in spec.metrics
    ):
        raise ValueError("No metric carries a threshold: the Evaluator would never bless.")
    return tfma.EvalConfig(
        model_specs=[
            # The Estimator's EvalSavedModel is exported under the 'eval' tag.
            tfma.ModelSpec(name=CANDIDATE, signature_name="eval", prediction_key=prediction_key),
            tfma.ModelSpec(
                name=BASELINE,
                signature_name="eval",
                prediction_key=prediction_key,
                is_baseline=True,
            ),
        ],
        slicing_specs=[tfma.SlicingSpec()]
        + [tfma.SlicingSpec(feature_keys=[key]) for key in slice_columns],
        metrics_specs=list(metrics_specs),
    )


def metric_name(key) -> str:
    """The name of a TFMA `MetricKey` as the project names metrics.

    TFMA names a metric after its class in snake case; a macro average carries the
    same name with an aggregation type in its key, which becomes the `macro_` prefix
    (`macro_auc`).
    """
    aggregated = key.HasField("aggregation_type") and key.aggregation_type.macro_average
    return f"macro_{key.name}" if aggregated else key.name
