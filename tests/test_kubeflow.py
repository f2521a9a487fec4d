"""The Kubeflow targets compiled from the one `create_pipeline`, checked as data, and the
compiled v2 spec run task by task on this machine from its own command lines."""

import json
import os
import posixpath
import re

import numpy as np
import pytest
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2
from tfx import v1 as tfx
from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner
from tfx.types import artifact

import v2_spec_launcher
from pipeline import config as config_lib
from pipeline import kubeflow_runner
from pipeline import kubeflow_settings
from pipeline import pipeline as pipeline_lib
from pipeline import serving

PROJECT_ROOT = config_lib.PROJECT_ROOT
V1_COMMAND = ["python", "-m", "tfx.orchestration.kubeflow.container_entrypoint"]
Resources = kubeflow_settings.Resources

SETTINGS = kubeflow_settings.KubeflowSettings(
    image="registry.example.com/ml/taxi-estimator-pipeline",
    image_tag="1.4.2",
    pipeline_root="gs://ml-artifacts/tfx/chicago-taxi",
    data_root="gs://ml-data/taxi",
    serving_model_dir="gs://ml-models/chicago-taxi",
    resources={
        pipeline_lib.TRANSFORM: Resources(cpu=2, memory_gb=6),
        pipeline_lib.TRAINER: Resources(cpu=8, memory_gb=30,
                                        accelerator_type="NVIDIA_TESLA_T4",
                                        accelerator_count=1),
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
            spec["components"][task["componentRef"]["name"]]["executorLabel"]]
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
    # Only the Resolver runs inside the metadata service rather than a container.
    assert {_v2_node_id(t, node_ids) for t in set(executors) - set(containers)} == {
        pipeline_lib.BASELINE_RESOLVER}
    assert set(containers) == node_ids - {pipeline_lib.BASELINE_RESOLVER}
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
                "type": expected.accelerator_type, "count": str(expected.accelerator_count)}
        else:
            assert "accelerator" not in container["resources"]


def test_v2_dependencies_equal_the_pipeline_graph(v2):
    node_ids = set(v2["graph"])
    deps = v2_spec_launcher.task_dependencies(v2["spec"]["pipelineSpec"])
    collapsed = {}
    for task, upstream in deps.items():
        node = _v2_node_id(task, node_ids)
        collapsed.setdefault(node, set()).update(
            _v2_node_id(u, node_ids) for u in upstream)
        collapsed[node].discard(node)  # The Resolver's own two tasks.
    assert collapsed == v2["graph"]


def test_v2_beam_args_include_the_image_as_sdk_container(v2):
    for task, container in ((t, e["container"]) for t, e in _v2_executors(v2["spec"]).items()
                            if "container" in e):
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
            "cpu": f"{expected.cpu:g}", "memory": f"{expected.memory_gb:g}G"}
        if expected.accelerator_count:
            assert container["resources"]["limits"]["nvidia.com/gpu"] == str(
                expected.accelerator_count)
            assert template["nodeSelector"] == {
                "cloud.google.com/gke-accelerator": "nvidia-tesla-t4"}


def test_v1_dependencies_equal_the_pipeline_graph(v1):
    steps = _v1_steps(v1["spec"])
    node_of = {template["name"]: node_id for node_id, template in steps.items()}
    dag = {node_of[t["template"]]: {node_of[d] for d in t.get("dependencies", [])}
           for t in _v1_dag(v1["spec"])}
    assert dag == v1["graph"]


def test_v1_pipeline_root_is_the_configured_storage(v1):
    assert v1["spec"]["spec"]["arguments"]["parameters"] == [
        {"name": "pipeline-root", "value": SETTINGS.pipeline_root}]


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
    assert re.search(r"pip install [^\n]*--no-deps --ignore-requires-python \\?\s*-r \S*requirements-lock\.txt", text)
    assert workdir == kubeflow_settings.IMAGE_ROOT == SETTINGS.image_root
    assert kubeflow_settings.IMAGE_ROOT in pythonpath.split(":")
    for source in copies.values():
        assert os.path.exists(os.path.join(PROJECT_ROOT, source)), source


IMAGE_FILES = sorted([
    SETTINGS.image_path("modules", "preprocessing.py"),
    SETTINGS.image_path("modules", "trainer.py"),
    SETTINGS.image_path("data", "schema", "schema.pbtxt"),
])


def test_module_and_schema_files_are_image_paths_present_in_the_image(v2):
    referenced = [value["stringValue"] for key, value in _v2_parameters(v2["spec"])
                  if key in ("module_file", "schema_file")]
    assert sorted(referenced) == IMAGE_FILES
    for image_path in referenced:
        project_file = _project_file_for(image_path)
        assert project_file and os.path.isfile(project_file), image_path
    # Module files are used in place, not packaged into wheels under the root.
    assert "_wheels" not in v2["text"]
    assert "module_path" not in v2["text"]


def test_v1_steps_refer_to_the_same_image_files(v1):
    ir_texts = []
    for template in _v1_steps(v1["spec"]).values():
        args = template["container"]["args"]
        ir_texts.append(args[args.index("--tfx_ir") + 1])
    for image_path in IMAGE_FILES:
        assert sum(image_path in ir for ir in ir_texts) == 1, image_path
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
    for class_path in project_classes:
        module = class_path.rsplit(".", 1)[0].replace(".", "/")
        candidates = [_project_file_for(posixpath.join(root, module + suffix))
                      for root in pythonpath.split(":")
                      for suffix in (".py", "/__init__.py")]
        assert any(c and os.path.isfile(c) for c in candidates), class_path


@pytest.mark.parametrize("target", ["v1", "v2"])
def test_no_path_of_the_compiling_machine_appears(target, request):
    compiled = request.getfixturevalue(target)
    for local in ("/work/", PROJECT_ROOT, compiled["dir"], "/tmp/"):
        assert local not in compiled["text"]
    assert pipeline_lib._NO_PACKAGING_ENV not in os.environ, "the switch is restored"


# --- settings ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Chicago-Taxi", "-taxi", "chicago_taxi", "a" * 129, ""])
def test_pipeline_names_kfp_v2_rejects_are_refused(name):
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
    tfx_pipeline = tfx.dsl.Pipeline(pipeline_name="p", pipeline_root="gs://b/root",
                                    components=[importer])
    with pytest.raises(ValueError, match=r"test_kubeflow\._Report \(TYPE_NAME 'Report'\)"):
        kubeflow_runner.check_v2_artifact_types(tfx_pipeline)


def test_an_accelerator_needs_a_type_and_a_count():
    with pytest.raises(ValueError, match="accelerator"):
        Resources(accelerator_type="NVIDIA_TESLA_T4")


# --- the compiled v2 spec, run ---------------------------------------------------------------

@pytest.fixture(scope="module")
def local_run(tmp_path_factory, sample_dir):
    """Compiles v2 with the checkout as image root and runs every task of the spec."""
    root = tmp_path_factory.mktemp("v2run")
    settings = kubeflow_settings.KubeflowSettings(
        image="local/taxi-estimator-pipeline", image_tag="test", image_root=PROJECT_ROOT,
        pipeline_root=str(root / "pipeline_root"), data_root=sample_dir,
        serving_model_dir=str(root / "serving_model"), beam_pipeline_args=(),
    )
    config = kubeflow_settings.pipeline_config(settings, train_steps=100, min_auc=0.8)
    with open(kubeflow_runner.compile_v2(config, settings, str(root / "kfp"))) as spec_file:
        job = json.load(spec_file)
    (root / "logs").mkdir()
    launcher = v2_spec_launcher.Launcher(job, PROJECT_ROOT, str(root / "logs"))
    launcher.run()
    return settings, job, launcher


def test_every_container_task_ran_its_command_line_from_the_spec(local_run):
    _, job, launcher = local_run
    for task, executor in _v2_executors(job).items():
        if "container" not in executor:
            continue
        executor_argv = launcher.commands[task][-1]
        assert executor_argv[1:3] == list(kubeflow_v2_dag_runner.KUBEFLOW_TFX_CMD[1:])
        assert executor_argv[3:5] == executor["container"]["args"][:2]
    example_gen_driver = launcher.commands[pipeline_lib.EXAMPLE_GEN][0]
    assert example_gen_driver[1:3] == [
        "-m", "tfx.orchestration.kubeflow.v2.file_based_example_gen.driver"]


def test_the_run_blesses_the_model_and_pushes_a_version(local_run):
    settings, _, launcher = local_run
    (blessing,) = launcher.outputs[pipeline_lib.EVALUATOR]["blessing"]
    assert os.path.isfile(os.path.join(blessing["uri"], "BLESSED"))
    (pushed,) = launcher.outputs[pipeline_lib.PUSHER]["pushed_model"]
    assert pushed["metadata"]["pushed"] == 1
    version_dir = serving.latest_version_dir(settings.serving_model_dir)
    assert pushed["metadata"]["pushed_destination"] == version_dir
    assert os.listdir(settings.serving_model_dir) == [os.path.basename(version_dir)]


def test_the_pushed_model_scores_raw_rows(local_run, schema, sample_csv):
    settings, _, _ = local_run
    version_dir = serving.latest_version_dir(settings.serving_model_dir)
    probabilities = serving.predict(version_dir,
                                    serving.examples_from_csv(sample_csv, schema)[:64])
    assert probabilities.shape == (64,)
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    assert probabilities.std() > 0  # Not a constant: the model learned something.
