"""ExampleGen alone: TFX's CsvExampleGen executor or the project's, on one data folder.

    python -m bench.example_gen_alone {tfx,ours} DATA_FOLDER OUT_FOLDER

Runs one executor's `Do` in this process (the taxi family's checked columns, a 29:1
hash split) and prints one JSON line: the seconds of `Do`, and the peak RSS of the
process tree sampled every 0.1 s. Not one of `python -m bench`'s sections; the figures
it gave are in docs/scale.md.
"""

import argparse
import json
import os
import shutil
import sys
import threading
import time

import psutil
from tfx.components.example_gen.csv_example_gen import executor as tfx_csv_executor
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

from bench import process_monitor
from components import checked_csv_example_gen
from components import example_gen
from pipeline.definition import families

EXECUTORS = {"tfx": tfx_csv_executor.Executor, "ours": checked_csv_example_gen.Executor}
SPLIT_BUCKETS = (29, 1)


def exec_properties(data_folder: str) -> dict:
    """ExampleGen's properties as the pipeline sets them for the taxi family."""
    contract = families.load("taxi").contract
    return {
        standard_component_specs.INPUT_BASE_KEY: data_folder,
        standard_component_specs.INPUT_CONFIG_KEY: proto_utils.proto_to_json(
            example_gen_pb2.Input(
                splits=[example_gen_pb2.Input.Split(name="single_split", pattern="*")]
            )
        ),
        standard_component_specs.OUTPUT_CONFIG_KEY: proto_utils.proto_to_json(
            example_gen.split_config(SPLIT_BUCKETS)
        ),
        standard_component_specs.OUTPUT_DATA_FORMAT_KEY: example_gen_pb2.FORMAT_TF_EXAMPLE,
        standard_component_specs.CUSTOM_CONFIG_KEY: proto_utils.proto_to_json(
            checked_csv_example_gen.custom_config(contract.raw_columns, contract.numeric_columns)
        ),
    }


def run(which: str, data_folder: str, out_folder: str) -> dict:
    """Runs one executor on the folder; returns its seconds and the tree's peak RSS."""
    shutil.rmtree(out_folder, ignore_errors=True)
    peak, done = [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], process_monitor.tree_rss(psutil.Process()))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    examples = standard_artifacts.Examples()
    examples.uri = out_folder
    context = base_beam_executor.BaseBeamExecutor.Context(
        beam_pipeline_args=[], tmp_dir=os.path.join(out_folder, "tmp")
    )
    start = time.monotonic()
    EXECUTORS[which](context).Do(
        {}, {standard_component_specs.EXAMPLES_KEY: [examples]}, exec_properties(data_folder)
    )
    seconds = time.monotonic() - start
    done.set()
    sampler.join()
    return {
        "executor": which,
        "data": data_folder,
        "seconds": round(seconds, 1),
        "peak_tree_mb": round(peak[0] / 2**20),
        "load_1m": os.getloadavg()[0],
    }


def main(argv=None) -> int:
    """Parses the command line, runs the executor and prints the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("executor", choices=sorted(EXECUTORS))
    parser.add_argument("data_folder")
    parser.add_argument("out_folder")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.executor, args.data_folder, args.out_folder)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
