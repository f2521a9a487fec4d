"""CsvExampleGen's executor: checked data files to tf.Examples at the CSV reader's speed.

TFX's CSV executor reads every file its split pattern matches, cannot read a `.csv.gz`
(it reads the header as plain text, and Beam's compressed file cannot be iterated by
line), keeps a byte-order mark in the first column's name, and parses, types and hashes
row by row in Beam (165 s at 1.5 million taxi rows here). This executor selects the
data files (`components.data_files`) and reads exactly those, gzip included, with
`components.csv_to_examples`: pyarrow's CSV reader and an encoder on whole columns in
one worker process per core (`components.fast_csv_reader`), checking the headers and
the cells on the way. It writes what TFX's executor writes, example for example and
split for split (the rules are in `components.example_bytes`' docstring): the
`Split-<name>/` folders of gzipped TFRecords, the artifact's `split_names`, and its
`payload_format` and `file_format` when asked.

A chunk that fails a check, or that pyarrow could read otherwise than Python's `csv`
module, makes its file be scanned again by `csv_check.check_file`, which stops the run
with a `CsvFormatError` naming file, line and column; a file that passes that scan is
then read with Python's `csv` module, as TFX reads it.

The columns to check come as parameters: `custom_config(required, numeric, label,
missing)` is the component's `custom_config`, which reaches the executor as JSON; cells
that are one of `missing`'s tokens are read as empty (`components.missing_values`). A label rule
(`csv_check.LabelRule`) stops a run on a label the task cannot use, or, where the
family says so, leaves rows with an empty label out.
"""

import dataclasses
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

from absl import logging
from google.protobuf import any_pb2
from google.protobuf import json_format
from google.protobuf import struct_pb2
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.example_gen import write_split
from tfx.components.example_gen.csv_example_gen import executor as csv_executor
from tfx.components.util import examples_utils
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

from components import csv_check
from components import csv_to_examples
from components import data_files
from components import missing_values as missing_lib

REQUIRED_COLUMNS_KEY = "required_columns"
NUMERIC_COLUMNS_KEY = "numeric_columns"
LABEL_KEY = "label"
MISSING_KEY = "missing_values"


def custom_config(
    required_columns: Sequence[str],
    numeric_columns: Sequence[str],
    label: Optional[csv_check.LabelRule] = None,
    missing: missing_lib.MissingValues = missing_lib.NONE,
) -> example_gen_pb2.CustomConfig:
    """Returns the ExampleGen `custom_config` naming the columns the checks need, and
    the cells that mean a missing value (`missing`), read as empty by both read paths.

    FileBasedExampleGen takes a `CustomConfig` proto (a `google.protobuf.Any`), not a
    dict: the columns travel as a packed `Struct`.
    """
    struct = struct_pb2.Struct()
    struct.update(
        {REQUIRED_COLUMNS_KEY: list(required_columns), NUMERIC_COLUMNS_KEY: list(numeric_columns)}
    )
    if label is not None:
        struct.update({LABEL_KEY: {**dataclasses.asdict(label), "classes": list(label.classes)}})
    if missing:
        struct.update({MISSING_KEY: missing.to_json()})
    packed = any_pb2.Any()
    packed.Pack(struct)
    return example_gen_pb2.CustomConfig(custom_config=packed)


def _custom_values(exec_properties: Dict[str, Any]) -> Dict[str, Any]:
    """The values `custom_config(...)` packed, from the exec properties' JSON."""
    text = exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY)
    config = example_gen_pb2.CustomConfig()
    struct = struct_pb2.Struct()
    if text:
        proto_utils.json_to_proto(text, config)
    if config.custom_config.Is(struct.DESCRIPTOR):
        config.custom_config.Unpack(struct)
    return json_format.MessageToDict(struct)


def missing_from_exec_properties(exec_properties: Dict[str, Any]) -> missing_lib.MissingValues:
    """Returns the missing-value tokens packed by `custom_config` (none if none)."""
    return missing_lib.MissingValues.from_json(_custom_values(exec_properties).get(MISSING_KEY))


def columns_from_exec_properties(
    exec_properties: Dict[str, Any],
) -> Tuple[List[str], List[str], Optional[csv_check.LabelRule]]:
    """Returns (required, numeric columns, label rule) from the `custom_config` JSON.

    Raises:
      ValueError: the component was built without `custom_config(...)`.
    """
    columns = _custom_values(exec_properties)
    if REQUIRED_COLUMNS_KEY not in columns:
        raise ValueError(
            "The checked CSV ExampleGen needs custom_config=checked_csv_example_gen."
            "custom_config(required_columns, numeric_columns)."
        )
    label = columns.get(LABEL_KEY)
    if label is not None:
        label = csv_check.LabelRule(**{**label, "classes": tuple(label.get("classes", ()))})
    return (list(columns[REQUIRED_COLUMNS_KEY]), list(columns.get(NUMERIC_COLUMNS_KEY, [])), label)


def select_split_files(pattern: str) -> Tuple[str, ...]:
    """Selects the data files `pattern` matches; logs what it skipped.

    Raises:
      csv_check.CsvFormatError: no data file.
    """
    selected = data_files.select(fileio.glob(pattern))
    if selected.skipped:
        logging.warning("%s: skipped %s", pattern, selected.skipped_text())
    if not selected.files:
        skipped = f"; skipped: {selected.skipped_text()}" if selected.skipped else ""
        raise csv_check.CsvFormatError(f"{pattern}: no data file (*.csv or *.csv.gz){skipped}.")
    return selected.files


def _split_jobs(
    input_config: example_gen_pb2.Input, output_config: example_gen_pb2.Output
) -> Tuple[List[str], List[Tuple[str, List[str], Optional[List[int]]]]]:
    """The output split names, and (input pattern, its output split names, cumulative
    hash buckets or None) per input split read."""
    split_config = output_config.split_config
    if split_config.HasField("partition_feature_name"):
        raise ValueError(
            "The checked CSV ExampleGen splits by the hash of the whole "
            "example; partition_feature_name is not supported."
        )
    split_names = example_gen_utils.generate_output_split_names(input_config, output_config)
    if not split_config.splits:
        return split_names, [
            (split.pattern, [name], None) for split, name in zip(input_config.splits, split_names)
        ]
    if len(input_config.splits) != 1:
        raise ValueError("With output splits, the input must have one split.")
    buckets, total = [], 0
    for split in split_config.splits:
        total += split.hash_buckets
        buckets.append(total)
    return split_names, [(input_config.splits[0].pattern, list(split_names), buckets)]


def _formats(exec_properties: Dict[str, Any]) -> Tuple[Optional[int], int]:
    """(payload format, file format) asked for; raises for what this executor cannot
    write (a payload other than tf.Example, a file format other than gzipped TFRecord)."""
    payload_format = exec_properties.get(standard_component_specs.OUTPUT_DATA_FORMAT_KEY)
    if payload_format not in (None, example_gen_pb2.FORMAT_TF_EXAMPLE):
        raise ValueError(
            "The checked CSV ExampleGen writes tf.Examples only (payload format "
            f"{example_gen_pb2.PayloadFormat.Name(payload_format)} was asked for)."
        )
    file_format = exec_properties.get(
        standard_component_specs.OUTPUT_FILE_FORMAT_KEY, example_gen_pb2.FILE_FORMAT_UNSPECIFIED
    )
    write_split.to_file_format_str(file_format)  # Raises for anything but gzip.
    return payload_format, file_format


class Executor(csv_executor.Executor):
    """Stops the run with a `CsvFormatError` naming file, line and column; reads only data.

    Writes TFX's CsvExampleGen artifact (see the module docstring); Beam is not used,
    and the component's Beam arguments are ignored.
    """

    def Do(
        self,
        input_dict: Dict[str, List[Any]],
        output_dict: Dict[str, List[Any]],
        exec_properties: Dict[str, Any],
    ) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        required, numeric, label = columns_from_exec_properties(exec_properties)
        missing = missing_from_exec_properties(exec_properties)
        input_config = example_gen_pb2.Input()
        proto_utils.json_to_proto(
            exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config
        )
        output_config = example_gen_pb2.Output()
        proto_utils.json_to_proto(
            exec_properties[standard_component_specs.OUTPUT_CONFIG_KEY], output_config
        )
        payload_format, file_format = _formats(exec_properties)
        split_names, jobs = _split_jobs(input_config, output_config)
        examples = output_dict[standard_component_specs.EXAMPLES_KEY]
        artifact_utils.get_single_instance(
            examples
        ).split_names = artifact_utils.encode_split_names(split_names)
        input_base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
        for pattern, names, split_buckets in jobs:
            files = select_split_files(os.path.join(input_base, pattern))
            result = csv_to_examples.write_examples(
                files,
                required,
                numeric,
                [artifact_utils.get_split_uri(examples, name) for name in names],
                split_buckets,
                label=label,
                missing=missing,
            )
            logging.info("%s: %s", pattern, result)
        for artifact in examples:
            if payload_format:
                examples_utils.set_payload_format(artifact, payload_format)
            if file_format:
                examples_utils.set_file_format(
                    artifact, write_split.to_file_format_str(file_format)
                )
