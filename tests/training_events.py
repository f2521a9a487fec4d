"""Reading what an Estimator wrote into its model folder, for the tests."""

import glob
import os

import tensorflow as tf


def summary_steps(model_dir):
    """The global steps at which training wrote summaries into `model_dir`."""
    steps = set()
    for path in glob.glob(os.path.join(model_dir, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            if event.summary.value:
                steps.add(event.step)
    return steps
