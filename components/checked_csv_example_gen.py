"""CsvExampleGen's executor, with the CSV files checked before they are read."""

import os

from absl import logging
from tfx.components.example_gen.csv_example_gen import executor as csv_executor
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import standard_component_specs
from tfx.utils import proto_utils

from components import csv_check
from modules import features


class Executor(csv_executor.Executor):
    """Stops the run with a `CsvFormatError` naming file, line and column."""

    def GenerateExamplesByBeam(self, pipeline, exec_properties):
        input_config = example_gen_pb2.Input()
        proto_utils.json_to_proto(
            exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config
        )
        input_base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
        for split in input_config.splits:
            pattern = os.path.join(input_base, split.pattern)
            rows = csv_check.check_files(
                fileio.glob(pattern), features.REQUIRED_COLUMNS, features.NUMERIC_COLUMNS
            )
            logging.info("%s: %d rows passed the CSV checks.", pattern, rows)
        return super().GenerateExamplesByBeam(pipeline, exec_properties)
