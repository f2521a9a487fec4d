"""Checked data files to the split files of an Examples artifact, over worker processes.

The work of `checked_csv_example_gen.Executor` for one input split: the headers are
checked (`components.csv_check`), the files cut into chunks (`components.csv_chunks`),
and the chunks scanned (checks and column types) and then written (tf.Examples into
each split's files) by `components.fast_csv_reader`'s workers. A file with a chunk
that fails a check, or that pyarrow could read otherwise than Python's `csv` module,
is scanned again by `csv_check.check_file`, which stops the run with a
`CsvFormatError` naming file, line and column; a file that passes that scan is read
with Python's `csv` module, in this process. Rows with an empty label, where the label
rule drops them, are left out before the types are inferred and the examples encoded.
"""

import csv
import dataclasses
import math
import os
import time
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import pyarrow as pa
import tensorflow as tf
from absl import logging
from tfx.dsl.io import fileio

from components import csv_check
from components import csv_chunks
from components import csv_columns
from components import data_files
from components import example_bytes
from components import fast_csv_reader
from components import missing_values as missing_lib
from components import tfrecord_files


def checked_headers(paths: Sequence[str], required_columns: Sequence[str]) -> List[str]:
    """Returns the header the files share, each checked for the required columns.

    Raises:
      csv_check.CsvFormatError: a header lacks a required column, differs from the
        first file's, or names a column twice.
    """
    paths = sorted(paths)
    header = csv_check.checked_header(paths[0], required_columns)
    for path in paths[1:]:
        csv_check.check_same_header(
            path, csv_check.checked_header(path, required_columns), paths[0], header
        )
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice:
        raise csv_check.CsvFormatError(
            f"{paths[0]}: the header names column {', '.join(map(repr, twice))} more than "
            "once; give every column its own name."
        )
    return header


def key_order(names: Sequence[str]) -> List[int]:
    """The column indices in the order in which this process's protobuf runtime writes
    an Example's features when serializing deterministically, as TFX does to hash."""
    example = tf.train.Example()
    for name in names:
        example.features.feature[name].CopyFrom(tf.train.Feature())
    data = example.SerializeToString(deterministic=True)

    def varint(position: int) -> Tuple[int, int]:
        value, shift = 0, 0
        while True:
            byte = data[position]
            value |= (byte & 0x7F) << shift
            position, shift = position + 1, shift + 7
            if byte < 0x80:
                return value, position

    order = []
    _, position = varint(1)  # Example.features: tag, length.
    while position < len(data):
        length, start = varint(position + 1)  # A map entry: tag, length.
        key_length, key_start = varint(start + 1)  # Its key: tag, length.
        order.append(names.index(data[key_start : key_start + key_length].decode("utf-8")))
        position = start + length
    return order


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> pa.Table:
    """Rows of text cells as a table of text columns, as `fast_csv_reader` reads them."""
    columns = list(zip(*rows)) if rows else [()] * len(header)
    return pa.Table.from_arrays(
        [pa.array(column, pa.string()) for column in columns], names=list(header)
    )


class RowSplitter:
    """The split TFX's executor puts rows in, given as text cells, for column types.

    The rule of `example_bytes.split_of`: the sha256 of the example serialized
    deterministically, modulo the total of `buckets` (cumulative, as TFX's).
    """

    def __init__(self, header: Sequence[str], types: Sequence[int], buckets: Sequence[int]):
        self._header, self._types, self._buckets = list(header), list(types), list(buckets)
        self._order = key_order(self._header)

    def __call__(self, rows: Sequence[Sequence[str]]) -> List[int]:
        table = text_table(self._header, rows)
        return [
            example_bytes.split_of(serialized, self._buckets)
            for serialized in example_bytes.encode(table, self._types, self._order)
        ]


def _python_tables(
    path: str,
    header: Sequence[str],
    label: Optional[csv_check.LabelRule],
    missing: missing_lib.MissingValues = missing_lib.NONE,
) -> Iterator[pa.Table]:
    """A checked file read as TFX reads it (its line joining, Python's csv), as tables
    of text columns, missing-value tokens made empty, without the rows the label rule
    drops."""
    index = header.index(label.column) if label is not None else None
    records, per_index = csv_check.records(path), missing.per_index(header)
    next(records)  # The header.
    rows: List[List[str]] = []
    for _, _, text in records:
        row = missing_lib.blank_row(next(csv.reader([text]), []), per_index)
        if row and not (index is not None and label.is_dropped(row, index)):
            rows.append(row)  # TFX skips blank lines.
        if len(rows) == tfrecord_files.BATCH_ROWS:
            yield text_table(header, rows)
            rows = []
    if rows:
        yield text_table(header, rows)


def _tasks(paths: Sequence[str], workers: int, chunk_bytes: int) -> List[Dict[str, Any]]:
    """Chunks of the files: byte ranges of whole records, a gzipped file whole."""
    tasks = []
    for path in paths:
        if data_files.is_gzip(path):
            tasks.append({"path": path, "gzip": True, "chunk_bytes": chunk_bytes})
            continue
        size = fileio.stat(path).length
        chunks = max(math.ceil(size / chunk_bytes), workers)
        tasks += [
            {"path": path, "start": start, "end": end}
            for start, end in csv_chunks.chunk_ranges(path, chunks)
        ]
    return tasks


@dataclasses.dataclass(frozen=True)
class _Reading:
    """What every chunk of one call of `write_examples` is read and checked with."""

    paths: Tuple[str, ...]
    header: List[str]
    required: Sequence[str]
    numeric: Sequence[str]
    label: Optional[csv_check.LabelRule]  # None too when the header lacks its column.
    missing: missing_lib.MissingValues = missing_lib.NONE

    def request(self, op: str, task: Dict[str, Any], **fields) -> Dict[str, Any]:
        """A worker's request (`fast_csv_reader.handle`) for one chunk."""
        label = (
            csv_columns.label_request(self.header, **dataclasses.asdict(self.label))
            if self.label is not None
            else None
        )
        # The label's own check says more than the number check does (as csv_check).
        numeric = [
            self.header.index(name)
            for name in self.numeric
            if name in self.header and (label is None or name != self.label.column)
        ]
        return {
            "op": op,
            "task": task,
            "header": self.header,
            "numeric": numeric,
            "label": label,
            "missing": self.missing.per_index(self.header) if self.missing else None,
            **fields,
        }

    def python_tables(self, path: str) -> Iterator[pa.Table]:
        """A file read with Python's csv module, as tables of text columns."""
        return _python_tables(path, self.header, self.label, self.missing)


def _scan(
    pool, reading: _Reading, tasks: Sequence[Dict[str, Any]]
) -> Tuple[List[str], int, List[int]]:
    """Checks every chunk and infers the column types.

    Returns:
      The files to read with Python's csv module, the row count, the column types.

    Raises:
      csv_check.CsvFormatError: a file fails the checks (`csv_check.check_file`).
    """
    scans = pool.run([reading.request("scan", task) for task in tasks])
    suspicious = {}
    for task, scan in zip(tasks, scans):
        if "suspicious" in scan:
            suspicious.setdefault(task["path"], scan["suspicious"])
    for path, reason in sorted(suspicious.items()):
        logging.info("%s: %s; checking the file line by line.", path, reason)
        # Raises CsvFormatError naming file, line and column if the file is bad.
        csv_check.check_file(
            path, reading.required, reading.numeric, reading.label, reading.missing
        )
    # The chunks of a file read with Python's csv module are counted in that reading.
    fast = [scan for task, scan in zip(tasks, scans) if task["path"] not in suspicious]
    per_chunk = [scan["types"] for scan in fast]
    rows = sum(scan["rows"] for scan in fast)
    for path in sorted(suspicious):  # Read twice, as the chunks are: memory stays bounded.
        for table in reading.python_tables(path):
            per_chunk.append([csv_columns.column_type(c) for c in table.columns])
            rows += table.num_rows
    if rows == 0:
        raise csv_check.no_data_row_error(reading.paths)
    return sorted(suspicious), rows, csv_columns.merge_types(per_chunk)


def _write(
    pool,
    reading: _Reading,
    tasks: Sequence[Dict[str, Any]],
    python_files: Sequence[str],
    types: Sequence[int],
    split_uris: Sequence[str],
    buckets: Optional[Sequence[int]],
) -> List[int]:
    """Writes the examples of the chunks (in the pool), then those of the files read
    with Python's csv module (here); returns the examples per split."""
    fast_tasks = [task for task in tasks if task["path"] not in python_files]
    count = len(fast_tasks) + len(python_files)
    order = key_order(reading.header)
    files = [
        [tfrecord_files.output_file(uri, index, count) for uri in split_uris]
        for index in range(count)
    ]
    counts = [0] * len(split_uris)
    for reply in pool.run(
        [
            reading.request(
                "write",
                task,
                types=types,
                order=order,
                paths=files[index],
                buckets=list(buckets) if buckets else None,
            )
            for index, task in enumerate(fast_tasks)
        ]
    ):
        counts = [a + b for a, b in zip(counts, reply["counts"])]
    for index, path in enumerate(python_files, start=len(fast_tasks)):
        writers = tfrecord_files.SplitWriters(files[index], buckets, order)
        for table in reading.python_tables(path):
            writers.write_table(table, types)
        counts = [a + b for a, b in zip(counts, writers.close())]
    return counts


def write_examples(
    paths: Sequence[str],
    required_columns: Sequence[str],
    numeric_columns: Sequence[str],
    split_uris: Sequence[str],
    buckets: Optional[Sequence[int]],
    workers: Optional[int] = None,
    chunk_bytes: int = csv_chunks.CHUNK_BYTES,
    label: Optional[csv_check.LabelRule] = None,
    missing: missing_lib.MissingValues = missing_lib.NONE,
) -> Dict[str, Any]:
    """Checks and reads the data files into tf.Examples, one folder per split.

    Args:
      paths: the data files (`data_files.select`).
      required_columns, numeric_columns, label: what the CSV checks need; rows with an
        empty label are left out where `label.drop_empty`.
      missing: the missing-value tokens, read as empty cells (before the checks and
        the type inference).
      split_uris: the output folder of each split.
      buckets: cumulative hash buckets of the splits (TFX's `_PartitionFn`); None for
        a single split.
      workers: worker processes; 0 reads in this process; default: one per core, or
        0 for data under `fast_csv_reader.IN_PROCESS_BYTES`.
      chunk_bytes: the most bytes of CSV in a chunk (a file has at least `workers`).

    Returns:
      {rows, counts (examples per split), types (column -> type name), python_files
      (files read with Python's csv module), seconds}.

    Raises:
      csv_check.CsvFormatError: a file fails the checks; the message names file, line
        and column.
    """
    start = time.monotonic()
    paths = tuple(sorted(paths))
    header = checked_headers(paths, required_columns)
    if label is not None and label.column not in header:
        label = None  # As csv_check.check_file: no label cell to check.
    reading = _Reading(paths, header, required_columns, numeric_columns, label, missing)
    if workers is None:
        total = sum(fileio.stat(path).length for path in paths)
        workers = (os.cpu_count() or 1) if total >= fast_csv_reader.IN_PROCESS_BYTES else 0
    tasks = _tasks(paths, workers, chunk_bytes)
    pool = (
        fast_csv_reader.WorkerPool(min(workers, len(tasks)))
        if workers and tasks
        else fast_csv_reader.InProcess()
    )
    try:
        python_files, rows, types = _scan(pool, reading, tasks)
        named = {name: csv_columns.TYPE_NAMES[kind] for name, kind in zip(reading.header, types)}
        logging.info("Column types: %s", named)
        counts = _write(pool, reading, tasks, python_files, types, split_uris, buckets)
    finally:
        pool.close()
    seconds = time.monotonic() - start
    logging.info(
        "%d rows of %d files to %s examples a split, %.1f s, %d workers.",
        rows,
        len(paths),
        counts,
        seconds,
        workers,
    )
    return {
        "rows": rows,
        "counts": counts,
        "python_files": python_files,
        "types": named,
        "seconds": round(seconds, 2),
    }
