"""The penguins family's contract: a three-class classifier of penguin species.

The model reads a penguin's island, sex and four body measurements and predicts its
species, one of Adelie, Chinstrap and Gentoo (the Palmer penguins data). Some cells
are empty: a measurement not taken, a sex not determined. Transform z-scores each
measurement on the values present and gives a missing one the mean (0 after scaling);
an island or sex gets a vocabulary id, an empty cell a category of its own.
"""

from modules.common import tasks
from modules.common.contract import Choice
from modules.common.contract import FamilyContract
from modules.common.contract import FloatRange
from modules.common.paths import family_data_dir
from modules.common.schema import schema_columns

LABEL_COLUMN = "species"
# The classes, in id order: class id i is CLASSES[i].
CLASSES = ("Adelie", "Chinstrap", "Gentoo")

# Raw measurements the model reads, z-scored.
MEASUREMENTS = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")
# Raw string columns the model embeds through a vocabulary.
CATEGORIES = ("island", "sex")
OOV_BUCKETS = 1
# Raw columns no model input reads; the schema still checks them.
UNUSED_COLUMNS = ("year",)

LABEL_KEY = "species_xf"
OUTPUT_NAME = "species_scores"


def transformed_name(key: str) -> str:
    """Returns the transformed feature key made from raw column `key`."""
    return f"{key}_xf"


def vocabulary_name(key: str) -> str:
    """Returns the name under which Transform stores raw column `key`'s vocabulary."""
    return f"{key}_vocab"


DENSE_KEYS = tuple(transformed_name(key) for key in MEASUREMENTS)
CATEGORICAL_KEYS = tuple(transformed_name(key) for key in CATEGORIES)

COLUMNS = schema_columns(family_data_dir("penguins", "schema.pbtxt"))

CONTRACT = FamilyContract(
    name="penguins",
    pipeline_name="penguins",
    # The raw columns and their types: the curated schema's (data/penguins/schema.pbtxt).
    raw_columns=COLUMNS.raw,
    numeric_columns=COLUMNS.numeric,
    label_source_columns=(LABEL_COLUMN,),
    label_key=LABEL_KEY,
    # The eval split holds about 115 penguins: one mistake costs 0.9 points.
    task=tasks.multiclass(CLASSES, bound=0.9, max_change=0.03),
    model_input_keys=DENSE_KEYS + CATEGORICAL_KEYS,
    slice_columns=("island",),
    prediction_key=OUTPUT_NAME,
    exporter_name="penguins",
    # About 40 epochs of the 230 training penguins at 32 a batch.
    train_steps=300,
    default_hparams={
        "train_batch_size": 32,
        "eval_batch_size": 128,
        "hidden_units": 16,
        "learning_rate": 0.01,
    },
    search_space={
        "hidden_units": Choice((8, 16, 32)),
        "learning_rate": FloatRange(0.001, 0.05, log=True),
    },
    # The whole data set is small (344 rows): the sample is all of it.
    default_data=family_data_dir("penguins", "sample"),
)
