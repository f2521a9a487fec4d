"""What a model's task decides, once for every consumer: binary, multi-class, regression.

A family's contract names its `Task`. Everything that depends on the kind of prediction
is defined here and read from here: the Keras head and loss, the metrics the Estimator
evaluates during training (the Tuner's objective among them), the TFMA metrics the
Evaluator computes, the metric that blesses a model with its direction and bounds, the
overall figures the summary and the report show, and how a class label becomes an id.

- binary: one sigmoid output, the probability of class 1; blessed on AUC.
- multiclass: one softmax output of K scores, the classes in the contract's order
  (class id i is `classes[i]`); blessed on accuracy unless the family says otherwise
  (the macro-averaged one-vs-rest AUC: `blessing_metric=MACRO_AUC`).
- regression: one linear output; blessed on RMSE, where lower is better.
"""

import dataclasses
from typing import Optional, Sequence, Tuple

BINARY = "binary"
MULTICLASS = "multiclass"
REGRESSION = "regression"
KINDS = (BINARY, MULTICLASS, REGRESSION)

HIGHER = "higher"
LOWER = "lower"

# Overall metrics, by the name the summary and the report give them. TFMA names a
# metric after its class in snake case; a macro average carries the same name with an
# aggregation type in its key, which `components.evaluation.metric_name` turns into
# the `macro_` prefix.
AUC = "auc"
MACRO_AUC = "macro_auc"
BINARY_ACCURACY = "binary_accuracy"
CALIBRATION = "calibration"
ACCURACY = "sparse_categorical_accuracy"
RMSE = "root_mean_squared_error"
MAE = "mean_absolute_error"
EXAMPLE_COUNT = "example_count"
PRECISION = "precision"
RECALL = "recall"
# A multi-class model's serving outputs, as TF Serving's classify API names them.
SCORES_OUTPUT = "scores"
CLASSES_OUTPUT = "classes"

# Plots TFMA writes beside the metrics.
CALIBRATION_PLOT = "calibration_plot"
CONFUSION_MATRIX = "multi_class_confusion_matrix_plot"

# metric name -> (TFMA metric class name, macro-averaged over the classes).
_TFMA_CLASSES = {
    AUC: ("AUC", False),
    MACRO_AUC: ("AUC", True),
    BINARY_ACCURACY: ("BinaryAccuracy", False),
    CALIBRATION: ("Calibration", False),
    ACCURACY: ("SparseCategoricalAccuracy", False),
    RMSE: ("RootMeanSquaredError", False),
    MAE: ("MeanAbsoluteError", False),
    EXAMPLE_COUNT: ("ExampleCount", False),
}

# Readable names, for the printed summary and the report.
LABELS = {
    AUC: "AUC",
    MACRO_AUC: "AUC (macro average over classes)",
    BINARY_ACCURACY: "accuracy",
    CALIBRATION: "calibration",
    ACCURACY: "accuracy",
    RMSE: "RMSE",
    MAE: "MAE",
    EXAMPLE_COUNT: "examples",
}

# Per kind: the overall metrics shown (first the blessing default), the blessing
# default and its direction, the Estimator's eval metric the Tuner optimizes (the
# compiled Keras metric's name) and its direction.
_KIND_FACTS = {
    BINARY: {
        "metrics": (AUC, BINARY_ACCURACY, CALIBRATION, EXAMPLE_COUNT),
        "blessing": AUC,
        "objective": ("auc", "max"),
    },
    # Keras' AUC refuses sparse labels against [N, K] scores: accuracy it is.
    MULTICLASS: {
        "metrics": (ACCURACY, MACRO_AUC, EXAMPLE_COUNT),
        "blessing": ACCURACY,
        "objective": ("accuracy", "max"),
    },
    REGRESSION: {
        "metrics": (RMSE, MAE, EXAMPLE_COUNT),
        "blessing": RMSE,
        "objective": ("rmse", "min"),
    },
}
# Metrics a family may bless on, by kind, with their direction.
_BLESSABLE = {
    BINARY: {AUC: HIGHER, BINARY_ACCURACY: HIGHER},
    MULTICLASS: {ACCURACY: HIGHER, MACRO_AUC: HIGHER},
    REGRESSION: {RMSE: LOWER, MAE: LOWER},
}


@dataclasses.dataclass(frozen=True)
class Blessing:
    """What blesses a model: one overall metric, a bound, an allowed change.

    Attributes:
      metric: the metric's name (`AUC`, `ACCURACY`, `RMSE`, ...).
      direction: `HIGHER` or `LOWER` is better.
      bound: the worst value that may ship: a lower bound when higher is better, an
        upper bound when lower is better.
      max_change: how much worse than the baseline (the latest blessed model, on the
        same eval split) a candidate may be; 0 or more.
    """

    metric: str
    direction: str
    bound: float
    max_change: float

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def describe(self) -> str:
        """One sentence: what a candidate must reach."""
        label = LABELS.get(self.metric, self.metric)
        at = "at least" if self.direction == HIGHER else "at most"
        worse = "below" if self.direction == HIGHER else "above"
        return (
            f"{label} {at} {self.bound:g}, and no more than {self.max_change:g} "
            f"{worse} the baseline's"
        )


@dataclasses.dataclass(frozen=True)
class Task:
    """A model's kind of prediction and what blesses it.

    Build one with `binary`, `multiclass` or `regression`.

    Attributes:
      kind: `BINARY`, `MULTICLASS` or `REGRESSION`.
      blessing: the blessing metric with its direction, bound and allowed change.
      classes: multi-class: the class names; class id i is `classes[i]`.
      positive: binary: the label value that is class 1, as the CSV writes it (`yes`,
        `>50K`); every other value is class 0. Empty: the label is already 0 or 1.
      drop_empty_label: rows whose label cell is empty are left out of the data
        instead of stopping the run (the CSV checks count and report them).
    """

    kind: str
    blessing: Blessing
    classes: Tuple[str, ...] = ()
    drop_empty_label: bool = False
    positive: str = ""

    def __post_init__(self):
        problems = []
        if self.kind not in KINDS:
            problems.append(f"task kind {self.kind!r} is not one of {', '.join(KINDS)}")
        else:
            blessable = _BLESSABLE[self.kind]
            if self.blessing.metric not in blessable:
                problems.append(
                    f"a {self.kind} task blesses on one of {sorted(blessable)}, "
                    f"not {self.blessing.metric!r}"
                )
            elif self.blessing.direction != blessable[self.blessing.metric]:
                problems.append(
                    f"{self.blessing.metric} is better when {blessable[self.blessing.metric]}"
                )
        if self.blessing.max_change < 0:
            problems.append(f"the allowed change must be 0 or more, got {self.blessing.max_change}")
        if self.kind == MULTICLASS:
            if len(self.classes) < 3:
                problems.append("a multi-class task needs at least 3 classes (2: binary)")
            if len(set(self.classes)) != len(self.classes):
                problems.append(f"the classes {list(self.classes)} repeat a name")
            if not all(isinstance(c, str) and c for c in self.classes):
                problems.append("class names must be non-empty strings")
        elif self.classes:
            problems.append(f"only a multi-class task has classes, not a {self.kind} one")
        if self.positive and self.kind != BINARY:
            problems.append(f"only a binary task has a positive class, not a {self.kind} one")
        if self.blessing.metric in (AUC, MACRO_AUC, ACCURACY, BINARY_ACCURACY) and not (
            0.0 <= self.blessing.bound <= 1.0
        ):
            problems.append(
                f"the bound of {self.blessing.metric} must be within [0, 1], "
                f"got {self.blessing.bound}"
            )
        if problems:
            raise ValueError("; ".join(problems))

    # --- the Keras model -------------------------------------------------------------

    @property
    def output_units(self) -> int:
        """Units of the model's last layer: K scores, or one value."""
        return len(self.classes) if self.kind == MULTICLASS else 1

    @property
    def output_activation(self) -> Optional[str]:
        return {BINARY: "sigmoid", MULTICLASS: "softmax", REGRESSION: None}[self.kind]

    @property
    def loss(self) -> str:
        return {
            BINARY: "binary_crossentropy",
            MULTICLASS: "sparse_categorical_crossentropy",
            REGRESSION: "mean_squared_error",
        }[self.kind]

    def output_layer(self, name: str):
        """Returns the model's head: a Dense layer named `name` (the prediction key)."""
        import tensorflow as tf

        return tf.keras.layers.Dense(
            self.output_units, activation=self.output_activation, name=name
        )

    def keras_metrics(self) -> list:
        """The compiled metrics: the Estimator evaluates them; the Tuner's objective is one."""
        import tensorflow as tf

        if self.kind == BINARY:
            return [
                tf.keras.metrics.AUC(name="auc"),
                tf.keras.metrics.BinaryAccuracy(name="accuracy"),
            ]
        if self.kind == MULTICLASS:
            return [tf.keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        return [
            tf.keras.metrics.RootMeanSquaredError(name="rmse"),
            tf.keras.metrics.MeanAbsoluteError(name="mae"),
        ]

    def compile(self, model, optimizer) -> None:
        """Compiles `model` with the task's loss and metrics."""
        model.compile(optimizer=optimizer, loss=self.loss, metrics=self.keras_metrics())

    # --- tuning ----------------------------------------------------------------------

    @property
    def objective(self) -> Tuple[str, str]:
        """(the Estimator's eval metric a tuning trial is scored on, "max" or "min")."""
        return _KIND_FACTS[self.kind]["objective"]

    # --- evaluation ------------------------------------------------------------------

    @property
    def metric_names(self) -> Tuple[str, ...]:
        """The overall metrics the summary and the report show, in order."""
        return _KIND_FACTS[self.kind]["metrics"]

    def metrics_specs(self) -> list:
        """Returns the TFMA `MetricsSpec`s of the Evaluator, the blessing's thresholds in.

        Thresholds judge the overall slice only: a small slice's figure is too noisy to
        hold a release back. A threshold in a spec that binarizes applies to every
        class's value too, so per-class metrics sit in a spec without thresholds and
        the macro average in one that only aggregates.
        """
        import tensorflow_model_analysis as tfma

        threshold = self._threshold()

        def config(name: str) -> "tfma.MetricConfig":
            class_name, _ = _TFMA_CLASSES[name]
            thresholds = (
                [
                    tfma.PerSliceMetricThreshold(
                        slicing_specs=[tfma.SlicingSpec()], threshold=threshold
                    )
                ]
                if (name == self.blessing.metric)
                else []
            )
            return tfma.MetricConfig(class_name=class_name, per_slice_thresholds=thresholds)

        if self.kind == BINARY:
            return [
                tfma.MetricsSpec(
                    metrics=[
                        config(EXAMPLE_COUNT),
                        config(AUC),
                        config(BINARY_ACCURACY),
                        config(CALIBRATION),
                        tfma.MetricConfig(class_name="CalibrationPlot"),
                    ]
                )
            ]
        if self.kind == REGRESSION:
            return [tfma.MetricsSpec(metrics=[config(EXAMPLE_COUNT), config(RMSE), config(MAE)])]
        class_ids = list(range(len(self.classes)))
        return [
            tfma.MetricsSpec(
                metrics=[
                    config(EXAMPLE_COUNT),
                    config(ACCURACY),
                    tfma.MetricConfig(class_name="MultiClassConfusionMatrixPlot"),
                ]
            ),
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(class_name="Precision"),
                    tfma.MetricConfig(class_name="Recall"),
                ],
                binarize=tfma.BinarizationOptions(class_ids={"values": class_ids}),
            ),
            tfma.MetricsSpec(
                metrics=[config(MACRO_AUC)],
                aggregate=tfma.AggregationOptions(
                    macro_average=True, class_weights={i: 1.0 for i in class_ids}
                ),
            ),
        ]

    def _threshold(self):
        import tensorflow_model_analysis as tfma

        blessing = self.blessing
        if blessing.direction == HIGHER:
            return tfma.MetricThreshold(
                value_threshold=tfma.GenericValueThreshold(lower_bound={"value": blessing.bound}),
                change_threshold=tfma.GenericChangeThreshold(
                    direction=tfma.MetricDirection.HIGHER_IS_BETTER,
                    absolute={"value": -blessing.max_change},
                ),
            )
        return tfma.MetricThreshold(
            value_threshold=tfma.GenericValueThreshold(upper_bound={"value": blessing.bound}),
            change_threshold=tfma.GenericChangeThreshold(
                direction=tfma.MetricDirection.LOWER_IS_BETTER,
                absolute={"value": blessing.max_change},
            ),
        )

    def facts(self) -> dict:
        """The task as plain values, for components that take a family's facts."""
        return {
            "kind": self.kind,
            "classes": list(self.classes),
            "blessing": self.blessing.as_dict(),
            "metric_names": list(self.metric_names),
            "metric_labels": {name: LABELS[name] for name in self.metric_names},
        }

    def with_blessing(
        self, bound: Optional[float] = None, max_change: Optional[float] = None
    ) -> "Task":
        """The same task with another bound or allowed change (a run's override)."""
        blessing = dataclasses.replace(
            self.blessing,
            bound=self.blessing.bound if bound is None else bound,
            max_change=self.blessing.max_change if max_change is None else max_change,
        )
        return dataclasses.replace(self, blessing=blessing)


def binary(bound: float, max_change: float, metric: str = AUC, positive: str = "") -> Task:
    """A binary classifier: the model outputs the probability of class 1.

    `positive`: the label value that is class 1 (others are 0); empty: labels are 0/1.
    """
    return Task(
        BINARY,
        Blessing(metric, _BLESSABLE[BINARY].get(metric, HIGHER), bound, max_change),
        positive=positive,
    )


def multiclass(
    classes: Sequence[str],
    bound: float,
    max_change: float,
    metric: str = ACCURACY,
    drop_empty_label: bool = False,
) -> Task:
    """A classifier of `classes` (in id order): the model outputs one score per class."""
    return Task(
        MULTICLASS,
        Blessing(metric, _BLESSABLE[MULTICLASS].get(metric, HIGHER), bound, max_change),
        classes=tuple(classes),
        drop_empty_label=drop_empty_label,
    )


def regression(
    bound: float, max_change: float, metric: str = RMSE, drop_empty_label: bool = False
) -> Task:
    """A regression: the model outputs one number; lower errors are better."""
    return Task(
        REGRESSION,
        Blessing(metric, _BLESSABLE[REGRESSION].get(metric, LOWER), bound, max_change),
        drop_empty_label=drop_empty_label,
    )
