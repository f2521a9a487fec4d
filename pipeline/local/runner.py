"""Runs the pipeline on this machine with TFX's BeamDagRunner and SQLite ML Metadata.

Usage: python -m pipeline.local.runner [--model FAMILY] [--data DIR] [--build-dir DIR]
  [--train-steps N] [--blessing-bound X] [--force-push] [--beam-profile local|local-multiprocess]
  [--tune [--tuning-trials N] [--tuning-steps N] [--tuning-algorithm random|bayesian]]

With --tune, the Tuner searches the family's hyperparameters before the Trainer; a run
without it trains with the latest ones tuned by an earlier run of the same family.

Every run, whatever its end, leaves `<build dir>/run_summary.json` with its `status`:
finished (exit 0, blessed or not: see the summary), stopped by bad input or an
unusable model family (exit 1), failed (exit 1), refused because another run holds
the metadata store (exit 3), interrupted by Ctrl-C (exit 130). Exit 2: no such data
folder or family.
"""

import contextlib
import json
import os
import sys
import time
import traceback
from typing import Optional, Tuple

from tfx.orchestration import metadata

from components import data_files
from components.csv_check import CsvFormatError
from components.data_gate.executor import DataValidationError
from modules.common.files import write_json_atomically
from pipeline.definition import config as config_lib
from pipeline.definition import families
from pipeline.definition import trainers
from pipeline.definition.pipeline import EVALUATOR
from pipeline.definition.pipeline import STATISTICS_GEN
from pipeline.definition.pipeline import TRANSFORM
from pipeline.definition.pipeline import create_pipeline
from pipeline.local import arguments
from pipeline.local import beam_profiles
from pipeline.local import sizing
from pipeline.local.lock import ConcurrentRunError
from pipeline.local.lock import exclusive_store  # noqa: F401  (tests hold the lock)
from pipeline.local.progress import ProgressBeamDagRunner
from pipeline.local.progress import ProgressNodeDoFn
from pipeline.results import summary as run_summary

# Errors that mean the input is wrong, not the pipeline: their message says what and
# where, and the run stops without a traceback.
BAD_INPUT_ERRORS = (CsvFormatError, DataValidationError, families.FamilyError)
EXIT_CODES = {"finished": 0, "stopped": 1, "failed": 1, "refused": 3, "interrupted": 130}


def write_summary(summary: dict, summary_path: str) -> None:
    """Writes the summary as JSON; a reader sees the previous file or this one, whole."""
    write_json_atomically(os.path.abspath(summary_path), summary, indent=2)


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


def _ended_summary(
    config, connection_config, started_ms: int, error: Optional[BaseException]
) -> dict:
    """Returns what this run did, from ML Metadata, with its status and reason."""
    summary = None
    if connection_config is not None:
        try:
            summary = run_summary.summarize_latest_run(
                connection_config, config.pipeline_name, config.task, since_ms=started_ms
            )
        except Exception as read_error:  # The run's own outcome matters more.
            print(
                f"[pipeline] could not read this run from ML Metadata: {read_error}",
                file=sys.stderr,
            )
    summary = summary or run_summary.empty_summary(config.pipeline_name, config.task)
    summary.update(
        status=status_of(error),
        reason="" if error is None else (str(error) or type(error).__name__),
        family=config.contract.name,
        trainer=config.trainer,
        data_root=config.data_root,
    )
    if summary["status"] == "interrupted":
        summary["reason"] = "interrupted" + (
            f" during {ProgressNodeDoFn.running}" if ProgressNodeDoFn.running else ""
        )
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
    ProgressNodeDoFn.running = None
    try:
        with exclusive_store(metadata_path):
            connection_config = metadata.sqlite_metadata_connection_config(metadata_path)
            ProgressBeamDagRunner().run(create_pipeline(config, connection_config))
    except BaseException as error:
        write_summary(_ended_summary(config, connection_config, started_ms, error), summary_path)
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


def sized_config(
    build_dir: str, data_root: str, beam_profile: str, **overrides
) -> Tuple[int, config_lib.PipelineConfig]:
    """Returns the data's row count and a local config with settings sized to it.

    The eval split and, under the `local` profile, which components run in worker
    processes follow `pipeline.local.sizing`; `overrides` are further
    `config_lib.local_config` arguments.
    """
    # ExampleGen reads the data files only (components/data_files.py).
    rows = sizing.count_rows(data_files.in_folder(data_root).files)
    # ExampleGen's executor runs its own worker processes, without Beam.
    component_beam_args = (
        sizing.component_beam_args_for_rows(rows, (EVALUATOR,), (STATISTICS_GEN, TRANSFORM))
        if beam_profile == "local"
        else {}
    )
    split_buckets = sizing.split_buckets_for_rows(rows)
    contract = families.load(overrides.get("family", families.DEFAULT_FAMILY)).contract
    if contract.train_epochs and overrides.get("train_steps") is None:
        batch_size = {**contract.hparam_defaults, **overrides.get("hparams", {})}[
            "train_batch_size"
        ]
        overrides["train_steps"] = sizing.steps_for_epochs(
            rows, split_buckets, batch_size, contract.train_epochs
        )
    return rows, config_lib.local_config(
        build_dir,
        data_root,
        split_buckets=split_buckets,
        beam_pipeline_args=tuple(beam_profiles.beam_pipeline_args(beam_profile)),
        component_beam_args=component_beam_args,
        **overrides,
    )


def _with_epochs(summary_path: str, rows: int, split_buckets) -> dict:
    """The run's summary with `epochs`: its trained examples over the training split's
    rows (about: the split is by hash), written back."""
    with open(summary_path) as summary_file:
        summary = json.load(summary_file)
    if summary.get("trained_examples"):
        summary["epochs"] = round(
            summary["trained_examples"] / sizing.train_rows(rows, split_buckets), 1
        )
        write_summary(summary, summary_path)
    return summary


def _print_outcome(
    summary: dict, error: Optional[BaseException], log_path: str, seconds: float
) -> None:
    """Tells the terminal how the run ended and where to look."""
    status = summary["status"]
    if status == "refused":
        print(f"[pipeline] REFUSED: {error}", file=sys.stderr)
    elif status == "stopped":
        # Bad input: the message says what is wrong and where; no traceback needed.
        print(f"[pipeline] STOPPED: {error}", file=sys.stderr)
        print("[pipeline] nothing was trained or pushed", file=sys.stderr)
    elif status == "interrupted":
        print(
            f"[pipeline] INTERRUPTED ({summary['reason']}) after {seconds:.0f}s; the "
            "serving folder keeps its previous model; a new run resumes training "
            "from its last checkpoint",
            file=sys.stderr,
        )
    elif status == "failed":
        traceback.print_exception(error, limit=-3)
        print(f"[pipeline] FAILED after {seconds:.0f}s", file=sys.stderr)
    else:
        print(run_summary.format_summary(summary))
        print(f"[pipeline] finished in {seconds:.0f}s")


def _announce(config, family: str, rows: int, log_path: str) -> None:
    """Says what is about to run, on what, and where the detailed log goes."""
    if config.force_push:
        print(
            "[pipeline] WARNING: --force-push: the model is pushed even if the "
            "Evaluator does not bless it",
            flush=True,
        )
    skipped = data_files.in_folder(config.data_root).skipped_text()
    if skipped:
        print(f"[pipeline] skipped in {config.data_root}: {skipped}", flush=True)
    train_buckets, eval_buckets = config.split_buckets
    print(
        f"[pipeline] {config.pipeline_name} (model family {family}, {config.trainer} "
        "trainer) on "
        f"{config.data_root} (about {rows:,} rows, split train:eval "
        f"{train_buckets}:{eval_buckets}); detailed log: {log_path}",
        flush=True,
    )
    if config.tune:
        print(
            f"[pipeline] tuning: {config.tuning_trials} trials ({config.tuning_algorithm} "
            f"search, the first the family's defaults) of {config.trial_steps} steps each",
            flush=True,
        )
    for component_id, component_args in config.component_beam_args.items():
        print(f"[pipeline] {component_id} runs with {' '.join(component_args[:3])}", flush=True)


def main(argv=None) -> int:
    """Parses the command line, runs the pipeline and prints how it ended."""
    args = arguments.parser(__doc__.splitlines()[0]).parse_args(argv)
    build_dir = os.path.abspath(args.build_dir)
    summary_path = os.path.join(build_dir, "run_summary.json")
    try:
        family = families.load(args.model)
        data_root = args.data or family.contract.default_data
        if not os.path.isdir(data_root):
            raise FileNotFoundError(f"data folder {data_root!r} does not exist")
        rows, config = sized_config(
            build_dir,
            data_root,
            args.beam_profile,
            family=args.model,
            force_push=args.force_push,
            **arguments.overrides(args),
        )
    except (families.FamilyError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        write_summary(
            {
                **run_summary.empty_summary(""),
                "status": "stopped",
                "reason": str(error),
                "family": args.model,
                "trainer": args.trainer,
                "data_root": args.data,
            },
            summary_path,
        )
        return 2
    log_path = os.path.join(build_dir, "logs", time.strftime("run-%Y%m%d-%H%M%S.log"))
    _announce(config, args.model, rows, log_path)
    start = time.monotonic()
    error = None
    try:
        with stderr_to_file(log_path):
            run(config, config_lib.metadata_path(build_dir), summary_path)
    except BaseException as raised:  # Ctrl-C included: it ends with a summary too.
        if not isinstance(raised, (Exception, KeyboardInterrupt)):
            raise
        error = raised
    summary = _with_epochs(summary_path, rows, config.split_buckets)
    _print_outcome(summary, error, log_path, time.monotonic() - start)
    print(f"[pipeline] summary: {summary_path}; full log: {log_path}")
    if summary["status"] != "refused":  # A refused run did nothing to report.
        write_run_report(build_dir, args.model, summary["reason"], log_path, args.trainer)
    return EXIT_CODES[summary["status"]]


def write_run_report(
    build_dir: str,
    family: str,
    error: str,
    log_path: str,
    trainer: str = trainers.DEFAULT_TRAINER,
) -> None:
    """Renders the run's report and prints where it is.

    A report that cannot be written is said on stderr and never changes the run's
    own outcome or exit code.
    """
    from pipeline.results import report

    try:
        with stderr_to_file(log_path):
            path = report.write_report(build_dir, family, error=error, trainer=trainer)
    except Exception as report_error:  # The run's own outcome matters more.
        print(
            f"[pipeline] the run report could not be written: "
            f"{type(report_error).__name__}: {report_error}",
            file=sys.stderr,
        )
        return
    print(
        f"[pipeline] report: {path} (newest: "
        f"{os.path.join(build_dir, report.REPORT_DIR, report.LATEST, report.PAGE_FILE)})"
    )


if __name__ == "__main__":
    sys.exit(main())
