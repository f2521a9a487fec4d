"""CsvExampleGen's executor: checked data files to tf.Examples at the CSV reader's speed.

TFX's CSV executor reads every file its split pattern matches, cannot read a `.csv.gz`
(it reads the header as plain text, and Beam's compressed file cannot be iterated by
line), keeps a byte-order mark in the first column's name, and parses, types and hashes
row by row in Beam (165 s at 1.5 million taxi rows here). This executor selects the
data files (`components.data_files`), checks their headers (`components.csv_check`),
and reads exactly those, gzip included, with `components.fast_csv_reader`: pyarrow's
CSV reader and tfx_bsl's encoder in one worker process per core, checking the cells
on the way. It writes what TFX's executor writes, example for example and split for
split (the rule is in `fast_csv_reader`'s docstring): the `Split-<name>/` folders of
gzipped TFRecords, the artifact's `split_names`, and its `payload_format` and
`file_format` when asked.

A chunk that fails a check, or that pyarrow could read otherwise than Python's `csv`
module, makes its file be scanned again by `csv_check.check_file`, which stops the run
with a `CsvFormatError` naming file, line and column; a file that passes that scan is
then read with Python's `csv` module, as TFX reads it.

The columns to check come as parameters: `custom_config(required, numeric)` is the
component's `custom_config`, which reaches the executor as JSON.
"""

import csv
import math
import os
import time
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import pyarrow as pa
import tensorflow as tf
from absl import logging
from google.protobuf import any_pb2
from google.protobuf import json_format
from google.protobuf import struct_pb2
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.example_gen import write_split
from tfx.components.example_gen.csv_example_gen import executor as csv_executor
from tfx.components.util import examples_utils
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

from components import csv_check
from components import data_files
from components import fast_csv_reader

REQUIRED_COLUMNS_KEY = "required_columns"
NUMERIC_COLUMNS_KEY = "numeric_columns"


def custom_config(required_columns: Sequence[str],
                  numeric_columns: Sequence[str]) -> example_gen_pb2.CustomConfig:
    """Returns the ExampleGen `custom_config` naming the columns the checks need.

    FileBasedExampleGen takes a `CustomConfig` proto (a `google.protobuf.Any`), not a
    dict: the columns travel as a packed `Struct`.
    """
    struct = struct_pb2.Struct()
    struct.update({REQUIRED_COLUMNS_KEY: list(required_columns),
                   NUMERIC_COLUMNS_KEY: list(numeric_columns)})
    packed = any_pb2.Any()
    packed.Pack(struct)
    return example_gen_pb2.CustomConfig(custom_config=packed)


def columns_from_exec_properties(
        exec_properties: Dict[str, Any]) -> Tuple[List[str], List[str]]:
    """Returns (required, numeric) columns from the executor's `custom_config` JSON.

    Raises:
      ValueError: the component was built without `custom_config(...)`.
    """
    text = exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY)
    config = example_gen_pb2.CustomConfig()
    struct = struct_pb2.Struct()
    if text:
        proto_utils.json_to_proto(text, config)
    if config.custom_config.Is(struct.DESCRIPTOR):
        config.custom_config.Unpack(struct)
    columns = json_format.MessageToDict(struct)
    if REQUIRED_COLUMNS_KEY not in columns:
        raise ValueError(
            "The checked CSV ExampleGen needs custom_config=checked_csv_example_gen."
            "custom_config(required_columns, numeric_columns).")
    return list(columns[REQUIRED_COLUMNS_KEY]), list(columns.get(NUMERIC_COLUMNS_KEY, []))




def select_split_files(pattern: str) -> Tuple[str, ...]:
    """Selects the data files `pattern` matches; logs what it skipped.

    Raises:
      csv_check.CsvFormatError: no data file.
    """
    selected = data_files.select(fileio.glob(pattern))
    if selected.skipped:
        logging.warning("%s: skipped %s", pattern, selected.skipped_text())
    if not selected.files:
        skipped = f"; skipped: {selected.skipped_text()}" if selected.skipped else ""
        raise csv_check.CsvFormatError(
            f"{pattern}: no data file (*.csv or *.csv.gz){skipped}.")
    return selected.files


def checked_headers(paths: Sequence[str], required_columns: Sequence[str]) -> List[str]:
    """Returns the header the files share, each checked for the required columns.

    Raises:
      csv_check.CsvFormatError: a header lacks a required column, differs from the
        first file's, or names a column twice.
    """
    paths = sorted(paths)
    header = csv_check.checked_header(paths[0], required_columns)
    for path in paths[1:]:
        csv_check.check_same_header(path, csv_check.checked_header(path, required_columns),
                                    paths[0], header)
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice:
        raise csv_check.CsvFormatError(
            f"{paths[0]}: the header names column {', '.join(map(repr, twice))} more than "
            "once; give every column its own name.")
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
        order.append(names.index(data[key_start:key_start + key_length].decode("utf-8")))
        position = start + length
    return order


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> pa.Table:
    """Rows of text cells as a table of text columns, as `fast_csv_reader` reads them."""
    columns = list(zip(*rows)) if rows else [()] * len(header)
    return pa.Table.from_arrays([pa.array(column, pa.string()) for column in columns],
                                names=list(header))


class RowSplitter:
    """The split TFX's executor puts rows in, given as text cells, for column types.

    The rule of `fast_csv_reader.split_of`: the sha256 of the example serialized
    deterministically, modulo the total of `buckets` (cumulative, as TFX's).
    """

    def __init__(self, header: Sequence[str], types: Sequence[int], buckets: Sequence[int]):
        self._header, self._types, self._buckets = list(header), list(types), list(buckets)
        self._order = key_order(self._header)

    def __call__(self, rows: Sequence[Sequence[str]]) -> List[int]:
        table = text_table(self._header, rows)
        return [fast_csv_reader.split_of(serialized, self._buckets) for serialized in
                fast_csv_reader.encode(table, self._types, self._order)]


def _python_tables(path: str, header: Sequence[str]) -> Iterator[pa.Table]:
    """A checked file read as TFX reads it (its line joining, Python's csv), as tables
    of text columns."""
    records = csv_check.records(path)
    next(records)  # The header.
    rows: List[List[str]] = []
    for _, _, text in records:
        row = next(csv.reader([text]), [])
        if row:  # TFX skips blank lines.
            rows.append(row)
        if len(rows) == fast_csv_reader.BATCH_ROWS:
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
        tasks += [{"path": path, "start": start, "end": end}
                  for start, end in fast_csv_reader.chunk_ranges(path, chunks)]
    return tasks


def write_examples(paths: Sequence[str], required_columns: Sequence[str],
                   numeric_columns: Sequence[str], split_uris: Sequence[str],
                   buckets: Optional[Sequence[int]], workers: Optional[int] = None,
                   chunk_bytes: int = fast_csv_reader.CHUNK_BYTES) -> Dict[str, Any]:
    """Checks and reads the data files into tf.Examples, one folder per split.

    Args:
      paths: the data files (`data_files.select`).
      required_columns, numeric_columns: what the CSV checks need.
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
    paths = sorted(paths)
    header = checked_headers(paths, required_columns)
    numeric = [header.index(name) for name in numeric_columns if name in header]
    if workers is None:
        total = sum(fileio.stat(path).length for path in paths)
        workers = (os.cpu_count() or 1) if total >= fast_csv_reader.IN_PROCESS_BYTES else 0
    tasks = _tasks(paths, workers, chunk_bytes)
    pool = (fast_csv_reader.WorkerPool(min(workers, len(tasks)))
            if workers and tasks else fast_csv_reader.InProcess())
    try:
        scans = pool.run([{"op": "scan", "task": task, "header": header, "numeric": numeric}
                          for task in tasks])
        python_files = sorted({task["path"] for task, scan in zip(tasks, scans)
                               if "suspicious" in scan})
        for path in python_files:
            reason = next(scan["suspicious"] for task, scan in zip(tasks, scans)
                          if task["path"] == path and "suspicious" in scan)
            logging.info("%s: %s; checking the file line by line.", path, reason)
            # Raises CsvFormatError naming file, line and column if the file is bad.
            csv_check.check_file(path, required_columns, numeric_columns)
        per_chunk = [scan["types"] for scan in scans if "types" in scan]
        rows = sum(scan.get("rows", 0) for scan in scans if "types" in scan)
        for path in python_files:  # Read twice, as the chunks are: memory stays bounded.
            for table in _python_tables(path, header):
                per_chunk.append([fast_csv_reader.column_type(c) for c in table.columns])
                rows += table.num_rows
        if rows == 0:
            raise csv_check.no_data_row_error(paths)
        types = fast_csv_reader.merge_types(per_chunk)
        logging.info("Column types: %s", ", ".join(
            f"{name} {fast_csv_reader.TYPE_NAMES[kind]}" for name, kind in zip(header, types)))

        fast_tasks = [task for task in tasks if task["path"] not in python_files]
        count = len(fast_tasks) + len(python_files)
        order = key_order(header)
        requests = [{"op": "write", "task": task, "header": header, "types": types,
                     "order": order,
                     "buckets": list(buckets) if buckets else None,
                     "paths": [fast_csv_reader.output_file(uri, index, count)
                               for uri in split_uris]}
                    for index, task in enumerate(fast_tasks)]
        counts = [0] * len(split_uris)
        for reply in pool.run(requests):
            counts = [a + b for a, b in zip(counts, reply["counts"])]
    finally:
        pool.close()
    for index, path in enumerate(python_files, start=len(fast_tasks)):
        writers = fast_csv_reader.SplitWriters(
            [fast_csv_reader.output_file(uri, index, count) for uri in split_uris], buckets,
            order)
        for table in _python_tables(path, header):
            writers.write_table(table, types)
        counts = [a + b for a, b in zip(counts, writers.close())]
    seconds = time.monotonic() - start
    logging.info("%d rows of %d files to %s examples in %d files a split, %.1f s, %d "
                 "workers.", rows, len(paths), counts, count, seconds, workers)
    return {"rows": rows, "counts": counts, "python_files": python_files,
            "types": {name: fast_csv_reader.TYPE_NAMES[kind]
                      for name, kind in zip(header, types)},
            "seconds": round(seconds, 2)}


class Executor(csv_executor.Executor):
    """Stops the run with a `CsvFormatError` naming file, line and column; reads only data.

    Writes TFX's CsvExampleGen artifact (see the module docstring); Beam is not used,
    and the component's Beam arguments are ignored.
    """

    def Do(self, input_dict: Dict[str, List[Any]], output_dict: Dict[str, List[Any]],
           exec_properties: Dict[str, Any]) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        required, numeric = columns_from_exec_properties(exec_properties)
        input_config = example_gen_pb2.Input()
        proto_utils.json_to_proto(
            exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config)
        output_config = example_gen_pb2.Output()
        proto_utils.json_to_proto(
            exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY], output_config)
        payload_format = exec_properties.get(standard_component_specs.OUTPUT_DATA_FORMAT_KEY)
        if payload_format not in (None, example_gen_pb2.FORMAT_TF_EXAMPLE):
            raise ValueError(
                "The checked CSV ExampleGen writes tf.Examples only (payload format "
                f"{example_gen_pb2.PayloadFormat.Name(payload_format)} was asked for).")
        file_format = exec_properties.get(
            standard_component_specs.OUTPUT_FILE_FORMAT_KEY,
            example_gen_pb2.FILE_FORMAT_UNSPECIFIED)
        write_split.to_file_format_str(file_format)  # Raises for anything but gzip.
        split_config = output_config.split_config
        if split_config.HasField("partition_feature_name"):
            raise ValueError("The checked CSV ExampleGen splits by the hash of the whole "
                             "example; partition_feature_name is not supported.")

        split_names = example_gen_utils.generate_output_split_names(
            input_config, output_config)
        examples = output_dict[standard_component_specs.EXAMPLES_KEY]
        artifact_utils.get_single_instance(examples).split_names = (
            artifact_utils.encode_split_names(split_names))
        input_base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
        if split_config.splits:
            if len(input_config.splits) != 1:
                raise ValueError("With output splits, the input must have one split.")
            buckets, total = [], 0
            for split in split_config.splits:
                total += split.hash_buckets
                buckets.append(total)
            jobs = [(input_config.splits[0].pattern, split_names, buckets)]
        else:
            jobs = [(split.pattern, [name], None)
                    for split, name in zip(input_config.splits, split_names)]
        for pattern, names, split_buckets in jobs:
            files = select_split_files(os.path.join(input_base, pattern))
            result = write_examples(
                files, required, numeric,
                [artifact_utils.get_split_uri(examples, name) for name in names],
                split_buckets)
            logging.info("%s: %s", pattern, result)

        if payload_format:
            for artifact in examples:
                examples_utils.set_payload_format(artifact, payload_format)
        if file_format:
            for artifact in examples:
                examples_utils.set_file_format(
                    artifact, write_split.to_file_format_str(file_format))
