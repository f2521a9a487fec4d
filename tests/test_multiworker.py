"""Multi-worker Estimator training under TF_CONFIG: a real cluster of processes.

A chief, a worker and a parameter server form the cluster on 127.0.0.1; an evaluator
outside the cluster spec evaluates and exports. Every process runs the same entry,
`pipeline.cluster.replica`, on the transformed sample. The same cluster runs
again with each replica in its own container of the pipeline image on a podman
network, TF_CONFIG naming the containers, as a Kubernetes training job runs it
(marked `image`: `make test-image`).
"""

import glob
import json
import os
import socket
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest
import tensorflow as tf

from conftest import report_line
from modules.taxi import contract
from pipeline.cluster import replica as distributed_training
from pipeline.definition import config as config_lib
from pipeline.serving import client as serving

# Whole pipeline runs: `make test-fast` leaves them out.
pytestmark = pytest.mark.slow

TASKS = ("chief", "worker", "ps")
TRAIN_STEPS = 600
# The whole cluster must finish within this; every process is killed after it.
DEADLINE_SECS = 300
HPARAMS = {
    "train_batch_size": 32,
    # Checkpoints at the start and the end only, so the evaluator evaluates twice.
    "save_checkpoints_steps": 100_000,
    # The default (600 s) would hold the final evaluation and export that long.
    "eval_throttle_secs": 1,
}


def _free_ports(count):
    """Returns `count` distinct free TCP ports on 127.0.0.1."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _tail(path, lines=30):
    with open(path, errors="replace") as log:
        return "".join(log.readlines()[-lines:])


class Cluster:
    """The replicas' processes, their logs, and their cleanup."""

    def __init__(self, root, transformed_sample, addresses=None, container=None):
        """`addresses`: task -> host:port (default: free ports on 127.0.0.1);
        `container(task, argv, env)`: the command running a replica in a container
        (default: a process here)."""
        if addresses is None:
            addresses = {task: f"127.0.0.1:{port}" for task, port in zip(TASKS, _free_ports(3))}
        self.spec = {task: [addresses[task]] for task in TASKS}
        self.container = container
        self.root = root
        self.model_run_dir = os.path.join(root, "model_run")
        self.model_dir = os.path.join(root, "model")
        self.args = [
            "--transform-output",
            transformed_sample.transform_output,
            "--train-files",
            os.path.join(os.path.dirname(transformed_sample.train_files[0]), "*"),
            "--eval-files",
            os.path.join(os.path.dirname(transformed_sample.eval_files[0]), "*"),
            "--model-run-dir",
            self.model_run_dir,
            "--model-dir",
            self.model_dir,
            "--train-steps",
            str(TRAIN_STEPS),
            "--hparams",
            json.dumps(HPARAMS),
            "--chief-waits-for-workers",
            "120",
            "--export-timeout",
            "120",
        ]
        self.processes = {}

    def start(self, task_type):
        """Starts one replica with its TF_CONFIG; the evaluator is not in the spec."""
        tf_config = {
            "TF_CONFIG": json.dumps({"cluster": self.spec, "task": {"type": task_type, "index": 0}})
        }
        argv = [
            "python",
            "-m",
            "pipeline.cluster.replica",
            *self.args,
            "--step-report",
            self.report_path(task_type),
        ]
        if self.container is None:
            argv[0] = sys.executable
            env = {
                **os.environ,
                **tf_config,
                "PYTHONPATH": config_lib.PROJECT_ROOT,
                "TF_CPP_MIN_LOG_LEVEL": "2",
            }
            cwd = config_lib.PROJECT_ROOT
        else:
            argv, env, cwd = self.container(task_type, argv, tf_config), None, None
        log = open(self.log_path(task_type), "w")
        self.processes[task_type] = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()

    def log_path(self, task_type):
        return os.path.join(self.root, f"{task_type}.log")

    def report_path(self, task_type):
        return os.path.join(self.root, f"{task_type}.steps.json")

    def logs(self):
        return "\n".join(
            f"--- {task} log, last lines:\n{_tail(self.log_path(task))}" for task in self.processes
        )

    def wait_until(self, condition, deadline, what):
        """Polls `condition` until true; fails naming `what` if a replica died or time ran out."""
        while not condition():
            for task, process in self.processes.items():
                if process.poll() not in (None, 0):
                    pytest.fail(
                        f"{task} exited with {process.returncode} while waiting "
                        f"for {what}\n{self.logs()}"
                    )
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}\n{self.logs()}")
            time.sleep(0.5)

    def stop(self):
        """Terminates every replica still running (the ps always is), then kills."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# A subnet of its own for the replicas' network; each replica gets a fixed address
# there, which every container's /etc/hosts lists by task name.
CONTAINER_SUBNET = "10.89.217"
CONTAINER_PORT = 2222


def _in_containers(request, root, transformed_sample):
    """A Cluster whose replicas run in containers of the image on their own network.

    Returns the cluster and a function removing the containers and the network."""
    engine, image = request.getfixturevalue("pipeline_image")
    if engine.name != "podman":
        pytest.skip("the container cluster is written for podman's CNI networks")
    suffix = uuid.uuid4().hex[:8]
    network = f"taxi-training-{suffix}"
    subprocess.run(
        engine.argv("network", "create", "--subnet", f"{CONTAINER_SUBNET}.0/24", network),
        check=True,
        capture_output=True,
    )
    replicas = TASKS + ("evaluator",)
    ips = {task: f"{CONTAINER_SUBNET}.{11 + i}" for i, task in enumerate(replicas)}
    # The transformed sample and the cluster's folder, at the same paths as here.
    shared = os.path.commonpath(
        [transformed_sample.transform_output, *transformed_sample.train_files]
    )
    mounts = [(root, root, False), (shared, shared, True)]

    def container(task, argv, env):
        return engine.run_argv(
            image,
            argv,
            mounts=mounts,
            env=env,
            network=network,
            name=f"{task}-{suffix}",
            hostname=task,
            ip=ips[task],
            hosts=ips,
        )

    def remove():
        for task in replicas:
            subprocess.run(engine.argv("rm", "--force", f"{task}-{suffix}"), capture_output=True)
        subprocess.run(engine.argv("network", "rm", network), capture_output=True)

    addresses = {task: f"{task}:{CONTAINER_PORT}" for task in TASKS}
    return Cluster(root, transformed_sample, addresses, container), remove


@pytest.fixture(
    scope="module", params=["processes", pytest.param("containers", marks=pytest.mark.image)]
)
def cluster_run(request, tmp_path_factory, transformed_sample):
    """Runs chief, worker, ps and evaluator to the end; returns the cluster and timings."""
    root = str(tmp_path_factory.mktemp("multiworker"))
    remove = None
    if request.param == "containers":
        cluster, remove = _in_containers(request, root, transformed_sample)
    else:
        cluster = Cluster(root, transformed_sample)
    start = time.monotonic()
    deadline = start + DEADLINE_SECS
    try:
        for task in ("ps", "chief", "evaluator"):
            cluster.start(task)
        # A worker that asks before the chief has initialized the variables sleeps 30s
        # (SessionManager's recovery wait); the chief's first checkpoint follows
        # initialization, so start the worker then.
        checkpoint_file = os.path.join(cluster.model_run_dir, "Format-Serving", "checkpoint")
        cluster.wait_until(
            lambda: os.path.exists(checkpoint_file), deadline, "the chief's first checkpoint"
        )
        cluster.start("worker")
        trainers = [cluster.processes[task] for task in ("chief", "worker", "evaluator")]
        cluster.wait_until(
            lambda: all(p.poll() is not None for p in trainers),
            deadline,
            "chief, worker and evaluator to finish",
        )
        ps_alive_at_end = cluster.processes["ps"].poll() is None
    finally:
        cluster.stop()
        if remove is not None:
            remove()
    cluster.ps_alive_at_end = ps_alive_at_end
    cluster.wall_secs = time.monotonic() - start
    if request.param == "containers":
        report_line(
            request.config, f"multi-worker training in containers: {cluster.wall_secs:.0f} s wall"
        )
    return cluster


def _report(cluster, task):
    with open(cluster.report_path(task)) as report:
        return json.load(report)


def test_chief_and_worker_both_trained_the_shared_model(cluster_run):
    chief, worker = _report(cluster_run, "chief"), _report(cluster_run, "worker")
    assert (chief["task_type"], worker["task_type"]) == ("chief", "worker")
    assert chief["local_steps"] > 0, f"the chief ran no step\n{cluster_run.logs()}"
    assert worker["local_steps"] > 0, f"the worker ran no step\n{cluster_run.logs()}"
    # Asynchronous updates of one global step: together they ran max_steps (or a few
    # more, the steps in flight when it was reached).
    assert TRAIN_STEPS <= chief["local_steps"] + worker["local_steps"] <= TRAIN_STEPS + 10
    checkpoint = tf.train.latest_checkpoint(
        os.path.join(cluster_run.model_run_dir, "Format-Serving")
    )
    assert int(checkpoint.rsplit("-", 1)[1]) >= TRAIN_STEPS


def test_parameter_server_serves_until_terminated(cluster_run):
    assert cluster_run.ps_alive_at_end, "server.join() on a ps should never return"
    assert not os.path.exists(cluster_run.report_path("ps")), "a ps trains no step"


def test_evaluator_outside_the_cluster_evaluated_and_exported_once(cluster_run):
    assert "evaluator" not in cluster_run.spec
    assert not os.path.exists(cluster_run.report_path("evaluator"))
    work_dir = os.path.join(cluster_run.model_run_dir, "Format-Serving")
    assert glob.glob(os.path.join(work_dir, "eval_chicago-taxi-eval", "events.out.tfevents.*"))
    exports = os.listdir(os.path.join(work_dir, "export", contract.CONTRACT.exporter_name))
    assert len(exports) == 1 and exports[0].isdigit(), exports


def test_chief_published_a_serving_model_that_scores_raw_rows(cluster_run, schema, sample_csv):
    serving_dir = os.path.join(cluster_run.model_dir, "Format-Serving")
    assert os.path.exists(os.path.join(cluster_run.model_dir, "Format-TFMA", "saved_model.pb"))
    examples = serving.examples_from_csv(sample_csv, schema)[:20]
    probabilities = serving.predict(serving_dir, examples).scores
    assert probabilities.shape == (20,)
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    assert np.ptp(probabilities) > 0, "different rows should score differently"


def test_wait_for_final_export_ignores_unfinished_exports(tmp_path):
    (tmp_path / "temp-1700000000").mkdir()
    with pytest.raises(TimeoutError, match="No serving export"):
        distributed_training.wait_for_final_export(str(tmp_path), timeout_secs=0)
    (tmp_path / "1700000001").mkdir()
    assert distributed_training.wait_for_final_export(str(tmp_path), 0) == str(
        tmp_path / "1700000001"
    )
