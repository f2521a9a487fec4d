"""Writes a scaled copy of the taxi CSV: N times its rows, resampled with small noise.

Every copy of the data holds each source row once, in a shuffled order, with fresh
noise on the continuous numeric columns; a fractional factor ends with a partial copy.
The output is deterministic for a given source, factor, seed, noise and split. Categorical
columns (ids, hours, census tracts, strings) and the timestamp are copied unchanged,
and empty cells stay empty. `fare` and `tips` share one factor, so the label (the tip
is more than 20% of the fare) is what it was in the source row.

**Copies stay on one side of the split.** ExampleGen splits by a hash of the whole
example (TFX's rule: sha256 of the serialized tf.Example modulo the hash buckets), so
noisy copies of one row would scatter over train and eval, and an eval AUC would
measure memory, not generalization. With `split_buckets` (train, eval), each source
row gets the split its own example hashes to, and each copy's noise is drawn again
until the copy hashes to that same split. A copy is a row as ExampleGen reads it (the
column types of the written file, checked at the end), under the buckets the
pipeline uses for the written file's row count (`pipeline.local.sizing`, the default
of the command line; the bench passes them too). Other buckets scatter the copies
again. About two draws a row on average (a row of a 1-in-30 eval split needs 30).

Scaled data is generated on demand under build/ and never committed:

    python data/make_scaled.py --source data/taxi/full/data.csv --factor 10 \
        --out build/bench/data/taxi-10x/data.csv
"""

import argparse
import csv
import math
import os
import random
import sys
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

# Relative noise: value * (1 + u), u uniform in [-RELATIVE_NOISE, RELATIVE_NOISE].
RELATIVE_COLUMNS = ("trip_miles", "trip_seconds")
# One factor shared by both, so the tip's share of the fare does not change.
SHARED_FACTOR_COLUMNS = ("fare", "tips")
# Absolute noise in degrees (0.002 is about 200 m).
COORDINATE_COLUMNS = (
    "pickup_latitude",
    "pickup_longitude",
    "dropoff_latitude",
    "dropoff_longitude",
)
INTEGER_COLUMNS = ("trip_seconds",)
DEFAULT_RELATIVE_NOISE = 0.05
DEFAULT_COORDINATE_NOISE = 0.002
# Rows whose split is computed together.
SPLIT_BATCH_ROWS = 8192
# Draws of one copy before giving up (a 1-in-30 split fails 1,000 draws once in 1e15).
MAX_DRAWS = 1000


def read_rows(source: str):
    """Returns (header, rows as dicts) of a CSV file, or of the one CSV file in a folder."""
    if os.path.isdir(source):
        names = sorted(name for name in os.listdir(source) if name.endswith(".csv"))
        if len(names) != 1:
            raise ValueError(f"{source} must hold exactly one .csv file, found {names}.")
        source = os.path.join(source, names[0])
    with open(source, newline="", encoding="utf-8") as csv_file:
        reader = csv.DictReader(csv_file)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def _format(value: float, column: str) -> str:
    if column in INTEGER_COLUMNS:
        return str(int(round(value)))
    if column in COORDINATE_COLUMNS:
        return f"{value:.6f}"
    return f"{value:.2f}"


def noisy_row(
    row: Dict[str, str],
    rng: random.Random,
    relative_noise: float = DEFAULT_RELATIVE_NOISE,
    coordinate_noise: float = DEFAULT_COORDINATE_NOISE,
) -> Dict[str, str]:
    """Returns a copy of `row` with noise on its non-empty continuous numeric cells."""
    out = dict(row)
    shared = 1.0 + rng.uniform(-relative_noise, relative_noise)
    for column in SHARED_FACTOR_COLUMNS:
        if row.get(column):
            out[column] = _format(float(row[column]) * shared, column)
    for column in RELATIVE_COLUMNS:
        if row.get(column):
            factor = 1.0 + rng.uniform(-relative_noise, relative_noise)
            out[column] = _format(float(row[column]) * factor, column)
    for column in COORDINATE_COLUMNS:
        if row.get(column):
            offset = rng.uniform(-coordinate_noise, coordinate_noise)
            out[column] = _format(float(row[column]) + offset, column)
    return out


def scaled_rows(
    rows: List[Dict[str, str]],
    factor: float,
    seed: int = 0,
    relative_noise: float = DEFAULT_RELATIVE_NOISE,
    coordinate_noise: float = DEFAULT_COORDINATE_NOISE,
    split_of: Optional[Callable[[Sequence[Dict[str, str]]], List[int]]] = None,
) -> Iterator[Dict[str, str]]:
    """Yields round(factor * len(rows)) noisy rows, each copy a shuffle of `rows`.

    Args:
      split_of: returns the split of each of a list of rows; with it, a copy's noise is
        drawn again until the copy lands in its source row's split.
    """
    if factor <= 0:
        raise ValueError(f"factor must be positive, got {factor}.")
    if not rows:
        return
    rng = random.Random(seed)
    sides = split_of(rows) if split_of else None
    remaining = round(factor * len(rows))
    order = list(range(len(rows)))
    for _ in range(math.ceil(remaining / len(rows))):
        rng.shuffle(order)
        chosen = order[:remaining]
        for start in range(0, len(chosen), SPLIT_BATCH_ROWS):
            batch = chosen[start : start + SPLIT_BATCH_ROWS]
            out = [noisy_row(rows[index], rng, relative_noise, coordinate_noise) for index in batch]
            pending = list(range(len(batch))) if sides is not None else []
            for _ in range(MAX_DRAWS):
                if not pending:
                    break
                got = split_of([out[j] for j in pending])
                pending = [j for j, side in zip(pending, got) if side != sides[batch[j]]]
                for j in pending:
                    out[j] = noisy_row(rows[batch[j]], rng, relative_noise, coordinate_noise)
            if pending:
                raise RuntimeError(
                    f"{len(pending)} copies missed their source row's split in {MAX_DRAWS} draws."
                )
            yield from out
        remaining -= min(remaining, len(order))


class _SplitOf:
    """The split ExampleGen gives rows (dicts) of the scaled file, and a check that the
    written file has the column types the splits were computed with."""

    def __init__(
        self,
        header: List[str],
        rows: List[Dict[str, str]],
        split_buckets: Tuple[int, int],
        seed: int,
        relative_noise: float,
        coordinate_noise: float,
    ):
        # TensorFlow and pyarrow, only when the split is asked for.
        from components import csv_columns  # pylint: disable=import-outside-toplevel
        from components import csv_to_examples  # pylint: disable=import-outside-toplevel

        self._tables = csv_to_examples.text_table
        self._column_type = csv_columns.column_type
        self._merge = csv_columns.merge_types
        self._header = header
        # The types of a noisy copy of every row: what ExampleGen infers on the file.
        rng = random.Random(seed + 1)
        trial = [noisy_row(row, rng, relative_noise, coordinate_noise) for row in rows]
        self.types = self._types(trial)
        train, evaluation = split_buckets
        self._splitter = csv_to_examples.RowSplitter(
            header, self.types, [train, train + evaluation]
        )

    def _types(self, rows: Sequence[Dict[str, str]]) -> List[int]:
        table = self._tables(self._header, [[row[c] for c in self._header] for row in rows])
        return [self._column_type(column) for column in table.columns]

    def __call__(self, rows: Sequence[Dict[str, str]]) -> List[int]:
        return self._splitter([[row[c] for c in self._header] for row in rows])

    def check(self, written: Sequence[Dict[str, str]], so_far: Optional[List[int]]):
        """Merges the types of a written batch; raises if they exceed the assumed ones."""
        merged = self._merge([so_far, self._types(written)] if so_far else [self._types(written)])
        if any(a > b for a, b in zip(merged, self.types)):
            raise ValueError(
                f"The scaled rows have column types {merged}, not {self.types}; "
                "their splits would not be ExampleGen's."
            )
        return merged


def write_scaled(
    source: str,
    out_path: str,
    factor: float,
    seed: int = 0,
    relative_noise: float = DEFAULT_RELATIVE_NOISE,
    coordinate_noise: float = DEFAULT_COORDINATE_NOISE,
    split_buckets: Optional[Tuple[int, int]] = None,
) -> int:
    """Writes the scaled CSV (same header as the source) and returns its row count.

    With `split_buckets` (train, eval), every copy of a source row lands in the split
    ExampleGen gives that row under those hash buckets (see the module docstring).

    The file is written beside its destination under a temporary name and renamed,
    so an interrupted run never leaves a partial CSV where a pipeline would read it.
    """
    header, rows = read_rows(source)
    split_of = (
        _SplitOf(header, rows, split_buckets, seed, relative_noise, coordinate_noise)
        if split_buckets
        else None
    )
    out_path = os.path.abspath(out_path)
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    # Outside the output folder: ExampleGen reads every file in that folder.
    tmp_path = os.path.join(
        os.path.dirname(os.path.dirname(out_path)),
        f".{os.path.basename(out_path)}.{os.getpid()}.tmp",
    )
    count, batch, types = 0, [], None
    try:
        with open(tmp_path, "w", newline="", encoding="utf-8") as out_file:
            writer = csv.DictWriter(out_file, fieldnames=header, lineterminator="\n")
            writer.writeheader()
            for row in scaled_rows(rows, factor, seed, relative_noise, coordinate_noise, split_of):
                writer.writerow(row)
                count += 1
                if split_of:
                    batch.append(row)
                    if len(batch) == SPLIT_BATCH_ROWS:
                        types, batch = split_of.check(batch, types), []
        if split_of and batch:
            types = split_of.check(batch, types)
        if split_of and types != split_of.types:
            raise ValueError(
                f"The scaled rows have column types {types}, not "
                f"{split_of.types}; their splits would not be ExampleGen's."
            )
    except BaseException:
        os.remove(tmp_path)
        raise
    os.replace(tmp_path, out_path)
    return count


def default_split_buckets(rows: int) -> Tuple[int, int]:
    """The hash buckets the local runner uses for data of `rows` rows."""
    from pipeline.local import sizing  # pylint: disable=import-outside-toplevel

    return sizing.split_buckets_for_rows(rows)


def main(argv=None) -> int:
    """Parses the command line and writes the scaled CSV."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        default="data/taxi/full/data.csv",
        help="CSV file (or folder holding one) to scale",
    )
    parser.add_argument(
        "--factor",
        type=float,
        required=True,
        help="how many times the source's rows to write (may be fractional)",
    )
    parser.add_argument(
        "--out", required=True, help="output CSV path; keep it alone in its folder for ExampleGen"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--relative-noise", type=float, default=DEFAULT_RELATIVE_NOISE)
    parser.add_argument("--coordinate-noise", type=float, default=DEFAULT_COORDINATE_NOISE)
    parser.add_argument(
        "--split-buckets",
        default="auto",
        help="TRAIN,EVAL hash buckets the copies of a row share a side "
        "of; 'auto': the local runner's for the written row count; "
        "'none': copies scatter",
    )
    args = parser.parse_args(argv)
    if args.split_buckets == "none":
        buckets = None
    elif args.split_buckets == "auto":
        buckets = default_split_buckets(round(args.factor * len(read_rows(args.source)[1])))
    else:
        buckets = tuple(int(part) for part in args.split_buckets.split(","))
    count = write_scaled(
        args.source,
        args.out,
        args.factor,
        args.seed,
        args.relative_noise,
        args.coordinate_noise,
        buckets,
    )
    print(f"wrote {count} rows to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
