"""Transform's `preprocessing_fn` for taxi_fare: trip length scaled, categories as ids.

Miles and seconds are z-scored over the values present, a missing one taking the mean
(0 after scaling); the payment type and the company go through vocabularies with OOV
buckets, a missing company being the value ""; the hour and the community areas are
ids as they are. The label is the fare in dollars, as a float.
"""

import tensorflow as tf
import tensorflow_transform as tft

from modules.common.preprocessing import dense
from modules.common.preprocessing import identity_ids
from modules.common.preprocessing import label

from . import contract


def preprocessing_fn(inputs):
    """Maps the raw taxi columns to the fare model's features and label.

    Returns:
      Transformed feature name (see `modules.taxi_fare.contract`) to a dense `[batch]`
      tensor: float32 z-scores, int64 ids, and the float32 fare.
    """
    outputs = {}
    name = contract.transformed_name
    for key in contract.DENSE_FLOAT_FEATURES:
        raw = inputs[key]
        values = (
            raw
            if isinstance(raw, tf.sparse.SparseTensor)
            else tf.sparse.from_dense(tf.reshape(raw, [-1, 1]))
        )
        scaled = tft.scale_to_z_score(tf.sparse.map_values(tf.cast, values, tf.float32))
        outputs[name(key)] = dense(scaled, 0.0)
    for key in contract.VOCAB_FEATURES:
        outputs[name(key)] = tft.compute_and_apply_vocabulary(
            dense(inputs[key], ""),
            top_k=contract.VOCAB_SIZE,
            num_oov_buckets=contract.OOV_BUCKETS,
            vocab_filename=contract.vocabulary_name(key),
        )
    for key, size in contract.IDENTITY_FEATURES.items():
        outputs[name(key)] = identity_ids(inputs[key], size)
    outputs[contract.LABEL_KEY] = label(inputs, contract.CONTRACT)
    return outputs
