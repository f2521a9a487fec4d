"""A Pusher executor that publishes whole model versions, each model once.

TFX's own Pusher copies a model file by file into its version folder, so a push that
is killed half-way leaves a partial version where a model server looks. This executor
copies into a hidden staging folder beside the versions, named after its host, process
and start time, and renames it into place: a rename is atomic on a local or POSIX
filesystem, and it fails when the target is a folder that is not empty, so two pushes
at once cannot take the same version number (the second tries the next number). A
`_PUSHED` file written last into a version marks it complete; readers that honour it
(`pipeline.serving.client.latest_version_dir`) never see a version being copied, which matters
on object storage, where a rename is a copy. It does not push a model whose files are
identical to the newest complete version already there, and it removes staging folders
that no push will finish: those of a process of this host that is gone, or older than
`STALE_AFTER_SECONDS`.
"""

import hashlib
import json
import os
import secrets
import socket
import time
from typing import List, Optional, Tuple

from absl import logging
from tfx.components.pusher import executor as tfx_pusher_executor
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils
from tfx.types import standard_component_specs
from tfx.utils import io_utils
from tfx.utils import proto_utils

# Folders in the serving directory whose names start with this are unfinished pushes:
# `.incomplete-<host>-<pid>-<start time>-<random>`.
INCOMPLETE_PREFIX = ".incomplete-"
# The file written last into a version folder: the version is complete.
PUSHED_MARKER = "_PUSHED"
# A staging folder this old is abandoned whatever its host: no copy takes a day.
STALE_AFTER_SECONDS = 24 * 3600
# Version numbers tried after the first one is taken, before giving up.
MAX_VERSION_ATTEMPTS = 100
# The `custom_config` key that pushes a model the Evaluator did not bless.
FORCE_PUSH = "force_push"
# The PushedModel custom property that records a forced push.
FORCED_KEY = "forced"


def model_digest(model_dir: str) -> str:
    """Returns a digest of every file below `model_dir`, names and contents.

    The completion marker of a version is left out, so a version and its source match.
    """
    digest = hashlib.sha256()
    for root, _, files in sorted(fileio.walk(model_dir)):
        for name in sorted(files):
            path = os.path.join(root, name)
            relative = os.path.relpath(path, model_dir)
            if relative == PUSHED_MARKER:
                continue
            digest.update(relative.encode())
            with fileio.open(path, "rb") as model_file:
                digest.update(model_file.read())
    return digest.hexdigest()


def versions(serving_dir: str) -> List[str]:
    """Returns the numbered version folders in `serving_dir`, oldest first."""
    if not fileio.exists(serving_dir):
        return []
    names = [n.rstrip("/") for n in fileio.listdir(serving_dir)]
    return sorted((n for n in names if n.isdigit()), key=int)


def is_complete(version_dir: str) -> bool:
    """Whether a version folder holds the marker its push writes last."""
    return fileio.exists(os.path.join(version_dir, PUSHED_MARKER))


def complete_versions(serving_dir: str) -> List[str]:
    """Returns the numbered version folders that hold `PUSHED_MARKER`, oldest first."""
    return [v for v in versions(serving_dir) if is_complete(os.path.join(serving_dir, v))]


def staging_name() -> str:
    """Returns a staging folder name unique to this host, process and moment."""
    return (
        f"{INCOMPLETE_PREFIX}{socket.gethostname()}-{os.getpid()}-"
        f"{int(time.time())}-{secrets.token_hex(4)}"
    )


def parse_staging_name(name: str) -> Optional[Tuple[str, int, int]]:
    """Returns (host, pid, start time) of a staging folder name, or None if not one."""
    if not name.startswith(INCOMPLETE_PREFIX):
        return None
    parts = name[len(INCOMPLETE_PREFIX) :].rsplit("-", 3)
    if len(parts) != 4 or not (parts[1].isdigit() and parts[2].isdigit()):
        return None
    return parts[0], int(parts[1]), int(parts[2])


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # Another user's process.
        return True
    return True


def _started(path: str, parsed: Optional[Tuple[str, int, int]]) -> Optional[float]:
    """Returns when a staging folder was started: from its name, else its mtime."""
    if parsed:
        return parsed[2]
    try:
        return fileio.stat(path).mtime_nsec / 1e9
    except Exception:  # pylint: disable=broad-except
        return None  # Unknown (object storage has no folder times): kept.


def is_stale(serving_dir: str, name: str, now: Optional[float] = None) -> bool:
    """Whether staging folder `name` belongs to no running push.

    Stale: a folder of this host whose process is gone, or any one older than
    `STALE_AFTER_SECONDS` (a folder of a name this module did not make: by its time).
    """
    parsed = parse_staging_name(name)
    if parsed and parsed[0] == socket.gethostname() and not _pid_running(parsed[1]):
        return True
    started = _started(os.path.join(serving_dir, name), parsed)
    now = time.time() if now is None else now
    return started is not None and now - started > STALE_AFTER_SECONDS


def remove_stale_staging(serving_dir: str) -> List[str]:
    """Removes the staging folders no push will finish; returns their names."""
    removed = []
    for name in (n.rstrip("/") for n in fileio.listdir(serving_dir)):
        if name.startswith(INCOMPLETE_PREFIX) and is_stale(serving_dir, name):
            fileio.rmtree(os.path.join(serving_dir, name))
            removed.append(name)
            logging.info("Removed %s, left by a push that did not finish.", name)
    return removed


def _claim_version(staging: str, serving_dir: str) -> str:
    """Renames `staging` to the next free version number; returns the version folder.

    The rename itself claims the number: it fails when the target exists (a version
    folder is never empty), and then the next number is tried.
    """
    existing = versions(serving_dir)
    version = max(int(time.time()), int(existing[-1]) + 1 if existing else 0)
    for _ in range(MAX_VERSION_ATTEMPTS):
        final = os.path.join(serving_dir, str(version))
        try:
            fileio.rename(staging, final, overwrite=False)
            return final
        except Exception:  # pylint: disable=broad-except
            if not fileio.exists(final):
                raise  # Not a taken number: a real failure.
        logging.info("Version %d was taken by another push; trying the next.", version)
        version += 1
    raise RuntimeError(
        f"No free version number in {serving_dir} after {MAX_VERSION_ATTEMPTS} attempts."
    )


def publish(model_dir: str, serving_dir: str) -> str:
    """Copies `model_dir` to a new version folder of `serving_dir`, all at once.

    Returns:
      The version folder now holding the model: a new one, or the newest complete
      one when it already holds identical files.
    """
    fileio.makedirs(serving_dir)
    remove_stale_staging(serving_dir)
    complete = complete_versions(serving_dir)
    if complete:
        newest = os.path.join(serving_dir, complete[-1])
        if model_digest(newest) == model_digest(model_dir):
            logging.info("Model already serving as %s; not pushed again.", newest)
            return newest
    staging = os.path.join(serving_dir, staging_name())
    try:
        io_utils.copy_dir(model_dir, staging)
        final = _claim_version(staging, serving_dir)
    except BaseException:
        if fileio.exists(staging):
            fileio.rmtree(staging)
        raise
    with fileio.open(os.path.join(final, PUSHED_MARKER), "w") as marker:
        marker.write(
            json.dumps(
                {
                    "source": model_dir,
                    "host": socket.gethostname(),
                    "pid": os.getpid(),
                    "time": time.time(),
                }
            )
        )
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
                "FORCED PUSH: the model was not blessed; it is pushed because the operator set %s.",
                FORCE_PUSH,
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
