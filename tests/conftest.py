"""Shared fixtures: the committed samples, the curated schemas, real Transform runs,
and the pipeline image."""

import dataclasses
import importlib
import json
import os
import re
import shutil
import subprocess
import types

import apache_beam as beam
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tfx_bsl.public import tfxio

from pipeline.definition import config as config_lib
from pipeline.definition import families
from pipeline.image import build as image_build
from pipeline.image import engine as image_engine
from pipeline.serving import client as serving

PROJECT_ROOT = config_lib.PROJECT_ROOT
TAXI = families.load("taxi")
SAMPLE_CSV = os.path.join(TAXI.sample_dir, "data.csv")

# The image the `image` tests build from the checkout, or reuse when up to date.
TEST_IMAGE = "localhost/keras-estimator-pipeline:test"


@pytest.fixture(scope="session")
def sample_dir():
    """The folder of the small committed CSV sample (2,000 taxi rows)."""
    return os.path.dirname(SAMPLE_CSV)


@pytest.fixture(scope="session")
def sample_csv():
    """The small committed CSV sample file."""
    return SAMPLE_CSV


@pytest.fixture(scope="session")
def schema():
    """The taxi family's curated raw-data schema, data/taxi/schema.pbtxt."""
    return serving.load_schema(TAXI.schema_file)


def transform_sample(root, family: families.Family):
    """Runs the family's `preprocessing_fn` through tf.Transform on its sample.

    Returns a namespace with `transform_output` (the TransformFn folder) and
    `train_files` / `eval_files` (gzipped TFRecords of transformed examples; the
    first two thirds of the rows train, the rest evaluate).
    """
    schema = serving.load_schema(family.schema_file)
    preprocessing_fn = importlib.import_module(
        f"modules.{family.name}.preprocessing"
    ).preprocessing_fn
    raw_examples = serving.examples_from_csv(
        os.path.join(family.sample_dir, "data.csv"), schema, serving=False
    )
    split = len(raw_examples) * 2 // 3
    source = tfxio.TFExampleBeamRecord(physical_format="inmem", schema=schema)
    with tft_beam.Context(temp_dir=str(root / "tmp"), force_tf_compat_v1=True):
        with beam.Pipeline() as pipeline:

            def raw(name, records):
                return (
                    pipeline
                    | f"Create{name}" >> beam.Create(records)
                    | f"Decode{name}" >> source.BeamSource()
                )

            adapter = source.TensorAdapterConfig()
            transform_fn = (raw("Train", raw_examples[:split]), adapter) | (
                tft_beam.AnalyzeDataset(preprocessing_fn)
            )
            _ = transform_fn | tft_beam.WriteTransformFn(str(root / "transform_fn"))
            for name, records in (("train", raw_examples[:split]), ("eval", raw_examples[split:])):
                data, metadata = ((raw(name, records), adapter), transform_fn) | (
                    f"Transform{name}" >> tft_beam.TransformDataset()
                )
                coder = tft.coders.ExampleProtoCoder(metadata.schema)
                _ = (
                    data
                    | f"Encode{name}" >> beam.Map(coder.encode)
                    | f"Write{name}"
                    >> beam.io.WriteToTFRecord(
                        str(root / name / "data"),
                        file_name_suffix=".gz",
                        compression_type=beam.io.filesystem.CompressionTypes.GZIP,
                    )
                )
    return types.SimpleNamespace(
        transform_output=str(root / "transform_fn"),
        train_files=tf.io.gfile.glob(str(root / "train" / "*")),
        eval_files=tf.io.gfile.glob(str(root / "eval" / "*")),
        raw_eval_rows=split,
    )


@pytest.fixture(scope="session")
def transformed_sample(tmp_path_factory):
    """The taxi sample through tf.Transform (see `transform_sample`)."""
    return transform_sample(tmp_path_factory.mktemp("transform"), TAXI)


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory, sample_dir):
    """The real pipeline run on the sample into a fresh build folder, twice.

    `first` is the summary of a run from nothing, `second` of the same run again.
    Nothing may run in this folder afterwards: a test module that runs the pipeline
    again takes a `copy_of_run` of it, so every module sees the same state whatever
    ran before it.
    """
    from pipeline.local import runner as local_runner

    build_dir = str(tmp_path_factory.mktemp("build"))
    config = config_lib.local_config(build_dir, sample_dir, train_steps=200, blessing_bound=0.8)
    metadata = config_lib.metadata_path(build_dir)
    summary_path = os.path.join(build_dir, "run_summary.json")
    first = local_runner.run(config, metadata, summary_path)
    serving_after_first = sorted(os.listdir(config.serving_model_dir))
    second = local_runner.run(config, metadata, summary_path)
    with open(summary_path) as summary_file:
        second_summary_file = summary_file.read()
    return types.SimpleNamespace(
        build_dir=build_dir,
        config=config,
        metadata=metadata,
        summary_path=summary_path,
        first=first,
        second=second,
        serving_after_first=serving_after_first,
        serving_after_second=sorted(os.listdir(config.serving_model_dir)),
        second_summary_file=second_summary_file,
    )


@pytest.fixture(scope="session")
def transformed_reviews(tmp_path_factory):
    """The reviews sample through tf.Transform (see `transform_sample`)."""
    return transform_sample(tmp_path_factory.mktemp("transform_reviews"), families.load("reviews"))


def copy_of_run(pipeline_run, build_dir):
    """Returns `pipeline_run` copied into `build_dir`: metadata, artifacts, served models.

    The copy's config points at the copy, so new executions and pushes land there;
    ML Metadata still names the original's artifacts, which nothing changes.
    """
    shutil.copytree(pipeline_run.build_dir, build_dir, dirs_exist_ok=True)
    config = dataclasses.replace(
        pipeline_run.config,
        pipeline_root=pipeline_run.config.pipeline_root.replace(
            pipeline_run.build_dir, str(build_dir), 1
        ),
        serving_model_dir=pipeline_run.config.serving_model_dir.replace(
            pipeline_run.build_dir, str(build_dir), 1
        ),
    )
    return types.SimpleNamespace(
        build_dir=str(build_dir),
        config=config,
        metadata=config_lib.metadata_path(str(build_dir)),
        summary_path=os.path.join(str(build_dir), "run_summary.json"),
    )


SAVED_MODEL_CLI = os.path.join(PROJECT_ROOT, ".venv", "bin", "saved_model_cli")


def saved_model_cli_run(model_dir, examples):
    """Runs TensorFlow's `saved_model_cli run --input_examples` on a model's serving signature.

    `examples` is a list of {raw column: [values]}, as the tool's `examples=[...]`
    argument takes them. Returns {output key: its printed value, as text}.
    """
    argument = "examples=" + json.dumps(examples)
    done = subprocess.run(
        [
            SAVED_MODEL_CLI,
            "run",
            "--dir",
            str(model_dir),
            "--tag_set",
            "serve",
            "--signature_def",
            "serving_default",
            "--input_examples",
            argument,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    printed = re.findall(
        r"Result for output key (\S+):\n(.*?)(?=\nResult for output key|\Z)",
        done.stdout,
        flags=re.DOTALL,
    )
    assert printed, f"saved_model_cli printed no result: {done.stdout[-2000:]}"
    return {key: value.strip() for key, value in printed}


def printed_numbers(text):
    """The numbers of a printed NumPy array, in order."""
    return [
        float(number) for number in re.findall(r"[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?", text)
    ]


def report_line(config, line):
    """Writes a line to the terminal whatever pytest captures (figures, not checks)."""
    plugins = config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"[image] {line}")


@pytest.fixture(scope="session")
def pipeline_image(tmp_path_factory, request):
    """(engine, image reference): TEST_IMAGE built or found up to date; skips without an engine."""
    if image_engine.find_engine() is None:
        pytest.skip(image_engine.why_no_engine())
    log = tmp_path_factory.mktemp("image-build") / "build.log"
    engine = image_build.ensure_image(
        TEST_IMAGE, log_path=str(log), say=lambda line: report_line(request.config, line)
    )
    return engine, TEST_IMAGE
