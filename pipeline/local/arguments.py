"""The local runner's command line, and the `PipelineConfig` fields it sets."""

import argparse
import os

from modules.common.contract import TUNING_ALGORITHMS
from pipeline.definition import config as config_lib
from pipeline.definition import families
from pipeline.definition import trainers
from pipeline.local import beam_profiles


def parser(description: str) -> argparse.ArgumentParser:
    """The runner's command line: the run's settings, then the tuning's."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--model",
        default=families.DEFAULT_FAMILY,
        help=f"model family, a folder of modules/ ({', '.join(families.available())})",
    )
    parser.add_argument(
        "--data",
        default=None,
        help="folder of CSV files with the family's columns (default: the family's data)",
    )
    parser.add_argument(
        "--build-dir",
        default=os.path.join(config_lib.PROJECT_ROOT, "build"),
        help="folder for the pipeline root, metadata and pushed models",
    )
    parser.add_argument(
        "--train-steps", type=int, default=None, help="training steps (default: the family's)"
    )
    parser.add_argument(
        "--blessing-bound",
        type=float,
        default=None,
        help="the worst value of the task's blessing metric that may be "
        "blessed: lowest AUC or accuracy, highest RMSE "
        "(default: the family's)",
    )
    parser.add_argument(
        "--blessing-max-change",
        type=float,
        default=None,
        help="how much worse than the baseline's blessing metric a "
        "candidate may be (default: the family's)",
    )
    parser.add_argument(
        "--force-push",
        action="store_true",
        help="operator override: push the model even if it is not blessed",
    )
    parser.add_argument(
        "--beam-profile",
        default="local",
        choices=beam_profiles.LOCAL_PROFILES,
        help="how the Beam-based components run (pipeline/local/beam_profiles.py)",
    )
    parser.add_argument(
        "--trainer",
        default=trainers.DEFAULT_TRAINER,
        choices=trainers.TRAINERS,
        help="estimator: TFX's Estimator Trainer (trainer_fn); keras: TFX's generic "
        "Keras Trainer (run_fn), its own pipeline name <name>-keras and folders",
    )
    _add_tuning_arguments(parser)
    return parser


def _add_tuning_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tune",
        action="store_true",
        help="search the hyperparameters with the Tuner before training",
    )
    parser.add_argument(
        "--tuning-trials",
        type=int,
        default=None,
        help="trials of the search, the first the family's defaults (default: 4)",
    )
    parser.add_argument(
        "--tuning-steps",
        type=int,
        default=None,
        help="training steps of each trial (default: the training's)",
    )
    parser.add_argument(
        "--tuning-algorithm",
        default=None,
        choices=TUNING_ALGORITHMS,
        help="the search (default: random)",
    )


def overrides(args) -> dict:
    """The `PipelineConfig` fields the command line sets."""
    overrides = {
        key: value
        for key, value in (
            ("train_steps", args.train_steps),
            ("blessing_bound", args.blessing_bound),
            ("blessing_max_change", args.blessing_max_change),
            ("tuning_trials", args.tuning_trials),
            ("tuning_steps", args.tuning_steps),
            ("tuning_algorithm", args.tuning_algorithm),
        )
        if value is not None
    }
    if args.tune:
        overrides["tune"] = True
    if args.trainer != trainers.DEFAULT_TRAINER:
        overrides["trainer"] = args.trainer
    return overrides
