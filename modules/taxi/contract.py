"""The taxi family's contract: the names shared by Transform, the Trainer and the Evaluator.

The model predicts whether a Chicago taxi trip's tip is above 20% of its fare. Every
name that crosses a component boundary is defined here: the raw CSV columns,
what Transform makes of each, and the keys the Keras model's inputs carry. A transformed
feature is named after its raw column with the suffix `_xf` (`fare` -> `fare_xf`), so
raw and transformed features can live side by side in one dict: the Evaluator slices on
raw columns while the model reads transformed ones.
"""

from modules.common import tasks
from modules.common.contract import Choice
from modules.common.contract import FamilyContract
from modules.common.contract import FloatRange
from modules.common.paths import family_data_dir
from modules.common.schema import schema_columns

# Raw float columns that Transform z-scores (missing values filled with 0 first).
DENSE_FLOAT_FEATURES = ("trip_miles", "fare", "trip_seconds")

# Raw coordinate columns that Transform cuts into quantile buckets.
BUCKET_FEATURES = (
    "pickup_latitude",
    "pickup_longitude",
    "dropoff_latitude",
    "dropoff_longitude",
)
BUCKET_COUNT = 10

# Raw string columns that get a vocabulary (most frequent first) and OOV buckets.
VOCAB_FEATURES = ("payment_type", "company")

# Raw integer columns whose values are already small ids: value -> id as it is, for
# values in [0, size); anything else (missing, out of range) gets the one OOV id, size.
IDENTITY_FEATURES = {
    "trip_start_hour": 24,
    "trip_start_day": 8,
    "trip_start_month": 13,
    "pickup_community_area": 78,
    "dropoff_community_area": 78,
}

# Raw integer columns used as categories with too wide a range to be ids (census tracts
# are 11-digit codes): a vocabulary of the values seen in training, with OOV buckets.
CATEGORICAL_INT_FEATURES = ("pickup_census_tract", "dropoff_census_tract")

# Vocabularies keep at most this many values; the rest fall into OOV buckets.
VOCAB_SIZE = 1000
OOV_BUCKETS = 10

# The raw columns the label is computed from, and the transformed label key.
FARE_KEY = "fare"
TIPS_KEY = "tips"
LABEL_KEY = "big_tipper_xf"
# A trip is a positive example when the tip is above this fraction of the fare.
TIP_FRACTION_THRESHOLD = 0.2

# The model's single output: the probability that the trip's tip is above 20%.
OUTPUT_NAME = "probability"

# Slices the Evaluator reports besides the overall figure (raw column names).
SLICE_FEATURES = ("trip_start_hour", "payment_type")

# Raw columns a serving request does not carry: the label is derived from them.
LABEL_SOURCE_KEYS = (TIPS_KEY,)

# Raw columns of the data that no model input reads; the schema still checks them.
UNUSED_COLUMNS = ("trip_start_timestamp",)

# Every raw column the pipeline reads (a CSV file must have each in its header) and the
# numeric ones (non-empty cells must be numbers): the curated schema's, said once there
# (data/taxi/schema.pbtxt), which the groups above sort out.
COLUMNS = schema_columns(family_data_dir("taxi", "schema.pbtxt"))
REQUIRED_COLUMNS = COLUMNS.raw
NUMERIC_COLUMNS = COLUMNS.numeric


def transformed_name(key: str) -> str:
    """Returns the transformed feature key made from raw column `key`."""
    return f"{key}_xf"


def vocabulary_name(key: str) -> str:
    """Returns the name under which Transform stores raw column `key`'s vocabulary."""
    return f"{key}_vocab"


# Transformed keys of the features the model embeds: their id ranges come from
# Transform (vocabulary size plus OOV buckets, or bucket count).
CATEGORICAL_KEYS = tuple(
    transformed_name(key)
    for key in (
        BUCKET_FEATURES + VOCAB_FEATURES + CATEGORICAL_INT_FEATURES + tuple(IDENTITY_FEATURES)
    )
)
# Transformed keys of the z-scored floats the model reads as they are.
DENSE_KEYS = tuple(transformed_name(key) for key in DENSE_FLOAT_FEATURES)
# The transformed keys the Keras model takes, one `tf.keras.Input` each.
MODEL_INPUT_KEYS = DENSE_KEYS + CATEGORICAL_KEYS


CONTRACT = FamilyContract(
    name="taxi",
    pipeline_name="chicago-taxi",
    raw_columns=REQUIRED_COLUMNS,
    numeric_columns=NUMERIC_COLUMNS,
    label_source_columns=LABEL_SOURCE_KEYS,
    label_key=LABEL_KEY,
    task=tasks.binary(bound=0.9, max_change=0.01),
    model_input_keys=MODEL_INPUT_KEYS,
    slice_columns=SLICE_FEATURES,
    prediction_key=OUTPUT_NAME,
    exporter_name="chicago-taxi",
    # Trained natively, the model peaks at AUC 0.945 after 2-4 epochs of the 10,000
    # training rows and falls to 0.918 at 3,000 steps. Two epochs of the training
    # split, whatever its size (the local runner counts the rows; docs/scale.md): 157
    # steps of 128 on the 15,002 rows, every row of 1.5 million twice. Elsewhere
    # (Kubeflow), 300 steps.
    train_steps=300,
    train_epochs=2,
    default_hparams={
        # Widths of the two dense layers.
        "first_layer_units": 64,
        "second_layer_units": 32,
        "dropout": 0.1,
        "learning_rate": 0.003,
        # An embedding of n ids is about embedding_scale * n ** 0.25 wide.
        "embedding_scale": 2.0,
    },
    search_space={
        "first_layer_units": Choice((32, 64, 128, 256)),
        "second_layer_units": Choice((16, 32, 64)),
        "dropout": Choice((0.0, 0.1, 0.2, 0.3)),
        "learning_rate": FloatRange(0.0003, 0.01, log=True),
        "embedding_scale": Choice((1.0, 2.0, 4.0)),
    },
    default_data=family_data_dir("taxi", "full"),
)
