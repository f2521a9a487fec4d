"""DataGate's executor: writes the validation report, then stops the run if it must."""

import json
import os

from absl import logging
from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from components.data_gate import report

# Beside the gate's outputs, the folder of reports that stopped a run.
REJECTED_DIR = "rejected"


class DataValidationError(RuntimeError):
    """New data has anomalies of a kind that stops a run; the message is the report."""


def write_report(folder: str, text: str, found: list) -> None:
    """Writes the report as `report.txt` (readable) and `report.json` (findings)."""
    fileio.makedirs(folder)
    with fileio.open(os.path.join(folder, "report.txt"), "w") as report_file:
        report_file.write(text + "\n")
    with fileio.open(os.path.join(folder, "report.json"), "w") as report_file:
        json.dump(found, report_file, indent=2)


class Executor(base_executor.BaseExecutor):
    """Writes `report.txt` and `report.json`; raises DataValidationError on a block."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        anomalies = report.load_anomalies(artifact_utils.get_single_uri(input_dict["anomalies"]))
        found = report.findings(anomalies, json.loads(exec_properties["blocking_kinds"]))
        text = report.format_report(exec_properties["data_root"], found)
        output = artifact_utils.get_single_instance(output_dict["report"])
        write_report(output.uri, text, found)
        blocking = [f for f in found if f["blocking"]]
        output.set_int_custom_property("anomalies", len(found))
        output.set_int_custom_property("blocking_anomalies", len(blocking))
        logging.info("%s", text)
        if blocking:
            # TFX removes a failed execution's outputs, so a stopping report is kept
            # beside them: <pipeline root>/DataGate/rejected/<execution>/report.txt.
            kept = os.path.join(
                os.path.dirname(os.path.dirname(output.uri)),
                REJECTED_DIR,
                os.path.basename(output.uri),
            )
            write_report(kept, text, found)
            raise DataValidationError(f"{text}\nThe report is in {kept}. {report.WHAT_TO_DO}")
