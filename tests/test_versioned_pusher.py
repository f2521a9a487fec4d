"""Publishing a model version: whole or not at all, each model once, concurrent pushes apart."""

import multiprocessing
import os
import socket
import subprocess
import sys
import time

import pytest

from components import versioned_pusher

CONCURRENT_ROUNDS = 6


def _make_model(path, payload: bytes, files: int = 1):
    (path / "variables").mkdir(parents=True)
    (path / "saved_model.pb").write_bytes(b"graph")
    for i in range(files):
        (path / "variables" / f"variables-{i:04d}").write_bytes(payload + bytes([i % 256]))
    return str(path)


@pytest.fixture
def model_dir(tmp_path):
    return _make_model(tmp_path / "model", b"weights")


def _dead_pid() -> int:
    """Returns the pid of a process that has ended and been reaped."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _staging(serving, host, pid, started):
    path = serving / f"{versioned_pusher.INCOMPLETE_PREFIX}{host}-{pid}-{started}-abcd1234"
    path.mkdir(parents=True)
    (path / "saved_model.pb").write_bytes(b"half")
    return path


def test_publish_writes_a_numbered_complete_version_with_every_file(model_dir, tmp_path):
    serving = str(tmp_path / "serving")
    version = versioned_pusher.publish(model_dir, serving)
    assert os.path.dirname(version) == serving and os.path.basename(version).isdigit()
    assert versioned_pusher.model_digest(version) == versioned_pusher.model_digest(model_dir)
    assert os.listdir(serving) == [os.path.basename(version)]
    assert versioned_pusher.is_complete(version)


def test_identical_model_is_not_pushed_again(model_dir, tmp_path):
    serving = str(tmp_path / "serving")
    first = versioned_pusher.publish(model_dir, serving)
    assert versioned_pusher.publish(model_dir, serving) == first
    assert versioned_pusher.versions(serving) == [os.path.basename(first)]


def test_a_changed_model_gets_a_newer_version(model_dir, tmp_path):
    serving = str(tmp_path / "serving")
    first = versioned_pusher.publish(model_dir, serving)
    with open(os.path.join(model_dir, "variables", "variables-0000"), "wb") as f:
        f.write(b"retrained weights")
    second = versioned_pusher.publish(model_dir, serving)
    assert int(os.path.basename(second)) > int(os.path.basename(first))
    assert versioned_pusher.versions(serving) == [os.path.basename(first), os.path.basename(second)]


def test_staging_names_are_unique_and_say_whose_they_are():
    names = {versioned_pusher.staging_name() for _ in range(100)}
    assert len(names) == 100
    host, pid, started = versioned_pusher.parse_staging_name(names.pop())
    assert (host, pid) == (socket.gethostname(), os.getpid())
    assert abs(started - time.time()) < 3600


def test_only_stale_staging_folders_are_removed(model_dir, tmp_path):
    serving = tmp_path / "serving"
    host, now = socket.gethostname(), int(time.time())
    dead = _staging(serving, host, _dead_pid(), now)
    live = _staging(serving, host, os.getpid(), now)
    other_host = _staging(serving, "other-host.example", 1234, now)
    abandoned = _staging(
        serving, "other-host.example", 1234, now - versioned_pusher.STALE_AFTER_SECONDS - 60
    )
    version = versioned_pusher.publish(model_dir, str(serving))
    assert sorted(os.listdir(serving)) == sorted(
        [os.path.basename(version), live.name, other_host.name]
    )
    assert not dead.exists() and not abandoned.exists()
    assert (live / "saved_model.pb").read_bytes() == b"half"


def test_a_taken_version_number_moves_the_push_to_the_next(model_dir, tmp_path, monkeypatch):
    serving = tmp_path / "serving"
    now = int(time.time()) + 1000
    monkeypatch.setattr(versioned_pusher.time, "time", lambda: now)
    # A version another push has just renamed into place, not yet marked complete.
    (serving / str(now)).mkdir(parents=True)
    (serving / str(now) / "saved_model.pb").write_bytes(b"another model")
    version = versioned_pusher.publish(model_dir, str(serving))
    assert os.path.basename(version) == str(now + 1)
    assert (serving / str(now) / "saved_model.pb").read_bytes() == b"another model"


def _push_rounds(model, serving_dirs, barrier, results):
    """Publishes `model` into each serving dir in turn, in step with the other process."""
    for serving in serving_dirs:
        barrier.wait(timeout=120)
        results.put((serving, model, versioned_pusher.publish(model, serving)))


def test_two_processes_pushing_at_once_both_publish_whole_distinct_versions(tmp_path):
    models = [
        _make_model(tmp_path / f"model{i}", f"model {i} ".encode() * 4000, files=200)
        for i in (1, 2)
    ]
    serving_dirs = [str(tmp_path / f"serving{r}") for r in range(CONCURRENT_ROUNDS)]
    before = {}
    for round_, serving in enumerate(serving_dirs):
        if round_ % 2:  # Every other round, a version exists already.
            versioned_pusher.publish(_make_model(tmp_path / f"old{round_}", b"old"), serving)
        before[serving] = versioned_pusher.versions(serving)
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(len(models)), context.Queue()
    processes = [
        context.Process(target=_push_rounds, args=(m, serving_dirs, barrier, results))
        for m in models
    ]
    for process in processes:
        process.start()
    pushed = {}
    for _ in range(len(models) * CONCURRENT_ROUNDS):
        serving, model, version = results.get(timeout=300)
        pushed.setdefault(serving, {})[model] = version
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    for serving, by_model in pushed.items():
        assert len(set(by_model.values())) == 2, by_model
        for model, version in by_model.items():
            assert versioned_pusher.is_complete(version)
            assert versioned_pusher.model_digest(version) == versioned_pusher.model_digest(model)
        # Nothing lost, nothing left: the versions before, the two new ones, no staging.
        assert sorted(os.listdir(serving)) == sorted(
            before[serving] + [os.path.basename(v) for v in by_model.values()]
        )
