"""Writing a new family's files: `modules/<name>/` from templates, `data/<name>/`.

The data is copied into `data/<name>/sample/` (the family's sample and default data)
or, above `COPY_LIMIT_BYTES`, referenced where it is, with its first rows as the
sample. Nothing is written over: an existing family is refused.
"""

import csv
import dataclasses
import os
import shutil
import string
import textwrap
from typing import Dict, List, Tuple

from google.protobuf import text_format

from components import csv_check
from modules.common import tasks
from modules.common.text import TextColumn
from pipeline.scaffold import schema_inference
from pipeline.scaffold import text_parts
from pipeline.scaffold.table import ScaffoldError
from pipeline.scaffold.table import Table
from pipeline.scaffold.task_inference import TaskChoice

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
COPY_LIMIT_BYTES = 20 * 1024 * 1024
SAMPLE_ROWS = 1000
# The Trainer and the Tuner take the family through the shared modules.common.entry.
CODE_FILES = ("contract.py", "preprocessing.py", "model.py")


@dataclasses.dataclass(frozen=True)
class Plan:
    """Everything the templates need, besides the task."""

    name: str
    label: str
    source: str
    train_steps: int
    batch_size: int
    epochs: int
    copied: bool
    # The missing-value tokens found in the data, declared in the contract.
    missing_values: Tuple[str, ...] = ()
    text_columns: Dict[str, TextColumn] = dataclasses.field(default_factory=dict)


def _render(template: str, values: dict) -> str:
    with open(os.path.join(TEMPLATES, template), encoding="utf-8") as template_file:
        return string.Template(template_file.read()).substitute(values)


def _task_expression(choice: TaskChoice) -> str:
    drop = ", drop_empty_label=True" if choice.drop_empty_label else ""
    if choice.kind == tasks.BINARY:
        return (
            f"tasks.binary(bound={choice.bound!r}, max_change={choice.max_change!r}, "
            f"positive={choice.positive!r})"
        )
    if choice.kind == tasks.MULTICLASS:
        return (
            f"tasks.multiclass({choice.classes!r}, bound={choice.bound!r}, "
            f"max_change={choice.max_change!r}{drop})"
        )
    return f"tasks.regression(bound={choice.bound!r}, max_change={choice.max_change!r}{drop})"


_HEADS = {
    "regression": (
        "    # The head predicts the standardized label; the output scales it back.\n"
        "    standardized = contract.TASK.output_layer(\n"
        '        f"{contract.OUTPUT_NAME}_standardized")(hidden)\n'
        "    return tf.keras.layers.Rescaling(contract.LABEL_STD, offset=contract.LABEL_MEAN,\n"
        "                                     name=contract.OUTPUT_NAME)(standardized)"
    ),
    "other": "    return contract.TASK.output_layer(contract.OUTPUT_NAME)(hidden)",
}


def _values(plan: Plan, choice: TaskChoice) -> dict:
    regression = choice.kind == tasks.REGRESSION
    constants = (
        (
            f"# The label's mean and standard deviation in the data `make family` read: "
            f"the model\n# predicts the standardized label.\nLABEL_MEAN = {choice.label_mean!r}\n"
            f"LABEL_STD = {choice.label_std!r}\n"
        )
        if regression
        else ""
    )
    default_data = (
        'os.path.join(DATA_DIR, "sample")'
        if plan.copied
        else repr(
            os.path.abspath(
                plan.source if os.path.isdir(plan.source) else os.path.dirname(plan.source)
            )
        )
    )
    return {
        "name": plan.name,
        "label": repr(plan.label),
        "source": os.path.basename(os.path.normpath(plan.source)),
        "summary": f"a {choice.kind} model of column {plan.label!r}",
        "constants": constants,
        "task": _task_expression(choice),
        "bound_comment": textwrap.fill(
            "Set by `make family` from the data: " + choice.reasons[-1] + ". Edit to your needs.",
            width=88,
            initial_indent="# ",
            subsequent_indent="# ",
        ),
        "steps_reason": f"About {plan.epochs} epochs of the training split at {plan.batch_size} "
        "a batch.",
        "train_steps": plan.train_steps,
        "batch_size": plan.batch_size,
        "epochs": plan.epochs,
        "default_data": default_data,
        "missing_values": repr(tuple(plan.missing_values)),
        "head": _HEADS["regression" if regression else "other"],
        **text_parts.values(plan.text_columns),
    }


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)


def _write_sample(table: Table, path: str) -> None:
    """The header and first `SAMPLE_ROWS` records of the first file (gzip or not; a
    quoted field's line breaks kept), as ExampleGen reads them."""
    with open(path, "w", encoding="utf-8", newline="") as out:
        for number, (_, _, text) in enumerate(csv_check.records(table.files[0])):
            if number > SAMPLE_ROWS:
                break
            out.write(text)


def _copy_without_index(path: str, target: str) -> str:
    """Copies a data file without its first column (a row index), as plain CSV;
    returns the written path."""
    target = target[: -len(".gz")] if target.lower().endswith(".gz") else target
    records = csv_check.records(path)
    with open(target, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        for _, _, text in records:
            row = next(csv.reader([text]), [])
            if row:
                writer.writerow(row[1:])
    return target


def check_free(project_root: str, name: str) -> None:
    """Refuses a name whose family folders exist."""
    for folder in (
        os.path.join(project_root, "modules", name),
        os.path.join(project_root, "data", name),
    ):
        if os.path.exists(folder):
            raise ScaffoldError(
                f"{os.path.relpath(folder, project_root)} exists: `make "
                "family` never writes over a family; choose another NAME."
            )


def write_family(
    project_root: str, plan: Plan, table: Table, choice: TaskChoice, schema
) -> List[str]:
    """Writes `modules/<name>/` and `data/<name>/`; returns the written paths."""
    check_free(project_root, plan.name)
    module_dir = os.path.join(project_root, "modules", plan.name)
    data_dir = os.path.join(project_root, "data", plan.name)
    sample_dir = os.path.join(data_dir, "sample")
    os.makedirs(os.path.join(module_dir, "tests"))
    os.makedirs(sample_dir)
    values = _values(plan, choice)
    written = []
    for name in CODE_FILES + ("tests/test_family.py",):
        path = os.path.join(module_dir, name)
        _write(path, _render(os.path.basename(name) + ".tmpl", values))
        written.append(path)
    for init in (
        os.path.join(module_dir, "__init__.py"),
        os.path.join(module_dir, "tests", "__init__.py"),
    ):
        _write(init, "")
        written.append(init)
    schema_path = os.path.join(data_dir, "schema.pbtxt")
    _write(
        schema_path,
        schema_inference.header_comment(values["source"]) + text_format.MessageToString(schema),
    )
    written.append(schema_path)
    if plan.copied:
        for path in table.files:
            target = os.path.join(sample_dir, os.path.basename(path))
            if table.dropped_index is not None:
                target = _copy_without_index(path, target)
            else:
                shutil.copyfile(path, target)
            written.append(target)
    else:
        sample = os.path.join(sample_dir, "data.csv")
        _write_sample(table, sample)
        written.append(sample)
    return written
