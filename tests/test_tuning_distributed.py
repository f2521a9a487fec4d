"""keras-tuner's distributed mode: a chief oracle and two trial workers as processes on
127.0.0.1, each worker training its trials through the Estimator path."""

import json
import os
import re
import socket
import subprocess
import sys

import pytest

from pipeline.definition import config as config_lib
from pipeline.definition import families

pytestmark = pytest.mark.slow

DEADLINE_SECS = 900
TRIALS = 2
TRIAL_STEPS = 40


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path, lines=30):
    with open(path, errors="replace") as log:
        return "".join(log.readlines()[-lines:])


@pytest.fixture(scope="module")
def search(tmp_path_factory, transformed_sample):
    """Two workers started first (they wait for the oracle), then the chief."""
    root = tmp_path_factory.mktemp("distributed_tuning")
    port = _free_port()
    args = [
        sys.executable,
        "-m",
        "pipeline.cluster.tuner_replica",
        "--model",
        "taxi",
        "--transform-output",
        transformed_sample.transform_output,
        "--train-files",
        os.path.join(os.path.dirname(transformed_sample.train_files[0]), "*"),
        "--eval-files",
        os.path.join(os.path.dirname(transformed_sample.eval_files[0]), "*"),
        "--schema",
        families.load("taxi").schema_file,
        "--directory",
        str(root / "search"),
        "--trials",
        str(TRIALS),
        "--trial-steps",
        str(TRIAL_STEPS),
        "--hparams",
        json.dumps({"train_batch_size": 32}),
    ]
    processes, logs = {}, {}
    try:
        for tuner_id in ("tuner0", "tuner1", "chief"):
            logs[tuner_id] = str(root / f"{tuner_id}.log")
            env = {
                **os.environ,
                "KERASTUNER_TUNER_ID": tuner_id,
                "KERASTUNER_ORACLE_IP": "127.0.0.1",
                "KERASTUNER_ORACLE_PORT": str(port),
                "PYTHONPATH": config_lib.PROJECT_ROOT,
                "TF_CPP_MIN_LOG_LEVEL": "2",
            }
            with open(logs[tuner_id], "w") as log:
                processes[tuner_id] = subprocess.Popen(
                    args, env=env, cwd=config_lib.PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT
                )
        codes = {
            tuner_id: process.wait(timeout=DEADLINE_SECS) for tuner_id, process in processes.items()
        }
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    for tuner_id, code in codes.items():
        assert code == 0, f"{tuner_id} exited {code}:\n{_tail(logs[tuner_id])}"
    return root, logs


def _ran(log_path):
    """The trial ids a process says it ran."""
    with open(log_path, errors="replace") as log:
        (line,) = re.findall(r"\[tuner\] \S+ ran trials (\[.*\])", log.read())
    return set(json.loads(line.replace("'", '"')))


def test_each_worker_ran_one_trial_and_the_chief_none(search):
    _, logs = search
    ran = {tuner_id: _ran(path) for tuner_id, path in logs.items()}
    assert ran["chief"] == set()
    assert len(ran["tuner0"]) == len(ran["tuner1"]) == 1
    assert ran["tuner0"] | ran["tuner1"] == {str(i) for i in range(TRIALS)}


def test_the_chief_wrote_every_trial_scored_and_the_best_values(search):
    root, _ = search
    with open(root / "search" / "trials.json") as trials_file:
        trials = json.load(trials_file)
    assert [t["status"] for t in trials] == ["COMPLETED"] * TRIALS
    assert all(t["metrics"]["global_step"] == TRIAL_STEPS and 0 < t["score"] <= 1 for t in trials)
    with open(root / "search" / "best_hyperparameters.txt") as best_file:
        assert json.load(best_file)["values"] == trials[0]["hyperparameters"]
    taxi = families.load("taxi").contract
    by_id = {t["trial_id"]: t["hyperparameters"] for t in trials}
    assert by_id["0"] == {name: taxi.default_hparams[name] for name in taxi.search_space}
    for trial_id in by_id:
        assert os.path.isdir(root / "search" / "tuning" / "taxi" / f"trial_{trial_id}" / "model")
