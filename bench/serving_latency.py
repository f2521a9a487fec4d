"""Serving latency and throughput of the pushed model, loaded as a server loads it.

The SavedModel is loaded once with `tf.saved_model.load`; its `serving_default`
signature is then called repeatedly with serialized raw `tf.Example`s built from CSV
rows by `pipeline.serving.examples_from_csv` (the request a client sends). Each call
includes turning the request into a tensor and reading the result back, as a server
would. Calls are warmed up first; each round then times single-example calls (p50,
p99) and batches (examples per second).

Run as a child process (the newest pushed version of a serving folder, or one version):
    python -m bench.serving_latency --serving-dir build/serving_model \
        --csv data/taxi/full/data.csv --rounds 3
"""

import argparse
import json
import os
import sys
import time
from typing import List, Sequence

from bench import process_monitor
from bench import stats

DEFAULT_BATCH_SIZES = (100, 1000)


def _batch(examples: Sequence[bytes], size: int, offset: int) -> List[bytes]:
    """Returns `size` examples starting at `offset`, wrapping around."""
    return [examples[(offset + i) % len(examples)] for i in range(size)]


def measure(
    model_dir: str,
    csv_path: str,
    rounds: int,
    single_calls: int = 1000,
    batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES,
    batch_calls: int = 20,
    warmup_calls: int = 50,
    family: str = "taxi",
) -> dict:
    """Loads the model once and times `rounds` rounds of calls; returns every round."""
    import tensorflow as tf

    from pipeline.definition import families
    from pipeline.serving import client as serving

    schema = serving.load_schema(families.load(family).schema_file)
    examples = serving.examples_from_csv(csv_path, schema)
    start = time.perf_counter()
    serve = tf.saved_model.load(model_dir).signatures["serving_default"]
    load_seconds = time.perf_counter() - start

    def call(batch: List[bytes]) -> None:
        outputs = serve(examples=tf.constant(batch))
        for value in outputs.values():
            value.numpy()

    for i in range(warmup_calls):
        call(_batch(examples, 1, i))
    for size in batch_sizes:
        for i in range(3):
            call(_batch(examples, size, i * size))

    results = []
    for round_index in range(rounds):
        latencies = []
        for i in range(single_calls):
            request = _batch(examples, 1, round_index * single_calls + i)
            begin = time.perf_counter()
            call(request)
            latencies.append(time.perf_counter() - begin)
        throughput = {}
        for size in batch_sizes:
            requests = [_batch(examples, size, i * size) for i in range(batch_calls)]
            begin = time.perf_counter()
            for request in requests:
                call(request)
            throughput[str(size)] = size * batch_calls / (time.perf_counter() - begin)
        results.append(
            {
                "p50_ms": stats.percentile(latencies, 50) * 1000,
                "p99_ms": stats.percentile(latencies, 99) * 1000,
                "mean_ms": sum(latencies) / len(latencies) * 1000,
                "batch_examples_per_second": throughput,
            }
        )
    return {
        "model_dir": model_dir,
        "csv": csv_path,
        "examples": len(examples),
        "load_seconds": load_seconds,
        "single_calls_per_round": single_calls,
        "batch_calls_per_round": batch_calls,
        "rounds": results,
    }


def run(
    serving_dir: str,
    csv_path: str,
    repeats: int,
    out_dir: str,
    single_calls: int = 1000,
    batch_calls: int = 20,
    family: str = "taxi",
) -> dict:
    """Measures the newest model pushed to `serving_dir` in a child process.

    Returns every round, and medians over the `repeats` rounds.
    """
    print(f"[bench] serving the newest model in {serving_dir}", flush=True)
    result = process_monitor.run_json(
        "bench.serving_latency",
        [
            "--serving-dir",
            serving_dir,
            "--csv",
            csv_path,
            "--rounds",
            str(repeats),
            "--single-calls",
            str(single_calls),
            "--batch-calls",
            str(batch_calls),
            "--model",
            family,
        ],
        os.path.join(out_dir, "logs", "serving"),
    )
    rounds = result["rounds"]
    result["median"] = {
        "p50_ms": stats.median([r["p50_ms"] for r in rounds]),
        "p99_ms": stats.median([r["p99_ms"] for r in rounds]),
        "batch_examples_per_second": {
            size: stats.median([r["batch_examples_per_second"][size] for r in rounds])
            for size in rounds[0]["batch_examples_per_second"]
        },
    }
    return result


def main(argv=None) -> int:
    """Measures the model and prints every round as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument("--serving-dir", help="a Pusher destination: its newest version is used")
    model.add_argument("--model-dir", help="one pushed SavedModel version")
    parser.add_argument("--csv", required=True, help="CSV rows to send (header included)")
    parser.add_argument("--model", default="taxi", help="model family (for its schema)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--single-calls", type=int, default=1000)
    parser.add_argument("--batch-calls", type=int, default=20)
    parser.add_argument("--batch-sizes", default=",".join(map(str, DEFAULT_BATCH_SIZES)))
    args = parser.parse_args(argv)
    if args.serving_dir:
        from pipeline.serving import client as serving  # Imports TensorFlow: only in the child.

        args.model_dir = serving.latest_version_dir(args.serving_dir)
    result = measure(
        args.model_dir,
        args.csv,
        args.rounds,
        args.single_calls,
        [int(s) for s in args.batch_sizes.split(",")],
        args.batch_calls,
        family=args.model,
    )
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
