"""A family's code run on a few rows of its sample, for the tests `make family` writes.

`transform_and_predict` analyzes the rows with the family's `preprocessing_fn`
through tf.Transform, transforms them with the result, and scores them with the
family's model built from that Transform output; `gate_anomalies` checks the sample's
statistics against the curated schema as the data gate does.
"""

import dataclasses
import os
from typing import Dict, List

import numpy as np

from components import data_files
from components.missing_values import MissingValues
from modules.common import schema as schema_lib
from pipeline.definition import families
from pipeline.scaffold import schema_inference
from pipeline.scaffold import table as table_lib


@dataclasses.dataclass(frozen=True)
class Trial:
    """What Transform and the model made of a few rows."""

    rows: int
    features: Dict[str, np.ndarray]
    predictions: np.ndarray


def _sample_file(family: families.Family) -> str:
    return data_files.in_folder(family.sample_dir).files[0]


def gate_anomalies(name: str) -> List[str]:
    """The anomalies of the family's sample that stop a run (empty: the gate passes)."""
    family = families.load(name)
    stats = schema_inference.statistics(table_lib.read(family.sample_dir))
    return schema_inference.gate_anomalies(schema_lib.load_schema(family.schema_file), stats)


def _analyze(preprocessing_fn, examples: List[bytes], schema, work_dir: str) -> str:
    """Runs tf.Transform's analysis of `examples`; returns the TransformFn folder."""
    import apache_beam as beam
    import tensorflow_transform.beam as tft_beam
    from tfx_bsl.public import tfxio

    output = os.path.join(work_dir, "transform_fn")
    source = tfxio.TFExampleBeamRecord(physical_format="inmem", schema=schema)
    with tft_beam.Context(temp_dir=os.path.join(work_dir, "tmp"), force_tf_compat_v1=True):
        with beam.Pipeline() as pipeline:
            raw = pipeline | beam.Create(examples) | source.BeamSource()
            transform_fn = (raw, source.TensorAdapterConfig()) | tft_beam.AnalyzeDataset(
                preprocessing_fn
            )
            _ = transform_fn | tft_beam.WriteTransformFn(output)
    return output


def transform_and_predict(name: str, work_dir: str, rows: int = 64) -> Trial:
    """Transforms the first `rows` rows of the family's sample and scores them."""
    import tensorflow as tf
    import tensorflow_transform as tft

    from pipeline.serving import client as serving

    family = families.load(name)
    schema = schema_lib.load_schema(family.schema_file)
    examples = serving.examples_from_csv(
        _sample_file(family),
        schema,
        serving=False,
        missing=MissingValues.of_contract(family.contract),
    )[:rows]
    module = families.module_of(family, "preprocessing")
    output = tft.TFTransformOutput(_analyze(module.preprocessing_fn, examples, schema, work_dir))
    raw = tf.io.parse_example(tf.constant(examples), schema_lib.raw_feature_spec(schema))
    features = output.transform_features_layer()(raw)
    model = families.model_builder(family)(output, family.contract.hparam_defaults)
    inputs = {key: features[key] for key in model.input_names}
    return Trial(
        rows=len(examples),
        features={key: value.numpy() for key, value in features.items()},
        predictions=np.asarray(model(inputs)),
    )
