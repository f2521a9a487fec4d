"""Chunks of CSV bytes read into text columns, checked and typed as TFX types them.

pyarrow's CSV reader reads every column as text; the checks of `components.csv_check`
run on whole columns (field length, numbers in the numeric columns, the label rule),
and the types are inferred on the columns with TFX's rule:

- a cell is INT if Python's `int()` takes it and it fits in int64, else FLOAT if
  `float()` takes it, else STRING; a column takes the highest type of its cells in the
  order INT -> FLOAT -> STRING; a column of empty cells only is UNKNOWN. So an integer
  beyond int64 makes its column STRING, `nan` makes it FLOAT, `NA`, `true` and dates
  make it STRING (pyarrow's own inference differs on each, hence the text columns).

A chunk that fails a check, or that pyarrow could read otherwise than Python's `csv`
module, raises `Suspicious`: its file is then scanned again line by line by
`csv_check.check_file`, which names file, line and column.

Imported by the reading workers: pyarrow and numpy only.
"""

import re
from typing import Any, Dict, Iterable, List, Optional, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

# Column types, with tfx_bsl's `csv_decoder.ColumnType` values (their order is TFX's
# INT -> FLOAT -> STRING hierarchy).
UNKNOWN, INT, FLOAT, STRING = -1, 0, 1, 2
TYPE_NAMES = {UNKNOWN: "UNKNOWN", INT: "INT", FLOAT: "FLOAT", STRING: "STRING"}
# Python's csv module refuses longer fields (`csv.field_size_limit()`, its default).
FIELD_LIMIT = 131072
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

# `csv_check`'s plain decimal number, on the stripped cell.
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
# What Python's `str.strip()` removes (the characters `str.isspace` holds), as
# `csv_check` strips a label cell; tests/test_fast_csv_reader.py checks the list.
PYTHON_SPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003"
    "\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# A quote that neither opens a field (after a comma or a line break) nor closes one
# (before a comma, a quote or a line break): Python's csv and pyarrow may differ there.
_ODD_QUOTE = re.compile(rb'(?<![,\n])"(?![,\r\n"])|(?<=[^,\n"])"(?=")')
# Digits beyond int64 may start here: Python's int() takes them (so the cell is STRING).
_LONG_DIGITS = 19
# Cells cast first, before a whole column: most text columns fail there, quickly.
_SAMPLE = 64


class Suspicious(Exception):
    """A chunk pyarrow may not read as Python's csv module does; the file is rescanned."""


def infer_value_type(cell: bytes) -> int:
    """The type of one cell, as tfx_bsl's `csv_decoder._InferValueType` gives it.

    Written out here so that workers need not import tfx_bsl's csv_decoder (and Beam);
    tests/test_fast_csv_reader.py checks the two agree.
    """
    if not cell:
        return UNKNOWN
    try:
        return INT if _INT64_MIN <= int(cell) <= _INT64_MAX else STRING
    except ValueError:
        try:
            float(cell)
        except ValueError:
            return STRING
        return FLOAT


def any_true(mask) -> bool:
    return bool(pc.any(mask).as_py())


def nonempty(column):
    """Per cell: whether it holds a byte."""
    return pc.not_equal(pc.binary_length(column), 0)


def combined(column) -> pa.Array:
    """A table's column as one array."""
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _cells(column) -> pa.Array:
    """The non-empty cells of a text column, as one array."""
    column = combined(column)
    return pc.filter(column, nonempty(column))


def ints(cells: pa.Array) -> Optional[np.ndarray]:
    """The cells as int64 where pyarrow parses each as Python's int() does, else None.

    pyarrow refuses '+5', ' 5', '1_0' and numbers beyond int64 (Python takes them), and
    takes '0x10' (Python does not).
    """
    try:
        pc.cast(cells[:_SAMPLE], pa.int64())  # A failed cast of a column is slow.
        values = pc.cast(cells, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if any_true(pc.match_substring(cells, "x", ignore_case=True)):
        return None
    return values.to_numpy(zero_copy_only=False)


def floats(cells: pa.Array) -> Optional[np.ndarray]:
    """The cells as float32 (via a correctly rounded double, as TFX's float() and
    FloatList), where pyarrow parses each as Python's float() does, else None.

    pyarrow refuses '+.5', ' 5', '1_0' and takes 'nan(1)'; NaN's sign is left to Python.
    """
    if any_true(pc.match_substring_regex(cells, "[nN(]")):
        return None
    try:
        pc.cast(cells[:_SAMPLE], pa.float64())
        values = pc.cast(cells, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return values.to_numpy(zero_copy_only=False).astype(np.float32)


def column_type(column) -> int:
    """The TFX type of a column of text cells (INT -> FLOAT -> STRING; UNKNOWN if empty)."""
    cells = _cells(column)
    if len(cells) == 0:
        return UNKNOWN
    if ints(cells) is not None:
        return INT
    if floats(cells) is not None:
        kind, others = (
            FLOAT,
            pc.filter(cells, pc.greater_equal(pc.binary_length(cells), _LONG_DIGITS)),
        )
    else:
        kind, others = UNKNOWN, cells
    for cell in pc.unique(others).to_pylist():
        kind = max(kind, infer_value_type(cell.encode("utf-8")))
        if kind == STRING:
            break
    return kind


def merge_types(per_chunk: Iterable[Sequence[int]]) -> List[int]:
    """The column types of all chunks together: the highest per column."""
    merged: Optional[List[int]] = None
    for types in per_chunk:
        merged = list(types) if merged is None else [max(a, b) for a, b in zip(merged, types)]
    return merged or []


def check_table(
    table: pa.Table, numeric: Sequence[int], label: Optional[Dict[str, Any]] = None
) -> None:
    """Raises `Suspicious` if a check fails or pyarrow may have read a cell otherwise.

    Args:
      numeric: the indices of the numeric columns (the label's left out).
      label: the label rule as the workers receive it (`label_request`), or None.
    """
    for index, column in enumerate(table.columns):
        name = table.column_names[index]
        if len(column) and (pc.max(pc.binary_length(column)).as_py() or 0) > FIELD_LIMIT - 2:
            raise Suspicious(f"column {name!r}: a field of about {FIELD_LIMIT:,} characters")
        if any_true(pc.match_substring(column, '"')):
            raise Suspicious(f"column {name!r}: a quote inside a value")
        if index in numeric:
            stripped = pc.utf8_trim_whitespace(column)
            bad = pc.and_(
                nonempty(stripped), pc.invert(pc.match_substring_regex(stripped, _NUMBER))
            )
            if any_true(bad):
                raise Suspicious(f"column {name!r}: a cell that is not a plain number")
    if label is not None:
        check_label(table, label)


def label_request(
    header: Sequence[str], column: str, classes: Sequence[str], numeric: bool, drop_empty: bool
) -> Dict[str, Any]:
    """A `csv_check.LabelRule` as the workers receive it (JSON), with its column's index."""
    return {
        "index": list(header).index(column),
        "classes": list(classes),
        "numeric": bool(numeric),
        "drop_empty": bool(drop_empty),
    }


def _label_cells(table: pa.Table, label: Dict[str, Any]) -> pa.Array:
    """The label cells, stripped as `csv_check` strips them (Python's `str.strip()`)."""
    return pc.utf8_trim(combined(table.column(label["index"])), characters=PYTHON_SPACE)


def check_label(table: pa.Table, label: Dict[str, Any]) -> None:
    """Raises `Suspicious` where `csv_check.LabelRule` would stop the run: an empty label
    (unless such rows drop), a class outside the task's, a label that is not a number."""
    cells = _label_cells(table, label)
    present = nonempty(cells)
    name = table.column_names[label["index"]]
    if not label["drop_empty"] and any_true(pc.invert(present)):
        raise Suspicious(f"column {name!r}: an empty label")
    given = pc.filter(cells, present)
    if label["classes"] and any_true(
        pc.invert(pc.is_in(given, value_set=pa.array(label["classes"], pa.string())))
    ):
        raise Suspicious(f"column {name!r}: a label outside the task's classes")
    if label["numeric"] and any_true(pc.invert(pc.match_substring_regex(given, _NUMBER))):
        raise Suspicious(f"column {name!r}: a label that is not a number")


def drop_empty_labels(table: pa.Table, label: Optional[Dict[str, Any]]) -> pa.Table:
    """The table without the rows whose label is empty, where the rule drops them."""
    if label is None or not label["drop_empty"]:
        return table
    return table.filter(nonempty(_label_cells(table, label)))


def read_chunk(data: bytes, header: Sequence[str]) -> pa.Table:
    """Parses CSV bytes (whole records, no header) into a table of text columns.

    Raises:
      Suspicious: pyarrow could not parse it, or could parse it otherwise than Python's
        csv module and TFX's reader (which splits lines at LF only).
    """
    if data.count(b"\r") != data.count(b"\r\n"):
        raise Suspicious("a carriage return not followed by a line feed")
    quoted = b'"' in data
    # The chunk starts a record: a quote at its first byte opens a field.
    if quoted and _ODD_QUOTE.search(b"\n" + data):
        raise Suspicious("a quote that neither opens nor closes a field")
    # Unique stand-in names: pyarrow cannot take two columns of one name.
    names = [f"c{index}" for index in range(len(header))]
    if not data.strip(b"\r\n"):  # Blank lines only, which TFX skips.
        return pa.Table.from_arrays([pa.array([], pa.string())] * len(header), names=list(header))
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(data),
            read_options=pa_csv.ReadOptions(
                column_names=names, use_threads=False, block_size=8 << 20
            ),
            parse_options=pa_csv.ParseOptions(newlines_in_values=quoted),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException) as error:
        raise Suspicious(f"pyarrow: {error}") from None
    return table.rename_columns(list(header))
