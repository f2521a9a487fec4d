"""Scoring raw CSV rows with a pushed model, as a serving client would.

A pushed model's `serving_default` signature takes serialized `tf.Example`s holding the
raw CSV columns (without the label) and applies the Transform graph itself; this module
turns CSV rows into such examples, typed by the project's schema, and calls it.

What comes back depends on the model's task: a binary classifier's probability of
class 1 and a regression's value are one number per row; a multi-class model returns
`scores` `[N, K]` and `classes` `[N, K]` (the class of each column, as TF Serving's
classify API names them), so a caller needs no side file to read them.
"""

import csv
import dataclasses
import importlib
import os
from typing import Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import tensorflow as tf
from google.protobuf.message import DecodeError
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.dsl.io import fileio

from components import missing_values as missing_lib
from components import versioned_pusher
from components.versioned_pusher import PUSHED_MARKER
from modules.common.schema import load_schema  # noqa: F401  (the client's own API)
from modules.common.schema import raw_feature_spec
from modules.common.tasks import CLASSES_OUTPUT
from modules.common.tasks import SCORES_OUTPUT

_PARSERS = {tf.float32: float, tf.int64: lambda text: int(float(text)), tf.string: str.encode}


def feature_types(schema: schema_pb2.Schema, serving: bool = True) -> dict:
    """Returns raw column -> dtype; for serving, without the columns of the label."""
    return {key: value.dtype for key, value in raw_feature_spec(schema, serving).items()}


def example_from_row(
    row: Mapping[str, str], types: Mapping[str, tf.DType], where: str = "row"
) -> bytes:
    """Returns a serialized `tf.Example` of one CSV row; empty cells are left out.

    Raises:
      ValueError: naming `where` and the column when a cell does not parse as its type.
    """
    example = tf.train.Example()
    for key, dtype in types.items():
        text = (row.get(key) or "").strip()
        if not text:
            continue
        try:
            value = _PARSERS[dtype](text)
        except ValueError:
            raise ValueError(
                f"{where}: column {key!r} holds {text!r}, which is not a {dtype.name}"
            ) from None
        feature = example.features.feature[key]
        if dtype == tf.float32:
            feature.float_list.value.append(value)
        elif dtype == tf.int64:
            feature.int64_list.value.append(value)
        else:
            feature.bytes_list.value.append(value)
    return example.SerializeToString()


def check_header(
    header, schema: schema_pb2.Schema, serving: bool = True, where: str = "the CSV file"
) -> None:
    """Raises ValueError naming columns of `header` unknown to the schema, or missing.

    For serving, the label's source columns may be present or absent: they are not sent.
    """
    if not header:
        raise ValueError(f"{where}: the file is empty; expected a header row.")
    known = feature_types(schema, serving=False)
    unknown = [column for column in header if column not in known]
    missing = [column for column in feature_types(schema, serving) if column not in header]
    problems = []
    if unknown:
        problems.append(f"column {', '.join(map(repr, unknown))} is not in the schema")
    if missing:
        problems.append(f"column {', '.join(map(repr, missing))} of the schema is missing")
    if problems:
        raise ValueError(f"{where}: the header does not match the schema: {'; '.join(problems)}.")


def family_missing_values(family: str) -> missing_lib.MissingValues:
    """The missing-value tokens a family's contract declares (`modules/<family>/contract.py`)."""
    contract = importlib.import_module(f"modules.{family}.contract").CONTRACT
    return missing_lib.MissingValues.of_contract(contract)


def examples_from_csv(
    csv_path: str,
    schema: schema_pb2.Schema,
    serving: bool = True,
    missing: Union[Sequence[str], missing_lib.MissingValues, None] = None,
    family: str = "",
) -> List[bytes]:
    """Returns one serialized raw `tf.Example` per row of a CSV file with a header.

    A UTF-8 byte-order mark (Excel's "CSV UTF-8") is read as such. A cell that is a
    missing-value token is read as an empty cell (left out of the example): `missing`
    gives the tokens (of every column, or a `MissingValues` with per-column ones);
    None: those `family` declares in its contract, if a family is named, else none.

    Raises:
      ValueError: naming the file: a header column the schema does not know (a typo),
        a schema column the header lacks, a row whose field count differs from the
        header's (with its line), or a cell that does not parse as its type.
    """
    types = feature_types(schema, serving)
    if missing is None:
        missing = family_missing_values(family) if family else missing_lib.NONE
    elif not isinstance(missing, missing_lib.MissingValues):
        missing = missing_lib.MissingValues(tuple(missing))
    with open(csv_path, newline="", encoding="utf-8-sig") as csv_file:
        reader = csv.DictReader(csv_file)
        check_header(reader.fieldnames, schema, serving, where=csv_path)
        examples, per_index = [], missing.per_index(reader.fieldnames)
        for row in reader:
            where = f"{csv_path}, line {reader.line_num}"
            if None in row or None in row.values():
                raise ValueError(
                    f"{where}: the row's field count differs from the "
                    f"header's ({len(reader.fieldnames)})."
                )
            cells = missing_lib.blank_row(list(row.values()), per_index)
            examples.append(example_from_row(dict(zip(row, cells)), types, where=where))
        return examples


def latest_version_dir(serving_model_dir: str) -> str:
    """Returns the newest numbered version folder the Pusher completed.

    A version folder without the Pusher's completion marker is skipped: its copy may
    still be in progress (on object storage, where a rename is a copy). Local folders
    and gs:// alike.
    """
    if not fileio.isdir(serving_model_dir):
        raise FileNotFoundError(f"No serving folder {serving_model_dir}.")
    versions = versioned_pusher.complete_versions(serving_model_dir)
    if not versions:
        raise FileNotFoundError(
            f"No complete pushed model version in {serving_model_dir} (a numbered folder "
            f"holding {PUSHED_MARKER})."
        )
    return os.path.join(serving_model_dir, versions[-1])


def check_examples(serialized_examples: Iterable[bytes]) -> List[bytes]:
    """Returns the examples, or raises ValueError naming the first that is no tf.Example.

    The model's own parser rejects such bytes too, but its message embeds the raw bytes
    and TensorFlow fails to decode them, hiding the cause.
    """
    examples = list(serialized_examples)
    for index, serialized in enumerate(examples):
        try:
            tf.train.Example.FromString(serialized)
        except DecodeError as error:
            raise ValueError(f"Example {index} is not a serialized tf.Example ({error}).") from None
    return examples


@dataclasses.dataclass(frozen=True)
class Predictions:
    """A model's answer for N examples.

    Attributes:
      scores: `[N]` (binary: the probability of class 1; regression: the value) or
        `[N, K]` (multi-class: one score per class).
      classes: multi-class: the class of each column of `scores`; else None.
    """

    scores: np.ndarray
    classes: Optional[Tuple[str, ...]] = None

    def predicted_classes(self) -> List[str]:
        """Multi-class: the most likely class of each example."""
        if self.classes is None:
            raise ValueError("Only a multi-class model's predictions name classes.")
        return [self.classes[i] for i in np.argmax(self.scores, axis=1)]


def predict(model_dir: str, serialized_examples: Iterable[bytes]) -> Predictions:
    """Loads the SavedModel in `model_dir` and scores every example.

    Raises:
      ValueError: an example is not a serialized tf.Example.
      tf.errors.InvalidArgumentError: an example does not match the model's features
        (for instance text where a number belongs); the message names the feature.
    """
    examples = check_examples(serialized_examples)
    model = tf.saved_model.load(model_dir)
    serve = model.signatures["serving_default"]
    outputs = {
        name: tensor.numpy() for name, tensor in serve(examples=tf.constant(examples)).items()
    }
    if CLASSES_OUTPUT in outputs:
        names = outputs[CLASSES_OUTPUT]
        classes = tuple(name.decode("utf-8") for name in names[0]) if len(names) else ()
        return Predictions(outputs[SCORES_OUTPUT], classes)
    if len(outputs) != 1:
        raise ValueError(
            f"{model_dir}: the serving signature returns {sorted(outputs)}; "
            f"expected one output, or {SCORES_OUTPUT} and {CLASSES_OUTPUT}."
        )
    return Predictions(next(iter(outputs.values())).reshape(-1))
