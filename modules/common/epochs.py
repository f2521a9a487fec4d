"""Training for a number of epochs with no step count, where no row count is known.

On Kubeflow nothing counts the rows before a run, so a family's `train_epochs` cannot
become steps there (the local runner does that, `pipeline.local.sizing`). The
pipeline then gives the Trainer no step count (`TrainArgs.num_steps` 0, which TFX
hands to `trainer_fn` as `fn_args.train_steps` None) and the epochs in its
`custom_config[TRAIN_EPOCHS_KEY]`; the training input repeats the data that many
times and ends, with no step limit (`TrainSpec.max_steps` None).

A `FinalExporter` exports only when the global step reaches `max_steps`: with none,
it never does. The export is then a `LatestExporter` keeping one export (TFX's
Estimator executor copies exactly one), made at the evaluation that follows the end
of the input.
"""

import math
from typing import Mapping, Optional

TRAIN_EPOCHS_KEY = "train_epochs"


def epochs_to_train(train_steps: Optional[int], custom_config: Optional[Mapping]) -> int:
    """Whole epochs the training input repeats the data for; 0: train by steps.

    Epochs count when the Trainer got no step count; a fraction is rounded up (the
    input function knows no row count to stop within an epoch).

    Raises:
      ValueError: neither steps nor epochs were given.
    """
    if train_steps:
        return 0
    epochs = float((custom_config or {}).get(TRAIN_EPOCHS_KEY) or 0)
    if epochs <= 0:
        raise ValueError(
            "The Trainer got no training steps (TrainArgs.num_steps) and no "
            f"custom_config[{TRAIN_EPOCHS_KEY!r}]: give one of them."
        )
    return math.ceil(epochs)


def serving_exporter(name: str, serving_input_fn, epochs: int):
    """The serving export: at the final step (by steps), or at the last evaluation
    (by epochs, where there is no final step), one export kept either way."""
    import tensorflow_estimator as tf_estimator

    if epochs:
        return tf_estimator.estimator.LatestExporter(name, serving_input_fn, exports_to_keep=1)
    return tf_estimator.estimator.FinalExporter(name, serving_input_fn)
