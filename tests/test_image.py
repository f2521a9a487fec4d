"""The pipeline image, built from the Dockerfile, running the compiled Kubeflow steps.

The KFP v2 pipeline of each model family runs on its sample with every task in its own
container of the one image, as a KFP launcher would run it: the task's command line
from the spec, its executor input, the pipeline root mounted at the same path in every
container, in dependency order. The KFP v1 steps' command and everything their IR names must resolve
in the image too. Marked `image`: `make test-image` runs it, `make test` does not.
"""

import json
import os
import re
import shutil
import subprocess
import time

import numpy as np
import pytest
import yaml
from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner

import v2_spec_launcher
from conftest import TEST_IMAGE
from conftest import report_line
from pipeline.definition import families
from pipeline.definition import pipeline as pipeline_lib
from pipeline.kubeflow import runner as kubeflow_runner
from pipeline.kubeflow import settings as kubeflow_settings
from pipeline.serving import client as serving

pytestmark = pytest.mark.image

IMAGE_REPOSITORY, IMAGE_TAG = TEST_IMAGE.rsplit(":", 1)
V1_COMMAND = ["python", "-m", "tfx.orchestration.kubeflow.container_entrypoint"]


@pytest.fixture(scope="module")
def engine(pipeline_image):
    """The engine that built the test image."""
    return pipeline_image[0]


def _in_image(engine, settings, argv, mounts=()):
    """Runs argv in the image offline; returns its output (asserting it succeeded)."""
    result = subprocess.run(
        engine.run_argv(settings.image_uri, argv, mounts=mounts), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout


# Per family: training steps and the AUC that blesses, for a quick run on its sample.
FAMILY_RUNS = {"taxi": (100, 0.8), "reviews": (60, 0.5)}


@pytest.fixture(scope="module", params=sorted(FAMILY_RUNS))
def image_run(engine, tmp_path_factory, request):
    """Compiles KFP v2 of a family for the image and runs every task in a container of it."""
    family = families.load(request.param)
    sample_dir = family.sample_dir
    root = tmp_path_factory.mktemp(f"image-run-{family.name}")
    settings = kubeflow_settings.KubeflowSettings(
        family=family.name,
        image=IMAGE_REPOSITORY,
        image_tag=IMAGE_TAG,
        pipeline_root=str(root / "pipeline_root"),
        data_root=sample_dir,
        serving_model_dir=str(root / "serving_model"),
    )
    train_steps, bound = FAMILY_RUNS[family.name]
    config = kubeflow_settings.pipeline_config(
        settings, train_steps=train_steps, blessing_bound=bound
    )
    with open(kubeflow_runner.compile_v2(config, settings, str(root / "kfp"))) as spec_file:
        job = json.load(spec_file)
    (root / "logs").mkdir()
    # Shared storage: the same path in every container, as a volume would be in pods.
    mounts = [(str(root), str(root), False), (sample_dir, sample_dir, True)]
    launcher = v2_spec_launcher.Launcher(
        job,
        settings.image_root,
        str(root / "logs"),
        container=lambda argv: engine.run_argv(settings.image_uri, argv, mounts=mounts),
    )
    started = time.monotonic()
    launcher.run()
    slowest = sorted(launcher.seconds.items(), key=lambda item: -item[1])[:5]
    report_line(
        request.config,
        f"KFP v2 {family.name} pipeline in {engine.name} containers: "
        f"{time.monotonic() - started:.0f} s wall; slowest tasks "
        + ", ".join(f"{task} {seconds:.0f} s" for task, seconds in slowest),
    )
    return settings, job, launcher, root


def test_every_container_task_ran_in_the_image_with_its_command_line(image_run):
    settings, job, launcher, _ = image_run
    spec = job["pipelineSpec"]
    for task_name, task in spec["root"]["dag"]["tasks"].items():
        executor = spec["deploymentSpec"]["executors"][
            spec["components"][task["componentRef"]["name"]]["executorLabel"]
        ]
        if "container" not in executor:
            continue
        container = executor["container"]
        assert container["image"] == settings.image_uri
        command, launched = launcher.commands[task_name][-1], launcher.launched[task_name][-1]
        assert command[:3] == list(kubeflow_v2_dag_runner.KUBEFLOW_TFX_CMD)
        assert command[3:5] == container["args"][:2]
        # The image's own interpreter ran it: the launched command ends with the task's.
        assert launched[-len(command) :] == command
        assert settings.image_uri in launched[: -len(command)]


def test_the_run_in_the_image_blesses_and_pushes_a_version(image_run):
    settings, _, launcher, root = image_run
    (blessing,) = launcher.outputs[pipeline_lib.EVALUATOR]["blessing"]
    assert blessing["uri"].startswith(str(root))
    assert os.path.isfile(os.path.join(blessing["uri"], "BLESSED"))
    (pushed,) = launcher.outputs[pipeline_lib.PUSHER]["pushed_model"]
    assert pushed["metadata"]["pushed"] == 1
    version_dir = serving.latest_version_dir(settings.serving_model_dir)
    assert pushed["metadata"]["pushed_destination"] == version_dir


_SCORE = """
import json, sys
from pipeline.serving import client as serving
schema = serving.load_schema(sys.argv[3])
examples = serving.examples_from_csv(sys.argv[2], schema)[:64]
print(json.dumps(serving.predict(sys.argv[1], examples).scores.tolist()))
"""


def test_the_pushed_model_scores_raw_rows_from_its_folder_alone(image_run, engine, tmp_path):
    settings, _, _, _ = image_run
    family = families.load(settings.family)
    sample_csv = os.path.join(family.sample_dir, "data.csv")
    schema = serving.load_schema(family.schema_file)
    image_schema = settings.image_path("data", family.name, "schema.pbtxt")
    # Only the version folder, copied away from the pipeline root, is mounted.
    model_dir = str(tmp_path / "model")
    shutil.copytree(serving.latest_version_dir(settings.serving_model_dir), model_dir)
    output = _in_image(
        engine,
        settings,
        ["python", "-c", _SCORE, "/model", "/rows.csv", image_schema],
        mounts=[(model_dir, "/model", True), (sample_csv, "/rows.csv", True)],
    )
    in_image = np.array(json.loads(output.strip().splitlines()[-1]))
    assert in_image.shape == (64,)
    assert np.all((in_image >= 0) & (in_image <= 1))
    assert in_image.std() > 0  # Not a constant: the model learned something.
    on_host = serving.predict(model_dir, serving.examples_from_csv(sample_csv, schema)[:64]).scores
    np.testing.assert_allclose(in_image, on_host, atol=1e-5)


_V1_CHECK = """
import json, os, sys
from tfx.utils import import_utils
named = json.loads(sys.argv[1])
for class_path in named["classes"]:
    import_utils.import_class_by_path(class_path)
for function_path in named["functions"]:
    module, _, name = function_path.rpartition(".")
    assert callable(import_utils.import_func_from_module(module, name)), function_path
missing = [path for path in named["files"] if not os.path.isfile(path)]
assert not missing, f"missing in the image: {missing}"
print("resolved", len(named["classes"]), "classes", len(named["functions"]), "functions",
      len(named["files"]), "files")
"""
# The family's functions, which TFX imports by dotted path where the step runs.
_FUNCTION_PARAMETER = (
    r'"(?:preprocessing_fn|trainer_fn|tuner_fn)":\s*\{[^}]*"stringValue":\s*"([^"]+)"'
)


def test_the_kfp_v1_steps_command_and_what_they_name_resolve_in_the_image(engine, tmp_path):
    settings = kubeflow_settings.KubeflowSettings(image=IMAGE_REPOSITORY, image_tag=IMAGE_TAG)
    config = kubeflow_settings.pipeline_config(settings)
    with open(kubeflow_runner.compile_v1(config, settings, str(tmp_path))) as workflow_file:
        workflow = yaml.safe_load(workflow_file)
    containers = [t["container"] for t in workflow["spec"]["templates"] if "container" in t]
    assert {c["image"] for c in containers} == {settings.image_uri}
    assert {tuple(c["command"]) for c in containers} == {tuple(V1_COMMAND)}
    usage = _in_image(engine, settings, V1_COMMAND + ["--help"])
    for flag in {a for c in containers for a in c["args"] if a.startswith("--")}:
        assert flag in usage, flag
    irs = [c["args"][c["args"].index("--tfx_ir") + 1] for c in containers]
    named = {
        "classes": sorted({p for ir in irs for p in re.findall(r'"classPath": "([^"]+)"', ir)}),
        "functions": sorted({p for ir in irs for p in re.findall(_FUNCTION_PARAMETER, ir)}),
        "files": sorted(
            {p for ir in irs for p in re.findall(re.escape(settings.image_root) + r'/[^"\\ ]+', ir)}
        ),
    }
    assert "components.versioned_pusher.Executor" in named["classes"]
    assert named["functions"] == [
        "modules.common.entry.trainer_fn",
        "modules.taxi.preprocessing.preprocessing_fn",
    ]
    assert settings.image_path("data", "taxi", "schema.pbtxt") in named["files"]
    output = _in_image(engine, settings, ["python", "-c", _V1_CHECK, json.dumps(named)])
    assert f"resolved {len(named['classes'])} classes 2 functions" in output
