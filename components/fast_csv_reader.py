"""Checked CSV files to tf.Example splits at the CSV reader's speed, over the cores.

What TFX's CsvExampleGen does row by row in Beam (Python's `csv` module, tfx_bsl's
type inference, a `tf.train.Example` built in Python, a hash per example), this module
does on whole columns: pyarrow's CSV reader reads every column as text, the types are
inferred on the columns with TFX's rule, tfx_bsl's `RecordBatchToExamplesEncoder`
encodes record batches, and worker processes (one per core) each take a chunk of a
file, cut at a record boundary. It writes what TFX's executor writes:

- **Types** as tfx_bsl's `ColumnTypeInferrer`: a cell is INT if Python's `int()` takes
  it and it fits in int64, else FLOAT if `float()` takes it, else STRING; a column takes
  the highest type of its cells in the order INT -> FLOAT -> STRING; a column of empty
  cells only is UNKNOWN. So an integer beyond int64 makes its column STRING, `nan` makes
  it FLOAT, `NA`, `true` and dates make it STRING (pyarrow's own inference differs on
  each, hence the text columns).
- **Examples**: one feature per column; an empty cell is an empty list of the column's
  kind, as TFX writes it; a column of an UNKNOWN type gives kind-less features. FLOAT
  values are parsed as doubles, then rounded to float32, as TFX's `float()` and
  `FloatList` do.
- **Splits**, by TFX's own rule (`base_example_gen_executor._PartitionFn` in TFX
  1.15.1): bucket = int(sha256(the example serialized deterministically)) mod the total
  of the hash buckets; the splits take consecutive bucket ranges in their order. So
  every example lands in the split TFX's executor puts it in. The encoder writes the
  features in the reverse order of the record batch's columns; the columns are ordered
  by descending name so that its bytes are the deterministic serialization (sorted
  keys) without a parse and re-serialization per example.
- **Files**: `<split uri>/data_tfrecord-<chunk>-of-<chunks>.gz`, gzipped TFRecords, one
  file per chunk and split (several files, so downstream Beam workers can share them).
  They are gzipped at level `GZIP_LEVEL`, faster than Beam's default, to the same format.

The CSV checks (`components.csv_check`) keep their messages: the chunks are checked
on the columns (field count and UTF-8 by pyarrow, numbers in the numeric columns, field
length), and a failed check makes the whole file be scanned again by
`csv_check.check_file`, which names file, line and column. Where pyarrow could read
a file otherwise than Python's `csv` module (a carriage return not followed by a line
feed, a quote that does not open or close a field, a quote inside a value), the file is
checked the same way and then read with Python's `csv` module, in this process.

Workers are fresh interpreters (`python -m components.fast_csv_reader`), importing
pyarrow and tfx_bsl's encoder only: no TensorFlow, no Beam, no copy of the parent's
memory. Memory is bounded by the chunk size (`CHUNK_BYTES`) per worker.
"""

import bisect
import gzip
import hashlib
import json
import math
import mmap
import os
import queue
import re
import struct
import subprocess
import sys
import threading
import traceback
import zlib
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import google_crc32c
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
# Bytes of CSV per chunk: the unit of work of a worker, and what bounds its memory.
CHUNK_BYTES = 32 << 20
# Data smaller than this is read in this process: starting workers costs more.
IN_PROCESS_BYTES = 4 << 20
# Rows encoded at a time.
BATCH_ROWS = 32768
# zlib level of the output files. TFX's writer uses zlib's default (6): on 150,000 taxi
# examples (74 MB) here, 2.2 s against 0.85 s, for 7 MB against 9 MB.
GZIP_LEVEL = 1
FILE_PREFIX = "data_tfrecord"
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

# `csv_check`'s plain decimal number, on the stripped cell.
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
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


def _any(mask) -> bool:
    return bool(pc.any(mask).as_py())


def _nonempty(column):
    return pc.not_equal(pc.binary_length(column), 0)


def _cells(column) -> pa.Array:
    """The non-empty cells of a text column, as one array."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return pc.filter(column, _nonempty(column))


def _ints(cells: pa.Array) -> Optional[np.ndarray]:
    """The cells as int64 where pyarrow parses each as Python's int() does, else None.

    pyarrow refuses '+5', ' 5', '1_0' and numbers beyond int64 (Python takes them), and
    takes '0x10' (Python does not).
    """
    try:
        pc.cast(cells[:_SAMPLE], pa.int64())  # A failed cast of a column is slow.
        values = pc.cast(cells, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if _any(pc.match_substring(cells, "x", ignore_case=True)):
        return None
    return values.to_numpy(zero_copy_only=False)


def _floats(cells: pa.Array) -> Optional[np.ndarray]:
    """The cells as float32 (via a correctly rounded double, as TFX's float() and
    FloatList), where pyarrow parses each as Python's float() does, else None.

    pyarrow refuses '+.5', ' 5', '1_0' and takes 'nan(1)'; NaN's sign is left to Python.
    """
    if _any(pc.match_substring_regex(cells, "[nN(]")):
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
    if _ints(cells) is not None:
        return INT
    if _floats(cells) is not None:
        kind, others = FLOAT, pc.filter(
            cells, pc.greater_equal(pc.binary_length(cells), _LONG_DIGITS))
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


def check_table(table: pa.Table, numeric: Sequence[int]) -> None:
    """Raises `Suspicious` if a check fails or pyarrow may have read a cell otherwise."""
    for index, column in enumerate(table.columns):
        name = table.column_names[index]
        if len(column) and (pc.max(pc.binary_length(column)).as_py() or 0) > FIELD_LIMIT - 2:
            raise Suspicious(f"column {name!r}: a field of about {FIELD_LIMIT:,} characters")
        if _any(pc.match_substring(column, '"')):
            raise Suspicious(f"column {name!r}: a quote inside a value")
        if index in numeric:
            stripped = pc.utf8_trim_whitespace(column)
            bad = pc.and_(_nonempty(stripped),
                          pc.invert(pc.match_substring_regex(stripped, _NUMBER)))
            if _any(bad):
                raise Suspicious(f"column {name!r}: a cell that is not a plain number")


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
        return pa.Table.from_arrays([pa.array([], pa.string())] * len(header),
                                    names=list(header))
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(data),
            read_options=pa_csv.ReadOptions(column_names=names, use_threads=False,
                                            block_size=8 << 20),
            parse_options=pa_csv.ParseOptions(newlines_in_values=quoted),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowException) as error:
        raise Suspicious(f"pyarrow: {error}") from None
    return table.rename_columns(list(header))


# --- tf.Examples, serialized deterministically (map keys sorted), as TFX hashes them -
#
# Example{features(1): Features{feature(1): map<string, Feature>}}; a map entry is
# {key(1), value(2)}; Feature is one of bytes_list(1), float_list(2), int64_list(3), each
# holding value(1) (packed for numbers). Every example has every column, so its bytes
# are `0a <len> entry...` with the entries in key order. tfx_bsl's encoder writes the
# entries in hash-map order, and parsing and re-serializing each example costs about
# 15 us here, so the bytes are written out on whole columns.

_MAX_VARINT = 10


def _varints(values: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(N x width bytes, N lengths) of the protobuf varints of int64 (as uint64) values;
    width is the longest varint's length."""
    unsigned = np.asarray(values).astype(np.int64).view(np.uint64)
    lengths = np.ones(len(unsigned), np.int64)
    for index in range(1, _MAX_VARINT):
        longer = (unsigned >> np.uint64(7 * index)) > 0
        if not longer.any():
            break
        lengths += longer
    width = int(lengths.max()) if len(lengths) else 1
    shifts = np.arange(width, dtype=np.uint64) * np.uint64(7)
    groups = ((unsigned[:, None] >> shifts[None, :]) & np.uint64(0x7F)).astype(np.uint8)
    more = np.arange(width)[None, :] < (lengths[:, None] - 1)
    return groups | (more.astype(np.uint8) << 7), lengths


def _varint_bytes(value: int) -> bytes:
    groups, lengths = _varints(np.array([value]))
    return groups[0, :lengths[0]].tobytes()


def _const(data: bytes, rows: int) -> Tuple[np.ndarray, np.ndarray]:
    return (np.frombuffer(data, np.uint8)[None, :].repeat(rows, 0),
            np.full(rows, len(data), np.int64))


def _ragged(pieces: Sequence[Tuple[np.ndarray, np.ndarray]]) -> pa.Array:
    """Binary values, row i the first lengths[i] bytes of each piece's row i, in order."""
    matrix = np.concatenate([piece for piece, _ in pieces], axis=1)
    keep = np.concatenate([np.arange(piece.shape[1])[None, :] < lengths[:, None]
                           for piece, lengths in pieces], axis=1)
    offsets = np.zeros(len(matrix) + 1, np.int64)
    np.cumsum(keep.sum(axis=1), out=offsets[1:])
    return pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(matrix),
        [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(matrix[keep]))])


def _python_values(cells: pa.Array, kind: int) -> np.ndarray:
    if kind == INT:
        return np.array([int(cell.encode("utf-8")) for cell in cells.to_pylist()], np.int64)
    return np.array([float(cell.encode("utf-8")) for cell in cells.to_pylist()],
                    np.float64).astype(np.float32)


def _feature(column, kind: int) -> Tuple[List[Tuple[np.ndarray, np.ndarray]],
                                         Optional[pa.Array]]:
    """A column's serialized Feature per row: fixed pieces, and the cells of a STRING
    column (which follow the pieces)."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    rows = len(column)
    present = _nonempty(column).to_numpy(zero_copy_only=False)
    if kind == UNKNOWN:
        return [(np.zeros((rows, 0), np.uint8), np.zeros(rows, np.int64))], None
    cells = pc.filter(column, present)
    tag = {INT: 0x1A, FLOAT: 0x12, STRING: 0x0A}[kind]
    if kind == STRING:
        cell_lengths = np.zeros(rows, np.int64)
        cell_lengths[present] = pc.binary_length(cells).to_numpy(zero_copy_only=False)
        inner, inner_lengths = _varints(cell_lengths)  # BytesList: 0a <len> cell
        list_lengths = np.where(present, 1 + inner_lengths + cell_lengths, 0)
        outer, outer_lengths = _varints(list_lengths)
        pieces = [_const(bytes([tag]), rows), (outer, outer_lengths),
                  (np.full((rows, 1), 0x0A, np.uint8), present.astype(np.int64)),
                  (inner, np.where(present, inner_lengths, 0))]
        texts = pc.cast(column, pa.large_binary())  # An empty cell is b"" already.
        return pieces, texts
    values = _ints(cells) if kind == INT else _floats(cells)
    if values is None:
        values = _python_values(cells, kind)
    if kind == INT:
        groups, lengths = _varints(values)
        packed = np.zeros((rows, groups.shape[1]), np.uint8)
        packed_lengths = np.zeros(rows, np.int64)
        packed[present], packed_lengths[present] = groups, lengths
    else:
        packed = np.zeros((rows, 4), np.uint8)
        packed[present] = np.asarray(values, "<f4").view(np.uint8).reshape(-1, 4)
        packed_lengths = np.where(present, 4, 0)
    # <tag> <2 + n> 0a <n> <n bytes>, or <tag> 00 for an empty list.
    head = np.zeros((rows, 4), np.uint8)
    head[:, 0] = tag
    head[:, 1] = np.where(present, 2 + packed_lengths, 0)
    head[:, 2] = 0x0A
    head[:, 3] = packed_lengths
    return [(head, np.where(present, 4, 2)), (packed, packed_lengths)], None


def _join(arrays: Sequence[pa.Array]) -> pa.Array:
    separator = pa.scalar(b"", pa.large_binary())
    return pc.binary_join_element_wise(*arrays, separator) if len(arrays) > 1 else arrays[0]


def encode(table: pa.Table, types: Sequence[int], order: Sequence[int]) -> List[bytes]:
    """The table's rows as tf.Examples, serialized deterministically: the bytes TFX
    hashes, and a valid serialization to write.

    Args:
      order: the column indices in the order of the protobuf runtime's deterministic
        serialization (`checked_csv_example_gen.key_order`; upb puts 'nan_col' before
        'na', so it is asked, not assumed).
    """
    rows = table.num_rows
    entries = []
    for index in order:
        key = table.column_names[index].encode("utf-8")
        pieces, texts = _feature(table.column(index), types[index])
        feature_lengths = sum(lengths for _, lengths in pieces)
        if texts is not None:
            feature_lengths = feature_lengths + pc.binary_length(texts).to_numpy(
                zero_copy_only=False)
        key_part = b"\x0a" + _varint_bytes(len(key)) + key + b"\x12"
        value_varint = _varints(feature_lengths)
        body_lengths = len(key_part) + value_varint[1] + feature_lengths
        body_varint = _varints(body_lengths)
        fixed = _ragged([_const(b"\x0a", rows), body_varint, _const(key_part, rows),
                         value_varint, *pieces])
        entries += [fixed, texts] if texts is not None else [fixed]
    body = _join(entries)
    head = _ragged([_const(b"\x0a", rows),
                    _varints(pc.binary_length(body).to_numpy(zero_copy_only=False))])
    return _join([head, body]).to_pylist()


def split_of(serialized: bytes, buckets: Sequence[int]) -> int:
    """TFX's split index of an example: its sha256 modulo the buckets (`_PartitionFn`)."""
    bucket = int.from_bytes(hashlib.sha256(serialized).digest(), "big") % buckets[-1]
    return bisect.bisect(buckets, bucket)


def _masked_crc(data: bytes) -> bytes:
    crc = google_crc32c.value(data)
    return struct.pack("<I", (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF)


class GzipTFRecordWriter:
    """Writes a gzipped TFRecord file (the framing of TensorFlow's TFRecordWriter)."""

    def __init__(self, path: str):
        self._file = _open(path, "wb")
        self._zip = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
        self._pending: List[bytes] = []
        self._size = 0
        self._heads: Dict[int, bytes] = {}  # Record length -> its 12 bytes of framing.

    def write(self, record: bytes) -> None:
        head = self._heads.get(len(record))
        if head is None:
            length = struct.pack("<Q", len(record))
            head = self._heads[len(record)] = length + _masked_crc(length)
        self._pending += (head, record, _masked_crc(record))
        self._size += len(record) + 16
        if self._size > 4 << 20:
            self._flush()

    def _flush(self) -> None:
        self._file.write(self._zip.compress(b"".join(self._pending)))
        self._pending, self._size = [], 0

    def close(self) -> None:
        self._flush()
        self._file.write(self._zip.flush())
        self._file.close()


def _is_local(path: str) -> bool:
    return "://" not in path


def _open(path: str, mode: str):
    if _is_local(path):
        if "w" in mode:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        return open(path, mode)
    from tensorflow.io import gfile  # Remote storage (gs://...) only.
    return gfile.GFile(path, mode)


def output_file(split_uri: str, index: int, count: int) -> str:
    """The path of chunk `index` of `count` in a split folder, named as Beam names shards."""
    return f"{split_uri}/{FILE_PREFIX}-{index:05d}-of-{count:05d}.gz"


# --- Chunks: byte ranges of a file, cut at record boundaries ------------------------

def _record_end(content, start: int, target: int) -> int:
    """The offset after the first record-ending LF at or after `target`, or -1.

    `start` is where a record starts. A record ends at a line feed after an even number
    of quotes, as TFX's reader and `csv_check.records` join lines. `content` is bytes,
    or a memory map of a file without quotes.
    """
    if isinstance(content, mmap.mmap):
        newline = content.find(b"\n", target)
        return -1 if newline == -1 else newline + 1
    quotes = content.count(b'"', start, target)
    position = target
    while (newline := content.find(b"\n", position)) != -1:
        quotes += content.count(b'"', position, newline)
        if quotes % 2 == 0:
            return newline + 1
        position = newline + 1
    return -1


def _contents(path: str):
    """A local file without quotes mapped (only the pages around the cuts are read),
    any other file's bytes."""
    with _open(path, "rb") as data:
        if _is_local(path) and os.path.getsize(path) > 0:
            while block := data.read(8 << 20):  # Not through the map: its pages stay.
                if b'"' in block:
                    data.seek(0)
                    return data.read()
            return mmap.mmap(data.fileno(), 0, access=mmap.ACCESS_READ)
        return data.read()


def chunk_ranges(path: str, chunks: int) -> List[Tuple[int, int]]:
    """Cuts a plain CSV file after its header into about `chunks` ranges of whole records."""
    content = _contents(path)
    try:
        size = len(content)
        cuts = [_record_end(content, 0, 0)]
        if cuts[0] == -1:
            return []
        step = max(1, math.ceil((size - cuts[0]) / max(1, chunks)))
        while cuts[-1] + step < size:
            end = _record_end(content, cuts[-1], cuts[-1] + step)
            if end == -1 or end >= size:
                break
            cuts.append(end)
        cuts.append(size)
        return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]
    finally:
        if isinstance(content, mmap.mmap):
            content.close()


def gzip_chunks(path: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Yields a gzipped CSV file's records after its header, in chunks of whole records."""
    with _open(path, "rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as data:
        pending, first = b"", True
        while True:
            block = data.read(chunk_bytes)
            pending += block
            if first:
                end = _record_end(pending, 0, 0)
                if end == -1 and block:
                    continue
                pending, first = (pending[end:] if end != -1 else b""), False
            if not block:
                if pending:
                    yield pending
                return
            cut = _last_record_end(pending)
            if cut > 0:
                yield pending[:cut]
                pending = pending[cut:]


def _last_record_end(data: bytes) -> int:
    """The offset after the last LF of `data` that ends a record (data starts one)."""
    if b'"' not in data:
        return data.rfind(b"\n") + 1
    end = 0
    while (next_end := _record_end(data, end, end)) != -1:
        end = next_end
    return end


# --- The work of one chunk (in a worker or in this process) -------------------------

def _read_task(task: Dict[str, Any], header: Sequence[str]) -> Iterator[pa.Table]:
    if task.get("gzip"):
        for data in gzip_chunks(task["path"], task.get("chunk_bytes", CHUNK_BYTES)):
            yield read_chunk(data, header)
        return
    with _open(task["path"], "rb") as source:
        source.seek(task["start"])
        data = source.read(task["end"] - task["start"])
    yield read_chunk(data, header)


def scan_task(task: Dict[str, Any], header: Sequence[str],
              numeric: Sequence[int]) -> Dict[str, Any]:
    """Checks a chunk and infers its column types: {rows, types} or {suspicious}."""
    rows, per_table = 0, []
    try:
        for table in _read_task(task, header):
            check_table(table, numeric)
            rows += table.num_rows
            per_table.append([column_type(column) for column in table.columns])
    except Suspicious as reason:
        return {"suspicious": str(reason)}
    return {"rows": rows, "types": merge_types(per_table) or [UNKNOWN] * len(header)}


class SplitWriters:
    """One gzipped TFRecord writer per output split, each example to its split."""

    def __init__(self, paths: Sequence[str], buckets: Optional[Sequence[int]],
                 order: Sequence[int]):
        self._order = list(order)
        self._writers = [GzipTFRecordWriter(path) for path in paths]
        self._buckets = list(buckets) if buckets else None
        self.counts = [0] * len(paths)

    def write_table(self, table: pa.Table, types: Sequence[int]) -> None:
        for offset in range(0, table.num_rows, BATCH_ROWS):
            for serialized in encode(table.slice(offset, BATCH_ROWS), types, self._order):
                split = split_of(serialized, self._buckets) if self._buckets else 0
                self._writers[split].write(serialized)
                self.counts[split] += 1

    def close(self) -> List[int]:
        for writer in self._writers:
            writer.close()
        return self.counts


def write_task(task: Dict[str, Any], header: Sequence[str], types: Sequence[int],
               paths: Sequence[str], buckets: Optional[Sequence[int]],
               order: Sequence[int]) -> Dict[str, Any]:
    """Writes a chunk's examples into one file per split; returns the counts per split."""
    writers = SplitWriters(paths, buckets, order)
    for table in _read_task(task, header):
        writers.write_table(table, types)
    return {"counts": writers.close()}


def handle(request: Dict[str, Any]) -> Dict[str, Any]:
    """Runs one request of the executor: a chunk to scan (`op` scan) or to write."""
    if request["op"] == "scan":
        return scan_task(request["task"], request["header"], request["numeric"])
    return write_task(request["task"], request["header"], request["types"],
                      request["paths"], request["buckets"], request["order"])


def _serve() -> None:
    """A worker: runs the JSON requests read from stdin, one reply line each."""
    out = sys.stdout
    sys.stdout = sys.stderr  # Only replies on the protocol's stream.
    for line in sys.stdin:
        try:
            reply = handle(json.loads(line))
        except Exception:  # pylint: disable=broad-except
            reply = {"error": traceback.format_exc()}  # Raised again by the parent.
        out.write(json.dumps(reply) + "\n")
        out.flush()


class WorkerPool:
    """Fresh interpreters running `_serve`, each fed the next request when it is free."""

    def __init__(self, workers: int):
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self._processes = [
            subprocess.Popen([sys.executable, "-m", "components.fast_csv_reader"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env=env)
            for _ in range(workers)]

    def run(self, requests: Sequence[dict]) -> List[dict]:
        """Returns the replies in the order of the requests.

        Raises:
          RuntimeError: a worker failed; the message holds its traceback.
        """
        todo: "queue.Queue[Tuple[int, dict]]" = queue.Queue()
        for item in enumerate(requests):
            todo.put(item)
        replies: List[Optional[dict]] = [None] * len(requests)

        def feed(process: subprocess.Popen) -> None:
            while True:
                try:
                    index, request = todo.get_nowait()
                except queue.Empty:
                    return
                process.stdin.write(json.dumps(request) + "\n")
                process.stdin.flush()
                line = process.stdout.readline()
                replies[index] = json.loads(line) if line else {
                    "error": f"the worker ended (exit {process.poll()})"}
                if "error" in replies[index]:
                    return

        threads = [threading.Thread(target=feed, args=(p,), daemon=True)
                   for p in self._processes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        errors = [reply["error"] for reply in replies if reply and "error" in reply]
        if errors:
            raise RuntimeError(f"a CSV reading worker failed:\n{errors[0]}")
        return replies  # type: ignore[return-value]

    def close(self) -> None:
        for process in self._processes:
            process.stdin.close()
        for process in self._processes:
            process.wait()


class InProcess:
    """The same requests as `WorkerPool`, run one after the other in this process."""

    @staticmethod
    def run(requests: Sequence[dict]) -> List[dict]:
        return [handle(request) for request in requests]

    def close(self) -> None:
        pass


if __name__ == "__main__":
    _serve()
