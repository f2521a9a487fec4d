"""What `make family` infers from the label column: the task, its classes, its bounds.

Two distinct values: binary (the positive class is `1`, `true` or `yes`, else the less
frequent value). Up to `MAX_CLASSES` distinct strings or integers: multi-class. Any
other numeric label: regression. The blessing bounds are set where a reasonable
baseline model clears them on held-out data and a useless one does not: AUC 0.6; the
majority class's share of accuracy; the RMSE of predicting the mean (the label's
standard deviation).
"""

import collections
import dataclasses
import math
from typing import Optional, Tuple

from modules.common import tasks
from pipeline.scaffold.table import FLOAT
from pipeline.scaffold.table import STRING
from pipeline.scaffold.table import ScaffoldError
from pipeline.scaffold.table import Table

MAX_CLASSES = 20
POSITIVE_WORDS = ("1", "true", "yes")
BINARY_AUC_BOUND = 0.6


@dataclasses.dataclass(frozen=True)
class TaskChoice:
    """The task of a new family, and why.

    Attributes:
      kind: binary, multiclass or regression (`modules.common.tasks`).
      bound, max_change: the blessing's bound and allowed change.
      classes: multi-class: the class names, as the CSV writes them.
      positive: binary: the label value that is class 1.
      label_mean, label_std: regression: the label's mean and standard deviation.
      drop_empty_label: rows with an empty label are left out.
      reasons: what was inferred, in sentences, to print.
    """

    kind: str
    bound: float
    max_change: float
    classes: Tuple[str, ...] = ()
    positive: str = ""
    label_mean: float = 0.0
    label_std: float = 1.0
    drop_empty_label: bool = False
    reasons: Tuple[str, ...] = ()


def _is_integral(value: str) -> bool:
    return float(value) == int(float(value))


def _class_order(values, kind: str) -> list:
    if kind == STRING:
        return sorted(values)
    return sorted(values, key=float)


def _binary(counts: collections.Counter) -> Tuple[str, str]:
    """(the positive value, why)."""
    for value in counts:
        if value.lower() in POSITIVE_WORDS or (
            value.lower() not in ("nan",) and _is_number(value) and float(value) == 1.0
        ):
            return value, f"the label's values are {sorted(counts)}: {value!r} is class 1"
    positive = min(sorted(counts), key=lambda v: counts[v])
    return positive, (
        f"the label's values are {sorted(counts)}: the less frequent, "
        f"{positive!r} ({counts[positive]} of {sum(counts.values())}), is class 1"
    )


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _round_up(value: float, digits: int = 3) -> float:
    """`value` rounded up to `digits` significant digits."""
    if value <= 0:
        return 0.0
    scale = 10 ** (digits - 1 - math.floor(math.log10(value)))
    return math.ceil(value * scale) / scale


def _kind(table: Table, label: str, counts, requested: Optional[str]) -> str:
    column = table.columns[label]
    if requested:
        if requested not in tasks.KINDS:
            raise ScaffoldError(f"TASK={requested!r} is not one of {', '.join(tasks.KINDS)}.")
        return requested
    if len(counts) == 2:
        return tasks.BINARY
    integral = column.kind != STRING and all(_is_integral(v) for v in counts)
    if len(counts) <= MAX_CLASSES and (column.kind == STRING or integral):
        return tasks.MULTICLASS
    if column.kind != STRING:
        return tasks.REGRESSION
    raise ScaffoldError(
        f"column {label!r}: a text label with {len(counts)} distinct values, more than "
        f"{MAX_CLASSES}: set TASK=multiclass to make each a class, or choose another label."
    )


def _check(table: Table, label: str, kind: str, counts) -> None:
    column = table.columns[label]
    if kind == tasks.BINARY and len(counts) != 2:
        raise ScaffoldError(
            f"column {label!r}: TASK=binary needs two distinct labels; it has {len(counts)}."
        )
    if kind == tasks.MULTICLASS and len(counts) < 3:
        raise ScaffoldError(
            f"column {label!r}: a multi-class task needs 3 classes or "
            f"more; it has {len(counts)} (2: TASK=binary)."
        )
    if kind == tasks.REGRESSION and column.kind == STRING:
        raise ScaffoldError(
            f"column {label!r}: TASK=regression needs a numeric label; "
            f"{column.values[0]!r} is not a number."
        )


def infer(table: Table, label: str, requested: Optional[str] = None) -> TaskChoice:
    """Infers the task of predicting column `label` of `table`; `requested` overrides it.

    Raises:
      ScaffoldError: the label column is missing, empty, or has a single value; a
        requested task it cannot be.
    """
    if label not in table.columns:
        raise ScaffoldError(
            f"{table.files[0]}: there is no column {label!r} for the label; "
            f"the columns are {list(table.columns)}."
        )
    column = table.columns[label]
    counts = collections.Counter(column.values)
    if not counts:
        raise ScaffoldError(
            f"{table.files[0]}: column {label!r}, the label, is empty in every row."
        )
    if len(counts) < 2:
        raise ScaffoldError(
            f"{table.files[0]}: column {label!r}, the label, holds one "
            f"value only ({next(iter(counts))!r}): nothing to predict."
        )
    kind = _kind(table, label, counts, requested)
    _check(table, label, kind, counts)
    empty = column.empty_cells
    if empty and kind == tasks.BINARY:
        line = column.cells.index("") + 2
        raise ScaffoldError(
            f"{table.files[0]}: column {label!r}, the label, is empty in "
            f"{empty} row(s) (the first near line {line}); fill or remove them."
        )
    reasons = [
        f"{len(counts)} distinct labels in {len(column.values)} rows: {kind}"
        + (" (TASK)" if requested else "")
    ]
    if empty:
        reasons.append(f"{empty} rows with an empty label are left out")
    if kind == tasks.BINARY:
        return _binary_choice(counts, reasons)
    if kind == tasks.MULTICLASS:
        return _multiclass_choice(counts, column.kind, bool(empty), reasons)
    return _regression_choice(column, label, bool(empty), reasons)


def _binary_choice(counts, reasons) -> TaskChoice:
    positive, why = _binary(counts)
    return TaskChoice(
        tasks.BINARY,
        BINARY_AUC_BOUND,
        0.02,
        positive=positive,
        reasons=tuple(reasons + [why, f"blessed on AUC >= {BINARY_AUC_BOUND}"]),
    )


def _multiclass_choice(counts, kind: str, drop_empty: bool, reasons) -> TaskChoice:
    classes = tuple(_class_order(counts, kind))
    majority, count = counts.most_common(1)[0]
    share = count / sum(counts.values())
    bound = min(0.99, math.ceil((share + 0.01) * 100) / 100)
    reasons = reasons + [
        f"classes {list(classes)}",
        f"the majority class {majority!r} is {share:.1%} of the rows: "
        f"blessed on accuracy >= {bound:g}",
    ]
    return TaskChoice(
        tasks.MULTICLASS,
        bound,
        0.03,
        classes=classes,
        drop_empty_label=drop_empty,
        reasons=tuple(reasons),
    )


def _regression_choice(column, label: str, drop_empty: bool, reasons) -> TaskChoice:
    values = [float(v) for v in column.values]
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    if std == 0:
        raise ScaffoldError(f"column {label!r}: every label is {values[0]:g}.")
    bound = _round_up(std)
    reasons = reasons + [
        f"the label's mean is {mean:.4g} and its standard deviation "
        f"{std:.4g} (the RMSE of always predicting the mean): blessed on "
        f"RMSE <= {bound:g}"
    ]
    return TaskChoice(
        tasks.REGRESSION,
        bound,
        _round_up(0.05 * std),
        label_mean=mean,
        label_std=std,
        drop_empty_label=drop_empty,
        reasons=tuple(reasons),
    )


def train_steps(rows: int, batch_size: int, epochs: int) -> int:
    """Training steps for `epochs` passes over the training split (2/3 of `rows`)."""
    return max(100, math.ceil(rows * 2 / 3 / batch_size) * epochs)


def column_kind_note(table: Table, label: str, text=()) -> Tuple[str, ...]:
    """Sentences on how the baseline reads the feature columns (`text`: free-text
    columns, not among the strings)."""
    numbers = [c.name for c in table.columns.values() if c.name != label and c.kind != STRING]
    strings = [
        c.name for c in table.columns.values() if c.name not in (label, *text) and c.kind == STRING
    ]
    notes = []
    if numbers:
        notes.append(f"numbers, z-scored (empty cells: the mean): {numbers}")
    if strings:
        notes.append(f"strings, a vocabulary and an Embedding each: {strings}")
    floats_as_ints = [
        c.name
        for c in table.columns.values()
        if c.kind == FLOAT and all(_is_integral(v) for v in c.values)
    ]
    if floats_as_ints:
        notes.append(f"integer-looking decimals (read as FLOAT): {floats_as_ints}")
    return tuple(notes)
