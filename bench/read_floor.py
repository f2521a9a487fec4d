"""The floor of ExampleGen's time on a CSV file: pyarrow reading it, nothing else.

Run in its own process by the scale section (`python -m bench.read_floor FILE`); prints
one JSON object: the best of `--repeats` reads with pyarrow's own type inference and
all its threads (what a reader cannot beat), and the same with every column read as
text on one thread (where `components.fast_csv_reader` starts from, per worker).
"""

import argparse
import json
import os
import sys
import time

import pyarrow as pa
import pyarrow.csv as pa_csv


def measure(path: str, repeats: int = 3) -> dict:
    """Returns the best seconds of `repeats` reads each way, the rows and the bytes."""
    inferred, text, rows = [], [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        rows = pa_csv.read_csv(path).num_rows
        inferred.append(time.perf_counter() - start)
    with open(path, encoding="utf-8") as csv_file:
        names = csv_file.readline().rstrip("\r\n").split(",")
    for _ in range(repeats):
        start = time.perf_counter()
        pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(use_threads=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in names}, strings_can_be_null=False
            ),
        )
        text.append(time.perf_counter() - start)
    return {
        "seconds": round(min(inferred), 3),
        "text_one_thread_seconds": round(min(text), 3),
        "rows": rows,
        "bytes": os.path.getsize(path),
        "threads": pa.cpu_count(),
        "pyarrow": pa.__version__,
    }


def main(argv=None) -> int:
    """Measures the file named on the command line and prints the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.csv, args.repeats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
