"""Cells that mean a missing value: read as empty cells, as TFX reads an empty cell.

R, pandas and most exports write a missing value as `NA`, `N/A`, `null` or `?`;
tfx_bsl's CSV decoding treats only an empty cell as missing, and would type such a
column STRING. A family declares its tokens (`missing_values` for every column,
`missing_values_by_column` per column, which overrides the first: `NA` can be a real
category); every reader of raw CSV cells (ExampleGen's two read paths, the CSV checks,
`make family`, the serving client) replaces a cell that is one of its column's tokens,
once stripped, by an empty cell, between parsing a line and anything else. A missing
value then is an empty list in the examples, as TFX writes an empty cell.

Imported by the reading workers: the standard library, and pyarrow where a table is
blanked.
"""

import dataclasses
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

# Keys of the tokens as JSON (ExampleGen's custom_config, the workers' requests).
ALL_COLUMNS_KEY = "all_columns"
BY_COLUMN_KEY = "by_column"
# Where a family declares them (`modules.common.contract.FamilyContract`).
CONTRACT_FIELD = "missing_values"
CONTRACT_BY_COLUMN_FIELD = "missing_values_by_column"


@dataclasses.dataclass(frozen=True)
class MissingValues:
    """The cells that mean a missing value, for every column and per column.

    Attributes:
      tokens: cells (compared stripped) that mean missing in every column.
      by_column: column -> its own tokens, instead of `tokens` (empty: none there).
    """

    tokens: Tuple[str, ...] = ()
    by_column: Mapping[str, Tuple[str, ...]] = dataclasses.field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.tokens) or any(self.by_column.values())

    def for_column(self, column: str) -> Tuple[str, ...]:
        """The tokens of one column."""
        return tuple(self.by_column.get(column, self.tokens))

    def per_index(self, header: Sequence[str]) -> List[List[str]]:
        """The tokens of each column of `header`, by position (what the workers get)."""
        return [list(self.for_column(name)) for name in header]

    def to_json(self) -> Dict[str, Any]:
        return {
            ALL_COLUMNS_KEY: list(self.tokens),
            BY_COLUMN_KEY: {column: list(tokens) for column, tokens in self.by_column.items()},
        }

    @classmethod
    def of_contract(cls, contract) -> "MissingValues":
        """The tokens a family's contract declares (`missing_values`, `..._by_column`)."""
        return cls(
            tuple(getattr(contract, CONTRACT_FIELD, ())),
            dict(getattr(contract, CONTRACT_BY_COLUMN_FIELD, {})),
        )

    @classmethod
    def from_json(cls, value: Optional[Mapping[str, Any]]) -> "MissingValues":
        value = value or {}
        return cls(
            tuple(value.get(ALL_COLUMNS_KEY, ())),
            {column: tuple(tokens) for column, tokens in value.get(BY_COLUMN_KEY, {}).items()},
        )


NONE = MissingValues()


def blank_row(row: Sequence[str], per_index: Optional[Sequence[Sequence[str]]]) -> List[str]:
    """The parsed row with each cell that is its column's token made empty."""
    if not per_index:
        return list(row)
    return [
        "" if index < len(per_index) and cell.strip() in per_index[index] else cell
        for index, cell in enumerate(row)
    ]


def blank_table(table, per_index: Optional[Sequence[Sequence[str]]]):
    """A pyarrow table of text columns with each cell that is its column's token made
    empty (cells compared stripped of what Python's `str.strip()` removes)."""
    if not per_index or not any(per_index):
        return table
    import pyarrow as pa
    import pyarrow.compute as pc

    from components.csv_columns import PYTHON_SPACE

    columns = []
    for column, tokens in zip(table.columns, per_index):
        if tokens:
            stripped = pc.utf8_trim(column, characters=PYTHON_SPACE)
            token = pc.is_in(stripped, value_set=pa.array(list(tokens), pa.string()))
            column = pc.if_else(token, pa.scalar("", pa.string()), column)
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


def how_to_declare(cell: str, column: str) -> str:
    """What to do about a cell that may stand for a missing value (a CSV check's hint)."""
    return (
        f"If {cell!r} means a missing value, declare it in the family's contract.py: "
        f"{CONTRACT_FIELD}=(..., {cell!r}) for every column, or "
        f"{CONTRACT_BY_COLUMN_FIELD}={{{column!r}: ({cell!r},)}} for this one."
    )


def number_hint(cell: str, column: str) -> str:
    """A number check's hint for a word (`NA`, `?`, `null`) in a numeric column: how to
    declare it as missing ('' for a cell with a digit, a mistyped number)."""
    return "" if any(char.isdigit() for char in cell) else " " + how_to_declare(cell, column)
