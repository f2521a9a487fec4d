"""StatisticsGen's work alone, at two batch sizes, interleaved (A B A B ...).

Reads a split of an ExampleGen artifact the way TFX's StatisticsGen executor does
(tfx_bsl's TFExampleRecord source) and runs TFDV's `GenerateStatistics` in process
with `desired_batch_size` set, once per round and size, in alternating order; prints
JSON with each run's seconds and the examples counted.

    python -m bench.statistics_batch RUN/pipeline_root/CsvExampleGen/examples/3/Split-train
    python -m bench.statistics_batch DIR --sizes 1000,10000 --rounds 3
"""

import argparse
import glob
import json
import os
import sys
import tempfile
import time
from typing import Dict, List, Sequence

from bench import stats


def statistics_once(split_dir: str, batch_size: int) -> Dict[str, float]:
    """Runs TFDV's statistics over the gzipped TFRecords of `split_dir` once.

    Returns the seconds it took and the examples it counted.
    """
    import apache_beam as beam
    import tensorflow_data_validation as tfdv
    from tfx_bsl.public import tfxio

    from components import statistics

    files = sorted(glob.glob(os.path.join(split_dir, "*.gz")))
    if not files:
        raise FileNotFoundError(f"no gzipped TFRecord files in {split_dir}")
    source = tfxio.TFExampleRecord(file_pattern=files)
    with tempfile.TemporaryDirectory() as out_dir:
        out_path = os.path.join(out_dir, "stats.pb")
        started = time.monotonic()
        with beam.Pipeline() as pipeline:
            _ = (
                pipeline
                | source.BeamSource()
                | tfdv.GenerateStatistics(statistics.stats_options(batch_size))
                | tfdv.WriteStatisticsToBinaryFile(out_path)
            )
        seconds = time.monotonic() - started
        counted = tfdv.load_stats_binary(out_path).datasets[0].num_examples
    return {"seconds": round(seconds, 2), "examples": counted}


def interleaved(split_dir: str, sizes: Sequence[int], rounds: int) -> Dict[str, object]:
    """Runs every size once a round, the order reversed every other round."""
    runs: Dict[int, List[dict]] = {size: [] for size in sizes}
    for index in range(rounds):
        for size in sizes if index % 2 == 0 else list(reversed(sizes)):
            runs[size].append(statistics_once(split_dir, size))
    return {
        "split": os.path.abspath(split_dir),
        "rounds": rounds,
        "by_batch_size": {
            str(size): {
                "seconds": stats.spread([run["seconds"] for run in size_runs]),
                "examples": sorted({run["examples"] for run in size_runs}),
                "runs": size_runs,
            }
            for size, size_runs in runs.items()
        },
    }


def main(argv=None) -> int:
    """Parses the command line and prints the interleaved runs as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("split_dir", help="a Split-<name> folder of an ExampleGen artifact")
    parser.add_argument("--sizes", default="1000,10000", help="desired batch sizes")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each size")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    print(json.dumps(interleaved(args.split_dir, sizes, args.rounds), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
