"""A Pusher executor that publishes whole model versions, each model once.

TFX's own Pusher copies a model file by file into its version folder, so a push that
is killed half-way leaves a partial version where a model server looks. This executor
copies into a hidden temporary folder beside the versions and renames it into place
(a rename is atomic on a local or POSIX filesystem), and it does not push a model
whose files are identical to the newest version already there.
"""

import hashlib
import json
import os
import time

from absl import logging
from tfx.components.pusher import executor as tfx_pusher_executor
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils
from tfx.types import standard_component_specs
from tfx.utils import io_utils
from tfx.utils import proto_utils

# Folders in the serving directory whose names start with this are unfinished pushes.
INCOMPLETE_PREFIX = ".incomplete-"
# The `custom_config` key that pushes a model the Evaluator did not bless.
FORCE_PUSH = "force_push"
# The PushedModel custom property that records a forced push.
FORCED_KEY = "forced"


def model_digest(model_dir: str) -> str:
    """Returns a digest of every file below `model_dir`, names and contents."""
    digest = hashlib.sha256()
    for root, _, files in sorted(fileio.walk(model_dir)):
        for name in sorted(files):
            path = os.path.join(root, name)
            digest.update(os.path.relpath(path, model_dir).encode())
            with fileio.open(path, "rb") as model_file:
                digest.update(model_file.read())
    return digest.hexdigest()


def versions(serving_dir: str) -> list:
    """Returns the numbered version folders in `serving_dir`, oldest first."""
    if not fileio.exists(serving_dir):
        return []
    names = [n.rstrip("/") for n in fileio.listdir(serving_dir)]
    return sorted((n for n in names if n.isdigit()), key=int)


def publish(model_dir: str, serving_dir: str) -> str:
    """Copies `model_dir` to a new version folder of `serving_dir`, all at once.

    Returns:
      The version folder now holding the model: a new one, or the newest existing
      one when it already holds identical files.
    """
    fileio.makedirs(serving_dir)
    for name in fileio.listdir(serving_dir):
        if name.startswith(INCOMPLETE_PREFIX):  # Left by a push that was killed.
            fileio.rmtree(os.path.join(serving_dir, name))
    existing = versions(serving_dir)
    if existing:
        newest = os.path.join(serving_dir, existing[-1])
        if model_digest(newest) == model_digest(model_dir):
            logging.info("Model already serving as %s; not pushed again.", newest)
            return newest
    version = int(time.time())
    if existing:
        version = max(version, int(existing[-1]) + 1)
    staging = os.path.join(serving_dir, f"{INCOMPLETE_PREFIX}{version}")
    final = os.path.join(serving_dir, str(version))
    io_utils.copy_dir(model_dir, staging)
    fileio.rename(staging, final)
    return final


class Executor(tfx_pusher_executor.Executor):
    """TFX's Pusher, publishing through `publish` to a filesystem destination.

    With `custom_config={"force_push": True}` it pushes a model that was not blessed,
    logging a warning and marking the PushedModel artifact `forced`.
    """

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        model_push = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.PUSHED_MODEL_KEY]
        )
        custom_config = json.loads(
            exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY) or "{}"
        )
        if not self.CheckBlessing(input_dict):
            if not custom_config.get(FORCE_PUSH):
                self._MarkNotPushed(model_push)
                return
            logging.warning(
                "FORCED PUSH: the model was not blessed; it is pushed because the "
                "operator set %s.", FORCE_PUSH
            )
            model_push.set_int_custom_property(FORCED_KEY, 1)
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(
            exec_properties[standard_component_specs.PUSH_DESTINATION_KEY], destination
        )
        if destination.WhichOneof("destination") != "filesystem":
            raise ValueError(
                "This Pusher pushes to a filesystem destination only; got "
                f"{destination.WhichOneof('destination')!r}."
            )
        model_path = self.GetModelPath(input_dict)
        serving_path = publish(model_path, destination.filesystem.base_directory)
        io_utils.copy_dir(model_path, model_push.uri)
        self._MarkPushed(
            model_push,
            pushed_destination=serving_path,
            pushed_version=os.path.basename(serving_path),
        )
