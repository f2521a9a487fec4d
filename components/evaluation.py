"""The Evaluator's configuration: which metrics, which slices, and what blesses."""

import tensorflow_model_analysis as tfma

from modules import features
from modules.model import OUTPUT_NAME

# The candidate is the model just trained; the baseline the latest blessed one.
CANDIDATE = "candidate"
BASELINE = "baseline"


def eval_config(min_auc: float, max_auc_drop: float) -> tfma.EvalConfig:
    """Returns the TFMA config that decides whether a model may ship.

    The candidate is blessed when its overall AUC is at least `min_auc` and, if a
    baseline (the latest blessed model) exists, no more than `max_auc_drop` below the
    baseline's AUC on the same eval split. With no baseline the change threshold is
    not checked, so the first run is judged on the absolute threshold alone.

    Args:
      min_auc: the lowest overall eval AUC that may ship.
      max_auc_drop: how far below the baseline's AUC the candidate may fall.
    """
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
                name=CANDIDATE, signature_name="eval", prediction_key=OUTPUT_NAME
            ),
            tfma.ModelSpec(
                name=BASELINE,
                signature_name="eval",
                prediction_key=OUTPUT_NAME,
                is_baseline=True,
            ),
        ],
        slicing_specs=[tfma.SlicingSpec()]
        + [tfma.SlicingSpec(feature_keys=[key]) for key in features.SLICE_FEATURES],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(class_name="ExampleCount"),
                    # Thresholds judge the overall slice only: a small slice's AUC
                    # is too noisy to hold a release back.
                    tfma.MetricConfig(
                        class_name="AUC",
                        per_slice_thresholds=[
                            tfma.PerSliceMetricThreshold(
                                slicing_specs=[tfma.SlicingSpec()],
                                threshold=auc_threshold,
                            )
                        ],
                    ),
                    tfma.MetricConfig(class_name="BinaryAccuracy"),
                    tfma.MetricConfig(class_name="Calibration"),
                    tfma.MetricConfig(class_name="CalibrationPlot"),
                ]
            )
        ],
    )
