"""Writing files so that a reader never sees half of one."""

import json
import os


def write_json_atomically(path: str, value, indent=None) -> None:
    """Writes `value` as JSON to `path` (local or gs://): readers see the old file or this one.

    The JSON goes to a file of this process's own beside `path` first, then is renamed
    over it; the rename is atomic on a local file system (on object storage a rename is
    a copy, and the copy appears whole).
    """
    import tensorflow as tf

    folder = os.path.dirname(path)
    if folder:
        tf.io.gfile.makedirs(folder)
    partial = f"{path}.partial-{os.getpid()}"
    with tf.io.gfile.GFile(partial, "w") as json_file:
        json.dump(value, json_file, indent=indent)
    tf.io.gfile.rename(partial, path, overwrite=True)
