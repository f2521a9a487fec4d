"""Settings sized to the data: the eval split, and which components run in workers.

The figures behind each threshold are in docs/sizing.md.
"""

import math
import zlib
from typing import Dict, Iterable, Optional, Sequence, Tuple

from components import data_files
from components.example_gen import DEFAULT_SPLIT_BUCKETS
from pipeline.local import beam_profiles

# The most eval rows worth scoring. At 50,000 rows the standard error of an AUC near
# 0.95 is about 0.001, a tenth of the change threshold, while the Evaluator's time
# grows with every row (about 2 ms each in process here): a third of 1.5 million
# rows would take it about 18 minutes.
EVAL_ROWS_TARGET = 50_000
# From this many eval rows on, ExampleGen and the Evaluator run in Beam worker
# processes, one per core. The Evaluator is what gains, but only if its input comes in
# several files: a gzipped TFRecord file cannot be split between workers, and
# ExampleGen writes one file per split in process, one per worker otherwise. Measured
# here at 150,000 rows: the Evaluator 78 s against 121 s in process (126 s with
# workers reading the one file that ExampleGen wrote in process).
MULTIPROCESS_EVAL_ROWS = 15_000
# (Measured with TFX's CSV executor. ExampleGen's own executor now runs one worker
# process per core without Beam and writes several files per split at any size; the
# runner gives only the Evaluator these arguments. The thresholds were not measured
# again.)
# Up to this many rows only: ExampleGen in workers holds the data in three processes.
# Measured here, peak memory of the process tree: 3.0 GB at 150,000 rows, 7.8 GB at
# 1.5 million (4.8 GB in process), against a 6 GB budget; a straight line between the
# two puts 500,000 rows near 4.2 GB.
MULTIPROCESS_MAX_ROWS = 500_000


def count_rows(csv_paths: Iterable[str]) -> int:
    """Returns the data lines of the CSV files (header excluded), read in 1 MB blocks.

    A `.csv.gz` file is counted through gzip. A quoted field holding a line break counts
    twice, and a file that cannot be read counts as none (ExampleGen's checks report
    it): this is a size estimate for choosing settings, not the row count ExampleGen
    reports.
    """
    rows = 0
    for path in csv_paths:
        newlines, last_block = 0, b""
        try:
            with data_files.open_binary(path) as csv_file:
                while block := csv_file.read(1 << 20):
                    newlines += block.count(b"\n")
                    last_block = block
        except (OSError, EOFError, zlib.error):
            continue
        ends_without_newline = bool(last_block) and not last_block.endswith(b"\n")
        rows += max(0, newlines + ends_without_newline - 1)
    return rows


def split_buckets_for_rows(rows: int) -> Tuple[int, int]:
    """Returns (train, eval) hash buckets for `rows` raw rows.

    Up to about three times `EVAL_ROWS_TARGET` rows the split is two to one. Beyond,
    the eval split is one bucket of `EVAL_ROWS_TARGET` rows, within a sixth, and every
    other row trains.
    """
    total_buckets = round(rows / EVAL_ROWS_TARGET)
    if total_buckets <= sum(DEFAULT_SPLIT_BUCKETS):
        return DEFAULT_SPLIT_BUCKETS
    return total_buckets - 1, 1


def component_beam_args_for_rows(
    rows: int,
    component_ids: Sequence[str],
    num_workers: Optional[int] = None,
) -> Dict[str, Tuple[str, ...]]:
    """Returns the per-component Beam arguments of a local run on `rows` raw rows.

    Args:
      rows: raw rows in the data.
      component_ids: node ids of the components that run in worker processes when
        the eval split reaches `MULTIPROCESS_EVAL_ROWS` and the data holds at most
        `MULTIPROCESS_MAX_ROWS` rows (ExampleGen and Evaluator).
      num_workers: Beam worker processes; default one per core.
    """
    train_buckets, eval_buckets = split_buckets_for_rows(rows)
    eval_rows = rows * eval_buckets / (train_buckets + eval_buckets)
    if eval_rows < MULTIPROCESS_EVAL_ROWS or rows > MULTIPROCESS_MAX_ROWS:
        return {}
    args = tuple(beam_profiles.local_multiprocess_args(num_workers))
    return {component_id: args for component_id in component_ids}


def train_rows(rows: int, split_buckets: Tuple[int, int]) -> int:
    """About how many of `rows` land in the training split of `split_buckets`."""
    return max(1, round(rows * split_buckets[0] / sum(split_buckets)))


def steps_for_epochs(
    rows: int, split_buckets: Tuple[int, int], batch_size: int, epochs: float
) -> int:
    """Training steps of `batch_size` for `epochs` passes over the training split."""
    return max(1, math.ceil(train_rows(rows, split_buckets) * epochs / batch_size))
