"""Runs the pipeline on this machine with TFX's BeamDagRunner and SQLite ML Metadata.

Usage: python -m pipeline.local.runner [--model FAMILY] [--data DIR] [--build-dir DIR]
  [--train-steps N] [--min-auc X] [--force-push] [--beam-profile local|local-multiprocess]
  [--tune [--tuning-trials N] [--tuning-steps N] [--tuning-algorithm random|bayesian]]

With --tune, the Tuner searches the family's hyperparameters before the Trainer; a run
without it trains with the latest ones tuned by an earlier run of the same family.

Every run, whatever its end, leaves `<build dir>/run_summary.json` with its `status`:
finished (exit 0, blessed or not: see the summary), stopped by bad input or an
unusable model family (exit 1), failed (exit 1), refused because another run holds
the metadata store (exit 3), interrupted by Ctrl-C (exit 130). Exit 2: no such data
folder or family.
"""

import argparse
import contextlib
import fcntl
import json
import os
import sys
import time
import traceback
from typing import Optional, Tuple

from tfx.orchestration import metadata
from tfx.orchestration.beam import beam_dag_runner

from components import data_files
from components.csv_check import CsvFormatError
from components.data_gate.executor import DataValidationError
from modules.common.contract import TUNING_ALGORITHMS
from pipeline.definition import config as config_lib
from pipeline.definition import families
from pipeline.definition.pipeline import EVALUATOR
from pipeline.definition.pipeline import create_pipeline
from pipeline.local import beam_profiles
from pipeline.local import sizing
from pipeline.results import summary as run_summary

# Errors that mean the input is wrong, not the pipeline: their message says what and
# where, and the run stops without a traceback.
BAD_INPUT_ERRORS = (CsvFormatError, DataValidationError, families.FamilyError)
EXIT_CODES = {"finished": 0, "stopped": 1, "failed": 1, "refused": 3, "interrupted": 130}


class _ProgressNodeDoFn(beam_dag_runner.PipelineNodeAsDoFn):
    """Runs one pipeline node, printing when it starts and how long it took."""

    # The node running now, or the one a run ended in, for an interrupted run's reason.
    running: Optional[str] = None

    def process(self, element, *signals):
        node_id = self._pipeline_node.node_info.id
        print(f"[pipeline] {node_id}: running", flush=True)
        start = time.monotonic()
        _ProgressNodeDoFn.running = node_id
        try:
            super().process(element, *signals)
        except KeyboardInterrupt:
            print(f"[pipeline] {node_id}: interrupted after {time.monotonic() - start:.1f}s",
                  flush=True)
            raise
        except BaseException:
            print(f"[pipeline] {node_id}: FAILED after {time.monotonic() - start:.1f}s",
                  flush=True)
            raise
        _ProgressNodeDoFn.running = None
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


def write_summary(summary: dict, summary_path: str) -> None:
    """Writes the summary as JSON; a reader sees the previous file or this one, whole."""
    os.makedirs(os.path.dirname(os.path.abspath(summary_path)), exist_ok=True)
    partial = f"{summary_path}.partial-{os.getpid()}"
    with open(partial, "w") as summary_file:
        json.dump(summary, summary_file, indent=2)
    os.replace(partial, summary_path)


def _interrupted(error: BaseException) -> bool:
    """Whether Ctrl-C caused `error`: Beam re-raises it as a RuntimeError from it."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def status_of(error: Optional[BaseException]) -> str:
    """Returns the summary status of a run that ended with `error` (None: finished)."""
    if error is None:
        return "finished"
    if isinstance(error, ConcurrentRunError):
        return "refused"
    if _interrupted(error):
        return "interrupted"
    if isinstance(error, BAD_INPUT_ERRORS):
        return "stopped"
    return "failed"


def _ended_summary(config, connection_config, started_ms: int,
                   error: Optional[BaseException]) -> dict:
    """Returns what this run did, from ML Metadata, with its status and reason."""
    summary = None
    if connection_config is not None:
        try:
            summary = run_summary.summarize_latest_run(
                connection_config, config.pipeline_name, since_ms=started_ms)
        except Exception as read_error:  # The run's own outcome matters more.
            print(f"[pipeline] could not read this run from ML Metadata: {read_error}",
                  file=sys.stderr)
    summary = summary or run_summary.empty_summary(config.pipeline_name)
    summary.update(
        status=status_of(error),
        reason="" if error is None else (str(error) or type(error).__name__),
        family=config.contract.name,
        data_root=config.data_root,
    )
    if summary["status"] == "interrupted":
        summary["reason"] = "interrupted" + (
            f" during {_ProgressNodeDoFn.running}" if _ProgressNodeDoFn.running else "")
    return summary


def run(config: config_lib.PipelineConfig, metadata_path: str, summary_path: str) -> dict:
    """Runs the pipeline; returns the run's summary, also written to `summary_path`.

    The summary is written whatever the end, with a `status` and a `reason`
    (see `status_of`); a run that does not finish raises its error after writing it.

    Args:
      config: the pipeline's settings.
      metadata_path: the SQLite ML Metadata file (created if missing).
      summary_path: where the summary is written as JSON.

    Raises:
      ConcurrentRunError: another run is using the same metadata store.
      CsvFormatError, DataValidationError: the data is not usable; nothing trained.
    """
    os.makedirs(os.path.dirname(os.path.abspath(metadata_path)), exist_ok=True)
    started_ms = int(time.time() * 1000)
    connection_config = None
    _ProgressNodeDoFn.running = None
    try:
        with exclusive_store(metadata_path):
            connection_config = metadata.sqlite_metadata_connection_config(metadata_path)
            ProgressBeamDagRunner().run(create_pipeline(config, connection_config))
    except BaseException as error:
        write_summary(_ended_summary(config, connection_config, started_ms, error),
                      summary_path)
        raise
    summary = _ended_summary(config, connection_config, started_ms, None)
    write_summary(summary, summary_path)
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
    processes follow `pipeline.local.sizing`; `overrides` are further
    `config_lib.local_config` arguments.
    """
    # ExampleGen reads the data files only (components/data_files.py).
    rows = sizing.count_rows(data_files.in_folder(data_root).files)
    # ExampleGen's executor runs its own worker processes, without Beam.
    component_beam_args = (sizing.component_beam_args_for_rows(rows, (EVALUATOR,))
                           if beam_profile == "local" else {})
    return rows, config_lib.local_config(
        build_dir, data_root,
        split_buckets=sizing.split_buckets_for_rows(rows),
        beam_pipeline_args=tuple(beam_profiles.beam_pipeline_args(beam_profile)),
        component_beam_args=component_beam_args,
        **overrides,
    )


def _print_outcome(summary: dict, error: Optional[BaseException], log_path: str,
                   seconds: float) -> None:
    """Tells the terminal how the run ended and where to look."""
    status = summary["status"]
    if status == "refused":
        print(f"[pipeline] REFUSED: {error}", file=sys.stderr)
    elif status == "stopped":
        # Bad input: the message says what is wrong and where; no traceback needed.
        print(f"[pipeline] STOPPED: {error}", file=sys.stderr)
        print("[pipeline] nothing was trained or pushed", file=sys.stderr)
    elif status == "interrupted":
        print(f"[pipeline] INTERRUPTED ({summary['reason']}) after {seconds:.0f}s; the "
              "serving folder keeps its previous model; a new run resumes training "
              "from its last checkpoint", file=sys.stderr)
    elif status == "failed":
        traceback.print_exception(error, limit=-3)
        print(f"[pipeline] FAILED after {seconds:.0f}s", file=sys.stderr)
    else:
        print(run_summary.format_summary(summary))
        print(f"[pipeline] finished in {seconds:.0f}s")


def main(argv=None) -> int:
    """Parses the command line, runs the pipeline and prints how it ended."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=families.DEFAULT_FAMILY,
                        help=f"model family, a folder of modules/ ({', '.join(families.available())})")
    parser.add_argument("--data", default=None,
                        help="folder of CSV files with the family's columns "
                             "(default: the family's data)")
    parser.add_argument("--build-dir", default=os.path.join(config_lib.PROJECT_ROOT, "build"),
                        help="folder for the pipeline root, metadata and pushed models")
    parser.add_argument("--train-steps", type=int, default=None,
                        help="training steps (default: the family's)")
    parser.add_argument("--min-auc", type=float, default=None,
                        help="lowest eval AUC that may be blessed (default: the family's)")
    parser.add_argument("--force-push", action="store_true",
                        help="operator override: push the model even if it is not blessed")
    parser.add_argument("--beam-profile", default="local", choices=beam_profiles.LOCAL_PROFILES,
                        help="how the Beam-based components run (pipeline/local/beam_profiles.py)")
    parser.add_argument("--tune", action="store_true",
                        help="search the hyperparameters with the Tuner before training")
    parser.add_argument("--tuning-trials", type=int, default=None,
                        help="trials of the search, the first the family's defaults "
                             "(default: 4)")
    parser.add_argument("--tuning-steps", type=int, default=None,
                        help="training steps of each trial (default: the training's)")
    parser.add_argument("--tuning-algorithm", default=None, choices=TUNING_ALGORITHMS,
                        help="the search (default: random)")
    args = parser.parse_args(argv)

    build_dir = os.path.abspath(args.build_dir)
    summary_path = os.path.join(build_dir, "run_summary.json")
    overrides = {key: value for key, value in (
        ("train_steps", args.train_steps), ("min_auc", args.min_auc),
        ("tuning_trials", args.tuning_trials), ("tuning_steps", args.tuning_steps),
        ("tuning_algorithm", args.tuning_algorithm)) if value is not None}
    if args.tune:
        overrides["tune"] = True
    try:
        family = families.load(args.model)
        data_root = args.data or family.contract.default_data
        if not os.path.isdir(data_root):
            raise FileNotFoundError(f"data folder {data_root!r} does not exist")
        rows, config = sized_config(build_dir, data_root, args.beam_profile,
                                    family=args.model, force_push=args.force_push,
                                    **overrides)
    except (families.FamilyError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        write_summary({**run_summary.empty_summary(""), "status": "stopped",
                       "reason": str(error), "family": args.model, "data_root": args.data},
                      summary_path)
        return 2
    if config.force_push:
        print("[pipeline] WARNING: --force-push: the model is pushed even if the "
              "Evaluator does not bless it", flush=True)
    log_path = os.path.join(build_dir, "logs", time.strftime("run-%Y%m%d-%H%M%S.log"))
    skipped = data_files.in_folder(config.data_root).skipped_text()
    if skipped:
        print(f"[pipeline] skipped in {config.data_root}: {skipped}", flush=True)
    train_buckets, eval_buckets = config.split_buckets
    print(f"[pipeline] {config.pipeline_name} (model family {args.model}) on "
          f"{config.data_root} (about {rows:,} rows, split train:eval "
          f"{train_buckets}:{eval_buckets}); detailed log: {log_path}", flush=True)
    if config.tune:
        print(f"[pipeline] tuning: {config.tuning_trials} trials ({config.tuning_algorithm} "
              f"search, the first the family's defaults) of {config.trial_steps} steps each",
              flush=True)
    for component_id, component_args in config.component_beam_args.items():
        print(f"[pipeline] {component_id} runs with {' '.join(component_args[:3])}",
              flush=True)
    start = time.monotonic()
    error = None
    try:
        with stderr_to_file(log_path):
            run(config, config_lib.metadata_path(build_dir), summary_path)
    except BaseException as raised:  # Ctrl-C included: it ends with a summary too.
        if not isinstance(raised, (Exception, KeyboardInterrupt)):
            raise
        error = raised
    with open(summary_path) as summary_file:
        summary = json.load(summary_file)
    _print_outcome(summary, error, log_path, time.monotonic() - start)
    print(f"[pipeline] summary: {summary_path}; full log: {log_path}")
    if summary["status"] != "refused":  # A refused run did nothing to report.
        write_run_report(build_dir, args.model, summary["reason"], log_path)
    return EXIT_CODES[summary["status"]]


def write_run_report(build_dir: str, family: str, error: str, log_path: str) -> None:
    """Renders the run's report and prints where it is.

    A report that cannot be written is said on stderr and never changes the run's
    own outcome or exit code.
    """
    from pipeline.results import report

    try:
        with stderr_to_file(log_path):
            path = report.write_report(build_dir, family, error=error)
    except Exception as report_error:  # The run's own outcome matters more.
        print(f"[pipeline] the run report could not be written: "
              f"{type(report_error).__name__}: {report_error}", file=sys.stderr)
        return
    print(f"[pipeline] report: {path} (newest: "
          f"{os.path.join(build_dir, report.REPORT_DIR, report.LATEST, report.PAGE_FILE)})")


if __name__ == "__main__":
    sys.exit(main())
