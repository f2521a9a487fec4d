"""Reading ExampleValidator's anomalies and deciding which of them stop a run."""

import os
from typing import Dict, Iterable, List

from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx.dsl.io import fileio

# The file ExampleValidator writes in each split's folder.
ANOMALIES_FILE = "SchemaDiff.pb"


def load_anomalies(anomalies_uri: str) -> Dict[str, anomalies_pb2.Anomalies]:
    """Returns {split: Anomalies} of an ExampleValidator output folder (local or remote).

    Each split's findings are in `Split-<name>/SchemaDiff.pb`; {} when there are none.
    """
    result = {}
    for path in sorted(fileio.glob(os.path.join(anomalies_uri, "Split-*", ANOMALIES_FILE))):
        split = os.path.basename(os.path.dirname(path))[len("Split-") :]
        with fileio.open(path, "rb") as anomalies_file:
            result[split] = anomalies_pb2.Anomalies.FromString(anomalies_file.read())
    return result


# Anomaly kinds that stop a run by default: a missing or empty column, a wrong type,
# values far outside the schema's domain. Unseen categories (ENUM_TYPE_UNEXPECTED_
# STRING_VALUES) and extra columns (SCHEMA_NEW_COLUMN) are reported but do not stop
# it: the model has out-of-vocabulary buckets and ignores columns it does not read.
DEFAULT_BLOCKING_KINDS = (
    "SCHEMA_MISSING_COLUMN",
    "FEATURE_TYPE_NOT_PRESENT",
    "FEATURE_TYPE_LOW_FRACTION_PRESENT",
    "FEATURE_TYPE_LOW_NUMBER_PRESENT",
    "FEATURE_TYPE_NO_VALUES",
    "FEATURE_TYPE_LOW_NUMBER_VALUES",
    "FEATURE_TYPE_HIGH_NUMBER_VALUES",
    "UNEXPECTED_DATA_TYPE",
    "FLOAT_TYPE_STRING_NOT_FLOAT",
    "FLOAT_TYPE_NOT_FLOAT",
    "INT_TYPE_NOT_INT_STRING",
    "INT_TYPE_INT_EXPECTED",
    "STRING_TYPE_NOW_FLOAT",
    "STRING_TYPE_NOW_INT",
    "FLOAT_TYPE_BIG_FLOAT",
    "FLOAT_TYPE_SMALL_FLOAT",
    "FLOAT_TYPE_HAS_NAN",
    "FLOAT_TYPE_HAS_INF",
    "INT_TYPE_BIG_INT",
    "INT_TYPE_SMALL_INT",
    "DATASET_LOW_NUM_EXAMPLES",
)

# What to do about anomalies that stop a run: said by the gate and the run report.
WHAT_TO_DO = (
    "If the data is right and the schema is out of date, edit the model "
    "family's curated schema (data/<family>/schema.pbtxt; the next run reads "
    "it again); to let a kind of anomaly through, change "
    "PipelineConfig.blocking_anomalies."
)


def check_kinds(kinds: Iterable[str]) -> None:
    """Raises ValueError naming any kind that is not a TFDV anomaly type."""
    known = set(anomalies_pb2.AnomalyInfo.Type.keys())
    unknown = sorted(set(kinds) - known)
    if unknown:
        raise ValueError(
            f"Unknown anomaly kinds {unknown}; see tensorflow_metadata's "
            "anomalies.proto (AnomalyInfo.Type) for the names."
        )


def findings(
    anomalies_by_split: Dict[str, anomalies_pb2.Anomalies], blocking_kinds: Iterable[str]
) -> List[dict]:
    """Returns one finding per (split, column, kind), flagged blocking or not."""
    blocking = set(blocking_kinds)
    result = []
    for split, anomalies in sorted(anomalies_by_split.items()):
        for column, info in sorted(anomalies.anomaly_info.items()):
            for reason in info.reason:
                kind = anomalies_pb2.AnomalyInfo.Type.Name(reason.type)
                result.append(
                    {
                        "split": split,
                        "column": column,
                        "kind": kind,
                        "description": reason.description or reason.short_description,
                        "blocking": kind in blocking,
                    }
                )
        if anomalies.HasField("dataset_anomaly_info"):
            for reason in anomalies.dataset_anomaly_info.reason:
                kind = anomalies_pb2.AnomalyInfo.Type.Name(reason.type)
                result.append(
                    {
                        "split": split,
                        "column": "(whole data set)",
                        "kind": kind,
                        "description": reason.description,
                        "blocking": kind in blocking,
                    }
                )
    return result


def format_report(data_root: str, found: List[dict]) -> str:
    """Returns the findings as readable lines, blocking ones first."""
    if not found:
        return f"Data validation of {data_root}: no anomalies."
    stops = [f for f in found if f["blocking"]]
    verdict = "the run stops" if stops else "the run goes on"
    lines = [
        f"Data validation of {data_root}: {len(found)} anomalies, "
        f"{len(stops)} of kinds that stop a run; {verdict}."
    ]
    for finding in sorted(found, key=lambda f: not f["blocking"]):
        mark = "STOP" if finding["blocking"] else "note"
        lines.append(
            f"  [{mark}] column {finding['column']!r} ({finding['split']} split): "
            f"{finding['kind']}: {finding['description']}"
        )
    return "\n".join(lines)
