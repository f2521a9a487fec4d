"""`make family NAME=<name> DATA=<csv file or folder> LABEL=<column> [TASK=...]`.

Reads the CSV (`table`), infers the task from the label (`task_inference`) and the
schema from the data (`schema_inference`), writes `modules/<name>/` and `data/<name>/`
(`writer`), checks the new family as a run would (`pipeline.definition.families`),
and prints what it inferred and what to edit next. A CSV it cannot use, an existing
family or a bad name stop it with one message and exit code 2, before anything is
written.
"""

import argparse
import keyword
import os
import re
import shutil
import sys
from typing import List, Optional, Sequence

from modules.common import tasks
from modules.common.paths import PROJECT_ROOT
from pipeline.scaffold import schema_inference
from pipeline.scaffold import table as table_lib
from pipeline.scaffold import task_inference
from pipeline.scaffold import text_inference
from pipeline.scaffold import text_parts
from pipeline.scaffold import writer
from pipeline.scaffold.table import ScaffoldError

EPOCHS = 30
_NAME = re.compile(r"[a-z][a-z0-9_]*")


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name) or keyword.iskeyword(name) or name == "common":
        raise ScaffoldError(
            f"NAME={name!r}: a family's name is lower-case letters, digits "
            "and '_', starting with a letter (not 'common')."
        )


def _plan(name: str, data: str, label: str, table, text_columns) -> writer.Plan:
    copied = table.size_bytes <= writer.COPY_LIMIT_BYTES
    if not copied and table.dropped_index is not None:
        raise ScaffoldError(
            f"{data}: its first column is a row index, which the pipeline would read as "
            "data, and it is too large to copy without it: write it without one (R: "
            "write.csv(..., row.names = FALSE); pandas: to_csv(..., index=False))."
        )
    if (
        not copied
        and not os.path.isdir(data)
        and len(table_lib.data_paths(os.path.dirname(os.path.abspath(data)))) > 1
    ):
        raise ScaffoldError(
            f"{data} is too large to copy and its folder holds other CSV "
            "files: move it into a folder of its own, and give DATA=<folder>."
        )
    batch_size = 32 if table.rows < 10_000 else 128
    epochs = text_parts.epochs(table.rows, EPOCHS) if text_columns else EPOCHS
    steps = task_inference.train_steps(table.rows, batch_size, epochs)
    return writer.Plan(
        name=name,
        label=label,
        source=data,
        train_steps=steps,
        batch_size=batch_size,
        epochs=epochs,
        copied=copied,
        missing_values=table.missing_tokens,
        text_columns=text_columns,
    )


def _check_columns(table, label: str) -> None:
    empty = [c.name for c in table.columns.values() if c.name != label and not c.values]
    if empty:
        raise ScaffoldError(
            f"{table.files[0]}: the columns {empty} are empty in every row; remove them."
        )
    if len(table.columns) < 2:
        raise ScaffoldError(
            f"{table.files[0]}: the label is the only column; a model needs "
            "at least one other column to read."
        )


def _check_written(name: str, project_root: str) -> None:
    """Loads the new family as a run does; removes it again if the loader refuses it."""
    from pipeline.definition import families

    folders = {
        "modules_dir": os.path.join(project_root, "modules"),
        "data_dir": os.path.join(project_root, "data"),
    }
    try:
        families.load(name, **folders)
    except families.FamilyError as error:
        for folder in folders.values():
            shutil.rmtree(os.path.join(folder, name), ignore_errors=True)
        raise ScaffoldError(
            f"the written family does not load (a bug of `make family`; "
            f"nothing is left written): {error}"
        ) from None


def make_family(
    name: str,
    data: str,
    label: str,
    task: Optional[str] = None,
    project_root: str = PROJECT_ROOT,
    text: Sequence[str] = (),
    category: Sequence[str] = (),
) -> List[str]:
    """Writes the family; returns the lines to print. Raises ScaffoldError.

    `text` and `category` name string columns that are free text or a category
    whatever `text_inference`'s rule says.
    """
    _check_name(name)
    writer.check_free(project_root, name)
    table = table_lib.read(data)
    choice = task_inference.infer(table, label, task)
    _check_columns(table, label)
    text_choice = text_inference.infer(table, label, text, category)
    stats = schema_inference.statistics(table)
    schema = schema_inference.infer(table, label, stats)
    text_inference.drop_domains(schema, text_choice.columns)
    blocking = schema_inference.gate_anomalies(schema, stats)
    if blocking:
        raise ScaffoldError(
            "the inferred schema does not pass the data gate on the same "
            "data (a bug of `make family`): " + "; ".join(blocking)
        )
    plan = _plan(name, data, label, table, text_choice.columns)
    written = writer.write_family(project_root, plan, table, choice, schema)
    _check_written(name, project_root)
    return _report(plan, table, choice, written, project_root, text_choice)


def _report(plan, table, choice, written, project_root, text_choice) -> List[str]:
    relative = sorted(os.path.relpath(p, project_root) for p in written)
    where = (
        f"copied into data/{plan.name}/sample/"
        if plan.copied
        else (f"read where it is ({os.path.abspath(plan.source)}); its first rows are the sample")
    )
    lines = [
        f"Family {plan.name!r}: {table.rows} rows, {len(table.columns)} columns "
        f"from {plan.source}; the data is {where}.",
        f"Task: {choice.kind}.",
    ] + [f"  - {r}" for r in choice.reasons]
    notes = task_inference.column_kind_note(table, plan.label, tuple(text_choice.columns))
    lines += [f"  - {n}" for n in notes]
    if text_choice.reasons:
        lines.append(
            f"Free text or category (text: {text_inference.MIN_DISTINCT_SHARE:.0%} of the "
            f"values distinct or more, and {text_inference.MIN_MEDIAN_WORDS} words a value "
            "or more at the median; TEXT= and CATEGORY= override it):"
        )
        lines += [f"  - {r}" for r in text_choice.reasons]
    if table.dropped_index is not None:
        lines.append(
            f"Left out: the first column (header {table.dropped_index!r}), a row index "
            "of 1..n or 0..n-1, as R and pandas write one; the copied data has none."
        )
    if table.missing_found:
        found = "; ".join(f"{c}: {', '.join(t)}" for c, t in table.missing_found.items())
        lines.append(
            f"Missing values: read as empty cells, declared in the contract "
            f"(missing_values={table.missing_tokens!r}); found in {found}."
        )
    lines.append(
        f"Training: {plan.train_steps} steps of {plan.batch_size} (about {plan.epochs} "
        f"epoch{'' if plan.epochs == 1 else 's'})."
    )
    lines += ["Written:"] + [f"  {p}" for p in relative]
    lines += [
        "Next:",
        f"  make run MODEL={plan.name}      # trains, evaluates, blesses and pushes",
        f"  edit modules/{plan.name}/contract.py: the blessing bound and change "
        "(TASK), train_steps, hyperparameters",
        f"  edit modules/{plan.name}/model.py to replace the baseline with your model "
        "(keep the Input names)",
        f"  .venv/bin/python -m pytest modules/{plan.name}   # the family's tests",
    ]
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="make family", description=__doc__.split("\n")[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--label", required=True)
    parser.add_argument("--task", default=None, choices=tasks.KINDS)
    parser.add_argument("--text", default="", help="columns that are free text, a,b")
    parser.add_argument("--category", default="", help="columns that are categories, a,b")
    args = parser.parse_args(argv)
    try:
        lines = make_family(
            args.name,
            args.data,
            args.label,
            args.task or None,
            text=[c.strip() for c in args.text.split(",") if c.strip()],
            category=[c.strip() for c in args.category.split(",") if c.strip()],
        )
    except ScaffoldError as error:
        print(f"make family: {error}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
