"""Transform's `preprocessing_fn`: everything the model sees is computed here.

Dense floats are z-scored, coordinates bucketized, categories turned into ids through
vocabularies with out-of-vocabulary buckets, and the label derived from tips and fare.
Missing values are filled first, so every output is a dense `[batch]` tensor.
"""

import tensorflow as tf
import tensorflow_transform as tft

from modules.common.preprocessing import dense
from modules.common.preprocessing import identity_ids

from . import contract


def _as_float(tensor):
    """Returns `tensor` as float32 with missing values filled with 0."""
    return tf.cast(dense(tensor, tf.zeros([], tensor.dtype)), tf.float32)


def preprocessing_fn(inputs):
    """Maps raw taxi columns to the model's features and label.

    Args:
      inputs: raw feature name to `Tensor` or `SparseTensor`, as parsed by Transform.

    Returns:
      Transformed feature name (see `modules.taxi.contract`) to a dense `[batch]` tensor.
    """
    outputs = {}
    name = contract.transformed_name
    for key in contract.DENSE_FLOAT_FEATURES:
        outputs[name(key)] = tft.scale_to_z_score(_as_float(inputs[key]))

    for key in contract.BUCKET_FEATURES:
        outputs[name(key)] = tft.bucketize(_as_float(inputs[key]), contract.BUCKET_COUNT)

    for key in contract.VOCAB_FEATURES + contract.CATEGORICAL_INT_FEATURES:
        raw = inputs[key]
        # A missing category is a category of its own: "" or -1.
        missing = tf.constant("" if raw.dtype == tf.string else -1, raw.dtype)
        outputs[name(key)] = tft.compute_and_apply_vocabulary(
            dense(raw, missing),
            top_k=contract.VOCAB_SIZE,
            num_oov_buckets=contract.OOV_BUCKETS,
            vocab_filename=contract.vocabulary_name(key),
        )

    for key, size in contract.IDENTITY_FEATURES.items():
        outputs[name(key)] = identity_ids(inputs[key], size)

    fare = _as_float(inputs[contract.FARE_KEY])
    tips = _as_float(inputs[contract.TIPS_KEY])
    outputs[contract.LABEL_KEY] = tf.cast(
        tf.logical_and(fare > 0, tips > fare * contract.TIP_FRACTION_THRESHOLD),
        tf.int64,
    )
    return outputs
