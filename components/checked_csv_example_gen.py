"""CsvExampleGen's executor, with the CSV files checked before they are read."""

import json
import os
from typing import Sequence

from absl import logging
from tfx.components.example_gen.csv_example_gen import executor as csv_executor
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

from components import csv_check

# Keys of ExampleGen's `custom_config` that carry a family's columns to the checks.
REQUIRED_COLUMNS = "required_columns"
NUMERIC_COLUMNS = "numeric_columns"


def columns_config(required_columns: Sequence[str], numeric_columns: Sequence[str]) -> dict:
    """Returns ExampleGen's `custom_config`: the columns the CSV checks hold files to."""
    return {REQUIRED_COLUMNS: list(required_columns), NUMERIC_COLUMNS: list(numeric_columns)}


class Executor(csv_executor.Executor):
    """Stops the run with a `CsvFormatError` naming file, line and column."""

    def GenerateExamplesByBeam(self, pipeline, exec_properties):
        input_config = example_gen_pb2.Input()
        proto_utils.json_to_proto(
            exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config
        )
        columns = json.loads(exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY)
                             or "{}")
        input_base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
        for split in input_config.splits:
            pattern = os.path.join(input_base, split.pattern)
            rows = csv_check.check_files(
                fileio.glob(pattern), columns.get(REQUIRED_COLUMNS, ()),
                columns.get(NUMERIC_COLUMNS, ()),
            )
            logging.info("%s: %d rows passed the CSV checks.", pattern, rows)
        return super().GenerateExamplesByBeam(pipeline, exec_properties)
