"""The Evaluator's configuration: which metrics, which slices, and what blesses."""

from typing import Sequence

import tensorflow_model_analysis as tfma

# The candidate is the model just trained; the baseline the latest blessed one.
CANDIDATE = "candidate"
BASELINE = "baseline"


# The metric whose thresholds bless a model.
BLESSING_METRIC = "AUC"


def eval_config(min_auc: float, max_auc_drop: float, slice_columns: Sequence[str],
                prediction_key: str, metrics: Sequence[str]) -> tfma.EvalConfig:
    """Returns the TFMA config that decides whether a model may ship.

    The candidate is blessed when its overall AUC is at least `min_auc` and, if a
    baseline (the latest blessed model) exists, no more than `max_auc_drop` below the
    baseline's AUC on the same eval split. With no baseline the change threshold is
    not checked, so the first run is judged on the absolute threshold alone.

    Args:
      min_auc: the lowest overall eval AUC that may ship.
      max_auc_drop: how far below the baseline's AUC the candidate may fall.
      slice_columns: raw columns to slice on, besides the overall slice.
      prediction_key: the model's output holding the probability.
      metrics: TFMA metric class names to compute; must include AUC.
    """
    if BLESSING_METRIC not in metrics:
        raise ValueError(f"metrics {list(metrics)} lack {BLESSING_METRIC}, which blesses.")
    auc_threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": min_auc}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -max_auc_drop},
        ),
    )
    return tfma.EvalConfig(
        model_specs=[
            # The Estimator's EvalSavedModel is exported under the 'eval' tag.
            tfma.ModelSpec(
                name=CANDIDATE, signature_name="eval", prediction_key=prediction_key
            ),
            tfma.ModelSpec(
                name=BASELINE,
                signature_name="eval",
                prediction_key=prediction_key,
                is_baseline=True,
            ),
        ],
        slicing_specs=[tfma.SlicingSpec()]
        + [tfma.SlicingSpec(feature_keys=[key]) for key in slice_columns],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    # Thresholds judge the overall slice only: a small slice's AUC
                    # is too noisy to hold a release back.
                    tfma.MetricConfig(
                        class_name=name,
                        per_slice_thresholds=[
                            tfma.PerSliceMetricThreshold(
                                slicing_specs=[tfma.SlicingSpec()],
                                threshold=auc_threshold,
                            )
                        ] if name == BLESSING_METRIC else [],
                    )
                    for name in metrics
                ]
            )
        ],
    )
