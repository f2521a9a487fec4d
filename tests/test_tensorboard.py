"""`make tensorboard`: TensorBoard's own server, with its default plugins, on a run's
Trainer summaries (TensorBoard 2.15 imports `pkg_resources` from the lock's setuptools)."""

import json
import os
import subprocess
import sys
import time
import urllib.request

import portpicker
import tensorflow as tf

from pipeline.definition import config as config_lib
from pipeline.results import tensorboard

PROJECT_ROOT = config_lib.PROJECT_ROOT


def _start(argv):
    env = dict(os.environ, PYTHONPATH=PROJECT_ROOT)
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.results.tensorboard", *argv],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _get_json(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def test_tensorboard_serves_the_trainer_summaries_of_a_run(tmp_path):
    logdir = tensorboard.summaries_dir(str(tmp_path), "taxi")
    writer = tf.summary.create_file_writer(os.path.join(logdir, "eval_taxi"))
    with writer.as_default():
        for step in range(3):
            tf.summary.scalar("auc", 0.5 + 0.1 * step, step=step)
    writer.close()
    port = portpicker.pick_unused_port()
    server = _start(["--build-dir", str(tmp_path), "--model", "taxi", "--port", str(port)])
    try:
        tags, deadline = None, time.monotonic() + 120
        while time.monotonic() < deadline:
            assert server.poll() is None, server.stdout.read()
            try:
                tags = _get_json(f"http://127.0.0.1:{port}/data/plugin/scalars/tags")
                if tags:
                    break
            except OSError:
                pass
            time.sleep(1)
        assert list(tags) == ["eval_taxi"] and list(tags["eval_taxi"]) == ["auc"]
        scalars = _get_json(
            f"http://127.0.0.1:{port}/data/plugin/scalars/scalars?run=eval_taxi&tag=auc"
        )
        assert [round(value, 6) for _, _, value in scalars] == [0.5, 0.6, 0.7]
        plugins = _get_json(f"http://127.0.0.1:{port}/data/plugins_listing")
        assert {"scalars", "graphs", "histograms", "hparams"} <= set(plugins)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_without_a_run_it_says_what_to_do(tmp_path):
    server = _start(["--build-dir", str(tmp_path), "--model", "taxi"])
    output, _ = server.communicate(timeout=60)
    assert server.returncode == 2
    assert "does not exist; run the pipeline first (make run)" in output
