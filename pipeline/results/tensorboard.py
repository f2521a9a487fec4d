"""TensorBoard on a local run's training summaries, bound to 127.0.0.1.

TensorBoard's own server with its default plugins; the lock holds setuptools 81, whose
`pkg_resources` TensorBoard 2.15 imports.

Usage: python -m pipeline.results.tensorboard [--build-dir DIR] [--model FAMILY] [--trainer T]
[--port N]
"""

import argparse
import os
import sys

from pipeline.definition import config as config_lib
from pipeline.definition import trainers


def summaries_dir(build_dir: str, family: str, trainer: str = trainers.ESTIMATOR) -> str:
    """The folder holding a family's Trainer summaries (of `trainer`) under a build folder."""
    folder = trainers.suffixed(family, trainer)
    return os.path.join(os.path.abspath(build_dir), "pipeline_root", folder, "Trainer", "model_run")


def main(argv=None) -> int:
    """Serves the summaries under `<build>/pipeline_root/<family>/Trainer/model_run`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", default=os.path.join(config_lib.PROJECT_ROOT, "build"))
    parser.add_argument("--model", default="taxi", help="model family")
    parser.add_argument("--port", type=int, default=6006)
    parser.add_argument("--trainer", default=trainers.DEFAULT_TRAINER, choices=trainers.TRAINERS)
    args = parser.parse_args(argv)
    logdir = summaries_dir(args.build_dir, args.model, args.trainer)
    if not os.path.isdir(logdir):
        print(
            f"error: {logdir} does not exist; run the pipeline first (make run).", file=sys.stderr
        )
        return 2
    from tensorboard import program  # Imports TensorFlow: only once there is a logdir.

    board = program.TensorBoard()
    board.configure(
        argv=[None, "--logdir", logdir, "--host", "127.0.0.1", "--port", str(args.port)]
    )
    return board.main()


if __name__ == "__main__":
    sys.exit(main())
