"""Settings sized to the data: the eval split, which components run in workers, steps.

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
# From this many eval rows on, the Evaluator runs in Beam worker processes, one per
# core. It gains only if its input comes in several files (a gzipped TFRecord file
# cannot be split between workers); ExampleGen writes one file per chunk of the CSV.
# Measured here at 150,000 rows: the Evaluator 78 s against 121 s in process. There is
# no upper bound any more: the bound of 500,000 rows was for the memory of TFX's CSV
# executor in workers, which ExampleGen no longer runs (docs/scale.md).
MULTIPROCESS_EVAL_ROWS = 15_000
# From this many rows on, the components that read every row through Beam
# (StatisticsGen and Transform) run in worker processes, one per core: their per-row
# work is Python and single-threaded in process. Below it the workers' start-up (each
# imports TensorFlow) costs more than it saves (docs/scale.md).
MULTIPROCESS_DATA_ROWS = 500_000


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
    eval_split_ids: Sequence[str],
    whole_data_ids: Sequence[str] = (),
    num_workers: Optional[int] = None,
) -> Dict[str, Tuple[str, ...]]:
    """Returns the per-component Beam arguments of a local run on `rows` raw rows.

    Args:
      rows: raw rows in the data.
      eval_split_ids: node ids of the components whose work is the eval split (the
        Evaluator): in worker processes from `MULTIPROCESS_EVAL_ROWS` eval rows on.
      whole_data_ids: node ids of the components that read every row (StatisticsGen,
        Transform): in worker processes from `MULTIPROCESS_DATA_ROWS` rows on.
      num_workers: Beam worker processes; default one per core.
    """
    train_buckets, eval_buckets = split_buckets_for_rows(rows)
    eval_rows = rows * eval_buckets / (train_buckets + eval_buckets)
    chosen = list(eval_split_ids) if eval_rows >= MULTIPROCESS_EVAL_ROWS else []
    if rows >= MULTIPROCESS_DATA_ROWS:
        chosen += [component_id for component_id in whole_data_ids if component_id not in chosen]
    if not chosen:
        return {}
    args = tuple(beam_profiles.local_multiprocess_args(num_workers))
    return {component_id: args for component_id in chosen}


def train_rows(rows: int, split_buckets: Tuple[int, int]) -> int:
    """About how many of `rows` land in the training split of `split_buckets`."""
    return max(1, round(rows * split_buckets[0] / sum(split_buckets)))


def steps_for_epochs(
    rows: int, split_buckets: Tuple[int, int], batch_size: int, epochs: float
) -> int:
    """Training steps of `batch_size` for `epochs` passes over the training split."""
    return max(1, math.ceil(train_rows(rows, split_buckets) * epochs / batch_size))
