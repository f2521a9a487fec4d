"""Which files of a data folder are data, and how to open them.

A data folder may hold more than data: `.gitkeep`, `.DS_Store`, a README, a subfolder,
a link to a file that is gone. ExampleGen reads only the files this module selects, and
says what it skipped and why.
"""

import contextlib
import dataclasses
import gzip
import os
from typing import BinaryIO, Iterable, Iterator, Tuple

from tfx.dsl.io import fileio

# Beam and this module both detect gzip from the name's ending.
GZIP_SUFFIX = ".gz"
# Endings of data files, compared in lower case.
DATA_SUFFIXES = (".csv", ".csv" + GZIP_SUFFIX)


@dataclasses.dataclass(frozen=True)
class DataFiles:
    """The data files of a folder (sorted paths) and the skipped names with a reason each."""

    files: Tuple[str, ...]
    skipped: Tuple[Tuple[str, str], ...]

    def skipped_text(self) -> str:
        """Returns the skipped names as `name (reason), name (reason)`."""
        return ", ".join(f"{name} ({reason})" for name, reason in self.skipped)


def _skip_reason(path: str) -> str:
    """Returns why `path` is not data, or '' when it is."""
    name = os.path.basename(path.rstrip("/"))
    if name.startswith("."):
        return "hidden"
    if os.path.islink(path) and not os.path.exists(path):
        return "a broken symbolic link"
    if fileio.isdir(path):
        return "a folder; subfolders are not read"
    if not fileio.exists(path):
        return "cannot be read"
    if not name.lower().endswith(DATA_SUFFIXES):
        return "not .csv or .csv.gz"
    return ""


def select(paths: Iterable[str]) -> DataFiles:
    """Sorts `paths` into data files and skipped ones; never raises for a path."""
    files, skipped = [], []
    for path in sorted(paths):
        reason = _skip_reason(path)
        if reason:
            skipped.append((os.path.basename(path.rstrip("/")), reason))
        else:
            files.append(path)
    return DataFiles(tuple(files), tuple(skipped))


def in_folder(folder: str) -> DataFiles:
    """Returns the data files directly in `folder`, and what was skipped there."""
    return select(os.path.join(folder, name.rstrip("/")) for name in fileio.listdir(folder))


def is_gzip(path: str) -> bool:
    """Whether `path` is read through gzip, as Beam decides: by the name's ending."""
    return path.lower().endswith(GZIP_SUFFIX)


@contextlib.contextmanager
def open_binary(path: str) -> Iterator[BinaryIO]:
    """Opens a data file for reading bytes, decompressing a `.gz` file."""
    with fileio.open(path, "rb") as raw:
        if is_gzip(path):
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                yield unzipped
        else:
            yield raw
