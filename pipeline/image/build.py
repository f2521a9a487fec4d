"""Builds the pipeline image from the project's Dockerfile.

With Docker where a Docker engine runs, else with podman (the `runc` runtime, explicit
limits, the host's CA bundle mounted so that pip reaches PyPI). The base image is the
Dockerfile's `BASE_IMAGE` argument, `python:3.11-slim-bookworm` by default; when the
engine cannot pull it, a stand-in of the same name is made from Debian 12's own
packages with debootstrap, and the build says so.

An image is labelled with a digest of what it was built from (the Dockerfile, every
file it copies, the base image's id); `ensure_image` builds only when that changed.

Building installs nothing on this machine: `--install-tools` (`make image-tools`) alone
installs podman, buildah, runc and debootstrap with apt, and then stops.

Usage: python3 -m pipeline.image.build [--image REF] [--base IMAGE] [--force] [--log FILE]
       python3 -m pipeline.image.build --install-tools
Exit codes: 0 built or up to date, 1 the build failed, 2 no engine or bad arguments.
"""

import argparse
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from modules.common.paths import PROJECT_ROOT
from pipeline.image import engine as engine_lib

DEFAULT_BASE = "python:3.11-slim-bookworm"
DEFAULT_IMAGE = "localhost/keras-estimator-pipeline:local"
CONTEXT_LABEL = "keras-estimator-pipeline.context-digest"
# What the stand-in base holds: the interpreter, venv, headers to compile crcmod and
# pyfarmhash, and CA certificates for pip. python3.11-venv depends on the virtual
# package python3.11-distutils, which debootstrap cannot resolve: name its provider.
BASE_PACKAGES = (
    "python3.11",
    "python3.11-dev",
    "python3.11-venv",
    "python3-distutils",
    "ca-certificates",
)
DEBIAN_MIRROR = "http://deb.debian.org/debian"


def _say(message: str) -> None:
    print(f"[image] {message}", flush=True)


def _run_logged(argv, log_path: str, what: str) -> None:
    """Runs `argv` with its output appended to `log_path`; raises EngineError on failure."""
    with open(log_path, "a") as log:
        log.write(f"$ {' '.join(argv)}\n")
        log.flush()
        status = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT).returncode
    if status != 0:
        with open(log_path) as log:
            tail = log.read()[-3000:]
        raise engine_lib.EngineError(f"{what} failed (exit code {status}); log {log_path}:\n{tail}")


def debian_mirror(sources_dir: str = "/etc/apt") -> str:
    """Returns the Debian mirror of this machine's apt sources (deb.debian.org if none)."""
    files = [os.path.join(sources_dir, "sources.list")]
    files += sorted(glob.glob(os.path.join(sources_dir, "sources.list.d", "*")))
    for path in files:
        if not os.path.isfile(path):
            continue
        with open(path) as sources:
            text = sources.read()
        # One-line format: deb [options] URI bookworm components
        for match in re.finditer(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s", text, re.M):
            return match.group(1)
        # deb822 format: a stanza with `Suites: bookworm ...`
        for stanza in re.split(r"\n\s*\n", text):
            suites = re.search(r"^Suites:\s*(.*)$", stanza, re.M)
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            if suites and uris and "bookworm" in suites.group(1).split():
                return uris.group(1)
    return DEBIAN_MIRROR


def make_stand_in_base(engine: engine_lib.Engine, tag: str, log_path: str) -> None:
    """Makes a Debian 12 root with CPython 3.11 and imports it into the engine as `tag`.

    Raises:
      EngineError: debootstrap is missing, or a step failed (with its log).
    """
    if not (shutil.which("debootstrap") or os.path.exists("/usr/sbin/debootstrap")):
        raise engine_lib.EngineError(
            "debootstrap is needed to make the stand-in base image; "
            "run `python3 -m pipeline.image.build --install-tools`."
        )
    mirror = debian_mirror()
    root = tempfile.mkdtemp(prefix="pipeline-image-base-", dir="/var/tmp")
    try:
        _run_logged(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(BASE_PACKAGES)}",
                "bookworm",
                root,
                mirror,
            ],
            log_path,
            "debootstrap",
        )
        os.symlink("python3.11", os.path.join(root, "usr", "bin", "python"))
        for leftovers in ("var/cache/apt/archives/*.deb", "var/lib/apt/lists/*_Packages"):
            for path in glob.glob(os.path.join(root, leftovers)):
                os.remove(path)
        with open(log_path, "a") as log:
            tar = subprocess.Popen(
                ["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE, stderr=log
            )
            status = subprocess.run(
                engine.argv("import", "-", tag),
                stdin=tar.stdout,
                stdout=log,
                stderr=subprocess.STDOUT,
            ).returncode
            tar.stdout.close()
            if tar.wait() != 0 or status != 0:
                raise engine_lib.EngineError(f"importing the stand-in base failed; log {log_path}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def ensure_base(engine: engine_lib.Engine, base: str, log_path: str, say=_say) -> str:
    """Makes `base` available locally: present, pulled, or (the default base only) made.

    Returns:
      The base image's id.
    Raises:
      EngineError: a base other than the default could not be pulled.
    """
    present = engine.image_id(base)
    if present:
        return present
    pulled = subprocess.run(engine.argv("pull", "-q", base), capture_output=True, text=True)
    if pulled.returncode == 0:
        return engine.image_id(base)
    if base != DEFAULT_BASE:
        raise engine_lib.EngineError(
            f"the base image {base} cannot be pulled: {pulled.stderr.strip()[-500:]}"
        )
    say(
        f"{base} cannot be pulled here; making a local stand-in from Debian 12 "
        f"packages with debootstrap ({debian_mirror()}), about a minute"
    )
    started = time.monotonic()
    make_stand_in_base(engine, base, log_path)
    say(f"stand-in {base} made in {time.monotonic() - started:.0f} s")
    return engine.image_id(base)


def copied_sources(dockerfile: str) -> list:
    """Returns the project paths the Dockerfile copies (COPY without --from)."""
    with open(dockerfile) as handle:
        text = re.sub(r"\\\n\s*", " ", handle.read())
    sources = []
    for line in re.findall(r"^COPY\s+(?!--from)(.*)$", text, re.M):
        words = [w for w in line.split() if not w.startswith("--")]
        sources += [w.rstrip("/") for w in words[:-1]]
    return sources


def context_digest(project_root: str, base_id: str) -> str:
    """Returns a digest of the Dockerfile, every file it copies, and the base image id."""
    dockerfile = os.path.join(project_root, "Dockerfile")
    digest = hashlib.sha256(base_id.encode())
    paths = [dockerfile]
    for source in copied_sources(dockerfile):
        full = os.path.join(project_root, source)
        if os.path.isdir(full):
            for folder, dirs, files in os.walk(full):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                paths += [os.path.join(folder, f) for f in sorted(files) if not f.endswith(".pyc")]
        else:
            paths.append(full)
    for path in paths:
        digest.update(os.path.relpath(path, project_root).encode() + b"\0")
        with open(path, "rb") as handle:
            digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


def build(
    engine: engine_lib.Engine, image: str, base: str, project_root: str, digest: str, log_path: str
) -> None:
    """Builds the Dockerfile into `image` with the engine (layer cache on).

    Raises:
      EngineError: the build failed (with the log's tail).
    """
    args = [
        "build",
        "--tag",
        image,
        "--build-arg",
        f"BASE_IMAGE={base}",
        "--label",
        f"{CONTEXT_LABEL}={digest}",
        "--file",
        os.path.join(project_root, "Dockerfile"),
    ]
    if engine.name == "podman":
        args += list(engine.limits)
        if os.path.isfile(engine_lib.CA_BUNDLE):
            # A build ARG, not --env: podman would keep an --env in the image.
            args += [
                "--volume",
                f"{engine_lib.CA_BUNDLE}:{engine_lib.CA_BUNDLE}:ro",
                "--build-arg",
                f"PIP_CERT={engine_lib.CA_BUNDLE}",
            ]
    _run_logged(engine.argv(*args, project_root), log_path, f"building {image}")


def ensure_image(
    image: str = DEFAULT_IMAGE,
    base: str = DEFAULT_BASE,
    project_root: str = PROJECT_ROOT,
    force: bool = False,
    log_path: str = "",
    say=_say,
) -> engine_lib.Engine:
    """Builds `image` unless it is up to date with the project; returns the engine.

    `say` receives one line per step taken (base made, image built or up to date).

    Raises:
      EngineError: no engine can run a container, or a step failed.
    """
    engine = engine_lib.find_engine()
    if engine is None:
        raise engine_lib.EngineError(engine_lib.why_no_engine())
    log_path = log_path or os.path.join(project_root, "build", "image", "build.log")
    os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
    with open(log_path, "w"):
        pass
    base_id = ensure_base(engine, base, log_path, say)
    digest = context_digest(project_root, base_id)
    if not force and engine.image_label(image, CONTEXT_LABEL) == digest:
        say(f"{image} is up to date with the project ({engine.name})")
        return engine
    say(f"building {image} from {base} with {engine.name}; log {log_path}")
    started = time.monotonic()
    build(engine, image, base, project_root, digest, log_path)
    size_gb = engine.image_size(image) / 1e9
    say(f"built {image} in {time.monotonic() - started:.0f} s: {size_gb:.2f} GB")
    return engine


def main(argv=None) -> int:
    """Parses the command line; installs the tools and/or builds the image."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default=DEFAULT_IMAGE, help="the image reference to build")
    parser.add_argument("--base", default=DEFAULT_BASE, help="the BASE_IMAGE build argument")
    parser.add_argument(
        "--install-tools",
        action="store_true",
        help="install podman, buildah, runc, debootstrap with apt if missing, "
        "and stop (nothing else installs them)",
    )
    parser.add_argument("--force", action="store_true", help="build even if up to date")
    parser.add_argument("--log", default="", help="build log (default build/image/build.log)")
    args = parser.parse_args(argv)
    try:
        if args.install_tools:
            engine_lib.install_tools(log=_say)
            return 0
        ensure_image(args.image, args.base, force=args.force, log_path=args.log)
    except engine_lib.EngineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2 if engine_lib.find_engine() is None else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
