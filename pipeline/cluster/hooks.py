"""Training hooks for a replica of a training cluster: who trained, and a start barrier."""

import os
import time

import tensorflow as tf
import tensorflow_estimator as tf_estimator

from modules.common.files import write_json_atomically


class StepReportHook(tf_estimator.estimator.SessionRunHook):
    """Counts the training steps this replica ran and writes them as JSON at the end.

    In asynchronous parameter-server training each replica's step adds one to the
    shared global step, so the per-replica counts show who did the work.
    """

    def __init__(self, path: str, task_type: str, task_index: int):
        self._path = path
        self._report = {
            "task_type": task_type,
            "task_index": task_index,
            "local_steps": 0,
            "first_global_step": None,
            "last_global_step": None,
        }

    def begin(self):
        self._global_step = tf.compat.v1.train.get_global_step()

    def before_run(self, run_context):
        return tf_estimator.estimator.SessionRunArgs(self._global_step)

    def after_run(self, run_context, run_values):
        self._report["local_steps"] += 1
        if self._report["first_global_step"] is None:
            self._report["first_global_step"] = int(run_values.results)
        self._report["last_global_step"] = int(run_values.results)

    def end(self, session):
        write_json_atomically(os.path.abspath(self._path), self._report)


class WaitForWorkersHook(tf_estimator.estimator.SessionRunHook):
    """On the chief: holds its first step until another replica has trained a step.

    Asynchronous training has no start barrier, so a short run can end on the chief
    before a worker, still starting up, joins. This waits (at most `timeout_secs`)
    until the shared global step moves, which only another replica can do meanwhile.
    """

    def __init__(self, timeout_secs: float, poll_secs: float = 0.2):
        self._timeout_secs = timeout_secs
        self._poll_secs = poll_secs
        self._done = False

    def begin(self):
        self._global_step = tf.compat.v1.train.get_global_step()

    def after_create_session(self, session, coord):
        self._start_step = session.run(self._global_step)

    def before_run(self, run_context):
        if self._done:
            return None
        self._done = True
        deadline = time.monotonic() + self._timeout_secs
        while run_context.session.run(self._global_step) <= self._start_step:
            if time.monotonic() > deadline:
                tf.compat.v1.logging.warning(
                    "No other replica trained within %.0fs; the chief trains alone.",
                    self._timeout_secs,
                )
                return None
            time.sleep(self._poll_secs)
        tf.compat.v1.logging.info("Another replica has started training; so does the chief.")
        return None
