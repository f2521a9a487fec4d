"""What `make family` reads as free text, and the sizes it gives each text column.

The rule: a string column (not the label) is free text when most of its values are
distinct (distinct values / non-empty cells >= `MIN_DISTINCT_SHARE`) and a value
holds several words (median words per value >= `MIN_MEDIAN_WORDS`); any other string
column is a category. `TEXT=` and `CATEGORY=` override it for the columns they name.
A text column's words are those of `modules.common.text.tokenize`, and its sizes
come from the data: the sequence length is the 95th percentile of words per row
(at most `MAX_SEQUENCE_LENGTH`); the vocabulary holds the words seen at least
`MIN_WORD_COUNT` times (at most `MAX_VOCABULARY`).
"""

import collections
import dataclasses
import math
from typing import Dict, Iterable, List, Sequence, Tuple

from modules.common.text import TextColumn
from pipeline.scaffold.table import STRING
from pipeline.scaffold.table import ScaffoldError
from pipeline.scaffold.table import Table

MIN_DISTINCT_SHARE = 0.5
MIN_MEDIAN_WORDS = 3
SEQUENCE_PERCENTILE = 95
MAX_SEQUENCE_LENGTH = 200
MIN_WORD_COUNT = 3
MAX_VOCABULARY = 20_000
OOV_BUCKETS = 10
# Texts tokenized at once (TensorFlow, eagerly).
_BATCH = 4096


@dataclasses.dataclass(frozen=True)
class TextChoice:
    """The text columns of a new family, and why each string column is what it is."""

    columns: Dict[str, TextColumn]
    reasons: Tuple[str, ...]


def words_per_cell(cells: Sequence[str]) -> List[List[str]]:
    """Each cell's words, as Transform's `tokenize` splits them."""
    import tensorflow as tf

    from modules.common.text import tokenize

    words = []
    for start in range(0, len(cells), _BATCH):
        batch = tokenize(tf.constant(list(cells[start : start + _BATCH]))).to_list()
        words.extend([[w.decode("utf-8") for w in row] for row in batch])
    return words


def percentile(values: Sequence[int], share: float) -> int:
    """The nearest-rank percentile of `values` (`share` in (0, 100])."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share / 100 * len(ordered)))
    return ordered[rank - 1]


def _names(requested: Iterable[str], table: Table, label: str, what: str) -> List[str]:
    names = [n for n in requested if n]
    for name in names:
        if name not in table.columns:
            raise ScaffoldError(
                f"{what}={name}: there is no such column; the columns are {list(table.columns)}."
            )
        if name == label:
            raise ScaffoldError(f"{what}={name}: {name!r} is the label.")
        if table.columns[name].kind != STRING:
            raise ScaffoldError(
                f"{what}={name}: column {name!r} holds numbers; only a string column "
                "is text or a category."
            )
    return names


def text_column(name: str, cell_words: List[List[str]]) -> Tuple[TextColumn, str]:
    """The sizes of a text column from its cells' words, and a sentence on them."""
    counts = collections.Counter(word for words in cell_words for word in words)
    length = max(1, min(MAX_SEQUENCE_LENGTH, percentile([len(w) for w in cell_words], 95)))
    frequent = sum(1 for count in counts.values() if count >= MIN_WORD_COUNT)
    vocabulary = max(1, min(MAX_VOCABULARY, frequent))
    why = (
        f"{length} words a row (the {SEQUENCE_PERCENTILE}th percentile, at most "
        f"{MAX_SEQUENCE_LENGTH}), a vocabulary of {vocabulary} words ({frequent} of "
        f"{len(counts)} distinct words seen at least {MIN_WORD_COUNT} times, at most "
        f"{MAX_VOCABULARY})"
    )
    return TextColumn(name, length, vocabulary, OOV_BUCKETS), why


def infer(
    table: Table, label: str, text: Sequence[str] = (), category: Sequence[str] = ()
) -> TextChoice:
    """Tells the text columns of `table` from its categories; `text` and `category`
    name columns that are text or a category whatever the rule says.

    Raises:
      ScaffoldError: an override names a column that is missing, the label, numeric,
        or named by both.
    """
    text = _names(text, table, label, "TEXT")
    category = _names(category, table, label, "CATEGORY")
    both = sorted(set(text) & set(category))
    if both:
        raise ScaffoldError(f"TEXT and CATEGORY both name {both}.")
    columns, reasons = {}, []
    for column in table.columns.values():
        if column.name == label or column.kind != STRING:
            continue
        values = column.values
        cell_words = words_per_cell(values)
        distinct = len(set(values)) / len(values)
        median = sorted(len(w) for w in cell_words)[len(cell_words) // 2]
        figures = (
            f"{distinct:.0%} of its {len(values)} values distinct (text from "
            f"{MIN_DISTINCT_SHARE:.0%}), {median} word{'' if median == 1 else 's'} a value "
            f"at the median (text from {MIN_MEDIAN_WORDS})"
        )
        if column.name in text or (
            column.name not in category
            and distinct >= MIN_DISTINCT_SHARE
            and median >= MIN_MEDIAN_WORDS
        ):
            columns[column.name], sizes = text_column(column.name, cell_words)
            how = "TEXT" if column.name in text else "the rule"
            reasons.append(f"{column.name!r} is free text ({how}): {figures}; {sizes}")
        else:
            how = "CATEGORY" if column.name in category else "the rule"
            reasons.append(f"{column.name!r} is a category ({how}): {figures}")
    return TextChoice(columns=columns, reasons=tuple(reasons))


def drop_domains(schema, text_columns: Iterable[str]) -> None:
    """Removes the string domains TFDV inferred for text columns: every new text is
    outside such a list of the texts seen, which the data gate would stop on."""
    text_columns = set(text_columns)
    domains = set()
    for feature in schema.feature:
        if feature.name in text_columns and feature.HasField("domain"):
            domains.add(feature.domain)
            feature.ClearField("domain")
    kept = [d for d in schema.string_domain if d.name not in domains]
    del schema.string_domain[:]
    schema.string_domain.extend(kept)
