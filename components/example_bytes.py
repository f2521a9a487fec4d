"""Tables of text columns to tf.Examples, serialized deterministically, and their split.

- **Examples**: one feature per column; an empty cell is an empty list of the column's
  kind, as TFX writes it; a column of an UNKNOWN type gives kind-less features. FLOAT
  values are parsed as doubles, then rounded to float32, as TFX's `float()` and
  `FloatList` do.
- **Bytes**: the deterministic serialization (map keys sorted), the bytes TFX hashes.
  Example{features(1): Features{feature(1): map<string, Feature>}}; a map entry is
  {key(1), value(2)}; Feature is one of bytes_list(1), float_list(2), int64_list(3),
  each holding value(1) (packed for numbers). Every example has every column, so its
  bytes are `0a <len> entry...` with the entries in key order. tfx_bsl's encoder writes
  the entries in hash-map order, and parsing and re-serializing each example costs
  about 15 us here, so the bytes are written out on whole columns.
- **Splits**, by TFX's own rule (`base_example_gen_executor._PartitionFn` in TFX
  1.15.1): bucket = int(sha256(the example serialized deterministically)) mod the total
  of the hash buckets; the splits take consecutive bucket ranges in their order.

Imported by the reading workers: pyarrow and numpy only.
"""

import bisect
import hashlib
from typing import List, Optional, Sequence, Tuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from components import csv_columns
from components.csv_columns import FLOAT
from components.csv_columns import INT
from components.csv_columns import STRING
from components.csv_columns import UNKNOWN

_MAX_VARINT = 10
# Rows of bytes and the length used in each row.
Pieces = Tuple[np.ndarray, np.ndarray]


def _varints(values: np.ndarray) -> Pieces:
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
    return groups[0, : lengths[0]].tobytes()


def _const(data: bytes, rows: int) -> Pieces:
    return (
        np.frombuffer(data, np.uint8)[None, :].repeat(rows, 0),
        np.full(rows, len(data), np.int64),
    )


def _ragged(pieces: Sequence[Pieces]) -> pa.Array:
    """Binary values, row i the first lengths[i] bytes of each piece's row i, in order."""
    matrix = np.concatenate([piece for piece, _ in pieces], axis=1)
    keep = np.concatenate(
        [np.arange(piece.shape[1])[None, :] < lengths[:, None] for piece, lengths in pieces], axis=1
    )
    offsets = np.zeros(len(matrix) + 1, np.int64)
    np.cumsum(keep.sum(axis=1), out=offsets[1:])
    return pa.LargeBinaryArray.from_buffers(
        pa.large_binary(),
        len(matrix),
        [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(matrix[keep]))],
    )


def _python_values(cells: pa.Array, kind: int) -> np.ndarray:
    if kind == INT:
        return np.array([int(cell.encode("utf-8")) for cell in cells.to_pylist()], np.int64)
    return np.array([float(cell.encode("utf-8")) for cell in cells.to_pylist()], np.float64).astype(
        np.float32
    )


def _string_feature(column: pa.Array, present: np.ndarray) -> Tuple[List[Pieces], pa.Array]:
    """A STRING column's Feature per row: `0a <len> 0a <len> cell`, the cell apart."""
    rows = len(column)
    cell_lengths = np.zeros(rows, np.int64)
    cell_lengths[present] = pc.binary_length(pc.filter(column, present)).to_numpy(
        zero_copy_only=False
    )
    inner, inner_lengths = _varints(cell_lengths)  # BytesList: 0a <len> cell
    list_lengths = np.where(present, 1 + inner_lengths + cell_lengths, 0)
    outer, outer_lengths = _varints(list_lengths)
    pieces = [
        _const(b"\x0a", rows),
        (outer, outer_lengths),
        (np.full((rows, 1), 0x0A, np.uint8), present.astype(np.int64)),
        (inner, np.where(present, inner_lengths, 0)),
    ]
    return pieces, pc.cast(column, pa.large_binary())  # An empty cell is b"" already.


def _number_feature(column: pa.Array, present: np.ndarray, kind: int) -> List[Pieces]:
    """An INT or FLOAT column's Feature per row: `<tag> <2 + n> 0a <n> <n bytes>`, or
    `<tag> 00` for an empty list."""
    rows, cells = len(column), pc.filter(column, present)
    values = csv_columns.ints(cells) if kind == INT else csv_columns.floats(cells)
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
    head = np.zeros((rows, 4), np.uint8)
    head[:, 0] = 0x1A if kind == INT else 0x12
    head[:, 1] = np.where(present, 2 + packed_lengths, 0)
    head[:, 2] = 0x0A
    head[:, 3] = packed_lengths
    return [(head, np.where(present, 4, 2)), (packed, packed_lengths)]


def _feature(column, kind: int) -> Tuple[List[Pieces], Optional[pa.Array]]:
    """A column's serialized Feature per row: fixed pieces, and the cells of a STRING
    column (which follow the pieces)."""
    column = csv_columns.combined(column)
    if kind == UNKNOWN:
        return [(np.zeros((len(column), 0), np.uint8), np.zeros(len(column), np.int64))], None
    present = csv_columns.nonempty(column).to_numpy(zero_copy_only=False)
    if kind == STRING:
        return _string_feature(column, present)
    assert kind in (INT, FLOAT), kind
    return _number_feature(column, present, kind), None


def _join(arrays: Sequence[pa.Array]) -> pa.Array:
    separator = pa.scalar(b"", pa.large_binary())
    return pc.binary_join_element_wise(*arrays, separator) if len(arrays) > 1 else arrays[0]


def _entry(key: str, column, kind: int) -> List[pa.Array]:
    """A feature map entry per row, `0a <len> 0a <key> 12 <len> Feature`, in arrays to
    join."""
    rows = len(column)
    key_bytes = key.encode("utf-8")
    pieces, texts = _feature(column, kind)
    feature_lengths = sum(lengths for _, lengths in pieces)
    if texts is not None:
        feature_lengths = feature_lengths + pc.binary_length(texts).to_numpy(zero_copy_only=False)
    key_part = b"\x0a" + _varint_bytes(len(key_bytes)) + key_bytes + b"\x12"
    value_varint = _varints(feature_lengths)
    body_varint = _varints(len(key_part) + value_varint[1] + feature_lengths)
    fixed = _ragged(
        [_const(b"\x0a", rows), body_varint, _const(key_part, rows), value_varint, *pieces]
    )
    return [fixed, texts] if texts is not None else [fixed]


def encode(table: pa.Table, types: Sequence[int], order: Sequence[int]) -> List[bytes]:
    """The table's rows as tf.Examples, serialized deterministically: the bytes TFX
    hashes, and a valid serialization to write.

    Args:
      order: the column indices in the order of the protobuf runtime's deterministic
        serialization (`csv_to_examples.key_order`; upb puts 'nan_col' before
        'na', so it is asked, not assumed).
    """
    entries = []
    for index in order:
        entries += _entry(table.column_names[index], table.column(index), types[index])
    body = _join(entries)
    head = _ragged(
        [
            _const(b"\x0a", table.num_rows),
            _varints(pc.binary_length(body).to_numpy(zero_copy_only=False)),
        ]
    )
    return _join([head, body]).to_pylist()


def split_of(serialized: bytes, buckets: Sequence[int]) -> int:
    """TFX's split index of an example: its sha256 modulo the buckets (`_PartitionFn`)."""
    bucket = int.from_bytes(hashlib.sha256(serialized).digest(), "big") % buckets[-1]
    return bisect.bisect(buckets, bucket)
