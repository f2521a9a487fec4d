"""CsvExampleGen's executor, reading only the data files, each checked first.

TFX's CSV executor reads every file its split pattern matches, cannot read a `.csv.gz`
(it reads the header as plain text, and Beam's compressed file cannot be iterated by
line), and keeps a byte-order mark in the first column's name. This executor selects
the data files (`components.data_files`), checks them (`components.csv_check`), and
reads exactly those, gzip included, with TFX's own parsing and type inference.

The columns to check come as parameters: `custom_config(required, numeric, label)` is
the component's `custom_config`, which reaches the executor as JSON. A label rule
(`csv_check.LabelRule`) stops a run on a label the task cannot use, or, where the
family says so, leaves rows with an empty label out.
"""

import csv
import dataclasses
import os
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import apache_beam as beam
from absl import logging
from google.protobuf import any_pb2
from google.protobuf import json_format
from google.protobuf import struct_pb2
from tfx.components.example_gen.csv_example_gen import executor as csv_executor
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import standard_component_specs
from tfx.utils import proto_utils
from tfx_bsl.coders import csv_decoder

from components import csv_check
from components import data_files

REQUIRED_COLUMNS_KEY = "required_columns"
NUMERIC_COLUMNS_KEY = "numeric_columns"
LABEL_KEY = "label"


def custom_config(required_columns: Sequence[str], numeric_columns: Sequence[str],
                  label: Optional[csv_check.LabelRule] = None) -> example_gen_pb2.CustomConfig:
    """Returns the ExampleGen `custom_config` naming the columns the checks need.

    FileBasedExampleGen takes a `CustomConfig` proto (a `google.protobuf.Any`), not a
    dict: the columns travel as a packed `Struct`.
    """
    struct = struct_pb2.Struct()
    struct.update({REQUIRED_COLUMNS_KEY: list(required_columns),
                   NUMERIC_COLUMNS_KEY: list(numeric_columns)})
    if label is not None:
        struct.update({LABEL_KEY: {**dataclasses.asdict(label),
                                   "classes": list(label.classes)}})
    packed = any_pb2.Any()
    packed.Pack(struct)
    return example_gen_pb2.CustomConfig(custom_config=packed)


def columns_from_exec_properties(
        exec_properties: Dict[str, Any]
) -> Tuple[List[str], List[str], Optional[csv_check.LabelRule]]:
    """Returns (required, numeric columns, label rule) from the `custom_config` JSON.

    Raises:
      ValueError: the component was built without `custom_config(...)`.
    """
    text = exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY)
    config = example_gen_pb2.CustomConfig()
    struct = struct_pb2.Struct()
    if text:
        proto_utils.json_to_proto(text, config)
    if config.custom_config.Is(struct.DESCRIPTOR):
        config.custom_config.Unpack(struct)
    columns = json_format.MessageToDict(struct)
    if REQUIRED_COLUMNS_KEY not in columns:
        raise ValueError(
            "The checked CSV ExampleGen needs custom_config=checked_csv_example_gen."
            "custom_config(required_columns, numeric_columns).")
    label = columns.get(LABEL_KEY)
    if label is not None:
        label = csv_check.LabelRule(**{**label, "classes": tuple(label.get("classes", ()))})
    return (list(columns[REQUIRED_COLUMNS_KEY]), list(columns.get(NUMERIC_COLUMNS_KEY, [])),
            label)


class _ReadCheckedCsvRecords(beam.DoFn):
    """Reads a checked data file into CSV records (header left out), gzip included.

    With a label rule that drops rows, a record whose label cell is empty is left out.
    """

    def __init__(self, label: Optional[csv_check.LabelRule] = None):
        super().__init__()
        self._label = label if label is not None and label.drop_empty else None

    def process(self, path: str) -> Iterable[str]:
        records = csv_check.records(path)
        _, _, header_text = next(records)
        index = None
        if self._label is not None:
            index = next(csv.reader([header_text])).index(self._label.column)
        for _, _, text in records:
            if index is not None and self._label.is_dropped(next(csv.reader([text]), []),
                                                            index):
                continue
            yield text


class _DataFilesToExample(beam.PTransform):
    """TFX's CSV-to-tf.Example transform on a given list of checked files.

    The stages are those of TFX's `_CsvToExample`; only the file list, the header and
    the reading of each file differ.
    """

    def __init__(self, paths: Sequence[str], column_names: Sequence[str],
                 label: Optional[csv_check.LabelRule] = None):
        super().__init__()
        self._paths = list(paths)
        self._column_names = list(column_names)
        self._label = label

    def expand(self, pipeline: beam.Pipeline) -> beam.PCollection:
        parsed_csv_lines = (
            pipeline
            | "CreateFilenames" >> beam.Create(self._paths)
            | "ReadFromText" >> beam.ParDo(_ReadCheckedCsvRecords(self._label))
            | "ParseCSVLine" >> beam.ParDo(csv_decoder.ParseCSVLine(delimiter=","))
            | "ExtractParsedCSVLines" >> beam.Keys())
        column_infos = beam.pvalue.AsSingleton(
            parsed_csv_lines
            | "InferColumnTypes" >> beam.CombineGlobally(
                csv_decoder.ColumnTypeInferrer(self._column_names, skip_blank_lines=True)))
        return parsed_csv_lines | "ToTFExample" >> beam.ParDo(
            csv_executor._ParsedCsvToTfExample(), column_infos)  # pylint: disable=protected-access


def check_split(pattern: str, required_columns: Sequence[str],
                numeric_columns: Sequence[str],
                label: Optional[csv_check.LabelRule] = None) -> data_files.DataFiles:
    """Selects and checks the data files `pattern` matches; logs what it skipped.

    Raises:
      csv_check.CsvFormatError: no data file, or one that fails the checks.
    """
    selected = data_files.select(fileio.glob(pattern))
    if selected.skipped:
        logging.warning("%s: skipped %s", pattern, selected.skipped_text())
    if not selected.files:
        skipped = f"; skipped: {selected.skipped_text()}" if selected.skipped else ""
        raise csv_check.CsvFormatError(
            f"{pattern}: no data file (*.csv or *.csv.gz){skipped}.")
    rows = csv_check.check_files(selected.files, required_columns, numeric_columns, label)
    logging.info("%s: %d rows in %d files passed the CSV checks.",
                 pattern, rows, len(selected.files))
    return selected


class Executor(csv_executor.Executor):
    """Stops the run with a `CsvFormatError` naming file, line and column; reads only data."""

    def GenerateExamplesByBeam(self, pipeline, exec_properties):
        required, numeric, label = columns_from_exec_properties(exec_properties)
        input_config = example_gen_pb2.Input()
        proto_utils.json_to_proto(
            exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config
        )
        input_base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
        # Split pattern -> (the checked files, their header), for the transform below.
        self._checked = {}
        for split in input_config.splits:
            selected = check_split(os.path.join(input_base, split.pattern), required, numeric,
                                   label)
            self._checked[split.pattern] = (
                selected.files, csv_check.read_header(selected.files[0]), label)
        return super().GenerateExamplesByBeam(pipeline, exec_properties)

    def GetInputSourceToExamplePTransform(self):
        """Returns a factory of the read transform for the split pattern it is given."""
        checked = self._checked

        def data_files_to_example(exec_properties, split_pattern):
            del exec_properties  # The files were chosen and checked already.
            return _DataFilesToExample(*checked[split_pattern])

        return data_files_to_example
