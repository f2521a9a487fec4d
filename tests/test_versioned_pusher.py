"""Publishing a model version: whole or not at all, and each model once."""

import os

import pytest

from components import versioned_pusher


@pytest.fixture
def model_dir(tmp_path):
    model = tmp_path / "model"
    (model / "variables").mkdir(parents=True)
    (model / "saved_model.pb").write_bytes(b"graph")
    (model / "variables" / "variables.index").write_bytes(b"weights")
    return str(model)


def test_publish_writes_a_numbered_version_with_every_file(model_dir, tmp_path):
    serving = str(tmp_path / "serving")
    version = versioned_pusher.publish(model_dir, serving)
    assert os.path.dirname(version) == serving and os.path.basename(version).isdigit()
    assert versioned_pusher.model_digest(version) == versioned_pusher.model_digest(model_dir)
    assert os.listdir(serving) == [os.path.basename(version)]


def test_identical_model_is_not_pushed_again(model_dir, tmp_path):
    serving = str(tmp_path / "serving")
    first = versioned_pusher.publish(model_dir, serving)
    assert versioned_pusher.publish(model_dir, serving) == first
    assert versioned_pusher.versions(serving) == [os.path.basename(first)]


def test_a_changed_model_gets_a_newer_version(model_dir, tmp_path):
    serving = str(tmp_path / "serving")
    first = versioned_pusher.publish(model_dir, serving)
    with open(os.path.join(model_dir, "variables", "variables.index"), "wb") as f:
        f.write(b"retrained weights")
    second = versioned_pusher.publish(model_dir, serving)
    assert int(os.path.basename(second)) > int(os.path.basename(first))
    assert versioned_pusher.versions(serving) == [
        os.path.basename(first), os.path.basename(second)
    ]


def test_a_killed_push_leaves_no_version_and_is_cleaned_up(model_dir, tmp_path):
    serving = tmp_path / "serving"
    partial = serving / f"{versioned_pusher.INCOMPLETE_PREFIX}123"
    partial.mkdir(parents=True)
    (partial / "saved_model.pb").write_bytes(b"half")
    assert versioned_pusher.versions(str(serving)) == []
    version = versioned_pusher.publish(model_dir, str(serving))
    assert os.listdir(serving) == [os.path.basename(version)]
