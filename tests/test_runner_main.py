"""The local runner's command line: exit codes and the summary every end leaves behind."""

import json
import os

import pytest

import conftest
from pipeline.local import runner as local_runner

# Whole pipeline runs: `make test-fast` leaves them out.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def build(pipeline_run, tmp_path_factory):
    """A copy of the session's run: a pipeline that has pushed a model."""
    return conftest.copy_of_run(pipeline_run, tmp_path_factory.mktemp("main_build"))


def _main(build, *args):
    return local_runner.main(
        ["--build-dir", build.build_dir, "--train-steps", "200", "--blessing-bound", "0.8", *args]
    )


def _summary(build):
    with open(build.summary_path) as summary_file:
        return json.load(summary_file)


def test_a_good_run_exits_0_with_a_finished_summary(build, capsys):
    assert _main(build, "--data", build.config.data_root) == 0
    summary = _summary(build)
    assert summary["status"] == "finished" and summary["reason"] == ""
    assert summary["family"] == "taxi" and summary["blessed"] is True
    out = capsys.readouterr().out
    assert "blessed: yes" in out and f"summary: {build.summary_path}" in out


def test_bad_data_exits_1_and_the_summary_says_stopped_not_the_last_push(build, tmp_path, capsys):
    previous = _summary(build)
    data = tmp_path / "data"
    data.mkdir()
    with open(build.config.data_root + "/data.csv") as sample:
        lines = sample.readlines()[:200]
    lines[9] = lines[9].rstrip("\n") + ",surplus\n"
    (data / "data.csv").write_text("".join(lines))
    assert _main(build, "--data", str(data)) == 1
    summary = _summary(build)
    assert summary["status"] == "stopped"
    assert "data.csv: line 10 has 19 fields" in summary["reason"]
    assert summary["pushed"] is False and summary["run_id"] != previous["run_id"]
    err = capsys.readouterr().err
    assert "STOPPED:" in err and "Traceback" not in err


def test_a_missing_data_folder_exits_2_with_a_stopped_summary(build, tmp_path, capsys):
    assert _main(build, "--data", str(tmp_path / "nowhere")) == 2
    summary = _summary(build)
    assert summary["status"] == "stopped" and "does not exist" in summary["reason"]
    assert "nowhere" in capsys.readouterr().err


def test_an_unknown_family_exits_2_naming_the_known_ones(build, capsys):
    assert _main(build, "--model", "penguin") == 2
    assert "Unknown model family 'penguin'" in _summary(build)["reason"]
    assert "reviews, taxi" in capsys.readouterr().err


def test_a_refused_run_exits_3_with_a_refused_summary(build, capsys):
    with local_runner.exclusive_store(build.metadata):
        assert _main(build, "--data", build.config.data_root) == 3
    summary = _summary(build)
    assert summary["status"] == "refused"
    assert f"Another pipeline run (pid {os.getpid()})" in summary["reason"]
    assert "REFUSED" in capsys.readouterr().err
