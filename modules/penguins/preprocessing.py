"""Transform's `preprocessing_fn` for penguins: measurements scaled, categories as ids.

A measurement is z-scored over the values present, then an empty cell takes 0, the
mean; an island or sex goes through a vocabulary, an empty cell being a value of its
own. The species becomes its class id through the task's class list.
"""

import tensorflow as tf
import tensorflow_transform as tft

from modules.common.preprocessing import dense
from modules.common.preprocessing import label

from . import contract


def preprocessing_fn(inputs):
    """Maps the raw penguin columns to the model's features and the class id.

    Returns:
      Transformed feature name (see `modules.penguins.contract`) to a dense `[batch]`
      tensor: float32 z-scores, int64 vocabulary ids, and the int64 label.
    """
    outputs = {}
    for key in contract.MEASUREMENTS:
        raw = inputs[key]
        values = (
            raw
            if isinstance(raw, tf.sparse.SparseTensor)
            else tf.sparse.from_dense(tf.reshape(raw, [-1, 1]))
        )
        scaled = tft.scale_to_z_score(tf.sparse.map_values(tf.cast, values, tf.float32))
        outputs[contract.transformed_name(key)] = dense(scaled, 0.0)
    for key in contract.CATEGORIES:
        outputs[contract.transformed_name(key)] = tft.compute_and_apply_vocabulary(
            dense(inputs[key], ""),
            num_oov_buckets=contract.OOV_BUCKETS,
            vocab_filename=contract.vocabulary_name(key),
        )
    outputs[contract.LABEL_KEY] = label(inputs, contract.CONTRACT)
    return outputs
