"""How ExampleGen splits the raw rows into train and eval, and how the split scales."""

from typing import Iterable, Tuple

from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2

# Hash buckets per split on small data: two thirds of the rows train, one third
# evaluates.
DEFAULT_SPLIT_BUCKETS = (2, 1)
# The most eval rows worth scoring. At 50,000 rows the standard error of an AUC near
# 0.95 is about 0.001, a tenth of the change threshold, while the Evaluator's time
# grows with every row (about 2 ms each here): a third of 1.5 million rows would
# take it 17 minutes.
EVAL_ROWS_TARGET = 50_000
SPLIT_NAMES = ("train", "eval")


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


def count_rows(csv_paths: Iterable[str]) -> int:
    """Returns the data lines of the CSV files (header excluded), read in 1 MB blocks.

    A quoted field holding a line break counts twice; this is a size estimate for
    choosing the split, not the row count ExampleGen reports.
    """
    rows = 0
    for path in csv_paths:
        with fileio.open(path, "rb") as csv_file:
            newlines, last_block = 0, b""
            while block := csv_file.read(1 << 20):
                newlines += block.count(b"\n")
                last_block = block
        ends_without_newline = bool(last_block) and not last_block.endswith(b"\n")
        rows += max(0, newlines + ends_without_newline - 1)
    return rows


def split_config(
    buckets: Tuple[int, int] = DEFAULT_SPLIT_BUCKETS,
) -> example_gen_pb2.Output:
    """Returns ExampleGen's output config: a hash split into train and eval.

    Args:
      buckets: hash buckets of the train and the eval split, in that order.
    """
    return example_gen_pb2.Output(
        split_config=example_gen_pb2.SplitConfig(
            splits=[
                example_gen_pb2.SplitConfig.Split(name=name, hash_buckets=count)
                for name, count in zip(SPLIT_NAMES, buckets)
            ]
        )
    )
