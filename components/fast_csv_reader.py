"""Checked CSV files to tf.Example splits at the CSV reader's speed, over the cores.

What TFX's CsvExampleGen does row by row in Beam (Python's `csv` module, tfx_bsl's
type inference, a `tf.train.Example` built in Python, a hash per example), these
modules do on whole columns, in worker processes (one per core) that each take a chunk
of a file, cut at a record boundary. They write what TFX's executor writes. One room a
job:

- `components.csv_chunks`: files cut into chunks of whole records.
- `components.csv_columns`: a chunk read by pyarrow's CSV reader as text columns,
  checked (`components.csv_check`'s checks, the label rule included) and typed with
  TFX's rule (INT -> FLOAT -> STRING, UNKNOWN for empty columns).
- `components.example_bytes`: the rows as tf.Examples serialized deterministically
  (the bytes TFX hashes), and TFX's split of each (sha256 modulo the hash buckets).
- `components.tfrecord_files`: the gzipped TFRecord files of each split.
- this module: the work of one chunk (a scan: checks and types; a write: examples to
  the split files), run by fresh interpreters (`python -m components.fast_csv_reader`)
  or in this process.

The CSV checks keep their messages: a chunk that fails a check on its columns, or that
pyarrow could read otherwise than Python's `csv` module (a carriage return not followed
by a line feed, a quote that does not open or close a field, a quote inside a value), is
reported `suspicious`; the executor (`components.checked_csv_example_gen`) then scans its
file again with `csv_check.check_file`, which names file, line and column, and reads a
file that passes with Python's `csv` module, in its own process.

Rows whose label is empty, where the family's label rule drops them
(`csv_check.LabelRule.drop_empty`), are left out before the types are inferred and
before the examples are encoded: ExampleGen's output holds none of them.

Workers import pyarrow, numpy and google_crc32c only: no TensorFlow, no Beam, no copy
of the parent's memory. Memory is bounded by the chunk size per worker.
"""

import json
import os
import queue
import subprocess
import sys
import threading
import traceback
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import pyarrow as pa

from components import csv_chunks
from components import csv_columns
from components import missing_values
from components import tfrecord_files

# Data smaller than this is read in this process: starting workers costs more.
IN_PROCESS_BYTES = 4 << 20


def _tables(
    task: Dict[str, Any], header: Sequence[str], missing: Optional[List[List[str]]] = None
) -> Iterator[pa.Table]:
    """The chunk's tables of text columns, each missing-value token an empty cell."""
    return (
        missing_values.blank_table(csv_columns.read_chunk(data, header), missing)
        for data in csv_chunks.task_bytes(task)
    )


def scan_task(
    task: Dict[str, Any],
    header: Sequence[str],
    numeric: Sequence[int],
    label: Optional[Dict[str, Any]] = None,
    missing: Optional[List[List[str]]] = None,
) -> Dict[str, Any]:
    """Checks a chunk and infers its column types: {rows, types} or {suspicious}.

    `rows` and `types` leave out the rows whose label is empty where such rows drop;
    `missing`: each column's missing-value tokens, read as empty cells.
    """
    rows, per_table = 0, []
    try:
        for table in _tables(task, header, missing):
            csv_columns.check_table(table, numeric, label)
            table = csv_columns.drop_empty_labels(table, label)
            rows += table.num_rows
            per_table.append([csv_columns.column_type(column) for column in table.columns])
    except csv_columns.Suspicious as reason:
        return {"suspicious": str(reason)}
    return {
        "rows": rows,
        "types": csv_columns.merge_types(per_table) or [csv_columns.UNKNOWN] * len(header),
    }


def write_task(
    task: Dict[str, Any],
    header: Sequence[str],
    types: Sequence[int],
    paths: Sequence[str],
    buckets: Optional[Sequence[int]],
    order: Sequence[int],
    label: Optional[Dict[str, Any]] = None,
    missing: Optional[List[List[str]]] = None,
) -> Dict[str, Any]:
    """Writes a chunk's examples into one file per split; returns the counts per split."""
    writers = tfrecord_files.SplitWriters(paths, buckets, order)
    for table in _tables(task, header, missing):
        writers.write_table(csv_columns.drop_empty_labels(table, label), types)
    return {"counts": writers.close()}


def handle(request: Dict[str, Any]) -> Dict[str, Any]:
    """Runs one request of the executor: a chunk to scan (`op` scan) or to write."""
    if request["op"] == "scan":
        return scan_task(
            request["task"],
            request["header"],
            request["numeric"],
            request.get("label"),
            request.get("missing"),
        )
    return write_task(
        request["task"],
        request["header"],
        request["types"],
        request["paths"],
        request["buckets"],
        request["order"],
        request.get("label"),
        request.get("missing"),
    )


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


def _feed(
    process: subprocess.Popen, todo: "queue.Queue[Tuple[int, dict]]", replies: List[Optional[dict]]
) -> None:
    """Sends a worker the next request each time it replies, until none is left or it
    fails."""
    while True:
        try:
            index, request = todo.get_nowait()
        except queue.Empty:
            return
        process.stdin.write(json.dumps(request) + "\n")
        process.stdin.flush()
        line = process.stdout.readline()
        replies[index] = (
            json.loads(line) if line else {"error": f"the worker ended (exit {process.poll()})"}
        )
        if "error" in replies[index]:
            return


class WorkerPool:
    """Fresh interpreters running `_serve`, each fed the next request when it is free."""

    def __init__(self, workers: int):
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self._processes = [
            subprocess.Popen(
                [sys.executable, "-m", "components.fast_csv_reader"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _ in range(workers)
        ]

    def run(self, requests: Sequence[dict]) -> List[dict]:
        """Returns the replies in the order of the requests.

        Raises:
          RuntimeError: a worker failed; the message holds its traceback.
        """
        todo: queue.Queue[Tuple[int, dict]] = queue.Queue()
        for item in enumerate(requests):
            todo.put(item)
        replies: List[Optional[dict]] = [None] * len(requests)
        threads = [
            threading.Thread(target=_feed, args=(p, todo, replies), daemon=True)
            for p in self._processes
        ]
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
