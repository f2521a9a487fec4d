"""TensorBoard on a local run's training summaries, bound to 127.0.0.1.

TensorBoard 2.15 imports `pkg_resources` (to find third-party plugins and to compare
versions), which the lock's setuptools (84) no longer ships, so its own command line
fails at start-up. This entry gives it the two functions it uses, from `packaging` and
`importlib.metadata`, in this process only, and starts the server with TensorBoard's
first-party plugins.

Usage: python -m pipeline.results.tensorboard [--build-dir DIR] [--model FAMILY] [--port N]
"""

import argparse
import importlib.metadata
import os
import sys
import types

from pipeline.definition import config as config_lib


def _provide_pkg_resources() -> None:
    """Registers a `pkg_resources` with what TensorBoard 2.15 calls, if none is installed."""
    try:
        import pkg_resources  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel
        return
    except ImportError:
        pass
    from packaging import version

    module = types.ModuleType("pkg_resources")
    module.parse_version = version.parse
    module.iter_entry_points = lambda group: importlib.metadata.entry_points(group=group)
    sys.modules["pkg_resources"] = module


def plugins() -> list:
    """TensorBoard's first-party plugins (`tensorboard.default`'s static list)."""
    from tensorboard.plugins.core import core_plugin
    from tensorboard.plugins.custom_scalar import custom_scalars_plugin
    from tensorboard.plugins.distribution import distributions_plugin
    from tensorboard.plugins.graph import graphs_plugin
    from tensorboard.plugins.histogram import histograms_plugin
    from tensorboard.plugins.hparams import hparams_plugin
    from tensorboard.plugins.metrics import metrics_plugin
    from tensorboard.plugins.scalar import scalars_plugin
    from tensorboard.plugins.text import text_plugin

    return [
        core_plugin.CorePluginLoader(include_debug_info=True),
        metrics_plugin.MetricsPlugin,
        scalars_plugin.ScalarsPlugin,
        custom_scalars_plugin.CustomScalarsPlugin,
        graphs_plugin.GraphsPlugin,
        distributions_plugin.DistributionsPlugin,
        histograms_plugin.HistogramsPlugin,
        text_plugin.TextPlugin,
        hparams_plugin.HParamsPlugin,
    ]


def main(argv=None) -> int:
    """Serves the summaries under `<build>/pipeline_root/<family>/Trainer/model_run`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", default=os.path.join(config_lib.PROJECT_ROOT, "build"))
    parser.add_argument("--model", default="taxi", help="model family")
    parser.add_argument("--port", type=int, default=6006)
    args = parser.parse_args(argv)
    logdir = os.path.join(os.path.abspath(args.build_dir), "pipeline_root", args.model,
                          "Trainer", "model_run")
    if not os.path.isdir(logdir):
        print(f"error: {logdir} does not exist; run the pipeline first (make run).",
              file=sys.stderr)
        return 2
    _provide_pkg_resources()
    from tensorboard import program

    board = program.TensorBoard(plugins=plugins())
    board.configure(argv=[None, "--logdir", logdir, "--host", "127.0.0.1",
                          "--port", str(args.port)])
    return board.main()


if __name__ == "__main__":
    sys.exit(main())
