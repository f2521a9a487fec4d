"""Named Beam profiles: the `beam_pipeline_args` for each place the pipeline can run.

| profile | runner | for |
|---|---|---|
| `local` | DirectRunner, in process | the sample and small data (Beam's default; no arguments) |
| `local-multiprocess` | DirectRunner, `multi_processing`, N workers | one large file, one machine |
| `dataflow` | DataflowRunner | Google Cloud; needs `project`, `region`, `temp_location` |
| `flink` | PortableRunner against a Flink job server | a Flink cluster; `job_endpoint` |
| `spark` | PortableRunner against a Spark job server | a Spark cluster; `job_endpoint` |

TFX and the installed packages: with any Beam argument set, each Beam-based TFX
executor (ExampleGen, StatisticsGen, Transform, Evaluator) copies the installed `tfx`
package and builds an sdist of it at start-up
(`tfx.utils.dependency_utils.make_beam_dependency_flags`) so that remote workers can
import TFX, unless one of `--extra_packages`, `--setup_file`, `--requirements_file`,
`--sdk_container_image` or `--worker_harness_container_image` is set. The DirectRunner
never reads any of them (its workers are this interpreter), so `local` sets no argument
and `local-multiprocess` names the project's lock file as `--requirements_file`; the
remote profiles skip the sdist when given `sdk_container_image`, an image holding this
project's stack. The Kubeflow compile reaches every profile
(`pipeline/kubeflow/settings.py`, `beam_args`); the local runner only the local ones.
See README, "Beam profiles".
"""

import os
from typing import List, Optional

from pipeline.definition import config as config_lib

PROFILES = ("local", "local-multiprocess", "dataflow", "flink", "spark")
# The profiles that need no value beyond their name: what the local runner offers.
LOCAL_PROFILES = ("local", "local-multiprocess")
# Environments a portable runner (Flink, Spark) can start its Python workers in.
ENVIRONMENT_TYPES = ("DOCKER", "PROCESS", "EXTERNAL", "LOOPBACK")
DEFAULT_JOB_ENDPOINT = "localhost:8099"  # where Beam's Flink and Spark job servers listen
# The pinned stack; declaring it stops TFX from packaging itself for local workers.
REQUIREMENTS_FILE = os.path.join(config_lib.PROJECT_ROOT, "requirements-lock.txt")


class MissingValues(ValueError):
    """A profile's required values are missing; `names` lists them (keyword names of
    `beam_pipeline_args`), so that a command line can name its own flags."""

    def __init__(self, profile: str, names: List[str]):
        super().__init__(
            f"Beam profile {profile!r} needs {', '.join(names)}; pass "
            f"{', '.join(f'{name}=...' for name in names)} to beam_pipeline_args()."
        )
        self.profile = profile
        self.names = names


def _require(profile: str, **values) -> None:
    """Raises MissingValues naming every required value of `profile` that is missing."""
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise MissingValues(profile, missing)


def local_args() -> List[str]:
    """In-process DirectRunner: Beam's default, so no argument (and no TFX sdist)."""
    return []


def local_multiprocess_args(num_workers: Optional[int] = None) -> List[str]:
    """DirectRunner with `num_workers` worker processes (default: this machine's cores).

    `--requirements_file` is read by no part of the DirectRunner; it only tells each
    TFX executor that dependencies are declared, which saves an sdist build of TFX.
    """
    workers = num_workers if num_workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise ValueError(
            f"Beam profile 'local-multiprocess' needs num_workers >= 1, got {workers}."
        )
    return [
        "--runner=DirectRunner",
        "--direct_running_mode=multi_processing",
        f"--direct_num_workers={workers}",
        f"--requirements_file={REQUIREMENTS_FILE}",
    ]


def dataflow_args(
    project: Optional[str],
    region: Optional[str],
    temp_location: Optional[str],
    sdk_container_image: Optional[str] = None,
    max_num_workers: Optional[int] = None,
    service_account_email: Optional[str] = None,
) -> List[str]:
    """DataflowRunner in `project` and `region`, staging under `temp_location` (gs://)."""
    _require("dataflow", project=project, region=region, temp_location=temp_location)
    if not temp_location.startswith("gs://"):
        raise ValueError(
            f"Beam profile 'dataflow' needs a gs:// temp_location, got {temp_location!r}."
        )
    args = [
        "--runner=DataflowRunner",
        f"--project={project}",
        f"--region={region}",
        f"--temp_location={temp_location}",
    ]
    if sdk_container_image:
        args.append(f"--sdk_container_image={sdk_container_image}")
    if max_num_workers:
        args.append(f"--max_num_workers={max_num_workers}")
    if service_account_email:
        args.append(f"--service_account_email={service_account_email}")
    return args


def portable_args(
    profile: str,
    job_endpoint: Optional[str],
    environment_type: str,
    environment_config: Optional[str],
    parallelism: Optional[int] = None,
) -> List[str]:
    """PortableRunner against a Flink or Spark job server at `job_endpoint`.

    `environment_type` says where the Python SDK workers run: `DOCKER` (the default;
    `environment_config` is an image holding this project's stack, also passed as
    `--sdk_container_image` so TFX builds no sdist), `PROCESS` (`environment_config`
    is the JSON `{"command": ...}` of a worker boot binary on every node), `EXTERNAL`
    (`environment_config` is the `host:port` of a running worker pool) or `LOOPBACK`
    (workers in this process: a job server on this machine, for trying things out).
    """
    environment_type = environment_type.upper()
    if environment_type not in ENVIRONMENT_TYPES:
        raise ValueError(
            f"Beam profile {profile!r}: environment_type must be one of "
            f"{', '.join(ENVIRONMENT_TYPES)}, got {environment_type!r}."
        )
    if environment_type == "LOOPBACK":
        _require(profile, job_endpoint=job_endpoint)
    else:
        _require(profile, job_endpoint=job_endpoint, environment_config=environment_config)
    args = [
        "--runner=PortableRunner",
        f"--job_endpoint={job_endpoint}",
        f"--environment_type={environment_type}",
    ]
    if environment_type != "LOOPBACK":
        args.append(f"--environment_config={environment_config}")
    if environment_type == "DOCKER":
        args.append(f"--sdk_container_image={environment_config}")
    if parallelism:
        args.append(f"--parallelism={parallelism}")
    return args


def beam_pipeline_args(
    profile: str,
    *,
    num_workers: Optional[int] = None,
    project: Optional[str] = None,
    region: Optional[str] = None,
    temp_location: Optional[str] = None,
    sdk_container_image: Optional[str] = None,
    max_num_workers: Optional[int] = None,
    service_account_email: Optional[str] = None,
    job_endpoint: Optional[str] = DEFAULT_JOB_ENDPOINT,
    environment_type: str = "DOCKER",
    environment_config: Optional[str] = None,
    parallelism: Optional[int] = None,
) -> List[str]:
    """Returns the Beam pipeline arguments of the named profile.

    Args:
      profile: one of `PROFILES`.
      num_workers: `local-multiprocess` worker processes; default `os.cpu_count()`.
      project, region, temp_location: `dataflow`, all required; `temp_location` is a
        gs:// folder for staging and temporary files.
      sdk_container_image: `dataflow`, optional: a worker image with this project's
        stack (else TFX stages an sdist of itself); `flink`/`spark` with `DOCKER`:
        the default for `environment_config`.
      max_num_workers, service_account_email: `dataflow`, optional.
      job_endpoint: `flink`/`spark`: the job server's `host:port`; default
        `localhost:8099`, where Beam's job servers listen.
      environment_type: `flink`/`spark`: `DOCKER` (default), `PROCESS`, `EXTERNAL`
        or `LOOPBACK`.
      environment_config: `flink`/`spark`: the image, boot command or worker-pool
        address the environment type needs (not used by `LOOPBACK`).
      parallelism: `flink`/`spark`, optional: the job's parallelism.

    Raises:
      MissingValues: a required value is missing (a ValueError naming them all).
      ValueError: for an unknown profile or an invalid value, naming it.
    """
    if profile == "local":
        return local_args()
    if profile == "local-multiprocess":
        return local_multiprocess_args(num_workers)
    if profile == "dataflow":
        return dataflow_args(
            project,
            region,
            temp_location,
            sdk_container_image,
            max_num_workers,
            service_account_email,
        )
    if profile in ("flink", "spark"):
        return portable_args(
            profile,
            job_endpoint,
            environment_type,
            environment_config or sdk_container_image,
            parallelism,
        )
    raise ValueError(f"Unknown Beam profile {profile!r}; choose one of {', '.join(PROFILES)}.")
