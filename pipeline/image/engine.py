"""The container engine of this machine: Docker where its engine runs, else podman.

podman runs here as root with the `runc` runtime and explicit resource limits: the
default limits are refused (`setrlimit RLIMIT_NOFILE: Operation not permitted`).
"""

import dataclasses
import json
import os
import shutil
import subprocess
from typing import Mapping, Optional, Sequence, Tuple

# What building and running the image needs from Debian, by the command it provides.
APT_PACKAGES = {
    "podman": "podman",
    "buildah": "buildah",
    "runc": "runc",
    "debootstrap": "debootstrap",
}
PODMAN_LIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")
# The host's CA bundle, mounted into builds and containers that reach PyPI.
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


class EngineError(RuntimeError):
    """Building or running a container failed, or no engine can run one."""


@dataclasses.dataclass(frozen=True)
class Engine:
    """A container engine's command line.

    Attributes:
      name: "docker" or "podman".
      command: the engine's command and global flags.
      limits: flags every `build` and `run` needs on this machine.
    """

    name: str
    command: Tuple[str, ...]
    limits: Tuple[str, ...] = ()

    def argv(self, *args: str) -> list:
        """Returns the engine's command line for a subcommand and its arguments."""
        return [*self.command, *args]

    def run_argv(
        self,
        image: str,
        argv: Sequence[str],
        *,
        mounts: Sequence[Tuple[str, str, bool]] = (),
        env: Optional[Mapping[str, str]] = None,
        workdir: Optional[str] = None,
        network: Optional[str] = "none",
        name: Optional[str] = None,
        hostname: Optional[str] = None,
        ip: Optional[str] = None,
        hosts: Optional[Mapping[str, str]] = None,
    ) -> list:
        """Returns `<engine> run --rm ...` running `argv` in `image`.

        Args:
          image: the image reference.
          argv: the command inside the container.
          mounts: (host path, container path, read-only) bind mounts.
          env: environment variables set in the container.
          workdir: the working folder inside the container (default: the image's).
          network: the network to join; "none" keeps the container offline.
          name: the container's name (other containers on a network reach it by it).
          hostname: the container's host name.
          ip: the container's address on `network`.
          hosts: host name -> address entries for the container's /etc/hosts (podman's
            CNI networks here have no DNS between containers).
        """
        args = ["run", "--rm", *self.limits]
        if network:
            args += ["--network", network]
        if name:
            args += ["--name", name]
        if hostname:
            args += ["--hostname", hostname]
        if ip:
            args += ["--ip", ip]
        for host, address in (hosts or {}).items():
            args += ["--add-host", f"{host}:{address}"]
        for source, target, read_only in mounts:
            args += ["--volume", f"{source}:{target}" + (":ro" if read_only else "")]
        for key, value in (env or {}).items():
            args += ["--env", f"{key}={value}"]
        if workdir:
            args += ["--workdir", workdir]
        return self.argv(*args, image, *argv)

    def image_id(self, image: str) -> Optional[str]:
        """Returns the local image's id, or None when the engine does not have it."""
        result = subprocess.run(
            self.argv("image", "inspect", "--format", "{{.Id}}", image),
            capture_output=True,
            text=True,
        )
        return result.stdout.strip() if result.returncode == 0 else None

    def image_label(self, image: str, label: str) -> Optional[str]:
        """Returns one label of a local image, or None."""
        result = subprocess.run(
            self.argv("image", "inspect", "--format", "{{json .Config.Labels}}", image),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            return None
        return (json.loads(result.stdout or "null") or {}).get(label)

    def image_size(self, image: str) -> int:
        """Returns the local image's size in bytes."""
        result = subprocess.run(
            self.argv("image", "inspect", "--format", "{{.Size}}", image),
            capture_output=True,
            text=True,
            check=True,
        )
        return int(result.stdout.strip())


def _succeeds(argv: Sequence[str], timeout: float = 30) -> bool:
    try:
        return (
            subprocess.run(
                argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def find_engine() -> Optional[Engine]:
    """Returns Docker if its engine answers, else podman if it works, else None."""
    if shutil.which("docker") and _succeeds(["docker", "info"]):
        return Engine("docker", ("docker",))
    if shutil.which("podman") and shutil.which("runc"):
        podman = Engine("podman", ("podman", "--runtime", "runc"), PODMAN_LIMITS)
        if _succeeds(podman.argv("info")):
            return podman
    return None


def why_no_engine() -> str:
    """Says why `find_engine` found nothing, for a skip message or an error."""
    if shutil.which("docker"):
        docker = "the docker command is there but no Docker engine answers `docker info`"
    else:
        docker = "no docker command"
    if not shutil.which("podman"):
        podman = "no podman command"
    elif not shutil.which("runc"):
        podman = "podman without the runc runtime"
    else:
        podman = "`podman --runtime runc info` fails"
    return (
        f"no container engine can run a container here: {docker}; {podman}. "
        "Install podman with `make image-tools` "
        "(python3 -m pipeline.image.build --install-tools)."
    )


def missing_tools() -> list:
    """Returns the Debian packages whose commands are not on this machine."""

    def found(command):
        return shutil.which(command) or os.path.exists(f"/usr/sbin/{command}")

    return sorted(package for command, package in APT_PACKAGES.items() if not found(command))


def install_tools(log=print) -> None:
    """Installs podman, buildah, runc and debootstrap with apt when any is missing.

    Does nothing (and says nothing) where Docker's engine runs or all are installed.

    Raises:
      EngineError: apt is unavailable, or the install failed (with apt's output).
    """
    if shutil.which("docker") and _succeeds(["docker", "info"]):
        return
    packages = missing_tools()
    if not packages:
        return
    if not shutil.which("apt-get"):
        raise EngineError(
            f"{', '.join(packages)} missing and no apt-get to install them; "
            "install podman, buildah, runc and debootstrap by hand."
        )
    if os.geteuid() != 0:
        raise EngineError(
            f"{', '.join(packages)} missing; installing them needs root "
            f"(sudo apt-get install {' '.join(packages)})."
        )
    log(f"installing {', '.join(packages)} with apt")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for argv in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
    ):
        result = subprocess.run(argv, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise EngineError(
                f"`{' '.join(argv)}` failed with exit code {result.returncode}:\n"
                f"{(result.stdout + result.stderr)[-3000:]}"
            )
