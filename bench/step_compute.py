"""The training step alone, in one process: the Estimator's training op against the
same Keras model's train function.

Whole training runs (`bench.training_throughput`) differ from window to window by
several percent on these machines; where a step is long (reviews: about 46 ms) that
is more than the two paths differ. This part takes out what runs around the step, and
the drift between processes with it: one process builds the training op that
`model_to_estimator`'s model function makes, run in a plain session (no hooks, no
checkpoints), and a Keras model's train function (what `fit` runs each step, compiled
metrics included, without `fit`'s loop of callbacks). Both read the same input
function. Blocks of a few seconds of each alternate (ABBA); each block gives
examples/s. One traced Estimator step also gives the number of ops it executes.

    python -m bench.step_compute --model reviews --build-dir DIR
"""

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Dict, List

from bench import process_monitor
from bench import stats
from bench import training_throughput

MODES = ("estimator_op", "keras_function")
BLOCKS = 6  # Per mode.
BLOCK_SECONDS = 5.0
WARMUP_SECONDS = 5.0  # Per mode, before the first block.


def summarize(rates: Dict[str, List[float]], batch_size: int) -> dict:
    """Returns each mode's median examples/s and step time, and the ratio of the
    Estimator's training op to Keras' train function with its bootstrap interval."""
    modes = {
        mode: {
            "median": stats.median(values),
            "blocks": len(values),
            "step_microseconds": training_throughput.step_microseconds(
                stats.median(values), batch_size
            ),
        }
        for mode, values in rates.items()
    }
    top, bottom = modes["estimator_op"]["median"], modes["keras_function"]["median"]
    return {
        "modes": modes,
        "ratio": top / bottom if top and bottom else None,
        "interval": training_throughput.ratio_interval(
            rates["estimator_op"], rates["keras_function"]
        ),
    }


def measure(
    build_dir: str, family_name: str, blocks: int = BLOCKS, block_seconds: float = BLOCK_SECONDS
) -> dict:
    """Builds both training steps in this process and times alternating blocks."""
    import tensorflow as tf
    import tensorflow_estimator as tf_estimator

    from pipeline.definition import families
    from pipeline.serving import client as serving

    family = families.load(family_name)
    paths = training_throughput.transform_paths(build_dir, family_name)
    with tempfile.TemporaryDirectory(prefix="bench-step-") as model_dir:
        fn_args = training_throughput.fn_args(
            paths, training_throughput.UNBOUNDED_STEPS, model_dir, {}
        )
        built = families.trainer_fn(family)(fn_args, serving.load_schema(family.schema_file))
        estimator, input_fn = built["estimator"], built["train_spec"].input_fn

        graph = tf.Graph()
        with graph.as_default():
            features, labels = tf.compat.v1.data.make_one_shot_iterator(input_fn()).get_next()
            # The model function `model_to_estimator` made, as Estimator.train calls it.
            spec = estimator._call_model_fn(
                features, labels, tf_estimator.estimator.ModeKeys.TRAIN, estimator.config
            )
            initialize = [
                tf.compat.v1.global_variables_initializer(),
                tf.compat.v1.local_variables_initializer(),
                tf.compat.v1.tables_initializer(),
            ]
        # The Estimator's own session settings (its default unless RunConfig sets some).
        session = tf.compat.v1.Session(graph=graph, config=estimator._session_config)
        session.run(initialize)
        fetches = [spec.train_op, spec.loss]  # The loss: what a training step fetches.

        # Made after the graph: `model_to_estimator`'s graph-mode clone turns Keras
        # models made before it into graph-mode ones.
        keras_model = _keras_model(family, paths)
        train_function = keras_model.make_train_function()
        iterator = iter(input_fn())
        batch_size = _batch_size(family)

        def step(mode):
            if mode == "estimator_op":
                session.run(fetches)
            else:
                train_function(iterator)

        for mode in MODES:
            _run_for(step, mode, WARMUP_SECONDS)
        traced = tf.compat.v1.RunMetadata()
        session.run(
            fetches,
            run_metadata=traced,
            options=tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE),
        )
        ops = sum(len(device.node_stats) for device in traced.step_stats.dev_stats)

        rates: Dict[str, List[float]] = {mode: [] for mode in MODES}
        for mode in training_throughput.interleaved_order(MODES, blocks):
            steps, seconds = _run_for(step, mode, block_seconds)
            rates[mode].append(steps * batch_size / seconds)
        session.close()
    return {
        "model": family_name,
        "batch_size": batch_size,
        "blocks": blocks,
        "block_seconds": block_seconds,
        "op_executions_per_step": ops,
        "rates": rates,
        **summarize(rates, batch_size),
    }


def _run_for(step, mode: str, seconds: float):
    began = time.perf_counter()
    steps = 0
    while True:
        step(mode)
        steps += 1
        elapsed = time.perf_counter() - began
        if elapsed >= seconds:
            return steps, elapsed


def _batch_size(family) -> int:
    from modules.common import estimator

    return estimator.hparams_for(family.contract, None)["train_batch_size"]


def _keras_model(family, paths):
    """The family's compiled Keras model, at the defaults the Estimator above uses."""
    import tensorflow_transform as tft

    from modules.common import estimator
    from pipeline.definition import families

    hparams = estimator.hparams_for(family.contract, None)
    return families.model_builder(family)(tft.TFTransformOutput(paths["transform_graph"]), hparams)


def run(
    build_dir: str,
    out_dir: str,
    family: str = "taxi",
    blocks: int = BLOCKS,
    block_seconds: float = BLOCK_SECONDS,
) -> dict:
    """Runs `measure` in a child process and returns its figures."""
    print(
        f"[bench] training step alone ({family}): {blocks} blocks of {block_seconds:g} s a path",
        flush=True,
    )
    return process_monitor.run_json(
        "bench.step_compute",
        [
            "--model",
            family,
            "--build-dir",
            build_dir,
            "--blocks",
            str(blocks),
            "--block-seconds",
            str(block_seconds),
        ],
        os.path.join(out_dir, "logs", f"step-compute-{family}"),
    )


def main(argv=None) -> int:
    """Measures both training steps in this process and prints one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="taxi", help="model family")
    parser.add_argument(
        "--build-dir", required=True, help="a pipeline build folder holding Transform's output"
    )
    parser.add_argument("--blocks", type=int, default=BLOCKS)
    parser.add_argument("--block-seconds", type=float, default=BLOCK_SECONDS)
    args = parser.parse_args(argv)
    if args.blocks < 2 or args.block_seconds <= 0:
        parser.error("--blocks must be at least 2 and --block-seconds positive")
    print(
        json.dumps(measure(args.build_dir, args.model, args.blocks, args.block_seconds)), flush=True
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
