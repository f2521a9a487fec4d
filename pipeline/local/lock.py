"""One run at a time per metadata store: an exclusive lock held for the whole run."""

import contextlib
import fcntl
import os


class ConcurrentRunError(RuntimeError):
    """Another run holds the metadata store this run was asked to use."""


@contextlib.contextmanager
def exclusive_store(metadata_path: str):
    """Holds an exclusive lock on the metadata store for the duration of a run.

    SQLite ML Metadata is not made for two pipeline runs writing at once; a second
    run refuses instead of interleaving with the first. The lock is the kernel's
    (`flock`), so a killed run never leaves it behind.
    """
    lock_path = metadata_path + ".lock"
    with open(lock_path, "a+") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.seek(0)
            holder = lock_file.read().strip() or "unknown"
            raise ConcurrentRunError(
                f"Another pipeline run (pid {holder}) is using {metadata_path}; "
                "wait for it to finish, or run with another build folder."
            ) from None
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(str(os.getpid()))
        lock_file.flush()
        yield
