"""The Kubeflow targets compiled from the one `create_pipeline`, checked as data, and the
compiled v2 spec run task by task on this machine from its own command lines."""

import json
import os
import posixpath
import re
import subprocess

import numpy as np
import pytest
import yaml
from apache_beam.options import pipeline_options
from apache_beam.transforms import environments
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2
from tfx import v1 as tfx
from tfx.dsl.components.base import base_beam_component
from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner
from tfx.types import artifact

import v2_spec_launcher
from components import checked_csv_example_gen
from modules.taxi import contract as features
from pipeline.definition import config as config_lib
from pipeline.definition import pipeline as pipeline_lib
from pipeline.kubeflow import runner as kubeflow_runner
from pipeline.kubeflow import settings as kubeflow_settings
from pipeline.serving import client as serving

PROJECT_ROOT = config_lib.PROJECT_ROOT
V1_COMMAND = ["python", "-m", "tfx.orchestration.kubeflow.container_entrypoint"]
Resources = kubeflow_settings.Resources

SETTINGS = kubeflow_settings.KubeflowSettings(
    image="registry.example.com/ml/keras-estimator-pipeline",
    image_tag="1.4.2",
    pipeline_root="gs://ml-artifacts/tfx/chicago-taxi",
    data_root="gs://ml-data/taxi",
    serving_model_dir="gs://ml-models/chicago-taxi",
    resources={
        pipeline_lib.TRANSFORM: Resources(cpu=2, memory_gb=6),
        pipeline_lib.TRAINER: Resources(
            cpu=8, memory_gb=30, accelerator_type="NVIDIA_TESLA_T4", accelerator_count=1
        ),
    },
)


def _compile(tmp_path_factory, compile_fn, parse):
    out_dir = tmp_path_factory.mktemp("kfp")
    config = kubeflow_settings.pipeline_config(SETTINGS)
    with open(compile_fn(config, SETTINGS, str(out_dir))) as compiled_file:
        text = compiled_file.read()
    graph = {
        component.id: {upstream.id for upstream in component.upstream_nodes}
        for component in kubeflow_runner.build_pipeline(config, SETTINGS).components
    }
    return {"dir": str(out_dir), "text": text, "spec": parse(text), "graph": graph}


@pytest.fixture(scope="module")
def v1(tmp_path_factory):
    """The KFP v1 workflow compiled with SETTINGS, its text, and the pipeline's graph."""
    return _compile(tmp_path_factory, kubeflow_runner.compile_v1, yaml.safe_load)


@pytest.fixture(scope="module")
def v2(tmp_path_factory):
    """The KFP v2 PipelineJob compiled with SETTINGS, its text, and the pipeline's graph."""
    return _compile(tmp_path_factory, kubeflow_runner.compile_v2, json.loads)


def _v2_node_id(task_name, node_ids):
    """The component a v2 task comes from (a Resolver compiles to several tasks)."""
    if task_name in node_ids:
        return task_name
    owners = [n for n in node_ids if task_name.startswith(n + "-")]
    assert len(owners) == 1, f"v2 task {task_name} matches components {owners}"
    return owners[0]


def _v2_executors(job):
    spec = job["pipelineSpec"]
    return {
        name: spec["deploymentSpec"]["executors"][
            spec["components"][task["componentRef"]["name"]]["executorLabel"]
        ]
        for name, task in spec["root"]["dag"]["tasks"].items()
    }


def _v1_steps(workflow):
    """Container templates by the TFX node id they run."""
    steps = {}
    for template in workflow["spec"]["templates"]:
        if "container" in template:
            args = template["container"]["args"]
            steps[args[args.index("--node_id") + 1]] = template
    return steps


def _v1_dag(workflow):
    (dag,) = [t["dag"] for t in workflow["spec"]["templates"] if "dag" in t]
    return dag["tasks"]


# --- the v2 PipelineSpec ---------------------------------------------------------------


def test_v2_parses_into_the_kfp_pipeline_spec_protos(v2):
    job = pipeline_spec_pb2.PipelineJob()
    json_format.ParseDict(v2["spec"], job)  # Unknown fields would raise.
    spec = pipeline_spec_pb2.PipelineSpec()
    json_format.ParseDict(v2["spec"]["pipelineSpec"], spec)
    assert spec.pipeline_info.name == SETTINGS.pipeline_name
    assert job.runtime_config.gcs_output_directory == SETTINGS.pipeline_root
    assert set(spec.root.dag.tasks) == set(v2["spec"]["pipelineSpec"]["root"]["dag"]["tasks"])


def test_v2_has_a_step_per_component_in_the_image_with_its_resources(v2):
    executors = _v2_executors(v2["spec"])
    node_ids = set(v2["graph"])
    assert {_v2_node_id(t, node_ids) for t in executors} == node_ids
    containers = {t: e["container"] for t, e in executors.items() if "container" in e}
    # Only the Resolvers run inside the metadata service rather than a container.
    resolvers = {pipeline_lib.BASELINE_RESOLVER, pipeline_lib.HYPERPARAMETERS_RESOLVER}
    assert {_v2_node_id(t, node_ids) for t in set(executors) - set(containers)} == resolvers
    assert set(containers) == node_ids - resolvers
    for task, container in containers.items():
        assert container["image"] == SETTINGS.image_uri, task
        assert container["command"] == list(kubeflow_v2_dag_runner.KUBEFLOW_TFX_CMD), task
        expected = SETTINGS.resources.get(task)
        if expected is None:
            assert "resources" not in container, task
            continue
        assert container["resources"]["cpuLimit"] == expected.cpu
        assert container["resources"]["memoryLimit"] == expected.memory_gb
        if expected.accelerator_count:
            assert container["resources"]["accelerator"] == {
                "type": expected.accelerator_type,
                "count": str(expected.accelerator_count),
            }
        else:
            assert "accelerator" not in container["resources"]


def test_v2_dependencies_equal_the_pipeline_graph(v2):
    node_ids = set(v2["graph"])
    deps = v2_spec_launcher.task_dependencies(v2["spec"]["pipelineSpec"])
    collapsed = {}
    for task, upstream in deps.items():
        node = _v2_node_id(task, node_ids)
        collapsed.setdefault(node, set()).update(_v2_node_id(u, node_ids) for u in upstream)
        collapsed[node].discard(node)  # The Resolver's own two tasks.
    assert collapsed == v2["graph"]


def test_v2_beam_args_include_the_image_as_sdk_container(v2):
    for task, container in (
        (t, e["container"]) for t, e in _v2_executors(v2["spec"]).items() if "container" in e
    ):
        args = container["args"]
        for beam_arg in SETTINGS.beam_pipeline_args:
            assert beam_arg in args, task
        assert f"--sdk_container_image={SETTINGS.image_uri}" in args, task


# --- the v1 Argo workflow ----------------------------------------------------------------


def test_v1_has_a_step_per_component_in_the_image_with_its_resources(v1):
    steps = _v1_steps(v1["spec"])
    assert set(steps) == set(v1["graph"])
    for node_id, template in steps.items():
        container = template["container"]
        assert container["image"] == SETTINGS.image_uri, node_id
        assert container["command"] == V1_COMMAND, node_id
        expected = SETTINGS.resources.get(node_id)
        if expected is None:
            assert "resources" not in container, node_id
            continue
        assert container["resources"]["requests"] == {
            "cpu": f"{expected.cpu:g}",
            "memory": f"{expected.memory_gb:g}G",
        }
        if expected.accelerator_count:
            assert container["resources"]["limits"]["nvidia.com/gpu"] == str(
                expected.accelerator_count
            )
            assert template["nodeSelector"] == {
                "cloud.google.com/gke-accelerator": "nvidia-tesla-t4"
            }


def test_v1_dependencies_equal_the_pipeline_graph(v1):
    steps = _v1_steps(v1["spec"])
    node_of = {template["name"]: node_id for node_id, template in steps.items()}
    dag = {
        node_of[t["template"]]: {node_of[d] for d in t.get("dependencies", [])}
        for t in _v1_dag(v1["spec"])
    }
    assert dag == v1["graph"]


def test_v1_report_step_shows_its_page_as_the_steps_ui_output(v1):
    template = _v1_steps(v1["spec"])[pipeline_lib.RUN_REPORT]
    ui_outputs = [
        a for a in template["outputs"]["artifacts"] if a["name"] == "mlpipeline-ui-metadata"
    ]
    assert [a["path"] for a in ui_outputs] == [kubeflow_settings.UI_METADATA_PATH]
    args = template["container"]["args"]
    assert kubeflow_settings.UI_METADATA_PATH in args[args.index("--tfx_ir") + 1]


def test_v2_report_is_an_output_artifact_of_the_projects_page_type(v2):
    spec = v2["spec"]["pipelineSpec"]
    component = spec["components"][pipeline_lib.RUN_REPORT]
    schema = component["outputDefinitions"]["artifacts"]["report"]["artifactType"]
    assert yaml.safe_load(schema["instanceSchema"])["title"] == "components.RunReportPage"
    upstream = v2_spec_launcher.task_dependencies(spec)[pipeline_lib.RUN_REPORT]
    assert pipeline_lib.PUSHER in upstream


def test_v1_pipeline_root_is_the_configured_storage(v1):
    assert v1["spec"]["spec"]["arguments"]["parameters"] == [
        {"name": "pipeline-root", "value": SETTINGS.pipeline_root}
    ]


# --- paths: everything the specs refer to is in the image --------------------------------


def _dockerfile_layout():
    """Returns (WORKDIR, PYTHONPATH, {image path: project path}) of the final stage."""
    with open(os.path.join(PROJECT_ROOT, "Dockerfile")) as dockerfile:
        text = re.sub(r"\\\n\s*", " ", dockerfile.read())
    final_stage = text.split("\nFROM ")[-1]
    workdir = re.search(r"^WORKDIR\s+(\S+)", final_stage, re.M).group(1)
    pythonpath = re.search(r"PYTHONPATH=(\S+)", final_stage).group(1)
    copies = {}
    for source, target in re.findall(r"^COPY\s+(?!--)(\S+)\s+(\S+)\s*$", final_stage, re.M):
        copies[posixpath.normpath(posixpath.join(workdir, target))] = source.rstrip("/")
    return workdir, pythonpath, copies


def _project_file_for(image_path):
    """The project file the image holds at `image_path`, or None if none is copied there."""
    _, _, copies = _dockerfile_layout()
    for target, source in copies.items():
        if image_path == target or image_path.startswith(target + "/"):
            return os.path.join(PROJECT_ROOT, source, posixpath.relpath(image_path, target))
    return None


def _v2_parameters(job):
    for task in job["pipelineSpec"]["root"]["dag"]["tasks"].values():
        for key, value in task.get("inputs", {}).get("parameters", {}).items():
            yield key, value["runtimeValue"]["constantValue"]


def test_dockerfile_builds_the_lock_on_cpython_311_with_the_project_at_the_image_root():
    workdir, pythonpath, copies = _dockerfile_layout()
    with open(os.path.join(PROJECT_ROOT, "Dockerfile")) as dockerfile:
        text = dockerfile.read()
    # Every stage starts from the BASE_IMAGE argument, CPython 3.11 by default.
    assert re.search(r"^ARG BASE_IMAGE=python:3\.11-slim-bookworm$", text, re.M)
    assert set(re.findall(r"^FROM (\S+)", text, re.M)) == {"${BASE_IMAGE}"}
    assert re.search(
        r"pip install [^\n]*--no-deps --ignore-requires-python \\?\s*-r \S*requirements-lock\.txt",
        text,
    )
    assert workdir == kubeflow_settings.IMAGE_ROOT == SETTINGS.image_root
    assert kubeflow_settings.IMAGE_ROOT in pythonpath.split(":")
    for source in copies.values():
        assert os.path.exists(os.path.join(PROJECT_ROOT, source)), source


# The family's functions, imported by dotted path in the image, and its schema file.
FUNCTIONS = ("modules.taxi.preprocessing.preprocessing_fn", "modules.common.entry.trainer_fn")
SCHEMA_FILE = SETTINGS.image_path("data", "taxi", "schema.pbtxt")
_FUNCTION_KEYS = ("preprocessing_fn", "trainer_fn", "tuner_fn")


def _assert_importable_in_the_image(function_path):
    """The function's module is a file under the image's Python path (its project folder)."""
    module = function_path.rsplit(".", 1)[0]
    image_file = SETTINGS.image_path(*module.split(".")[:-1], module.split(".")[-1] + ".py")
    project_file = _project_file_for(image_file)
    assert project_file and os.path.isfile(project_file), function_path


def test_functions_and_schema_are_found_in_the_image(v2):
    parameters = list(_v2_parameters(v2["spec"]))
    functions = sorted(value["stringValue"] for key, value in parameters if key in _FUNCTION_KEYS)
    assert functions == sorted(FUNCTIONS)
    for function_path in functions:
        _assert_importable_in_the_image(function_path)
    assert [value["stringValue"] for key, value in parameters if key == "schema_file"] == [
        SCHEMA_FILE
    ]
    assert _project_file_for(SCHEMA_FILE) and os.path.isfile(_project_file_for(SCHEMA_FILE))
    # The family's code is used in place, not packaged into wheels under the root.
    assert "_wheels" not in v2["text"]
    assert "module_path" not in v2["text"]
    assert "module_file" not in v2["text"]


def test_v1_steps_refer_to_the_same_functions_and_schema(v1):
    ir_texts = []
    for template in _v1_steps(v1["spec"]).values():
        args = template["container"]["args"]
        ir_texts.append(args[args.index("--tfx_ir") + 1])
    for reference in FUNCTIONS + (SCHEMA_FILE,):
        assert sum(reference in ir for ir in ir_texts) == 1, reference
    assert "_wheels" not in v1["text"]
    assert "module_path" not in v1["text"]


def test_custom_executors_are_importable_from_the_image_layout(v2):
    _, pythonpath, _ = _dockerfile_layout()
    class_paths = set()
    for executor in _v2_executors(v2["spec"]).values():
        args = executor.get("container", {}).get("args", [])
        if "--executor_class_path" in args:
            class_paths.add(args[args.index("--executor_class_path") + 1])
    project_classes = {p for p in class_paths if not p.startswith("tfx.")}
    assert "components.versioned_pusher.Executor" in project_classes
    assert "components.run_report.executor.Executor" in project_classes
    for class_path in project_classes:
        module = class_path.rsplit(".", 1)[0].replace(".", "/")
        candidates = [
            _project_file_for(posixpath.join(root, module + suffix))
            for root in pythonpath.split(":")
            for suffix in (".py", "/__init__.py")
        ]
        assert any(c and os.path.isfile(c) for c in candidates), class_path


def test_example_gen_gets_the_columns_to_check_in_both_targets(v1, v2):
    expected = (list(features.REQUIRED_COLUMNS), list(features.NUMERIC_COLUMNS), None)
    (v2_config,) = [
        value["stringValue"]
        for key, value in _v2_parameters(v2["spec"])
        if key == "custom_config" and "required_columns" in value["stringValue"]
    ]
    assert (
        checked_csv_example_gen.columns_from_exec_properties({"custom_config": v2_config})
        == expected
    )
    args = _v1_steps(v1["spec"])[pipeline_lib.EXAMPLE_GEN]["container"]["args"]
    ir = json.loads(args[args.index("--tfx_ir") + 1])
    v1_config = ir["nodes"][0]["pipelineNode"]["parameters"]["parameters"]["custom_config"]
    assert (
        checked_csv_example_gen.columns_from_exec_properties(
            {"custom_config": v1_config["fieldValue"]["stringValue"]}
        )
        == expected
    )


@pytest.mark.parametrize("target", ["v1", "v2"])
def test_no_path_of_the_compiling_machine_appears(target, request):
    compiled = request.getfixturevalue(target)
    for local in ("/work/", PROJECT_ROOT, compiled["dir"], "/tmp/"):
        assert local not in compiled["text"]


# --- another family ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    """Both targets compiled for the reviews family, with the placeholder storage."""
    settings = kubeflow_settings.KubeflowSettings(
        family="reviews", image=SETTINGS.image, image_tag=SETTINGS.image_tag
    )
    out_dir = str(tmp_path_factory.mktemp("kfp_reviews"))
    v1_path, v2_path = kubeflow_runner.compile_all(settings, out_dir)
    with open(v1_path) as v1_file, open(v2_path) as v2_file:
        return settings, yaml.safe_load(v1_file), json.load(v2_file)


def test_the_reviews_family_compiles_to_its_own_pipeline_and_storage(reviews):
    settings, _, job = reviews
    assert settings.pipeline_name == "movie-reviews"
    assert job["pipelineSpec"]["pipelineInfo"]["name"] == "movie-reviews"
    assert job["runtimeConfig"]["gcsOutputDirectory"] == "gs://my-bucket/tfx/movie-reviews"
    parameters = dict(_v2_parameters(job))
    assert parameters["input_base"]["stringValue"] == "gs://my-bucket/data/reviews"


def test_the_reviews_steps_name_its_image_files_and_facts(reviews):
    settings, workflow, job = reviews
    parameters = list(_v2_parameters(job))
    functions = sorted(value["stringValue"] for key, value in parameters if key in _FUNCTION_KEYS)
    assert functions == [
        "modules.common.entry.trainer_fn",
        "modules.reviews.preprocessing.preprocessing_fn",
    ]
    for function_path in functions:
        _assert_importable_in_the_image(function_path)
    (schema_file,) = [value["stringValue"] for key, value in parameters if key == "schema_file"]
    assert schema_file == settings.image_path("data", "reviews", "schema.pbtxt")
    assert os.path.isfile(_project_file_for(schema_file))
    by_task = {
        task: {
            key: value["runtimeValue"]["constantValue"]["stringValue"]
            for key, value in spec.get("inputs", {}).get("parameters", {}).items()
            if "stringValue" in value["runtimeValue"]["constantValue"]
        }
        for task, spec in job["pipelineSpec"]["root"]["dag"]["tasks"].items()
    }
    assert checked_csv_example_gen.columns_from_exec_properties(
        {"custom_config": by_task[pipeline_lib.EXAMPLE_GEN]["custom_config"]}
    ) == (["label", "source", "text"], ["label"], None)  # The curated schema's columns.
    eval_config = json.loads(by_task[pipeline_lib.EVALUATOR]["eval_config"])
    assert [spec.get("feature_keys", []) for spec in eval_config["slicing_specs"]] == [
        [],
        ["source"],
    ]
    thresholds = [
        m for m in eval_config["metrics_specs"][0]["metrics"] if m.get("per_slice_thresholds")
    ]
    assert (
        thresholds[0]["per_slice_thresholds"][0]["threshold"]["value_threshold"]["lower_bound"]
        == 0.85
    )
    v1_nodes = set(_v1_steps(workflow))
    assert {pipeline_lib.TRAINER, pipeline_lib.PUSHER} <= v1_nodes


# --- Beam profiles: where the Beam-based components run ---------------------------------

IMAGE = "registry.example.com/ml/keras-estimator-pipeline:1.4.2"
# Profile -> (the compile's flags, the Beam arguments every Beam component must carry).
BEAM_PROFILES = {
    "dataflow": (
        [
            "--beam-project",
            "my-project",
            "--beam-region",
            "europe-west4",
            "--beam-temp-location",
            "gs://ml-tmp/beam",
        ],
        [
            "--runner=DataflowRunner",
            "--project=my-project",
            "--region=europe-west4",
            "--temp_location=gs://ml-tmp/beam",
            f"--sdk_container_image={IMAGE}",
        ],
    ),
    "flink": (
        [
            "--beam-job-endpoint",
            "flink-jobserver.flink:8099",
            "--beam-environment-config",
            "localhost:50000",
        ],
        [
            "--runner=PortableRunner",
            "--job_endpoint=flink-jobserver.flink:8099",
            "--environment_type=EXTERNAL",
            "--environment_config=localhost:50000",
            f"--sdk_container_image={IMAGE}",
        ],
    ),
    "spark": (
        ["--beam-job-endpoint", "spark-jobserver:8099", "--beam-environment-type", "DOCKER"],
        [
            "--runner=PortableRunner",
            "--job_endpoint=spark-jobserver:8099",
            "--environment_type=DOCKER",
            f"--environment_config={IMAGE}",
            f"--sdk_container_image={IMAGE}",
        ],
    ),
}


def _compile_command(profile, out_dir, flags):
    image, tag = IMAGE.rsplit(":", 1)
    return [
        "--model",
        "taxi",
        "--output-dir",
        str(out_dir),
        "--image",
        image,
        "--tag",
        tag,
        "--beam-profile",
        profile,
        *flags,
    ]


@pytest.fixture(scope="module", params=sorted(BEAM_PROFILES))
def profile_specs(request, tmp_path_factory):
    """(profile, expected Beam args, v1 workflow, v2 job) compiled by the command line."""
    flags, expected = BEAM_PROFILES[request.param]
    out_dir = tmp_path_factory.mktemp(f"kfp-{request.param}")
    assert kubeflow_runner.main(_compile_command(request.param, out_dir, flags)) == 0
    with open(out_dir / "taxi" / kubeflow_runner.V1_FILENAME) as v1_file:
        workflow = yaml.safe_load(v1_file)
    with open(out_dir / "taxi" / kubeflow_runner.V2_FILENAME) as v2_file:
        job = json.load(v2_file)
    return request.param, expected, workflow, job


def _beam_component_ids():
    config = kubeflow_settings.pipeline_config(SETTINGS)
    return sorted(
        component.id
        for component in kubeflow_runner.build_pipeline(config, SETTINGS).components
        if isinstance(component, base_beam_component.BaseBeamComponent)
    )


def test_every_beam_component_carries_the_profiles_arguments_in_both_specs(profile_specs):
    profile, expected, workflow, job = profile_specs
    beam_ids = _beam_component_ids()
    assert {"CsvExampleGen", pipeline_lib.TRANSFORM, pipeline_lib.EVALUATOR} <= set(beam_ids)
    steps = _v1_steps(workflow)
    executors = _v2_executors(job)
    for node_id in beam_ids:
        args = steps[node_id]["container"]["args"]
        ir = json.loads(args[args.index("--tfx_ir") + 1])
        v1_args = ir["deploymentConfig"]["executorSpecs"][node_id]["beamPipelineArgs"]
        assert v1_args == expected, (profile, node_id)
        v2_args = executors[node_id]["container"]["args"]
        assert v2_args[v2_args.index("{{$}}") + 1 :] == expected, (profile, node_id)


@pytest.mark.parametrize(
    "profile, environment",
    [
        ("flink", environments.ExternalEnvironment),
        ("spark", environments.DockerEnvironment),
    ],
)
def test_beam_starts_the_workers_where_the_compiled_arguments_say(profile, environment):
    options = pipeline_options.PipelineOptions(BEAM_PROFILES[profile][1])
    made = environments.Environment.from_options(options.view_as(pipeline_options.PortableOptions))
    assert type(made) is environment
    if environment is environments.ExternalEnvironment:
        assert made.url == "localhost:50000"
    else:
        assert made.container_image == IMAGE


@pytest.mark.parametrize(
    "profile, flags, message",
    [
        (
            "dataflow",
            ["--beam-project", "p"],
            "'dataflow' needs region, temp_location: pass --beam-region, --beam-temp-location "
            "(make kfp BEAM_PROFILE=dataflow BEAM_REGION=... BEAM_TEMP_LOCATION=...)",
        ),
        (
            "dataflow",
            ["--beam-project", "p", "--beam-region", "r", "--beam-temp-location", "/tmp"],
            "gs:// temp_location",
        ),
        (
            "flink",
            [],
            "'flink' needs job_endpoint, environment_config: pass --beam-job-endpoint, "
            "--beam-environment-config (make kfp BEAM_PROFILE=flink BEAM_JOB_ENDPOINT=... "
            "BEAM_ENVIRONMENT_CONFIG=...)",
        ),
        ("spark", ["--beam-environment-type", "LOOPBACK"], "'spark' needs job_endpoint"),
        (
            "spark",
            ["--beam-job-endpoint", "s:8099", "--beam-project", "p"],
            "'spark' does not read --beam-project",
        ),
        (
            "local-multiprocess",
            ["--beam-region", "r"],
            "'local-multiprocess' does not read --beam-region",
        ),
    ],
)
def test_a_profile_without_its_values_is_refused_by_flag_and_make_variable(
    profile, flags, message, tmp_path, capsys
):
    assert kubeflow_runner.main(_compile_command(profile, tmp_path, flags)) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "taxi").exists()


def test_make_kfp_passes_the_beam_profile_and_its_values_to_the_compile():
    variables = {
        "BEAM_PROFILE": "flink",
        "BEAM_JOB_ENDPOINT": "jobs:8099",
        "BEAM_ENVIRONMENT_TYPE": "EXTERNAL",
        "BEAM_ENVIRONMENT_CONFIG": "localhost:50000",
        "BEAM_SDK_IMAGE": "img:1",
    }
    dry_run = subprocess.run(
        ["make", "-n", "kfp", *(f"{k}={v}" for k, v in variables.items())],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    command = " ".join(dry_run.stdout.replace("\\\n", " ").split())
    assert (
        "--beam-profile flink --beam-sdk-image img:1 --beam-job-endpoint jobs:8099 "
        "--beam-environment-type EXTERNAL --beam-environment-config localhost:50000" in command
    ), command


def test_the_default_profile_is_the_direct_runner_in_each_pod():
    assert kubeflow_settings.beam_args(kubeflow_settings.DEFAULT_BEAM_PROFILE, IMAGE) == (
        kubeflow_settings.DEFAULT_BEAM_ARGS
    )
    assert kubeflow_settings.beam_args("local", IMAGE) == ()
    config = kubeflow_settings.pipeline_config(
        kubeflow_settings.KubeflowSettings(
            beam_pipeline_args=kubeflow_settings.beam_args("local", IMAGE)
        )
    )
    assert config.beam_pipeline_args == (
        "--sdk_container_image=gcr.io/my-project/keras-estimator-pipeline:0.1.0",
    )


# --- settings ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras_compiled(tmp_path_factory):
    """Both targets compiled by the command line with --trainer keras (make kfp TRAINER=keras)."""
    out_dir = str(tmp_path_factory.mktemp("kfp_keras"))
    assert kubeflow_runner.main(["--output-dir", out_dir, "--trainer", "keras"]) == 0
    folder = os.path.join(out_dir, "taxi-keras")
    with open(os.path.join(folder, "pipeline.json")) as v2_file:
        return json.load(v2_file)


def test_the_keras_trainer_compiles_to_its_own_pipeline_and_generic_executor(keras_compiled):
    job = keras_compiled
    assert job["pipelineSpec"]["pipelineInfo"]["name"] == "chicago-taxi-keras"
    assert job["runtimeConfig"]["gcsOutputDirectory"] == "gs://my-bucket/tfx/chicago-taxi-keras"
    tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]
    trainer = tasks[pipeline_lib.TRAINER]["inputs"]["parameters"]
    assert trainer["run_fn"]["runtimeValue"]["constantValue"]["stringValue"] == (
        "modules.common.entry.run_fn"
    )
    assert "trainer_fn" not in trainer
    _assert_importable_in_the_image("modules.common.entry.run_fn")
    args = _v2_executors(job)[pipeline_lib.TRAINER]["container"]["args"]
    executor = args[args.index("--executor_class_path") + 1]
    assert executor == "tfx.components.trainer.executor.GenericExecutor"
    evaluator = tasks[pipeline_lib.EVALUATOR]["inputs"]["parameters"]
    eval_config = json.loads(
        evaluator["eval_config"]["runtimeValue"]["constantValue"]["stringValue"]
    )
    for model in eval_config["model_specs"]:
        assert model["signature_name"] == "serving_default"
        assert model["preprocessing_function_names"] == ["transform_features"]


@pytest.mark.parametrize("name", ["Chicago-Taxi", "-taxi", "chicago_taxi", "a" * 129])
def test_pipeline_names_kfp_v2_rejects_are_refused(name):
    """An empty name is the family's pipeline name; these are refused."""
    with pytest.raises(ValueError, match="pipeline_name"):
        kubeflow_settings.KubeflowSettings(pipeline_name=name)


def test_resources_for_an_unknown_component_are_refused():
    settings = kubeflow_settings.KubeflowSettings(resources={"Trainr": Resources(cpu=1)})
    with pytest.raises(ValueError, match="Trainr"):
        kubeflow_runner.build_pipeline(kubeflow_settings.pipeline_config(settings), settings)


class _Report(artifact.Artifact):
    TYPE_NAME = "Report"  # Not '<module>.<Class>': KFP v2 cannot name or re-import it.


def test_a_custom_artifact_type_v2_cannot_import_back_is_refused_by_name():
    importer = tfx.dsl.Importer(source_uri="gs://b/report", artifact_type=_Report).with_id("Import")
    tfx_pipeline = tfx.dsl.Pipeline(
        pipeline_name="p", pipeline_root="gs://b/root", components=[importer]
    )
    with pytest.raises(ValueError, match=r"test_kubeflow\._Report \(TYPE_NAME 'Report'\)"):
        kubeflow_runner.check_v2_artifact_types(tfx_pipeline)


def test_an_accelerator_needs_a_type_and_a_count():
    with pytest.raises(ValueError, match="accelerator"):
        Resources(accelerator_type="NVIDIA_TESLA_T4")


# --- the compiled v2 spec, run (slow: a whole pipeline run) ---------------------------------


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, sample_dir):
    """Compiles v2 with the checkout as image root and runs every task of the spec."""
    root = tmp_path_factory.mktemp("v2run")
    settings = kubeflow_settings.KubeflowSettings(
        image="local/keras-estimator-pipeline",
        image_tag="test",
        image_root=PROJECT_ROOT,
        pipeline_root=str(root / "pipeline_root"),
        data_root=sample_dir,
        serving_model_dir=str(root / "serving_model"),
        beam_pipeline_args=(),
    )
    # The report's KFP v1 UI metadata goes to the root of a pod's file system; here,
    # into the run's folder.
    config = kubeflow_settings.pipeline_config(
        settings,
        train_steps=100,
        blessing_bound=0.8,
        report_ui_metadata_path=str(root / "mlpipeline-ui-metadata.json"),
    )
    with open(kubeflow_runner.compile_v2(config, settings, str(root / "kfp"))) as spec_file:
        job = json.load(spec_file)
    (root / "logs").mkdir()
    launcher = v2_spec_launcher.Launcher(job, PROJECT_ROOT, str(root / "logs"))
    launcher.run()
    return settings, job, launcher, root


@pytest.mark.slow
def test_every_container_task_ran_its_command_line_from_the_spec(local_run):
    _, job, launcher, _ = local_run
    for task, executor in _v2_executors(job).items():
        if "container" not in executor:
            continue
        executor_argv = launcher.commands[task][-1]
        assert executor_argv[1:3] == list(kubeflow_v2_dag_runner.KUBEFLOW_TFX_CMD[1:])
        assert executor_argv[3:5] == executor["container"]["args"][:2]
    example_gen_driver = launcher.commands[pipeline_lib.EXAMPLE_GEN][0]
    assert example_gen_driver[1:3] == [
        "-m",
        "tfx.orchestration.kubeflow.v2.file_based_example_gen.driver",
    ]


@pytest.mark.slow
def test_the_run_blesses_the_model_and_pushes_a_version(local_run):
    settings, _, launcher, _ = local_run
    (blessing,) = launcher.outputs[pipeline_lib.EVALUATOR]["blessing"]
    assert os.path.isfile(os.path.join(blessing["uri"], "BLESSED"))
    (pushed,) = launcher.outputs[pipeline_lib.PUSHER]["pushed_model"]
    assert pushed["metadata"]["pushed"] == 1
    version_dir = serving.latest_version_dir(settings.serving_model_dir)
    assert pushed["metadata"]["pushed_destination"] == version_dir
    assert os.listdir(settings.serving_model_dir) == [os.path.basename(version_dir)]


@pytest.mark.slow
def test_the_pushed_model_scores_raw_rows(local_run, schema, sample_csv):
    settings, _, _, _ = local_run
    version_dir = serving.latest_version_dir(settings.serving_model_dir)
    probabilities = serving.predict(
        version_dir, serving.examples_from_csv(sample_csv, schema)[:64]
    ).scores
    assert probabilities.shape == (64,)
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    assert probabilities.std() > 0  # Not a constant: the model learned something.


@pytest.mark.slow
def test_the_report_step_ran_last_and_wrote_the_page(local_run):
    _, _, launcher, root = local_run
    (page,) = launcher.outputs[pipeline_lib.RUN_REPORT]["report"]
    with open(os.path.join(page["uri"], "index.html")) as page_file:
        page_html = page_file.read()
    for section in ("run", "data", "anomalies", "training", "evaluation", "pushed"):
        assert f'<section id="{section}">' in page_html
    assert "Blessed and pushed as version" in page_html
    with open(root / "mlpipeline-ui-metadata.json") as ui_file:
        ui = json.load(ui_file)
    assert ui["outputs"] == [{"type": "web-app", "storage": "inline", "source": page_html}]


# --- tuning on ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """Both targets compiled with tuning on, with SETTINGS and a Tuner pod size."""
    settings = kubeflow_settings.KubeflowSettings(
        **{
            **{
                f: getattr(SETTINGS, f)
                for f in ("image", "image_tag", "pipeline_root", "data_root", "serving_model_dir")
            },
            "resources": {**SETTINGS.resources, pipeline_lib.TUNER: Resources(cpu=6, memory_gb=20)},
        }
    )
    out_dir = str(tmp_path_factory.mktemp("kfp_tuned"))
    v1_path, v2_path = kubeflow_runner.compile_all(settings, out_dir, tune=True)
    with open(v1_path) as v1_file, open(v2_path) as v2_file:
        return settings, yaml.safe_load(v1_file), json.load(v2_file)


def test_without_tuning_the_trainer_takes_earlier_tuned_values_and_no_tuner_runs(v1, v2):
    for compiled in (v1, v2):
        assert pipeline_lib.TUNER not in compiled["graph"]
        assert pipeline_lib.HYPERPARAMETERS_RESOLVER in compiled["graph"][pipeline_lib.TRAINER]
    assert pipeline_lib.TUNER in kubeflow_settings.DEFAULT_RESOURCES
    # v1 runs TFX's resolver in a container: the strategy that resolves to nothing
    # before the first tuning; v2 compiles TFX's own strategy into a metadata query.
    args = _v1_steps(v1["spec"])[pipeline_lib.HYPERPARAMETERS_RESOLVER]["container"]["args"]
    assert (
        "components.latest_artifact.LatestArtifactIfAnyStrategy" in args[args.index("--tfx_ir") + 1]
    )
    executors = _v2_executors(v2["spec"])
    (query,) = [
        e["resolver"]["outputArtifactQueries"]
        for t, e in executors.items()
        if t.startswith(pipeline_lib.HYPERPARAMETERS_RESOLVER)
    ]
    assert "tfx.HyperParameters" in json.dumps(query)


def test_v1_with_tuning_runs_the_tuner_in_the_image_with_its_resources_before_the_trainer(tuned):
    settings, workflow, _ = tuned
    steps = _v1_steps(workflow)
    assert pipeline_lib.HYPERPARAMETERS_RESOLVER not in steps
    tuner = steps[pipeline_lib.TUNER]["container"]
    assert tuner["image"] == settings.image_uri and tuner["command"] == V1_COMMAND
    assert tuner["resources"]["requests"] == {"cpu": "6", "memory": "20G"}
    node_of = {template["name"]: node_id for node_id, template in steps.items()}
    dag = {
        node_of[t["template"]]: {node_of[d] for d in t.get("dependencies", [])}
        for t in _v1_dag(workflow)
    }
    assert dag[pipeline_lib.TUNER] == {pipeline_lib.TRANSFORM, pipeline_lib.SCHEMA_IMPORTER}
    assert pipeline_lib.TUNER in dag[pipeline_lib.TRAINER]
    args = tuner["args"]
    ir = args[args.index("--tfx_ir") + 1]
    assert "modules.common.entry.tuner_fn" in ir
    assert "components.tuner.Executor" in ir


def test_v2_with_tuning_runs_the_tuner_in_the_image_with_its_resources_before_the_trainer(tuned):
    settings, _, job = tuned
    executors = _v2_executors(job)
    assert pipeline_lib.HYPERPARAMETERS_RESOLVER not in executors
    container = executors[pipeline_lib.TUNER]["container"]
    assert container["image"] == settings.image_uri
    assert container["command"] == list(kubeflow_v2_dag_runner.KUBEFLOW_TFX_CMD)
    assert container["resources"]["cpuLimit"] == 6
    assert container["resources"]["memoryLimit"] == 20
    args = container["args"]
    assert args[args.index("--executor_class_path") + 1] == "components.tuner.Executor"
    deps = v2_spec_launcher.task_dependencies(job["pipelineSpec"])
    assert pipeline_lib.TUNER in deps[pipeline_lib.TRAINER]
    assert pipeline_lib.TRANSFORM in deps[pipeline_lib.TUNER]
    tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]
    parameters = tasks[pipeline_lib.TUNER]["inputs"]["parameters"]
    assert parameters["tuner_fn"]["runtimeValue"]["constantValue"]["stringValue"] == (
        "modules.common.entry.tuner_fn"
    )
    config = json.loads(parameters["custom_config"]["runtimeValue"]["constantValue"]["stringValue"])
    assert config["tuning"] == {
        "algorithm": "random",
        "trials": 4,
        "seed": 1,
        "trainer": "estimator",
    }
    trainer_inputs = tasks[pipeline_lib.TRAINER]["inputs"]["artifacts"]
    assert trainer_inputs["hyperparameters"]["taskOutputArtifact"] == {
        "producerTask": pipeline_lib.TUNER,
        "outputArtifactKey": "best_hyperparameters",
    }
    # The report step reads the values the Trainer took and this run's trials.
    report_inputs = tasks[pipeline_lib.RUN_REPORT]["inputs"]["artifacts"]
    assert report_inputs["hyperparameters"]["taskOutputArtifact"] == {
        "producerTask": pipeline_lib.TUNER,
        "outputArtifactKey": "best_hyperparameters",
    }
    assert report_inputs["tuner_results"]["taskOutputArtifact"] == {
        "producerTask": pipeline_lib.TUNER,
        "outputArtifactKey": "tuner_results",
    }


# --- training by epochs -------------------------------------------------------------------


def test_a_family_trained_by_epochs_compiles_to_a_trainer_with_no_step_count(tmp_path):
    """Nothing counts rows before a Kubeflow run: the Trainer gets the epochs instead."""
    v1_path, v2_path = kubeflow_runner.compile_all(SETTINGS, str(tmp_path), train_epochs=3)
    with open(v2_path) as v2_file:
        job = json.load(v2_file)
    trainer = job["pipelineSpec"]["root"]["dag"]["tasks"][pipeline_lib.TRAINER]
    parameters = {
        key: value["runtimeValue"]["constantValue"]["stringValue"]
        for key, value in trainer["inputs"]["parameters"].items()
    }
    assert json.loads(parameters["train_args"]).get("num_steps", 0) == 0
    assert json.loads(parameters["custom_config"])["train_epochs"] == 3
    # The report step asks for no steps either: its page shows the recorded epochs.
    report = job["pipelineSpec"]["root"]["dag"]["tasks"][pipeline_lib.RUN_REPORT]
    asked = report["inputs"]["parameters"]["train_steps"]["runtimeValue"]["constantValue"]
    assert asked == {"intValue": "0"}  # 300, the steps, by steps.
    with open(v1_path) as v1_file:
        args = _v1_steps(yaml.safe_load(v1_file))[pipeline_lib.TRAINER]["container"]["args"]
    node = json.loads(args[args.index("--tfx_ir") + 1])["nodes"][0]["pipelineNode"]
    values = {
        key: value["fieldValue"]["stringValue"]
        for key, value in node["parameters"]["parameters"].items()
        if "stringValue" in value.get("fieldValue", {})
    }
    assert json.loads(values["train_args"]).get("num_steps", 0) == 0
    assert json.loads(values["custom_config"])["train_epochs"] == 3
    # Steps given on the command line win over the family's epochs.
    config = kubeflow_settings.pipeline_config(SETTINGS, train_steps=50)
    assert config.train_epochs == 0 and config.train_steps == 50
