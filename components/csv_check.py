"""Checks raw CSV files before ExampleGen reads them, naming file, line and column.

ExampleGen infers column types from the data and fails, or silently changes a type,
on malformed files; these checks stop a run first, with a message a person can act on.

Files are read as ExampleGen's CSV reader reads them (`records`): physical lines split
at LF, a row running on over several lines while a quoted field is open, each row parsed
by Python's `csv` module. Line numbers are physical lines, counted from 1 (the header).
"""

import csv
import dataclasses
import os
import re
import zlib
from typing import BinaryIO, Iterable, Iterator, List, Optional, Sequence, Tuple

from components import data_files
from components import missing_values as missing_lib

# Python's csv module refuses longer fields, in these checks and in ExampleGen alike.
FIELD_LIMIT = csv.field_size_limit()
# An open quoted field longer than this cannot be part of a valid row of a few dozen
# columns: a closing quote is missing. Bounds what is held in memory.
MAX_OPEN_QUOTE_CHARS = 64 * FIELD_LIMIT
_BOM = "\ufeff"
_GZIP_MAGIC = b"\x1f\x8b"
# A plain decimal number. Python's float() and int(), which TFX's type inference uses,
# also take 'nan', 'inf' and '1_000', which would reach the statistics and the model as
# NaN, infinity and 1000.
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


class CsvFormatError(ValueError):
    """A CSV file the pipeline cannot use; the message names the file and the problem."""


@dataclasses.dataclass(frozen=True)
class LabelRule:
    """What a label cell must hold, so that Transform never meets a label it cannot map.

    Attributes:
      column: the raw column of the label.
      classes: a classifier's class names: every label must be one of them.
      numeric: a regression's label: every label must be a number.
      drop_empty: rows whose label cell is empty are left out of the data (and
        counted); otherwise such a row stops the run.
    """

    column: str
    classes: Tuple[str, ...] = ()
    numeric: bool = False
    drop_empty: bool = False

    def problem(self, cell: str) -> str:
        """What is wrong with one label cell (stripped), or ''; an empty cell is not judged."""
        if self.classes and cell not in self.classes:
            return (
                f"the label {cell!r} is not one of the classes "
                f"{', '.join(map(repr, self.classes))} of the family's task; fix the "
                "cell, or add the class to the task's classes in its contract.py."
            )
        if self.numeric and not _is_plain_number(cell):
            return f"the label {number_problem(cell)} A regression's label must be a number."
        return ""

    def is_dropped(self, row: Sequence[str], index: int) -> bool:
        """Whether ExampleGen leaves `row` out: its label is empty and such rows drop."""
        return self.drop_empty and index < len(row) and not row[index].strip()


_CR_ONLY = (
    "lines end with a carriage return (CR) only (old Mac line endings), which "
    "ExampleGen does not split; save the file with LF or CRLF line endings."
)

_CR_IN_LINE = (
    "a carriage return (CR) outside quotes inside the line, which the CSV "
    "parser takes for the end of a row (old Mac line endings mixed in); save "
    "the file with LF or CRLF line endings."
)


def _split_lines(data: BinaryIO, path: str) -> Iterator[bytes]:
    """Yields the stream's lines, each with its LF, split at LF only as Beam splits them.

    TensorFlow's file objects drop CR bytes when iterated by line, hence the blocks.
    """
    pending, size = [], 0
    while block := data.read(1 << 20):
        start = 0
        while (end := block.find(b"\n", start)) != -1:
            pending.append(block[start : end + 1])
            yield b"".join(pending)
            pending, size, start = [], 0, end + 1
        pending.append(block[start:])
        size += len(block) - start
        if size > MAX_OPEN_QUOTE_CHARS:
            problem = (
                _CR_ONLY
                if b"\r" in b"".join(pending)
                else (f"a line is longer than {MAX_OPEN_QUOTE_CHARS:,} bytes.")
            )
            raise CsvFormatError(f"{path}: {problem}")
    if any(pending):
        yield b"".join(pending)


def _physical_lines(path: str) -> Iterator[Tuple[int, str]]:
    """Yields (line number, text) for each line, split at LF as ExampleGen splits them.

    A UTF-8 byte-order mark before the header is dropped: ExampleGen reads the header
    through `read_header`, which drops it too.
    """
    try:
        with data_files.open_binary(path) as data:
            for number, raw in enumerate(_split_lines(data, path), start=1):
                if number == 1 and raw.startswith(_GZIP_MAGIC):
                    raise CsvFormatError(f"{path}: the file is gzip-compressed; name it *.csv.gz.")
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise CsvFormatError(
                        f"{path}: line {number}: byte 0x{raw[error.start]:02x} is not "
                        "UTF-8; save the file as UTF-8."
                    ) from None
                yield number, (text[1:] if number == 1 and text.startswith(_BOM) else text)
    except (OSError, EOFError, zlib.error) as error:
        # Mostly gzip's own errors: not a gzip file, or one cut short.
        what = " as gzip" if data_files.is_gzip(path) else ""
        raise CsvFormatError(f"{path}: cannot be read{what}: {error}.") from None


def records(path: str) -> Iterator[Tuple[int, int, str]]:
    """Yields (first line, last line, text) of each CSV record, the header first.

    Lines are joined while a quoted field is open, as ExampleGen's reader does, so a
    quoted field may hold line breaks.

    Raises:
      CsvFormatError: a byte is not UTF-8, or a quote is never closed.
    """
    parts, first, quotes, chars = [], 0, 0, 0
    for number, text in _physical_lines(path):
        if not parts:
            first = number
        parts.append(text)
        quotes += text.count('"')
        chars += len(text)
        if quotes % 2 == 0:
            yield first, number, "".join(parts)
            parts, quotes, chars = [], 0, 0
        elif chars > MAX_OPEN_QUOTE_CHARS:
            raise CsvFormatError(
                f"{path}: line {first}: a quoted field opened on this line is still open "
                f"at line {number}, {chars:,} characters later; a closing quote is missing."
            )
    if parts:
        raise CsvFormatError(
            f"{path}: line {first}: a quoted field opened on this line is never closed "
            "(the file ends inside it); a closing quote is missing."
        )


def _has_unquoted_cr(text: str) -> bool:
    """Whether `text` holds a CR outside quotes other than in its final line break."""
    quoted = False
    for char in text.rstrip("\r\n"):
        if char == '"':
            quoted = not quoted
        elif char == "\r" and not quoted:
            return True
    return False


def _oversized_field_index(text: str) -> int:
    """Returns the 0-based index of the first field of `text` longer than FIELD_LIMIT."""
    index, length, quoted = 0, 0, False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            index, length = index + 1, 0
        else:
            length += 1
            if length > FIELD_LIMIT:
                break
    return index


def _parse(path: str, record: Tuple[int, int, str], header: Sequence[str] = ()) -> List[str]:
    """Parses one record into fields; csv errors become a `CsvFormatError`."""
    first, _, text = record
    try:
        return next(csv.reader([text]), [])
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            index = _oversized_field_index(text)
            column = repr(header[index]) if index < len(header) else f"number {index + 1}"
            raise CsvFormatError(
                f"{path}: line {first}, column {column}: the field is longer than "
                f"{FIELD_LIMIT:,} characters, more than ExampleGen's CSV reader accepts."
            ) from None
        if "new-line character seen in unquoted field" in str(error):
            raise CsvFormatError(f"{path}: line {first}: {_CR_IN_LINE}") from None
        raise CsvFormatError(f"{path}: line {first}: {error}.") from None


def read_header(path: str) -> List[str]:
    """Returns the column names of a data file, without a byte-order mark.

    Raises:
      CsvFormatError: the file is empty, or its first line is not a header.
    """
    header_record = next(records(path), None)
    if header_record is None:
        raise CsvFormatError(f"{path}: the file is empty; expected a header row.")
    text = header_record[2]
    if "\r" in text.rstrip("\r\n"):
        raise CsvFormatError(f"{path}: {_CR_ONLY}")
    header = _parse(path, header_record)
    if not any(header):
        raise CsvFormatError(f"{path}: line 1 is empty; expected a header row.")
    return header


def _is_plain_number(cell: str) -> bool:
    """A fast `_NUMBER.fullmatch`: float() takes it, and it is none of float()'s extras."""
    try:
        float(cell)
    except ValueError:
        return False
    # What float() takes beyond `_NUMBER`: nan, inf(inity) (all hold an 'n'), '_', and
    # non-ASCII digits.
    return cell.isascii() and "_" not in cell and "n" not in cell and "N" not in cell


def number_problem(cell: str) -> str:
    """Returns what is wrong with `cell` as a number for ExampleGen, or ''."""
    if _NUMBER.fullmatch(cell):
        return ""
    word = cell.lower().lstrip("+-")
    if word == "nan":
        return f"{cell!r} is not a number; leave the cell empty for a missing value."
    if word in ("inf", "infinity"):
        return (
            f"{cell!r} is not a finite number; write a finite value, or leave the cell "
            "empty for a missing value."
        )
    if "_" in cell and _NUMBER.fullmatch(cell.replace("_", "")):
        return f"{cell!r} is not a number; write it without '_' ({cell.replace('_', '')})."
    return f"{cell!r} is not a number."


def _check_label(path: str, line: int, row: List[str], index: int, label: LabelRule) -> bool:
    """Raises a `CsvFormatError` for a label the task cannot use; True: the row drops."""
    cell = row[index].strip()
    if not cell:
        if label.drop_empty:
            return True
        raise CsvFormatError(
            f"{path}: line {line}, column {label.column!r}: the label is empty; fill it, "
            "or have the family drop such rows (drop_empty_label=True in its task)."
        )
    problem = label.problem(cell)
    if problem:
        raise CsvFormatError(f"{path}: line {line}, column {label.column!r}: {problem}")
    return False


def _check_row(
    path: str,
    record: Tuple[int, int, str],
    row: List[str],
    header: Sequence[str],
    numeric: Sequence[Tuple[int, str]],
) -> None:
    """Raises a `CsvFormatError` for a wrong field count or a bad number in `row`."""
    first, last, text = record
    if len(row) != len(header) and _has_unquoted_cr(text):
        raise CsvFormatError(f"{path}: line {first}: {_CR_IN_LINE}")
    if len(row) != len(header):
        runs_on = f" (a row over lines {first} to {last})" if last > first else ""
        raise CsvFormatError(
            f"{path}: line {first}{runs_on} has {len(row)} fields; the header has {len(header)}."
        )
    for index, column in numeric:
        cell = row[index].strip()
        if cell and not _is_plain_number(cell):
            problem = number_problem(cell) + missing_lib.number_hint(cell, column)
            raise CsvFormatError(f"{path}: line {first}, column {column!r}: {problem}")


def checked_header(path: str, required_columns: Sequence[str]) -> List[str]:
    """Returns a data file's header after checking it holds every required column.

    Raises:
      CsvFormatError: as `read_header`, or a required column is missing.
    """
    header = read_header(path)
    missing = [c for c in required_columns if c not in header]
    if missing:
        raise CsvFormatError(f"{path}: the header has no column {', '.join(map(repr, missing))}.")
    return header


def check_same_header(
    path: str, header: Sequence[str], first_path: str, first_header: Sequence[str]
) -> None:
    """Raises a `CsvFormatError` if `path`'s header differs from the first file's."""
    if list(header) != list(first_header):
        raise CsvFormatError(
            f"{path}: the header differs from {first_path}'s: "
            f"{','.join(header)} against {','.join(first_header)}."
        )


def no_data_row_error(paths: Sequence[str]) -> CsvFormatError:
    """The error of files that hold headers but no data row."""
    return CsvFormatError(
        f"{os.path.dirname(sorted(paths)[0])}: the CSV files hold a header but no data row."
    )


def check_file(
    path: str,
    required_columns: Sequence[str],
    numeric_columns: Sequence[str],
    label: Optional[LabelRule] = None,
    missing: missing_lib.MissingValues = missing_lib.NONE,
) -> Tuple[List[str], int, int]:
    """Checks one CSV file (or .csv.gz); a cell that is a `missing` token reads as empty.

    Returns:
      Its header, its number of data rows, and how many of them drop (an empty label
      where `label.drop_empty`).

    Raises:
      CsvFormatError: the file is not UTF-8 (or not gzip when named so), is empty, has
        CR-only line endings, lacks a required column, has an unclosed quote, a field
        longer than `FIELD_LIMIT`, a row whose field count differs from the header's, a
        cell in a numeric column that is not a plain finite number, or a label the
        `label` rule refuses.
    """
    header = checked_header(path, required_columns)
    label_index = header.index(label.column) if label and label.column in header else None
    # The label's own check says more than the number check does.
    numeric = [
        (header.index(c), c)
        for c in numeric_columns
        if c in header and header.index(c) != label_index
    ]
    data_rows = dropped = 0
    rows, per_index = records(path), missing.per_index(header)
    next(rows)  # The header, checked above.
    for record in rows:
        row = missing_lib.blank_row(_parse(path, record, header), per_index)
        if row:  # ExampleGen skips blank lines.
            data_rows += 1
            _check_row(path, record, row, header, numeric)
            if label_index is not None:
                dropped += _check_label(path, record[0], row, label_index, label)
    return header, data_rows, dropped


def check_files(
    paths: Iterable[str],
    required_columns: Sequence[str],
    numeric_columns: Sequence[str],
    label: Optional[LabelRule] = None,
    missing: missing_lib.MissingValues = missing_lib.NONE,
) -> int:
    """Checks every file and that they share one header; `missing` as `check_file`.

    Returns:
      The number of data rows ExampleGen reads (without the rows that drop).

    Raises:
      CsvFormatError: as `check_file`; also when there is no file, when two files'
        headers differ, or when there is no data row at all.
    """
    paths = sorted(paths)
    if not paths:
        raise CsvFormatError("No CSV file to read.")
    first_header, rows = None, 0
    for path in paths:
        header, file_rows, dropped = check_file(
            path, required_columns, numeric_columns, label, missing
        )
        rows += file_rows - dropped
        if first_header is None:
            first_header = header
        else:
            check_same_header(path, header, paths[0], first_header)
    if rows == 0:
        raise no_data_row_error(paths)
    return rows
