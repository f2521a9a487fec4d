"""`modules.common.tasks`: what each kind of prediction decides, checked without a run.

The TFMA specs are the Evaluator's real configuration; `class_ids` runs in TensorFlow.
"""

import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma

from components import evaluation
from modules.common import preprocessing
from modules.common import tasks

CLASSES = ("Adelie", "Chinstrap", "Gentoo")


def _configs(spec):
    return {config.class_name: config for config in spec.metrics}


def _thresholded(specs):
    """(spec index, class name) of every metric that carries a threshold."""
    return [
        (i, config.class_name)
        for i, spec in enumerate(specs)
        for config in spec.metrics
        if config.per_slice_thresholds
    ]


def _only_threshold(config):
    (per_slice,) = config.per_slice_thresholds
    # Judged on the overall slice only: one SlicingSpec with no columns.
    assert list(per_slice.slicing_specs) == [tfma.SlicingSpec()]
    return per_slice.threshold


# --- metrics specs, per kind ----------------------------------------------------------


def test_binary_specs_bless_on_auc_with_a_lower_bound_and_a_higher_is_better_change():
    specs = tasks.binary(bound=0.85, max_change=0.02).metrics_specs()
    (spec,) = specs
    assert set(_configs(spec)) == {
        "ExampleCount",
        "AUC",
        "BinaryAccuracy",
        "Calibration",
        "CalibrationPlot",
    }
    assert _thresholded(specs) == [(0, "AUC")]
    threshold = _only_threshold(_configs(spec)["AUC"])
    assert threshold.value_threshold.lower_bound.value == pytest.approx(0.85)
    assert not threshold.value_threshold.HasField("upper_bound")
    assert threshold.change_threshold.direction == tfma.MetricDirection.HIGHER_IS_BETTER
    assert threshold.change_threshold.absolute.value == pytest.approx(-0.02)


def test_regression_specs_bless_on_rmse_with_an_upper_bound_and_lower_is_better_change():
    specs = tasks.regression(bound=7.0, max_change=0.5).metrics_specs()
    (spec,) = specs
    assert set(_configs(spec)) == {"ExampleCount", "RootMeanSquaredError", "MeanAbsoluteError"}
    assert not spec.HasField("binarize") and not spec.HasField("aggregate")
    assert _thresholded(specs) == [(0, "RootMeanSquaredError")]
    threshold = _only_threshold(_configs(spec)["RootMeanSquaredError"])
    assert threshold.value_threshold.upper_bound.value == pytest.approx(7.0)
    assert not threshold.value_threshold.HasField("lower_bound")
    assert threshold.change_threshold.direction == tfma.MetricDirection.LOWER_IS_BETTER
    assert threshold.change_threshold.absolute.value == pytest.approx(0.5)


def test_a_regression_may_bless_on_mae_instead():
    specs = tasks.regression(bound=3.0, max_change=0.2, metric=tasks.MAE).metrics_specs()
    assert _thresholded(specs) == [(0, "MeanAbsoluteError")]
    threshold = _only_threshold(_configs(specs[0])["MeanAbsoluteError"])
    assert threshold.value_threshold.upper_bound.value == pytest.approx(3.0)


def test_multiclass_specs_accuracy_then_per_class_binarized_then_macro_auc():
    specs = tasks.multiclass(CLASSES, bound=0.9, max_change=0.03).metrics_specs()
    accuracy, per_class, macro = specs
    assert set(_configs(accuracy)) == {
        "ExampleCount",
        "SparseCategoricalAccuracy",
        "MultiClassConfusionMatrixPlot",
    }
    assert not accuracy.HasField("binarize") and not accuracy.HasField("aggregate")
    # Per-class precision and recall, one binarized value per class id, no threshold:
    # a threshold there would judge every class's value too.
    assert set(_configs(per_class)) == {"Precision", "Recall"}
    assert list(per_class.binarize.class_ids.values) == [0, 1, 2]
    assert not per_class.HasField("aggregate")
    # The macro average: only aggregated, with a weight per class (TFMA needs them).
    assert set(_configs(macro)) == {"AUC"}
    assert macro.aggregate.macro_average
    assert dict(macro.aggregate.class_weights) == {0: 1.0, 1: 1.0, 2: 1.0}
    assert not macro.HasField("binarize")
    # Blessed on accuracy: a lower bound, higher is better.
    assert _thresholded(specs) == [(0, "SparseCategoricalAccuracy")]
    threshold = _only_threshold(_configs(accuracy)["SparseCategoricalAccuracy"])
    assert threshold.value_threshold.lower_bound.value == pytest.approx(0.9)
    assert threshold.change_threshold.direction == tfma.MetricDirection.HIGHER_IS_BETTER
    assert threshold.change_threshold.absolute.value == pytest.approx(-0.03)


def test_a_multiclass_task_blessed_on_macro_auc_puts_the_threshold_on_the_average():
    specs = tasks.multiclass(
        CLASSES, bound=0.95, max_change=0.01, metric=tasks.MACRO_AUC
    ).metrics_specs()
    assert _thresholded(specs) == [(2, "AUC")]
    threshold = _only_threshold(specs[2].metrics[0])
    assert threshold.value_threshold.lower_bound.value == pytest.approx(0.95)


def test_the_class_count_follows_the_classes():
    specs = tasks.multiclass(("a", "b", "c", "d"), bound=0.5, max_change=0.1).metrics_specs()
    assert list(specs[1].binarize.class_ids.values) == [0, 1, 2, 3]
    assert dict(specs[2].aggregate.class_weights) == {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0}


def test_specs_are_valid_tfma_eval_config():
    """TFMA accepts every kind's specs in an EvalConfig (its own config check)."""
    from tensorflow_model_analysis.utils import config_util

    for task in (
        tasks.binary(0.8, 0.01),
        tasks.multiclass(CLASSES, 0.9, 0.03),
        tasks.regression(7.0, 0.5),
    ):
        config = tfma.EvalConfig(
            model_specs=[tfma.ModelSpec(signature_name="eval")],
            metrics_specs=task.metrics_specs(),
            slicing_specs=[tfma.SlicingSpec()],
        )
        config_util.verify_eval_config(config)


# --- what else each kind decides -------------------------------------------------------


@pytest.mark.parametrize(
    "task, units, activation, loss, objective, first_metric",
    [
        (tasks.binary(0.8, 0.01), 1, "sigmoid", "binary_crossentropy", ("auc", "max"), tasks.AUC),
        (
            tasks.multiclass(CLASSES, 0.9, 0.03),
            3,
            "softmax",
            "sparse_categorical_crossentropy",
            ("accuracy", "max"),
            tasks.ACCURACY,
        ),
        (tasks.regression(7.0, 0.5), 1, None, "mean_squared_error", ("rmse", "min"), tasks.RMSE),
    ],
    ids=["binary", "multiclass", "regression"],
)
def test_head_loss_objective_and_summary_metrics(
    task, units, activation, loss, objective, first_metric
):
    assert task.output_units == units and task.output_activation == activation
    assert task.loss == loss and task.objective == objective
    assert task.metric_names[0] == first_metric == task.blessing.metric
    assert task.metric_names[-1] == tasks.EXAMPLE_COUNT
    layer = task.output_layer("out")
    assert layer.name == "out" and layer.units == units
    # The tuner's objective is one of the compiled metrics' names.
    assert objective[0] in {metric.name for metric in task.keras_metrics()}


def test_a_compiled_regression_reports_rmse_and_mae():
    task = tasks.regression(7.0, 0.5)
    inputs = tf.keras.Input(shape=(1,))
    model = tf.keras.Model(inputs, task.output_layer("value")(inputs))
    task.compile(model, tf.keras.optimizers.legacy.SGD())
    model.layers[-1].set_weights([tf.ones([1, 1]), tf.zeros([1])])  # the identity
    results = model.evaluate(
        tf.constant([[1.0], [2.0]]), tf.constant([[4.0], [2.0]]), verbose=0, return_dict=True
    )
    assert results["rmse"] == pytest.approx((9 / 2) ** 0.5)
    assert results["mae"] == pytest.approx(1.5)


def test_describe_and_facts_state_direction_and_bounds():
    regression = tasks.regression(7.0, 0.5)
    assert regression.blessing.describe() == (
        "RMSE at most 7, and no more than 0.5 above the baseline's"
    )
    assert tasks.binary(0.9, 0.01).blessing.describe() == (
        "AUC at least 0.9, and no more than 0.01 below the baseline's"
    )
    facts = tasks.multiclass(CLASSES, 0.9, 0.03).facts()
    assert facts["kind"] == "multiclass" and facts["classes"] == list(CLASSES)
    assert facts["blessing"] == {
        "metric": tasks.ACCURACY,
        "direction": tasks.HIGHER,
        "bound": 0.9,
        "max_change": 0.03,
    }


def test_with_blessing_overrides_a_run_bound_and_keeps_the_rest():
    task = tasks.regression(7.0, 0.5).with_blessing(bound=0.01)
    assert task.blessing.bound == 0.01 and task.blessing.max_change == 0.5
    assert task.blessing.direction == tasks.LOWER and task.kind == tasks.REGRESSION
    with pytest.raises(ValueError, match="allowed change must be 0 or more"):
        task.with_blessing(max_change=-1.0)


# --- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: tasks.Task("ordinal", tasks.Blessing(tasks.AUC, tasks.HIGHER, 0.5, 0.0)),
            "task kind 'ordinal' is not one of binary, multiclass, regression",
        ),
        (
            lambda: tasks.regression(7.0, 0.5, metric=tasks.AUC),
            "a regression task blesses on one of .*not 'auc'",
        ),
        (
            lambda: tasks.binary(0.8, 0.01, metric=tasks.RMSE),
            "a binary task blesses on one of .*not 'root_mean_squared_error'",
        ),
        (
            lambda: tasks.Task(
                tasks.REGRESSION, tasks.Blessing(tasks.RMSE, tasks.HIGHER, 7.0, 0.5)
            ),
            "root_mean_squared_error is better when lower",
        ),
        (lambda: tasks.regression(7.0, -0.1), "the allowed change must be 0 or more"),
        (lambda: tasks.multiclass(("a", "b"), 0.9, 0.0), "at least 3 classes"),
        (lambda: tasks.multiclass(("a", "b", "a"), 0.9, 0.0), "repeat a name"),
        (lambda: tasks.multiclass(("a", "b", ""), 0.9, 0.0), "non-empty strings"),
        (
            lambda: tasks.Task(
                tasks.BINARY, tasks.Blessing(tasks.AUC, tasks.HIGHER, 0.8, 0.0), classes=("a", "b")
            ),
            "only a multi-class task has classes, not a binary one",
        ),
        (lambda: tasks.binary(1.5, 0.0), r"the bound of auc must be within \[0, 1\], got 1.5"),
        (lambda: tasks.multiclass(CLASSES, -0.1, 0.0), "the bound of sparse_categorical_accuracy"),
    ],
    ids=[
        "kind",
        "regression-metric",
        "binary-metric",
        "direction",
        "change",
        "two-classes",
        "repeated",
        "empty-name",
        "classes-binary",
        "auc-bound",
        "accuracy-bound",
    ],
)
def test_an_inconsistent_task_is_refused_with_what_is_wrong(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_a_regression_bound_is_not_limited_to_one():
    assert tasks.regression(bound=250.0, max_change=10.0).blessing.bound == 250.0


# --- class ids, in TensorFlow ----------------------------------------------------------


def test_class_ids_of_string_labels_unknown_to_minus_one():
    ids = preprocessing.class_ids(
        tf.constant(["Gentoo", "Adelie", "Emperor", "Chinstrap", ""]), CLASSES
    )
    assert ids.dtype == tf.int64
    assert ids.numpy().tolist() == [2, 0, -1, 1, -1]


def test_class_ids_of_integer_labels_compare_as_text():
    ids = preprocessing.class_ids(tf.constant([3, 1, 7, 2], dtype=tf.int64), ("1", "2", "3"))
    assert ids.numpy().tolist() == [2, 0, -1, 1]


def test_class_ids_in_a_graph_as_transform_runs_them():
    with tf.compat.v1.Graph().as_default():
        labels = tf.compat.v1.placeholder(tf.string, [None])
        ids = preprocessing.class_ids(labels, CLASSES)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.tables_initializer())
            assert session.run(ids, {labels: [b"Chinstrap", b"adelie"]}).tolist() == [1, -1]


def test_metric_name_prefixes_a_macro_average():
    """Names as they come in TFMA's stored metrics (`MetricKey` protos)."""
    from tensorflow_model_analysis.proto import metrics_for_slice_pb2

    plain = metrics_for_slice_pb2.MetricKey(name="auc")
    macro = metrics_for_slice_pb2.MetricKey(name="auc")
    macro.aggregation_type.macro_average = True
    assert evaluation.metric_name(plain) == "auc"
    assert evaluation.metric_name(macro) == "macro_auc"
