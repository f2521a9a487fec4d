"""The text parts of a made family's files, for the templates' `$text_*` placeholders.

A family with free text (`text_inference`) gets, besides its numbers and categories:
`TEXT` in its contract (column -> `TextColumn`, the sizes `make family` chose) and
`text_columns=TEXT`; the shared text steps in `preprocessing_fn`
(`modules.common.text.word_ids`); and in its model an `Embedding(mask_zero=True)` then a
sequence layer per text column (`modules.common.text_model.encode`: `MaskedAverage`
by default, `text_layer="lstm"` the other choice), joined with the other columns'
inputs. Each placeholder ends a line of a template, so that a family without text
gets every placeholder empty and the same files as before text was known.
"""

import math
from typing import Dict

from modules.common.text import TextColumn
from modules.common.text_model import AVERAGE
from modules.common.text_model import SEQUENCE_LAYERS

TEXT_EMBEDDING_DIM = 16
# A text family's training length: about this many examples, in whole epochs (at most
# the epochs of a family without text). The embeddings of thousands of words overfit
# within a few epochs of a large data set: on the reviews data, eval AUC falls from
# the first epoch on (docs/text.md).
TEXT_EXAMPLES = 25_000

KEYS = (
    "text_contract_import",
    "text_contract_constants",
    "text_not_category",
    "text_input_keys",
    "text_hparams",
    "text_search_space",
    "text_contract_field",
    "text_preprocessing_doc",
    "text_preprocessing_import",
    "text_preprocessing_steps",
    "text_model_doc",
    "text_model_import",
    "text_model_params",
    "text_model_inputs",
    "text_model_columns",
    "text_model_sizes",
    "text_model_args",
)


def epochs(rows: int, most: int) -> int:
    """Training epochs of a family with text over `rows` rows (2/3 of them to train)."""
    return max(1, min(most, round(TEXT_EXAMPLES / max(1, math.ceil(rows * 2 / 3)))))


def _column(column: TextColumn) -> str:
    return (
        f"    {column.name!r}: TextColumn(\n        {column.name!r}, sequence_length="
        f"{column.sequence_length}, vocabulary_size={column.vocabulary_size}, "
        f"oov_buckets={column.oov_buckets}\n    ),"
    )


def values(columns: Dict[str, TextColumn]) -> Dict[str, str]:
    """Each placeholder's text: empty for a family without text columns."""
    if not columns:
        return {key: "" for key in KEYS}
    text = "\n".join(_column(c) for c in columns.values())
    return {
        "text_contract_import": "\nfrom modules.common.text import TextColumn",
        "text_contract_constants": (
            "\n# Free text, read as words (modules/common/text.py): the sizes `make family` "
            "chose from\n# the data (the 95th percentile of words a row; the words seen "
            "at least 3 times).\n# Remove a column from TEXT to read it as a category.\n"
            f"TEXT = {{\n{text}\n}}"
        ),
        "text_not_category": " and c not in TEXT",
        "text_input_keys": " + tuple(TEXT)",
        "text_hparams": (
            f'\n        "text_embedding_dim": {TEXT_EMBEDDING_DIM},\n'
            f'        # How a text column is read: "{AVERAGE}" (the mean of its words\' '
            'embeddings)\n        # or "lstm" (docs/text.md).\n'
            f'        "text_layer": "{AVERAGE}",'
        ),
        "text_search_space": f'\n        "text_layer": Choice({SEQUENCE_LAYERS!r}),',
        "text_contract_field": "\n    text_columns=TEXT,",
        "text_preprocessing_doc": (
            "\nA free-text column (`contract.TEXT`) becomes a fixed-length row of word ids "
            "(lower case,\nmarkup and punctuation removed, a vocabulary of the training "
            "data's words, 0 pads)."
        ),
        "text_preprocessing_import": "\nfrom modules.common.text import word_ids",
        "text_preprocessing_steps": (
            "\n    for column, text in contract.TEXT.items():\n"
            "        outputs[transformed_key(column)] = word_ids(inputs[column], text)"
        ),
        "text_model_doc": (
            "\nA free-text column's word ids go through an `Embedding(mask_zero=True)` and "
            "the mean of\nits words' embeddings (or an LSTM: hyperparameter `text_layer`)."
        ),
        "text_model_import": "\nfrom modules.common import text_model",
        "text_model_params": (
            f",\n                      text_embedding_dim: int = {TEXT_EMBEDDING_DIM}, "
            f'text_layer: str = "{AVERAGE}"'
        ),
        "text_model_inputs": (
            "\n    texts = {transformed_key(c): t for c, t in contract.TEXT.items()}\n"
            "    inputs.update({key: tf.keras.Input(shape=(text.sequence_length,), "
            "name=key, dtype=tf.int64)\n                   for key, text in texts.items()})"
        ),
        "text_model_columns": (
            "\n    columns += [text_model.encode(inputs[key], sizes[key], text_embedding_dim, "
            "text_layer,\n                                  name=key) for key in texts]"
        ),
        "text_model_sizes": (
            "\n    sizes.update({transformed_key(c): t.input_dim(tf_transform_output)\n"
            "                  for c, t in contract.TEXT.items()})"
        ),
        "text_model_args": (
            ',\n                             text_embedding_dim=hparams["text_embedding_dim"],'
            '\n                             text_layer=hparams["text_layer"]'
        ),
    }
