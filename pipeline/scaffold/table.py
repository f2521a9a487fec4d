"""Reading a CSV file or folder for `make family`: its columns, cells and their types.

Files are read as the project's ExampleGen reads them (`components.csv_check.records`:
a UTF-8 byte-order mark dropped, CRLF or LF line endings, quoted fields that hold
commas or line breaks), and typed as TFX types a column: INT when every non-empty
cell is an integer, FLOAT when every one is a number, else STRING. A cell that other
tools write for a missing value (`NA`, `NaN`, `NULL`, `?` ...) is read as empty, and
listed: the family declares those tokens (`missing_values`), so that ExampleGen reads
them as empty too. An unnamed first column of row numbers (R's `write.csv` row names,
pandas' index: header "" or "Unnamed: 0", values 1..n or 0..n-1) is left out.
"""

import csv
import dataclasses
import os
import re
from typing import Dict, List, Optional, Set, Tuple

from components import csv_check
from components import data_files

INT, FLOAT, STRING = "INT", "FLOAT", "STRING"
# Cells that other tools write for a missing value: read as empty, and declared in the
# family's contract (tfx_bsl reads only an empty cell as missing).
MISSING_TOKENS = frozenset(
    {"NA", "N/A", "#N/A", "NaN", "nan", "NAN", "NULL", "null", "None", "none", "<NA>", "na", "n/a"}
    | {"?"}
)
# Header names R (`write.csv`: "") and pandas (`to_csv` read back: "Unnamed: 0") give
# the row-index column.
INDEX_HEADERS = ("", "Unnamed: 0")
# A column name the pipeline can carry through Transform and Keras as it is.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]*")
_INTEGER = re.compile(r"[+-]?[0-9]+")
# Fewer data rows than this cannot be split into training and evaluation data.
MIN_ROWS = 20


class ScaffoldError(ValueError):
    """Data `make family` cannot make a family of; the message says what and where."""


@dataclasses.dataclass(frozen=True)
class Column:
    """One CSV column: its name, its cells (stripped, in row order) and its type."""

    name: str
    cells: Tuple[str, ...]

    @property
    def values(self) -> List[str]:
        """The non-empty cells."""
        return [cell for cell in self.cells if cell]

    @property
    def empty_cells(self) -> int:
        return sum(1 for cell in self.cells if not cell)

    @property
    def kind(self) -> str:
        """INT, FLOAT or STRING, as TFX's CSV reading infers it from the cells."""
        values = self.values
        if values and all(_INTEGER.fullmatch(v) for v in values):
            return INT
        if values and all(csv_check.number_problem(v) == "" for v in values):
            return FLOAT
        return STRING


@dataclasses.dataclass(frozen=True)
class Table:
    """The data of one or more CSV files sharing a header."""

    files: Tuple[str, ...]
    columns: Dict[str, Column]
    # Column -> the missing-value tokens found there (read as empty cells).
    missing_found: Dict[str, Tuple[str, ...]] = dataclasses.field(default_factory=dict)
    # The header name of the row-index column left out ("" for R's); None: none was.
    dropped_index: Optional[str] = None

    @property
    def missing_tokens(self) -> Tuple[str, ...]:
        """Every missing-value token found, sorted."""
        return tuple(sorted({t for tokens in self.missing_found.values() for t in tokens}))

    @property
    def rows(self) -> int:
        return len(next(iter(self.columns.values())).cells)

    @property
    def size_bytes(self) -> int:
        return sum(os.path.getsize(path) for path in self.files)


def data_paths(data: str) -> Tuple[str, ...]:
    """The CSV files of `data`: one file, or the `.csv`/`.csv.gz` files of a folder."""
    if os.path.isdir(data):
        files = data_files.in_folder(data).files
        if not files:
            raise ScaffoldError(f"{data}: the folder holds no .csv or .csv.gz file.")
        return tuple(files)
    if not os.path.isfile(data):
        raise ScaffoldError(f"{data}: no such file or folder.")
    if not data.lower().endswith(data_files.DATA_SUFFIXES):
        raise ScaffoldError(f"{data}: not a .csv or .csv.gz file.")
    return (data,)


def _check_header(path: str, header: List[str]) -> None:
    for number, name in enumerate(header, start=1):
        if not name.strip():
            raise ScaffoldError(
                f"{path}: line 1, column {number}: the column has no name; "
                "give every column a name in the header."
            )
        if not _NAME.fullmatch(name):
            raise ScaffoldError(
                f"{path}: line 1, column {number}: the name {name!r} is not a plain name "
                "(a letter, then letters, digits, '_' or '.'); rename the column."
            )
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise ScaffoldError(f"{path}: line 1: the columns {repeated} appear twice.")


def _read_file(path: str, header: List[str], found: Dict[str, Set[str]]) -> List[List[str]]:
    """The data rows of one file, checked; cells stripped, missing-value tokens made
    empty and added to `found` by column."""
    rows = []
    records = csv_check.records(path)
    next(records)  # The header, read by csv_check.read_header.
    for first, _, text in records:
        try:
            row = next(csv.reader([text]), [])
        except csv.Error as error:
            raise ScaffoldError(f"{path}: line {first}: {error}.") from None
        if not row:
            continue  # ExampleGen skips blank lines.
        if len(row) != len(header):
            raise ScaffoldError(
                f"{path}: line {first} has {len(row)} fields; the header has {len(header)}."
            )
        cells = [cell.strip() for cell in row]
        for index, cell in enumerate(cells):
            if cell in MISSING_TOKENS:
                found.setdefault(header[index], set()).add(cell)
                cells[index] = ""
        rows.append(cells)
    return rows


def _is_row_index(header: List[str], rows: List[List[str]]) -> bool:
    """Whether the first column is an unnamed row index: 1..n or 0..n-1."""
    if not header or header[0] not in INDEX_HEADERS or not rows:
        return False
    first = [row[0] for row in rows]
    if not all(_INTEGER.fullmatch(cell) for cell in first):
        return False
    start = int(first[0])
    return start in (0, 1) and [int(cell) for cell in first] == list(
        range(start, start + len(first))
    )


def read(data: str) -> Table:
    """Reads the CSV file or folder `data`.

    Raises:
      ScaffoldError: no CSV file; a file that is not UTF-8, has a column without a
        name (but a row index), a name that is not plain or repeated, a row of another
        length than the header, or fewer than `MIN_ROWS` data rows in all; two files
        with different headers.
    """
    paths = data_paths(data)
    header, rows, found, dropped = None, [], {}, None
    for path in paths:
        try:
            file_header = csv_check.read_header(path)
            if header is not None and file_header != header:
                raise ScaffoldError(f"{path}: the header differs from {paths[0]}'s.")
            header = file_header
            file_rows = _read_file(path, header, found)
            if _is_row_index(header, file_rows):
                dropped = header[0]
            elif dropped is not None:
                raise ScaffoldError(
                    f"{path}: its first column is not a row index as in {paths[0]}."
                )
            _check_header(path, header[1:] if dropped is not None else header)
            rows.extend(row[1:] if dropped is not None else row for row in file_rows)
        except csv_check.CsvFormatError as error:
            raise ScaffoldError(str(error)) from None
    if dropped is not None:
        header = header[1:]
        found.pop(dropped, None)
    if len(rows) < MIN_ROWS:
        raise ScaffoldError(
            f"{data}: {len(rows)} data row(s); a family needs at least "
            f"{MIN_ROWS} to train on some and evaluate on others."
        )
    columns = {name: Column(name, tuple(row[i] for row in rows)) for i, name in enumerate(header)}
    missing = {name: tuple(sorted(found[name])) for name in header if name in found}
    return Table(files=paths, columns=columns, missing_found=missing, dropped_index=dropped)
