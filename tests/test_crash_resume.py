"""Killed runs and concurrent runs, with real processes and SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import tensorflow as tf
from ml_metadata.metadata_store import metadata_store
from tfx.orchestration import metadata
from tfx.utils import path_utils

import conftest
import training_events
from components import versioned_pusher
from pipeline.definition import config as config_lib
from pipeline.local import runner as local_runner
from pipeline.results import summary as run_summary

# Whole pipeline runs: `make test-fast` leaves them out.
pytestmark = pytest.mark.slow

ENV = {
    **os.environ,
    "PYTHONPATH": config_lib.PROJECT_ROOT,
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONWARNINGS": "ignore::FutureWarning",
}


@pytest.fixture(scope="module")
def pipeline_run(pipeline_run, tmp_path_factory):
    """A copy of the session's run: this module's runs change no other module's state."""
    return conftest.copy_of_run(pipeline_run, tmp_path_factory.mktemp("crash_build"))


def _runner_command(pipeline_run, train_steps):
    return [
        sys.executable,
        "-m",
        "pipeline.local.runner",
        "--data",
        pipeline_run.config.data_root,
        "--build-dir",
        pipeline_run.build_dir,
        "--train-steps",
        str(train_steps),
        "--blessing-bound",
        "0.8",
    ]


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _checkpoint_step(model_dir):
    checkpoint = tf.train.latest_checkpoint(model_dir)
    return int(checkpoint.rsplit("-", 1)[1]) if checkpoint else 0


def test_a_run_killed_in_the_trainer_resumes_from_its_checkpoint(pipeline_run, tmp_path):
    model_runs = os.path.join(pipeline_run.config.pipeline_root, "Trainer", "model_run")
    before = set(os.listdir(model_runs))
    command = _runner_command(pipeline_run, train_steps=3000)
    with open(tmp_path / "killed.log", "w") as log:
        process = subprocess.Popen(
            command, env=ENV, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        killed_attempt, killed_step = None, 0
        deadline = time.monotonic() + 600
        try:
            while time.monotonic() < deadline and killed_attempt is None:
                assert process.poll() is None, "the run ended before it could be killed"
                for attempt in set(os.listdir(model_runs)) - before:
                    step = _checkpoint_step(
                        path_utils.serving_model_dir(os.path.join(model_runs, attempt))
                    )
                    if step >= 200:
                        os.killpg(process.pid, signal.SIGKILL)
                        killed_attempt, killed_step = attempt, step
                time.sleep(0.2)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert killed_attempt, "no checkpoint within the time limit"

    restarted = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=900)
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    with open(pipeline_run.summary_path) as summary_file:
        states = {c["id"]: c["state"] for c in json.load(summary_file)["components"]}
    for finished in ("CsvExampleGen", "StatisticsGen", "DataGate", "Transform"):
        assert states[finished] == "cached", finished
    assert states["Trainer"] == "executed"

    (resumed_attempt,) = set(os.listdir(model_runs)) - before - {killed_attempt}
    with open(os.path.join(model_runs, resumed_attempt, "resumed_from.json")) as f:
        resumed = json.load(f)
    assert resumed["source"].startswith(os.path.join(model_runs, killed_attempt))
    assert resumed["step"] >= killed_step >= 200
    model_dir = path_utils.serving_model_dir(os.path.join(model_runs, resumed_attempt))
    steps = training_events.summary_steps(model_dir)
    assert min(steps) > resumed["step"], "training restarted from 0"
    # Training reached its target (the Keras-based Estimator may step once past it).
    assert _checkpoint_step(model_dir) in (3000, 3001)


def test_a_second_run_on_a_busy_store_is_refused(pipeline_run, capsys):
    with local_runner.exclusive_store(pipeline_run.metadata):
        code = local_runner.main(
            ["--data", pipeline_run.config.data_root, "--build-dir", pipeline_run.build_dir]
        )
    assert code == 3
    error = capsys.readouterr().err
    assert f"Another pipeline run (pid {os.getpid()}) is using {pipeline_run.metadata}" in error


def _run_count(pipeline_run):
    store = metadata_store.MetadataStore(
        metadata.sqlite_metadata_connection_config(pipeline_run.metadata)
    )
    return len(store.get_contexts_by_type("pipeline_run"))


def test_of_two_runs_started_at_once_one_runs_and_the_other_is_refused(pipeline_run):
    runs_before = _run_count(pipeline_run)
    command = _runner_command(pipeline_run, train_steps=3000)
    runs = [
        subprocess.Popen(
            command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [(p.wait(timeout=900), p.stdout.read(), p.stderr.read()) for p in runs]
    # Both reach the lock within a second of each other, and a run holds it for far
    # longer: exactly one runs, the other refuses before it touches the store.
    assert sorted(code for code, _, _ in results) == [0, 3], results
    (refused_stderr,) = [stderr for code, _, stderr in results if code == 3]
    assert "REFUSED: Another pipeline run" in refused_stderr
    assert _run_count(pipeline_run) == runs_before + 1
    summary = run_summary.summarize_latest_run(
        metadata.sqlite_metadata_connection_config(pipeline_run.metadata),
        pipeline_run.config.pipeline_name,
        pipeline_run.config.task,
    )
    assert {c["state"] for c in summary["components"]} <= {"cached", "executed"}


def test_ctrl_c_during_training_ends_with_a_summary_and_releases_the_lock(pipeline_run, tmp_path):
    model_runs = os.path.join(pipeline_run.config.pipeline_root, "Trainer", "model_run")
    before = set(os.listdir(model_runs))
    # Steps no earlier run trained: the Trainer executes.
    command = _runner_command(pipeline_run, train_steps=5000)
    with open(tmp_path / "interrupted.log", "w") as log:
        process = subprocess.Popen(
            command,
            env=ENV,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # As at a terminal: a shell's background job (CI)
            # would pass SIGINT on as ignored.
            preexec_fn=_default_sigint,
        )
        deadline = time.monotonic() + 600
        try:
            while not set(os.listdir(model_runs)) - before:
                assert process.poll() is None, "the run ended before the Trainer started"
                assert time.monotonic() < deadline, "the Trainer did not start in time"
                time.sleep(0.2)
            time.sleep(2)
            os.kill(process.pid, signal.SIGINT)
            code = process.wait(timeout=300)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    output = (tmp_path / "interrupted.log").read_text()
    assert code == 130, output
    assert "INTERRUPTED (interrupted during Trainer)" in output
    assert "Traceback" not in output
    with open(pipeline_run.summary_path) as summary_file:
        summary = json.load(summary_file)
    assert summary["status"] == "interrupted"
    assert summary["reason"] == "interrupted during Trainer"
    assert not summary["pushed"]
    with local_runner.exclusive_store(pipeline_run.metadata):
        pass  # The lock is free again.


def test_a_push_killed_midway_leaves_no_version(tmp_path):
    model = tmp_path / "model"
    (model / "variables").mkdir(parents=True)
    for i in range(3000):  # Many files: the copy takes long enough to be killed.
        (model / "variables" / f"shard-{i:05d}").write_bytes(os.urandom(2048))
    (model / "saved_model.pb").write_bytes(b"graph")
    serving = tmp_path / "serving"
    code = (
        "import sys; from components.versioned_pusher import publish; "
        "publish(sys.argv[1], sys.argv[2])"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(model), str(serving)], env=ENV, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if serving.exists() and any(
            n.startswith(versioned_pusher.INCOMPLETE_PREFIX) for n in os.listdir(serving)
        ):
            break
        assert process.poll() is None, "the push ended before it could be killed"
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert versioned_pusher.versions(str(serving)) == [], "a partial version is visible"
    version = versioned_pusher.publish(str(model), str(serving))
    assert os.listdir(serving) == [os.path.basename(version)]
    assert versioned_pusher.model_digest(version) == versioned_pusher.model_digest(str(model))
