"""Writes a scaled copy of the taxi CSV: N times its rows, resampled with small noise.

Every copy of the data holds each source row once, in a shuffled order, with fresh
noise on the continuous numeric columns; a fractional factor ends with a partial copy.
The output is deterministic for a given source, factor, seed and noise. Categorical
columns (ids, hours, census tracts, strings) and the timestamp are copied unchanged,
and empty cells stay empty. `fare` and `tips` share one factor, so the label (the tip
is more than 20% of the fare) is what it was in the source row.

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
from typing import Dict, Iterator, List

# Relative noise: value * (1 + u), u uniform in [-RELATIVE_NOISE, RELATIVE_NOISE].
RELATIVE_COLUMNS = ("trip_miles", "trip_seconds")
# One factor shared by both, so the tip's share of the fare does not change.
SHARED_FACTOR_COLUMNS = ("fare", "tips")
# Absolute noise in degrees (0.002 is about 200 m).
COORDINATE_COLUMNS = (
    "pickup_latitude", "pickup_longitude", "dropoff_latitude", "dropoff_longitude",
)
INTEGER_COLUMNS = ("trip_seconds",)
DEFAULT_RELATIVE_NOISE = 0.05
DEFAULT_COORDINATE_NOISE = 0.002


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


def noisy_row(row: Dict[str, str], rng: random.Random,
              relative_noise: float = DEFAULT_RELATIVE_NOISE,
              coordinate_noise: float = DEFAULT_COORDINATE_NOISE) -> Dict[str, str]:
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


def scaled_rows(rows: List[Dict[str, str]], factor: float, seed: int = 0,
                relative_noise: float = DEFAULT_RELATIVE_NOISE,
                coordinate_noise: float = DEFAULT_COORDINATE_NOISE,
                ) -> Iterator[Dict[str, str]]:
    """Yields round(factor * len(rows)) noisy rows, each copy a shuffle of `rows`."""
    if factor <= 0:
        raise ValueError(f"factor must be positive, got {factor}.")
    if not rows:
        return
    rng = random.Random(seed)
    remaining = round(factor * len(rows))
    order = list(range(len(rows)))
    for _ in range(math.ceil(remaining / len(rows))):
        rng.shuffle(order)
        for index in order[:remaining]:
            yield noisy_row(rows[index], rng, relative_noise, coordinate_noise)
        remaining -= min(remaining, len(order))


def write_scaled(source: str, out_path: str, factor: float, seed: int = 0,
                 relative_noise: float = DEFAULT_RELATIVE_NOISE,
                 coordinate_noise: float = DEFAULT_COORDINATE_NOISE) -> int:
    """Writes the scaled CSV (same header as the source) and returns its row count.

    The file is written beside its destination under a temporary name and renamed,
    so an interrupted run never leaves a partial CSV where a pipeline would read it.
    """
    header, rows = read_rows(source)
    out_path = os.path.abspath(out_path)
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    # Outside the output folder: ExampleGen reads every file in that folder.
    tmp_path = os.path.join(os.path.dirname(os.path.dirname(out_path)),
                            f".{os.path.basename(out_path)}.{os.getpid()}.tmp")
    count = 0
    with open(tmp_path, "w", newline="", encoding="utf-8") as out_file:
        writer = csv.DictWriter(out_file, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        for row in scaled_rows(rows, factor, seed, relative_noise, coordinate_noise):
            writer.writerow(row)
            count += 1
    os.replace(tmp_path, out_path)
    return count


def main(argv=None) -> int:
    """Parses the command line and writes the scaled CSV."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="data/taxi/full/data.csv",
                        help="CSV file (or folder holding one) to scale")
    parser.add_argument("--factor", type=float, required=True,
                        help="how many times the source's rows to write (may be fractional)")
    parser.add_argument("--out", required=True,
                        help="output CSV path; keep it alone in its folder for ExampleGen")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--relative-noise", type=float, default=DEFAULT_RELATIVE_NOISE)
    parser.add_argument("--coordinate-noise", type=float, default=DEFAULT_COORDINATE_NOISE)
    args = parser.parse_args(argv)
    count = write_scaled(args.source, args.out, args.factor, args.seed,
                         args.relative_noise, args.coordinate_noise)
    print(f"wrote {count} rows to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
