"""The Evaluator's configuration: the candidate against the baseline, on which slices."""

from typing import Sequence

import tensorflow_model_analysis as tfma

# The candidate is the model just trained; the baseline the latest blessed one.
CANDIDATE = "candidate"
BASELINE = "baseline"
# A serving model's signatures TFMA reads without an EvalSavedModel: the transform
# signature gives the transformed label, the serving one the predictions.
SERVING_SIGNATURE = "serving_default"
TRANSFORM_SIGNATURE = "transform_features"


def eval_config(
    metrics_specs: Sequence[tfma.MetricsSpec],
    slice_columns: Sequence[str],
    prediction_key: str,
    serving_label_key: str = "",
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
      serving_label_key: empty: the models are Estimator EvalSavedModels (signature
        `eval`). Set: they are serving models (the Keras trainer's); TFMA runs their
        `transform_features` signature on the raw examples and reads this transformed
        label from its outputs, the predictions from `serving_default`.

    Raises:
      ValueError: no metric carries a threshold: such a config never blesses.
    """
    if not any(
        metric.per_slice_thresholds or metric.HasField("threshold")
        for spec in metrics_specs
        for metric in spec.metrics
    ):
        raise ValueError("No metric carries a threshold: the Evaluator would never bless.")
    if serving_label_key:
        model = dict(
            # A generic SavedModel read through its signatures: TFMA neither revives
            # it as a Keras model to find its type nor adds its compiled metrics.
            model_type=tfma.TF_GENERIC,
            signature_name=SERVING_SIGNATURE,
            label_key=serving_label_key,
            preprocessing_function_names=[TRANSFORM_SIGNATURE],
        )
    else:
        # The Estimator's EvalSavedModel is exported under the 'eval' tag.
        model = dict(signature_name="eval")
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(name=CANDIDATE, prediction_key=prediction_key, **model),
            tfma.ModelSpec(name=BASELINE, prediction_key=prediction_key, is_baseline=True, **model),
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
