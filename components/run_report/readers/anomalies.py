"""ExampleValidator's anomalies: each finding, whether it stops a run, what to do."""

from typing import Dict, Iterable

from tensorflow_metadata.proto.v0 import anomalies_pb2

from components.data_gate import report as gate_report
from components.run_report.readers import ReportInputError


def load_anomalies(anomalies_uri: str) -> Dict[str, anomalies_pb2.Anomalies]:
    """Returns {split: Anomalies} from an ExampleValidator output folder (the gate's reading).

    Raises:
      ReportInputError: the folder holds no split's anomalies.
    """
    found = gate_report.load_anomalies(anomalies_uri)
    if not found:
        raise ReportInputError(
            f"{anomalies_uri}: no Split-*/{gate_report.ANOMALIES_FILE} in this folder."
        )
    return found


def anomalies_section(
    anomalies_uri: str, blocking_kinds: Iterable[str], stopped: bool = False
) -> dict:
    """The validator's findings, each marked blocking or not, and what to do.

    Args:
      anomalies_uri: ExampleValidator's output folder.
      blocking_kinds: the TFDV anomaly kinds that stop a run (the gate's parameter).
      stopped: whether the run stopped at the gate.
    """
    findings = gate_report.findings(load_anomalies(anomalies_uri), blocking_kinds)
    findings.sort(key=lambda f: (not f["blocking"], f["column"], f["split"]))
    blocking = [f for f in findings if f["blocking"]]
    return {
        "findings": findings,
        "blocking": len(blocking),
        "stopped": stopped,
        "advice": gate_report.WHAT_TO_DO if blocking else "",
        "blocking_kinds": sorted(blocking_kinds),
    }
