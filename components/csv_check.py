"""Checks raw CSV files before ExampleGen reads them, naming file, line and column.

ExampleGen infers column types from the data and fails, or silently changes a type,
on malformed files; these checks stop a run first, with a message a person can act on.
"""

import csv
import os
from typing import Iterable, Iterator, List, Sequence, Tuple

from tfx.dsl.io import fileio


class CsvFormatError(ValueError):
    """A CSV file the pipeline cannot use; the message names the file and the problem."""


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _decoded_lines(path: str) -> Iterator[str]:
    """Yields the file's lines as text, one at a time, so a large file is never held."""
    with fileio.open(path, "rb") as csv_file:
        for number, raw in enumerate(csv_file, start=1):
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise CsvFormatError(
                    f"{path}: line {number}: byte 0x{raw[error.start]:02x} is not UTF-8; "
                    "save the file as UTF-8."
                ) from None


def check_file(path: str, required_columns: Sequence[str],
               numeric_columns: Sequence[str]) -> Tuple[List[str], int]:
    """Checks one CSV file; returns its header and its number of data rows.

    Raises:
      CsvFormatError: the file is not UTF-8, is empty, lacks a required column, has a
        row whose field count differs from the header's, or a non-number in a numeric
        column.
    """
    rows = csv.reader(_decoded_lines(path))
    header = next(rows, None)
    if not header:
        raise CsvFormatError(f"{path}: the file is empty; expected a header row.")
    missing = [c for c in required_columns if c not in header]
    if missing:
        raise CsvFormatError(f"{path}: the header has no column {', '.join(map(repr, missing))}.")
    numeric = [(header.index(c), c) for c in numeric_columns]
    data_rows = 0
    for line, row in enumerate(rows, start=2):
        if not row:
            continue
        data_rows += 1
        if len(row) != len(header):
            raise CsvFormatError(
                f"{path}: line {line} has {len(row)} fields; the header has {len(header)}."
            )
        for index, column in numeric:
            cell = row[index].strip()
            if cell and not _is_number(cell):
                raise CsvFormatError(
                    f"{path}: line {line}, column {column!r}: {cell!r} is not a number."
                )
    return header, data_rows


def check_files(paths: Iterable[str], required_columns: Sequence[str],
                numeric_columns: Sequence[str]) -> int:
    """Checks every file and that they share one header; returns the data row count.

    Raises:
      CsvFormatError: as `check_file`; also when there is no file, when two files'
        headers differ, or when there is no data row at all.
    """
    paths = sorted(paths)
    if not paths:
        raise CsvFormatError("No CSV file to read.")
    first_header, rows = None, 0
    for path in paths:
        header, file_rows = check_file(path, required_columns, numeric_columns)
        rows += file_rows
        if first_header is None:
            first_header = header
        elif header != first_header:
            raise CsvFormatError(
                f"{path}: the header differs from {paths[0]}'s: "
                f"{','.join(header)} against {','.join(first_header)}."
            )
    if rows == 0:
        raise CsvFormatError(
            f"{os.path.dirname(paths[0])}: the CSV files hold a header but no data row."
        )
    return rows
