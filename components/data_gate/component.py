"""DataGate's spec and component: anomalies in, a validation report out."""

import json
from typing import Iterable

from tfx.dsl.components.base import base_component
from tfx.dsl.components.base import executor_spec
from tfx.types import artifact
from tfx.types import channel
from tfx.types import component_spec
from tfx.types import standard_artifacts

from components.data_gate import executor
from components.data_gate import report


class DataValidationReport(artifact.Artifact):
    """The gate's verdict: `report.txt` and `report.json` in the artifact's folder."""

    # KFP v2 takes a custom artifact type only as `<module>.<Class>`, and its steps
    # import the class back by that name (see `components/__init__.py`).
    TYPE_NAME = "components.DataValidationReport"


class DataGateSpec(component_spec.ComponentSpec):
    """Takes ExampleValidator's anomalies; which kinds stop a run is a parameter."""

    PARAMETERS = {
        "blocking_kinds": component_spec.ExecutionParameter(type=str),
        "data_root": component_spec.ExecutionParameter(type=str),
    }
    INPUTS = {
        "anomalies": component_spec.ChannelParameter(type=standard_artifacts.ExampleAnomalies),
    }
    OUTPUTS = {
        "report": component_spec.ChannelParameter(type=DataValidationReport),
    }


class DataGate(base_component.BaseComponent):
    """Fails the run, with a report naming each column, on anomalies that matter."""

    SPEC_CLASS = DataGateSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self, anomalies: channel.BaseChannel, blocking_kinds: Iterable[str], data_root: str
    ):
        """Builds the gate.

        Args:
          anomalies: ExampleValidator's `anomalies` output.
          blocking_kinds: names of TFDV anomaly types (AnomalyInfo.Type) that stop a
            run; others are reported only.
          data_root: the data folder the anomalies are about, named in the report.
        """
        kinds = sorted(blocking_kinds)
        report.check_kinds(kinds)
        super().__init__(
            spec=DataGateSpec(
                anomalies=anomalies,
                blocking_kinds=json.dumps(kinds),
                data_root=data_root,
                report=channel.Channel(type=DataValidationReport),
            )
        )
