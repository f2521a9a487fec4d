"""Runs the pipeline on this machine with TFX's BeamDagRunner and SQLite ML Metadata.

Usage: python -m pipeline.local_runner [--data DIR] [--build-dir DIR] [--train-steps N]
  [--min-auc X] [--force-push] [--beam-profile local|local-multiprocess]

Exit codes: 0 done (blessed or not: see the summary), 1 stopped by bad input or failed,
2 no such data folder, 3 refused because another run holds the metadata store.
"""

import argparse
import contextlib
import fcntl
import json
import os
import sys
import time
import traceback
from typing import Tuple

from tfx.dsl.io import fileio
from tfx.orchestration import metadata
from tfx.orchestration.beam import beam_dag_runner

from components.csv_check import CsvFormatError
from components.data_gate.executor import DataValidationError
from pipeline import beam_profiles
from pipeline import config as config_lib
from pipeline import run_summary
from pipeline import sizing
from pipeline.pipeline import EVALUATOR
from pipeline.pipeline import EXAMPLE_GEN
from pipeline.pipeline import create_pipeline


class _ProgressNodeDoFn(beam_dag_runner.PipelineNodeAsDoFn):
    """Runs one pipeline node, printing when it starts and how long it took."""

    def process(self, element, *signals):
        node_id = self._pipeline_node.node_info.id
        print(f"[pipeline] {node_id}: running", flush=True)
        start = time.monotonic()
        try:
            super().process(element, *signals)
        except BaseException:
            print(f"[pipeline] {node_id}: FAILED after {time.monotonic() - start:.1f}s",
                  flush=True)
            raise
        print(f"[pipeline] {node_id}: done in {time.monotonic() - start:.1f}s", flush=True)


class ProgressBeamDagRunner(beam_dag_runner.BeamDagRunner):
    """TFX's BeamDagRunner, reporting each component's progress on stdout."""

    _PIPELINE_NODE_DO_FN_CLS = _ProgressNodeDoFn


class ConcurrentRunError(RuntimeError):
    """Another run holds the metadata store this run was asked to use."""


@contextlib.contextmanager
def exclusive_store(metadata_path: str):
    """Holds an exclusive lock on the metadata store for the duration of a run.

    SQLite ML Metadata is not made for two pipeline runs writing at once; a second
    run refuses instead of interleaving with the first. The lock is the kernel's
    (`flock`), so a killed run never leaves it behind.
    """
    lock_path = metadata_path + ".lock"
    with open(lock_path, "a+") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.seek(0)
            holder = lock_file.read().strip() or "unknown"
            raise ConcurrentRunError(
                f"Another pipeline run (pid {holder}) is using {metadata_path}; "
                "wait for it to finish, or run with another build folder."
            ) from None
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(str(os.getpid()))
        lock_file.flush()
        yield


def run(config: config_lib.PipelineConfig, metadata_path: str, summary_path: str) -> dict:
    """Runs the pipeline, then writes and returns the run's summary.

    Args:
      config: the pipeline's settings.
      metadata_path: the SQLite ML Metadata file (created if missing).
      summary_path: where the summary is written as JSON.

    Raises:
      ConcurrentRunError: another run is using the same metadata store.
    """
    os.makedirs(os.path.dirname(os.path.abspath(metadata_path)), exist_ok=True)
    connection_config = metadata.sqlite_metadata_connection_config(
        metadata_path
    )
    with exclusive_store(metadata_path):
        ProgressBeamDagRunner().run(create_pipeline(config, connection_config))
        summary = run_summary.summarize_latest_run(connection_config, config.pipeline_name)
    os.makedirs(os.path.dirname(os.path.abspath(summary_path)), exist_ok=True)
    with open(summary_path, "w") as summary_file:
        json.dump(summary, summary_file, indent=2)
    return summary


@contextlib.contextmanager
def stderr_to_file(log_path: str):
    """Sends everything written to stderr (TF, Beam and absl logs) to `log_path`."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    sys.stderr.flush()
    saved_fd = os.dup(2)
    with open(log_path, "ab") as log_file:
        os.dup2(log_file.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved_fd, 2)
            os.close(saved_fd)


def sized_config(build_dir: str, data_root: str, beam_profile: str,
                 **overrides) -> Tuple[int, config_lib.PipelineConfig]:
    """Returns the data's row count and a local config with settings sized to it.

    The eval split and, under the `local` profile, which components run in worker
    processes follow `pipeline.sizing`; `overrides` are further `PipelineConfig` fields.
    """
    # ExampleGen reads every file in the data folder.
    rows = sizing.count_rows(
        path for path in fileio.glob(os.path.join(data_root, "*")) if not fileio.isdir(path))
    component_beam_args = (sizing.component_beam_args_for_rows(rows, (EXAMPLE_GEN, EVALUATOR))
                           if beam_profile == "local" else {})
    return rows, config_lib.local_config(
        build_dir, data_root,
        split_buckets=sizing.split_buckets_for_rows(rows),
        beam_pipeline_args=tuple(beam_profiles.beam_pipeline_args(beam_profile)),
        component_beam_args=component_beam_args,
        **overrides,
    )


def main(argv=None) -> int:
    """Parses the command line, runs the pipeline and prints the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(config_lib.PROJECT_ROOT, "data", "taxi"),
                        help="folder of CSV files with the taxi columns")
    parser.add_argument("--build-dir", default=os.path.join(config_lib.PROJECT_ROOT, "build"),
                        help="folder for the pipeline root, metadata and pushed models")
    parser.add_argument("--train-steps", type=int, default=config_lib.PipelineConfig.train_steps)
    parser.add_argument("--min-auc", type=float, default=config_lib.PipelineConfig.min_auc)
    parser.add_argument("--force-push", action="store_true",
                        help="operator override: push the model even if it is not blessed")
    parser.add_argument("--beam-profile", default="local", choices=beam_profiles.LOCAL_PROFILES,
                        help="how the Beam-based components run (pipeline/beam_profiles.py)")
    args = parser.parse_args(argv)

    if not os.path.isdir(args.data):
        print(f"error: data folder {args.data!r} does not exist", file=sys.stderr)
        return 2
    build_dir = os.path.abspath(args.build_dir)
    rows, config = sized_config(
        build_dir, args.data, args.beam_profile, train_steps=args.train_steps,
        min_auc=args.min_auc, force_push=args.force_push)
    if config.force_push:
        print("[pipeline] WARNING: --force-push: the model is pushed even if the "
              "Evaluator does not bless it", flush=True)
    summary_path = os.path.join(build_dir, "run_summary.json")
    log_path = os.path.join(build_dir, "logs", time.strftime("run-%Y%m%d-%H%M%S.log"))
    train_buckets, eval_buckets = config.split_buckets
    print(f"[pipeline] running on {config.data_root} (about {rows:,} rows, split "
          f"train:eval {train_buckets}:{eval_buckets}); detailed log: {log_path}",
          flush=True)
    for component_id, component_args in config.component_beam_args.items():
        print(f"[pipeline] {component_id} runs with {' '.join(component_args[:3])}",
              flush=True)
    start = time.monotonic()
    # What ended the run early ("" if nothing did); None when another run held the store.
    stopped = ""
    try:
        with stderr_to_file(log_path):
            summary = run(config, config_lib.metadata_path(build_dir), summary_path)
    except ConcurrentRunError as error:
        stopped = None
        print(f"[pipeline] REFUSED: {error}", file=sys.stderr)
        return 3
    except (CsvFormatError, DataValidationError) as error:
        stopped = str(error)
        # Bad input: the message says what is wrong and where; no traceback needed.
        print(f"[pipeline] STOPPED: {error}", file=sys.stderr)
        print(f"[pipeline] nothing was trained or pushed; full log: {log_path}",
              file=sys.stderr)
        return 1
    except Exception as error:  # The log has the details; the terminal gets the cause.
        stopped = f"{type(error).__name__}: {error}"
        traceback.print_exc(limit=-3)
        print(f"[pipeline] FAILED after {time.monotonic() - start:.0f}s; full log: {log_path}",
              file=sys.stderr)
        return 1
    else:
        print(run_summary.format_summary(summary))
        print(f"[pipeline] finished in {time.monotonic() - start:.0f}s")
        print(f"[pipeline] summary written to {summary_path}")
        return 0
    finally:
        if stopped is not None:
            write_run_report(build_dir, config.pipeline_name, stopped, log_path)


def write_run_report(build_dir: str, pipeline_name: str, error: str, log_path: str) -> None:
    """Renders the run's report and prints where it is.

    A report that cannot be written is said on stderr and never changes the run's
    own outcome or exit code.
    """
    from pipeline.results import report

    try:
        with stderr_to_file(log_path):
            path = report.write_report(build_dir, pipeline_name, error=error)
    except Exception as error:  # pylint: disable=broad-except
        print(f"[pipeline] the run report could not be written: {type(error).__name__}: "
              f"{error}", file=sys.stderr)
        return
    print(f"[pipeline] report: {path} (newest: "
          f"{os.path.join(build_dir, report.REPORT_DIR, report.LATEST, report.PAGE_FILE)})")


if __name__ == "__main__":
    sys.exit(main())
