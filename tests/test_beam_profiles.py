"""Beam profiles: the arguments each produces, its errors, and the local ones run for real."""

import logging
import os

import pytest
import tensorflow as tf
from apache_beam.options import pipeline_options
from tfx.components.example_gen.csv_example_gen import executor as csv_executor
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts
from tfx.types import standard_component_specs
from tfx.utils import dependency_utils
from tfx.utils import proto_utils

from components import example_gen
from pipeline.local import beam_profiles

LOCK = beam_profiles.REQUIREMENTS_FILE
DATAFLOW = dict(project="my-project", region="europe-west4", temp_location="gs://bucket/tmp")


@pytest.mark.parametrize(
    "profile, values, expected",
    [
        ("local", {}, []),
        (
            "local-multiprocess",
            {"num_workers": 3},
            [
                "--runner=DirectRunner",
                "--direct_running_mode=multi_processing",
                "--direct_num_workers=3",
                f"--requirements_file={LOCK}",
            ],
        ),
        (
            "dataflow",
            DATAFLOW,
            [
                "--runner=DataflowRunner",
                "--project=my-project",
                "--region=europe-west4",
                "--temp_location=gs://bucket/tmp",
            ],
        ),
        (
            "dataflow",
            {**DATAFLOW, "sdk_container_image": "eu.gcr.io/p/taxi:1", "max_num_workers": 8},
            [
                "--runner=DataflowRunner",
                "--project=my-project",
                "--region=europe-west4",
                "--temp_location=gs://bucket/tmp",
                "--sdk_container_image=eu.gcr.io/p/taxi:1",
                "--max_num_workers=8",
            ],
        ),
        (
            "flink",
            {"environment_config": "eu.gcr.io/p/taxi:1", "parallelism": 4},
            [
                "--runner=PortableRunner",
                "--job_endpoint=localhost:8099",
                "--environment_type=DOCKER",
                "--environment_config=eu.gcr.io/p/taxi:1",
                "--sdk_container_image=eu.gcr.io/p/taxi:1",
                "--parallelism=4",
            ],
        ),
        (
            "flink",
            {
                "job_endpoint": "flink-jobserver:8099",
                "environment_type": "external",
                "environment_config": "localhost:50000",
            },
            [
                "--runner=PortableRunner",
                "--job_endpoint=flink-jobserver:8099",
                "--environment_type=EXTERNAL",
                "--environment_config=localhost:50000",
            ],
        ),
        (
            "spark",
            {"environment_type": "LOOPBACK"},
            [
                "--runner=PortableRunner",
                "--job_endpoint=localhost:8099",
                "--environment_type=LOOPBACK",
            ],
        ),
        (
            "spark",
            {"sdk_container_image": "eu.gcr.io/p/taxi:1"},
            [
                "--runner=PortableRunner",
                "--job_endpoint=localhost:8099",
                "--environment_type=DOCKER",
                "--environment_config=eu.gcr.io/p/taxi:1",
                "--sdk_container_image=eu.gcr.io/p/taxi:1",
            ],
        ),
    ],
)
def test_profile_arguments(profile, values, expected):
    assert beam_profiles.beam_pipeline_args(profile, **values) == expected


def test_local_multiprocess_defaults_to_the_machines_cores():
    args = beam_profiles.beam_pipeline_args("local-multiprocess")
    options = pipeline_options.PipelineOptions(args).view_as(pipeline_options.DirectOptions)
    assert options.direct_running_mode == "multi_processing"
    assert options.direct_num_workers == os.cpu_count()


def test_beam_reads_the_arguments_as_intended():
    options = pipeline_options.PipelineOptions(
        beam_profiles.beam_pipeline_args("dataflow", **DATAFLOW)
    )
    cloud = options.view_as(pipeline_options.GoogleCloudOptions)
    assert options.view_as(pipeline_options.StandardOptions).runner == "DataflowRunner"
    assert (cloud.project, cloud.region, cloud.temp_location) == (
        "my-project",
        "europe-west4",
        "gs://bucket/tmp",
    )
    portable = pipeline_options.PipelineOptions(
        beam_profiles.beam_pipeline_args("flink", environment_config="img")
    ).view_as(pipeline_options.PortableOptions)
    assert (portable.job_endpoint, portable.environment_type, portable.environment_config) == (
        "localhost:8099",
        "DOCKER",
        "img",
    )


@pytest.mark.parametrize(
    "profile, values, message",
    [
        ("dataflow", {}, "needs project, region, temp_location"),
        ("dataflow", {"project": "p", "region": "r"}, "needs temp_location"),
        ("dataflow", {**DATAFLOW, "temp_location": "/tmp/x"}, "gs:// temp_location"),
        ("flink", {}, "'flink' needs environment_config"),
        ("spark", {"job_endpoint": None, "environment_type": "LOOPBACK"}, "needs job_endpoint"),
        (
            "spark",
            {"environment_type": "kubernetes", "environment_config": "x"},
            "environment_type must be one of DOCKER, PROCESS, EXTERNAL, LOOPBACK",
        ),
        ("local-multiprocess", {"num_workers": 0}, "num_workers >= 1"),
        ("cloud", {}, "Unknown Beam profile 'cloud'; choose one of local, local-multiprocess"),
    ],
)
def test_missing_or_invalid_values_raise_clear_errors(profile, values, message):
    with pytest.raises(ValueError, match=message):
        beam_profiles.beam_pipeline_args(profile, **values)


def test_a_missing_values_error_names_them_all_for_a_command_line_to_translate():
    with pytest.raises(beam_profiles.MissingValues) as missing:
        beam_profiles.beam_pipeline_args("flink", job_endpoint=None)
    assert (missing.value.profile, missing.value.names) == (
        "flink",
        ["job_endpoint", "environment_config"],
    )
    with pytest.raises(beam_profiles.MissingValues) as missing:
        beam_profiles.beam_pipeline_args("dataflow", region="r")
    assert missing.value.names == ["project", "temp_location"]


@pytest.mark.parametrize(
    "profile, values",
    [
        ("local-multiprocess", {}),
        ("dataflow", {**DATAFLOW, "sdk_container_image": "img"}),
        ("flink", {"environment_config": "img"}),
    ],
)
def test_tfx_builds_no_sdist_of_itself_for_these_profiles(profile, values):
    # TFX's own check: arguments come back unchanged, without an --extra_package.
    args = beam_profiles.beam_pipeline_args(profile, **values)
    assert dependency_utils.make_beam_dependency_flags(list(args)) == args


def _run_csv_example_gen(beam_pipeline_args, sample_dir, output_dir):
    """Runs TFX's CsvExampleGen executor on the sample; returns split -> sorted records."""
    examples = standard_artifacts.Examples()
    examples.uri = str(output_dir)
    context = base_beam_executor.BaseBeamExecutor.Context(
        beam_pipeline_args=list(beam_pipeline_args), tmp_dir=str(output_dir / "tmp")
    )
    csv_executor.Executor(context).Do(
        {},
        {standard_component_specs.EXAMPLES_KEY: [examples]},
        {
            standard_component_specs.INPUT_BASE_KEY: sample_dir,
            standard_component_specs.INPUT_CONFIG_KEY: proto_utils.proto_to_json(
                example_gen_pb2.Input(
                    splits=[example_gen_pb2.Input.Split(name="single_split", pattern="*.csv")]
                )
            ),
            standard_component_specs.OUTPUT_CONFIG_KEY: proto_utils.proto_to_json(
                example_gen.split_config()
            ),
        },
    )
    records, file_counts = {}, {}
    for split in example_gen.SPLIT_NAMES:
        files = tf.io.gfile.glob(str(output_dir / f"Split-{split}" / "*"))
        file_counts[split] = len(files)
        records[split] = sorted(
            record.numpy() for record in tf.data.TFRecordDataset(files, compression_type="GZIP")
        )
    return records, file_counts


@pytest.mark.slow
def test_multiprocess_profile_gives_the_in_process_examples(sample_dir, tmp_path, caplog):
    in_process, in_process_files = _run_csv_example_gen(
        beam_profiles.beam_pipeline_args("local"), sample_dir, tmp_path / "local"
    )
    # The worker processes' logs reach this process through Beam's local job service.
    caplog.set_level(logging.INFO, logger="apache_beam.runners.portability.local_job_service")
    multi, multi_files = _run_csv_example_gen(
        beam_profiles.beam_pipeline_args("local-multiprocess", num_workers=2),
        sample_dir,
        tmp_path / "multi",
    )
    harness_starts = [r for r in caplog.records if "sdk harness starting" in r.getMessage()]
    assert len(harness_starts) >= 2, "two SDK worker processes should have run"
    assert sum(len(rows) for rows in in_process.values()) == 2000
    assert min(len(rows) for rows in in_process.values()) > 0
    assert multi == in_process
    # One file per split in process, one per worker otherwise: what lets a later
    # component read a split in parallel (a gzipped file cannot be split).
    assert set(in_process_files.values()) == {1}
    assert set(multi_files.values()) == {2}


def test_local_runner_offers_the_local_profiles(capsys):
    from pipeline.local import runner as local_runner

    with pytest.raises(SystemExit) as exit_info:
        local_runner.main(["--beam-profile", "dataflow"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "invalid choice: 'dataflow'" in error
    assert "'local', 'local-multiprocess'" in error
