"""The image build's own parts, without building: engine command lines, the apt mirror,
the context digest, what the image installs, and what the lock leaves out."""

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys

import pytest
from packaging.requirements import Requirement

from pipeline.definition import config as config_lib
from pipeline.image import build
from pipeline.image import engine as engine_lib

PROJECT_ROOT = config_lib.PROJECT_ROOT
LOCK = os.path.join(PROJECT_ROOT, "requirements-lock.txt")
DEV = os.path.join(PROJECT_ROOT, "requirements-dev.txt")


def _names(path):
    with open(path) as handle:
        return [
            line.split("==")[0].strip().lower()
            for line in handle
            if line.strip() and not line.startswith("#")
        ]


def _normalized(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def test_podman_runs_offline_with_runc_limits_and_mounts():
    podman = engine_lib.Engine("podman", ("podman", "--runtime", "runc"), engine_lib.PODMAN_LIMITS)
    argv = podman.run_argv(
        "img:1",
        ["python", "-c", "pass"],
        mounts=[("/a", "/a", False), ("/b", "/c", True)],
        env={"K": "V"},
        workdir="/w",
    )
    assert argv[:5] == ["podman", "--runtime", "runc", "run", "--rm"]
    assert argv[5:9] == list(engine_lib.PODMAN_LIMITS)
    assert argv[argv.index("--network") + 1] == "none"
    assert "/a:/a" in argv and "/b:/c:ro" in argv
    assert argv[argv.index("--env") + 1] == "K=V"
    assert argv[argv.index("--workdir") + 1] == "/w"
    assert argv[-4:] == ["img:1", "python", "-c", "pass"]


def test_docker_needs_no_extra_flags():
    argv = engine_lib.Engine("docker", ("docker",)).run_argv("img:1", ["true"], network=None)
    assert argv == ["docker", "run", "--rm", "img:1", "true"]


@pytest.mark.parametrize(
    "files, expected",
    [
        (
            {
                "sources.list.d/debian.sources": "Types: deb\n"
                "URIs: http://mirror.example/debian-security\nSuites: bookworm-security\n"
                "Components: main\n\nTypes: deb\nURIs: http://mirror.example/debian\n"
                "Suites: bookworm bookworm-updates\nComponents: main\n"
            },
            "http://mirror.example/debian",
        ),
        (
            {
                "sources.list": "# comment\n"
                "deb [arch=amd64] http://ftp.example/debian bookworm main\n"
            },
            "http://ftp.example/debian",
        ),
        ({"sources.list": "deb http://x.example/debian bullseye main\n"}, build.DEBIAN_MIRROR),
    ],
)
def test_the_debian_mirror_comes_from_the_apt_sources(tmp_path, files, expected):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert build.debian_mirror(str(tmp_path)) == expected


@pytest.fixture
def context(tmp_path):
    """A copy of what the Dockerfile copies, to change files in."""
    for source in build.copied_sources(os.path.join(PROJECT_ROOT, "Dockerfile")):
        source_path = os.path.join(PROJECT_ROOT, source)
        target = tmp_path / source
        if os.path.isdir(source_path):
            shutil.copytree(
                source_path,
                target,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__"),
            )
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source_path, target)
    shutil.copy(os.path.join(PROJECT_ROOT, "Dockerfile"), tmp_path / "Dockerfile")
    return tmp_path


def test_the_dockerfile_copies_the_runtime_lock_and_the_project_folders():
    assert set(build.copied_sources(os.path.join(PROJECT_ROOT, "Dockerfile"))) == {
        "requirements-lock.txt",
        "pipeline",
        "components",
        "modules",
        "data",
    }


def test_the_image_installs_the_runtime_lock_and_uninstalls_nothing():
    with open(os.path.join(PROJECT_ROOT, "Dockerfile")) as handle:
        dockerfile = re.sub(r"\\\n\s*", " ", handle.read())
    installs = re.findall(r"pip install [^\n]*", dockerfile)
    assert len(installs) == 1 and "-r /tmp/requirements-lock.txt" in installs[0]
    assert "uninstall" not in dockerfile


def test_the_lock_and_the_dev_part_do_not_overlap():
    assert not {_normalized(n) for n in _names(LOCK)} & {_normalized(n) for n in _names(DEV)}


def test_the_digest_follows_copied_files_and_the_base_only(context):
    before = build.context_digest(str(context), "base-1")
    assert build.context_digest(str(context), "base-1") == before
    assert build.context_digest(str(context), "base-2") != before
    (context / "modules" / "__pycache__").mkdir(exist_ok=True)
    (context / "modules" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (context / "README.md").write_text("not copied")
    assert build.context_digest(str(context), "base-1") == before
    with open(context / "modules" / "model.py", "a") as module:
        module.write("\n# changed\n")
    assert build.context_digest(str(context), "base-1") != before


def test_the_lock_leaves_out_only_the_requirements_its_header_names():
    lock = {_normalized(n) for n in _names(LOCK)}
    # The notebook server, notebook and lab: no code imports them.
    assert not lock & {
        "notebook",
        "jupyterlab",
        "jupyter-server",
        "nbconvert",
        "nbformat",
        "notebook-shim",
        "jupyter-lsp",
        "terminado",
    }
    missing = {}
    for dist in importlib.metadata.distributions():
        name = _normalized(dist.metadata["Name"])
        if name not in lock:
            continue
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            wanted = _normalized(requirement.name)
            if wanted not in lock:
                missing.setdefault(wanted, set()).add(name)
    # Declared but imported only on optional or guarded paths no step, test or command
    # takes (the image run checks the steps): the kernel's debugger and event-loop patch,
    # IPython's completer and inline-plot hook, the widgets' browser front end,
    # TensorFlow's binding generator, keras-tuner's old import name.
    assert {p: sorted(by) for p, by in missing.items()} == {
        "debugpy": ["ipykernel"],
        "jedi": ["ipython"],
        "jupyterlab-widgets": ["ipywidgets"],
        "kt-legacy": ["keras-tuner"],
        "libclang": ["tensorflow"],
        "matplotlib-inline": ["ipykernel", "ipython"],
        "nest-asyncio2": ["ipykernel"],
        "widgetsnbextension": ["ipywidgets"],
    }
    with open(LOCK) as handle:
        header = handle.read()
    for package in missing:
        assert package in header, f"{package} is left out of the lock without a word"


def test_building_installs_no_system_package(tmp_path):
    """Without an engine `make image` stops and names `make image-tools`; it runs no apt."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(sys.executable, bin_dir / "python3")
    result = subprocess.run(
        [
            str(bin_dir / "python3"),
            "-m",
            "pipeline.image.build",
            "--log",
            str(tmp_path / "build.log"),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={"PATH": str(bin_dir), "PYTHONPATH": PROJECT_ROOT},
        timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "no container engine can run a container here" in result.stderr
    assert "make image-tools" in result.stderr
    assert "installing" not in result.stdout + result.stderr
