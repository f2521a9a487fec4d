"""The image build's own parts, without building: engine command lines, the apt mirror,
the context digest, and the list of packages the image leaves out."""

import importlib.metadata
import os
import re
import shutil

import pytest

from pipeline.definition import config as config_lib
from pipeline.image import build
from pipeline.image import engine as engine_lib

PROJECT_ROOT = config_lib.PROJECT_ROOT
NOT_IN_IMAGE = os.path.join(PROJECT_ROOT, "pipeline", "image", "not-in-image.txt")


def _names(path):
    with open(path) as handle:
        return [line.split("==")[0].strip().lower() for line in handle
                if line.strip() and not line.startswith("#")]


def _normalized(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def test_podman_runs_offline_with_runc_limits_and_mounts():
    podman = engine_lib.Engine("podman", ("podman", "--runtime", "runc"),
                               engine_lib.PODMAN_LIMITS)
    argv = podman.run_argv("img:1", ["python", "-c", "pass"], mounts=[("/a", "/a", False),
                                                                      ("/b", "/c", True)],
                           env={"K": "V"}, workdir="/w")
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


@pytest.mark.parametrize("files, expected", [
    ({"sources.list.d/debian.sources":
      "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n"
      "Components: main\n\nTypes: deb\nURIs: http://mirror.example/debian\n"
      "Suites: bookworm bookworm-updates\nComponents: main\n"},
     "http://mirror.example/debian"),
    ({"sources.list": "# comment\ndeb [arch=amd64] http://ftp.example/debian bookworm main\n"},
     "http://ftp.example/debian"),
    ({"sources.list": "deb http://x.example/debian bullseye main\n"}, build.DEBIAN_MIRROR),
])
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
            shutil.copytree(source_path, target, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source_path, target)
    shutil.copy(os.path.join(PROJECT_ROOT, "Dockerfile"), tmp_path / "Dockerfile")
    return tmp_path


def test_the_dockerfile_copies_the_lock_the_list_and_the_project_folders():
    assert set(build.copied_sources(os.path.join(PROJECT_ROOT, "Dockerfile"))) == {
        "requirements-lock.txt", "pipeline/image/not-in-image.txt", "pipeline",
        "components", "modules", "data"}


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


def test_the_packages_left_out_are_in_the_lock_and_nothing_kept_needs_them():
    lock = {_normalized(n) for n in _names(os.path.join(PROJECT_ROOT, "requirements-lock.txt"))}
    left_out = {_normalized(n) for n in _names(NOT_IN_IMAGE)}
    assert left_out <= lock, sorted(left_out - lock)
    needs = {}
    for dist in importlib.metadata.distributions():
        name = _normalized(dist.metadata["Name"])
        if name in lock - left_out:
            for requirement in dist.requires or []:
                if "extra ==" not in requirement:
                    wanted = _normalized(re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0))
                    needs.setdefault(wanted, set()).add(name)
    # Declared by what stays but never imported by a step (the image run checks it):
    # the kernel's debugger and event loop patch, IPython's completer and plot hook,
    # the widgets' front-end extensions, TensorFlow's binding generator. Anything else
    # a kept package requires must stay in the image.
    assert {p: sorted(needs[p]) for p in left_out if p in needs} == {
        "debugpy": ["ipykernel"],
        "jedi": ["ipython"],
        "jupyterlab-widgets": ["ipywidgets"],
        "libclang": ["tensorflow"],
        "matplotlib-inline": ["ipykernel", "ipython"],
        "nest-asyncio2": ["ipykernel"],
        "widgetsnbextension": ["ipywidgets"],
    }
    # What the steps import stays, ipywidgets too (TFX's Evaluator imports it).
    for kept in ("tensorflow-model-analysis", "tensorflow-data-validation", "tfx",
                 "apache-beam", "tensorflow", "ipywidgets", "ipython", "ipykernel"):
        assert kept not in left_out
