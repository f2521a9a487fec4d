"""The curated schema of a new family: inferred by TFDV from the data, then curated.

The data's statistics are computed in memory from the cells as TFX's CSV reading
makes them (an empty cell is an empty list) and the schema is inferred with
`infer_feature_shape=False`, as TFX's SchemaGen does. Curated so that the project's
own data gate passes on the same data: every column holds at most one value, and none
where it has empty cells (`value_count.min: 0`); the label is not in the `SERVING`
environment. `gate_anomalies` validates the data against it as ExampleValidator does.
"""

from typing import List

import pyarrow as pa
import tensorflow_data_validation as tfdv
from tensorflow_data_validation.statistics import stats_impl
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tensorflow_metadata.proto.v0 import schema_pb2
from tensorflow_metadata.proto.v0 import statistics_pb2

from components.data_gate.report import DEFAULT_BLOCKING_KINDS
from modules.common.schema import SERVING_ENVIRONMENT
from pipeline.scaffold.table import FLOAT
from pipeline.scaffold.table import INT
from pipeline.scaffold.table import Column
from pipeline.scaffold.table import Table

TRAINING_ENVIRONMENT = "TRAINING"


def _values(column: Column) -> pa.Array:
    """The column as TFX's CSV reading makes it: a list per row, empty where the cell is."""
    kind = column.kind
    if kind == INT:
        rows, value_type = [[int(c)] if c else [] for c in column.cells], pa.int64()
    elif kind == FLOAT:
        rows, value_type = [[float(c)] if c else [] for c in column.cells], pa.float32()
    else:
        rows, value_type = [[c.encode()] if c else [] for c in column.cells], pa.binary()
    return pa.array(rows, type=pa.list_(value_type))


def statistics(table: Table) -> statistics_pb2.DatasetFeatureStatisticsList:
    """TFDV's statistics of the table's cells."""
    batch = pa.RecordBatch.from_arrays(
        [_values(c) for c in table.columns.values()], list(table.columns)
    )
    return stats_impl.generate_statistics_in_memory(batch)


def infer(table: Table, label: str, stats=None) -> schema_pb2.Schema:
    """Returns the curated schema of `table`, whose column `label` is the label."""
    stats = stats if stats is not None else statistics(table)
    schema = tfdv.infer_schema(stats, infer_feature_shape=False)
    for feature in schema.feature:
        column = table.columns[feature.name]
        feature.value_count.min = 0 if column.empty_cells else 1
        feature.value_count.max = 1
        feature.presence.min_fraction = 1.0
        feature.presence.min_count = 1
        if feature.name == label:
            feature.not_in_environment.append(SERVING_ENVIRONMENT)
    schema.default_environment.extend([TRAINING_ENVIRONMENT, SERVING_ENVIRONMENT])
    return schema


def gate_anomalies(schema: schema_pb2.Schema, stats) -> List[str]:
    """The anomalies of `stats` against `schema` that stop a run at the data gate,
    as `column: kind` (empty: the gate passes)."""
    anomalies = tfdv.validate_statistics(stats, schema, environment=TRAINING_ENVIRONMENT)
    found = []
    for name, info in anomalies.anomaly_info.items():
        for reason in info.reason:
            kind = anomalies_pb2.AnomalyInfo.Type.Name(reason.type)
            if kind in DEFAULT_BLOCKING_KINDS:
                found.append(f"{name}: {kind} ({reason.description})")
    return found


def header_comment(source: str) -> str:
    """The comment at the top of the written schema."""
    return (
        f"# The curated schema of the raw columns, inferred by TFDV from {source} by "
        "`make family`\n# (infer_feature_shape=False; value_count.min 0 where cells "
        "are empty; the label\n# not in SERVING). Edit it as the data's contract: "
        "the data gate checks every run against it.\n"
    )
