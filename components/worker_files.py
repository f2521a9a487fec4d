"""Files opened by the CSV reading workers, which import no TensorFlow for local files.

A local path is opened with Python's `open` (its folder made for writing); a remote one
(gs://...) through TensorFlow's `gfile`, imported only then.
"""

import os


def is_local(path: str) -> bool:
    """Whether `path` is a local file (not a URL such as gs://...)."""
    return "://" not in path


def open_file(path: str, mode: str):
    """Opens `path` in `mode` ('rb' or 'wb'), making a local file's folder to write it."""
    if is_local(path):
        if "w" in mode:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        return open(path, mode)  # pylint: disable=consider-using-with
    from tensorflow.io import gfile  # pylint: disable=import-outside-toplevel

    return gfile.GFile(path, mode)
