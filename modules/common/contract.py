"""What a model family declares so that the pipeline can carry it from CSV to serving.

A family is one folder, `modules/<family>/`: `contract.py` defines `CONTRACT`, a
`FamilyContract`; `preprocessing.py` defines Transform's `preprocessing_fn`;
`model.py` defines `build_from_transform(tf_transform_output, hparams)`, which the
shared Trainer and Tuner entry points (`modules.common.entry`) use. Its curated schema
is `data/<family>/schema.pbtxt` and its test sample `data/<family>/sample/`.

The pipeline's components never import a family: they get these facts as parameters.
"""

import dataclasses
from typing import Mapping, Tuple, Union

from modules.common.tasks import Task

# Settings of the training itself, shared by every family; a family's
# `default_hparams` and a run's `custom_config["hparams"]` override them.
TRAINING_DEFAULTS = {
    "train_batch_size": 128,
    "eval_batch_size": 512,
    # Training examples are drawn from a buffer of this many: data that comes sorted
    # (the reviews CSV holds its labels in four blocks) needs a buffer that spans the
    # blocks, or batches come one label at a time. 10,000 (tf.data's default for this
    # reader) left the reviews model at an eval AUC of 0.80 to 0.86.
    "shuffle_buffer_size": 50_000,
    # A checkpoint every 10 s bounds the work a crash loses; by steps (one every 100)
    # they cost a fifth of the taxi training throughput (`make bench`). Setting
    # `save_checkpoints_steps` instead checkpoints by steps.
    "save_checkpoints_secs": 10,
    "save_checkpoints_steps": None,
    # The loss goes to TensorBoard every this many steps (SummarySaverHook).
    "save_summary_steps": 100,
    # None: no step-counter and loss-logging hooks. Each runs in every step, whatever
    # its frequency; the loss is in the summaries and `make bench` measures the rate.
    "log_step_count_steps": None,
    # Evaluate during training at most this often; the last step is always evaluated.
    # The Estimator's throttle lets the first checkpoint after step 0 (about 10 s in)
    # through too: one evaluation during any training longer than that.
    "eval_throttle_secs": 600,
}

# Search algorithms of the Tuner (keras-tuner oracles): random search, or Bayesian
# optimization with a Gaussian process over the trials so far.
TUNING_ALGORITHMS = ("random", "bayesian")


@dataclasses.dataclass(frozen=True)
class Choice:
    """A hyperparameter tuned over a few values (int, float, str or bool)."""

    values: Tuple[Union[int, float, str, bool], ...]

    def contains(self, value) -> bool:
        return value in self.values

    def describe(self) -> str:
        return f"one of {list(self.values)}"


@dataclasses.dataclass(frozen=True)
class IntRange:
    """An integer hyperparameter tuned within [low, high], by `step`."""

    low: int
    high: int
    step: int = 1

    def contains(self, value) -> bool:
        return (
            isinstance(value, int)
            and self.low <= value <= self.high
            and (value - self.low) % self.step == 0
        )

    def describe(self) -> str:
        return f"an integer in [{self.low}, {self.high}] by {self.step}"


@dataclasses.dataclass(frozen=True)
class FloatRange:
    """A float hyperparameter tuned within [low, high]; `log` samples on a log scale."""

    low: float
    high: float
    log: bool = False

    def contains(self, value) -> bool:
        return isinstance(value, (int, float)) and self.low <= value <= self.high

    def describe(self) -> str:
        return f"a number in [{self.low:g}, {self.high:g}]" + (" (log scale)" if self.log else "")


Dimension = Union[Choice, IntRange, FloatRange]


def _dimension_problems(name: str, dimension: Dimension, default) -> list:
    """What is wrong with one search dimension and the default it must contain."""
    problems = []
    if isinstance(dimension, Choice):
        if not dimension.values:
            problems.append(f"search_space[{name!r}] has no values")
        elif not all(isinstance(v, (bool, int, float, str)) for v in dimension.values):
            problems.append(f"search_space[{name!r}] values must be int, float, str or bool")
    elif isinstance(dimension, (IntRange, FloatRange)):
        if not dimension.low < dimension.high:
            problems.append(f"search_space[{name!r}] needs low < high")
        if isinstance(dimension, FloatRange) and dimension.log and dimension.low <= 0:
            problems.append(f"search_space[{name!r}] on a log scale needs low > 0")
        if isinstance(dimension, IntRange) and dimension.step < 1:
            problems.append(f"search_space[{name!r}] needs a step of 1 or more")
    else:
        return [
            f"search_space[{name!r}] is a {type(dimension).__name__}, not a Choice, "
            "IntRange or FloatRange"
        ]
    if not problems and not dimension.contains(default):
        problems.append(
            f"the default {name}={default!r} is not {dimension.describe()} "
            "(search_space must contain the defaults, the first trial)"
        )
    return problems


def _missing_value_problems(contract) -> list:
    """What is wrong with a contract's missing-value tokens."""
    problems = []
    unknown = sorted(set(contract.missing_values_by_column) - set(contract.raw_columns))
    if unknown:
        problems.append(f"missing_values_by_column names {unknown}, which raw_columns lacks")
    for key, tokens in [("missing_values", contract.missing_values)] + [
        (f"missing_values_by_column[{c!r}]", t)
        for c, t in contract.missing_values_by_column.items()
    ]:
        if isinstance(tokens, str) or not all(isinstance(t, str) and t.strip() for t in tokens):
            problems.append(f"{key} must be a tuple of non-empty strings, got {tokens!r}")
    return problems


@dataclasses.dataclass(frozen=True)
class FamilyContract:
    """The names and settings that cross component boundaries for one model family.

    Attributes:
      name: the family's folder name under `modules/` and `data/`.
      pipeline_name: its pipeline's name in ML Metadata and on Kubeflow
        (`[a-z0-9][a-z0-9-]*`); each family has its own runs, cache and baseline.
      raw_columns: every raw CSV column the pipeline reads; a CSV header must have
        each, and the curated schema must describe exactly these.
      numeric_columns: raw columns whose non-empty cells must be numbers.
      label_source_columns: raw columns the label is computed from; serving requests
        do not carry them.
      label_key: the transformed label's key.
      task: what the model predicts (`modules.common.tasks`: binary, multiclass or
        regression) and what blesses it; its metrics, head and tuning objective.
      model_input_keys: the transformed keys the Keras model reads, one
        `tf.keras.Input` each; Transform must produce each of them.
      slice_columns: raw columns the Evaluator slices on, besides the overall slice.
      prediction_key: the Keras model's output name (binary: the probability of
        class 1; multi-class: the scores of the classes; regression: the value).
      exporter_name: the name of the serving export and of the training's eval.
      train_steps: training steps of a run, by default.
      train_epochs: the training's length in epochs of the training split instead;
        the local runner, which counts the data's rows, turns it into steps
        (`pipeline.local.sizing.steps_for_epochs`); elsewhere `train_steps` holds.
        0: steps.
      default_hparams: the model's and the training's hyperparameters.
      search_space: hyperparameter name -> the `Choice`, `IntRange` or `FloatRange`
        the Tuner searches; each names a hyperparameter with a default (in
        `default_hparams` or `TRAINING_DEFAULTS`) that lies within it. Empty: the
        family cannot be tuned.
      default_data: the folder of CSV files a run reads by default.
      missing_values: cells that mean a missing value in every column (`NA`, `N/A`,
        `null`, `?`), read as empty cells wherever raw CSV is read (ExampleGen, the
        CSV checks, the serving client); TFX reads only an empty cell as missing.
      missing_values_by_column: column -> its own such cells, instead of
        `missing_values` (`()`: none there, where `NA` is a real category).
      text_columns: the raw columns that are free text, read as words
        (`modules.common.text`): column -> `TextColumn`, or a sequence of names.
        Any other string column is a category. `make family` fills it by its rule;
        a family overrides the rule by editing it.
    """

    name: str
    pipeline_name: str
    raw_columns: Tuple[str, ...]
    numeric_columns: Tuple[str, ...]
    label_source_columns: Tuple[str, ...]
    label_key: str
    task: Task
    model_input_keys: Tuple[str, ...]
    slice_columns: Tuple[str, ...]
    prediction_key: str
    exporter_name: str
    train_steps: int
    default_hparams: Mapping[str, object]
    default_data: str
    search_space: Mapping[str, Dimension] = dataclasses.field(default_factory=dict)
    train_epochs: float = 0
    missing_values: Tuple[str, ...] = ()
    missing_values_by_column: Mapping[str, Tuple[str, ...]] = dataclasses.field(
        default_factory=dict
    )
    text_columns: Union[Mapping[str, object], Tuple[str, ...]] = ()

    def __post_init__(self):
        problems = []
        text = set(self.text_columns)
        if text - set(self.raw_columns):
            problems.append(
                f"text_columns names {sorted(text - set(self.raw_columns))}, "
                "which raw_columns lacks"
            )
        not_text = text & set(self.numeric_columns + self.label_source_columns)
        if not_text:
            problems.append(f"text_columns names {sorted(not_text)}: numbers or the label")
        for key in ("numeric_columns", "label_source_columns", "slice_columns"):
            unknown = sorted(set(getattr(self, key)) - set(self.raw_columns))
            if unknown:
                problems.append(f"{key} names {unknown}, which raw_columns lacks")
        if self.label_key in self.model_input_keys:
            problems.append(f"label_key {self.label_key!r} is also a model input")
        if not self.model_input_keys:
            problems.append("model_input_keys is empty")
        if not isinstance(self.task, Task):
            problems.append(
                "task must be a modules.common.tasks.Task (tasks.binary, "
                "tasks.multiclass or tasks.regression)"
            )
        elif self.task.kind != "binary" and len(self.label_source_columns) != 1:
            problems.append(
                f"a {self.task.kind} label is one raw column: "
                f"label_source_columns names {list(self.label_source_columns)}"
            )
        if self.train_steps <= 0:
            problems.append(f"train_steps must be positive, got {self.train_steps}")
        if self.train_epochs < 0:
            problems.append(f"train_epochs must be 0 (steps) or positive, got {self.train_epochs}")
        problems.extend(_missing_value_problems(self))
        defaults = self.hparam_defaults
        for name, dimension in self.search_space.items():
            if name not in defaults:
                problems.append(
                    f"search_space names {name!r}, which has no default in default_hparams"
                )
                continue
            problems.extend(_dimension_problems(name, dimension, defaults[name]))
        if problems:
            raise ValueError(f"Family {self.name!r}: " + "; ".join(problems) + ".")

    @property
    def hparam_defaults(self) -> dict:
        """Every hyperparameter with its default: the training's, then the family's."""
        return {**TRAINING_DEFAULTS, **self.default_hparams}

    @property
    def label_column(self) -> str:
        """The raw column holding the label as it is ("" when it is computed from several)."""
        return self.label_source_columns[0] if len(self.label_source_columns) == 1 else ""
