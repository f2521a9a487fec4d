"""Data files cut into chunks of whole CSV records: the unit of work of a reading worker.

A plain file is cut into byte ranges after its header, each ending at a record-ending
line feed (after an even number of quotes, as TFX's reader and `csv_check.records`
join lines); a gzipped file is read whole by one worker, as a stream of such chunks.
Memory is bounded by the chunk size (`CHUNK_BYTES`) per worker.

Imported by the reading workers: no TensorFlow for local files.
"""

import gzip
import math
import mmap
import os
from typing import Any, Dict, Iterator, List, Tuple

from components import worker_files

# Bytes of CSV per chunk: the unit of work of a worker, and what bounds its memory.
CHUNK_BYTES = 32 << 20


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
    with worker_files.open_file(path, "rb") as data:
        if worker_files.is_local(path) and os.path.getsize(path) > 0:
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
    with worker_files.open_file(path, "rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as data:
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


def task_bytes(task: Dict[str, Any]) -> Iterator[bytes]:
    """The CSV bytes of a task (`checked_csv_example_gen`'s chunk of a file), in chunks
    of whole records: a byte range, or a gzipped file's chunks."""
    if task.get("gzip"):
        yield from gzip_chunks(task["path"], task.get("chunk_bytes", CHUNK_BYTES))
        return
    with worker_files.open_file(task["path"], "rb") as source:
        source.seek(task["start"])
        yield source.read(task["end"] - task["start"])
