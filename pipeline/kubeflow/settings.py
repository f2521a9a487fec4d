"""Settings of a Kubeflow deployment: the image, where data lives, and pod sizes.

The pipeline itself is configured by `PipelineConfig`; this module holds only the
facts of the platform it runs on, and derives from them the `PipelineConfig` whose
module and schema files are paths inside the pipeline image.
"""

import dataclasses
import posixpath
import re
from typing import Mapping, Optional, Tuple

from pipeline.definition import config as config_lib
from pipeline.definition import families
from pipeline.definition import pipeline as pipeline_lib
from pipeline.local import beam_profiles

# Where the Dockerfile copies the project inside the image.
IMAGE_ROOT = "/pipeline"
# KFP v2 and Vertex AI accept only these pipeline names.
PIPELINE_NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,127}")


@dataclasses.dataclass(frozen=True)
class Resources:
    """What one component's pod asks for; None or 0 leaves a value to the platform.

    Attributes:
      cpu: vCPUs (KFP v1: request; Vertex: limit, which sizes the machine).
      memory_gb: memory in GB (KFP v1: request; Vertex: limit).
      accelerator_type: Vertex accelerator name such as "NVIDIA_TESLA_T4"; on KFP v1
        it becomes the GKE node selector `nvidia-tesla-t4`.
      accelerator_count: how many accelerators (KFP v1: a `nvidia.com/gpu` limit).
    """

    cpu: Optional[float] = None
    memory_gb: Optional[float] = None
    accelerator_type: str = ""
    accelerator_count: int = 0

    def __post_init__(self):
        if self.cpu is not None and self.cpu <= 0:
            raise ValueError(f"cpu must be positive, got {self.cpu}.")
        if self.memory_gb is not None and self.memory_gb <= 0:
            raise ValueError(f"memory_gb must be positive, got {self.memory_gb}.")
        if bool(self.accelerator_type) != (self.accelerator_count > 0):
            raise ValueError(
                "accelerator_type and a positive accelerator_count go together; got "
                f"{self.accelerator_type!r} x {self.accelerator_count}."
            )


# Transform and the Evaluator run Beam's DirectRunner over the data inside their pod;
# the Trainer holds the model and the Estimator's input pipeline; the Tuner trains one
# such model per trial, one after the other (used only when tuning is on).
DEFAULT_RESOURCES = {
    pipeline_lib.TRANSFORM: Resources(cpu=4, memory_gb=16),
    pipeline_lib.TUNER: Resources(cpu=4, memory_gb=16),
    pipeline_lib.TRAINER: Resources(cpu=4, memory_gb=16),
    pipeline_lib.EVALUATOR: Resources(cpu=4, memory_gb=16),
}

# The file KFP v1 reads a step's UI outputs from (TFX's container entrypoint appends
# its own to what the step wrote there).
UI_METADATA_PATH = "/mlpipeline-ui-metadata.json"

# DirectRunner inside each pod, one worker per vCPU of the pod.
DEFAULT_BEAM_ARGS = ("--direct_running_mode=multi_processing", "--direct_num_workers=0")
# The Beam profile of a compile when none is named: the DirectRunner in each pod.
DEFAULT_BEAM_PROFILE = "local-multiprocess"
# Where a portable runner's (Flink, Spark) Python workers run by default from pods:
# a worker pool beside each task manager (`python -m
# apache_beam.runners.worker.worker_pool_main` in the pipeline image, as a sidecar),
# since a DOCKER environment needs a Docker daemon on the cluster's nodes.
DEFAULT_ENVIRONMENT_TYPE = "EXTERNAL"


def beam_args(
    profile: str,
    image_uri: str,
    *,
    project: Optional[str] = None,
    region: Optional[str] = None,
    temp_location: Optional[str] = None,
    sdk_container_image: Optional[str] = None,
    job_endpoint: Optional[str] = None,
    environment_type: str = DEFAULT_ENVIRONMENT_TYPE,
    environment_config: Optional[str] = None,
) -> Tuple[str, ...]:
    """Returns the Beam arguments of every Beam-based component for a Beam profile.

    Each component's pod submits its own Beam job; the profile says where that job runs.

    Args:
      profile: one of `beam_profiles.PROFILES`. `local`: the DirectRunner in the
        component's pod, one process; `local-multiprocess` (the default): one worker
        per vCPU of the pod; `dataflow`: Dataflow in `project` and `region`, staging
        under `temp_location` (gs://); `flink`, `spark`: a job server at
        `job_endpoint` (`host:port` reachable from the pods: no default, since
        `localhost` in a pod is the pod).
      image_uri: the pipeline image, the default `sdk_container_image`.
      sdk_container_image: `dataflow`, and `flink`/`spark` with a DOCKER environment:
        the workers' image (default `image_uri`; it must hold Beam's SDK boot
        entrypoint, see README, "Beam profiles").
      environment_type, environment_config: `flink`/`spark`: where the Python workers
        run; EXTERNAL (default) with the `host:port` of a worker pool, DOCKER with an
        image, PROCESS with a boot command, LOOPBACK (in the pod itself) with none.

    Raises:
      beam_profiles.MissingValues: a required value is missing, naming them all.
      ValueError: an unknown profile or an invalid value.
    """
    if profile == "local":
        return ()
    if profile == "local-multiprocess":
        return DEFAULT_BEAM_ARGS
    if profile == "dataflow":
        return tuple(
            beam_profiles.beam_pipeline_args(
                profile,
                project=project,
                region=region,
                temp_location=temp_location,
                sdk_container_image=sdk_container_image or image_uri,
            )
        )
    if profile in ("flink", "spark"):
        if environment_type.upper() == "DOCKER":
            environment_config = environment_config or sdk_container_image or image_uri
        return tuple(
            beam_profiles.beam_pipeline_args(
                profile,
                job_endpoint=job_endpoint,
                environment_type=environment_type,
                environment_config=environment_config,
            )
        )
    return tuple(beam_profiles.beam_pipeline_args(profile))  # Raises, naming the profiles.


@dataclasses.dataclass(frozen=True)
class KubeflowSettings:
    """Everything a Kubeflow deployment adds to the pipeline; defaults are placeholders.

    Attributes:
      image: the pipeline image's repository, built from this project's Dockerfile.
      image_tag: its tag; pin a release, never `latest`, so a run is reproducible.
      image_root: where the project lives inside the image (the Dockerfile's WORKDIR).
      family: the model family, a folder of `modules/`.
      pipeline_name: the name on Kubeflow and Vertex; `[a-z0-9][a-z0-9-]{0,127}`;
        empty: the family's pipeline name.
      pipeline_root: storage every pod can read and write: gs:// as the image is, or
        a volume mounted at the same path in every pod (s3:// needs tensorflow-io,
        which the lock does not have). Empty: a placeholder bucket path.
      data_root: folder of CSV files with the family's columns, readable by the pods.
        Empty: a placeholder bucket path.
      serving_model_dir: where blessed models are pushed, one version folder each.
        Empty: a placeholder bucket path.
      beam_pipeline_args: arguments of the Beam-based components (`beam_args` makes
        them from a Beam profile); unless they name one, the image itself is added as
        `--sdk_container_image`, which also keeps TFX from packaging itself at every
        start.
      resources: component id -> the pod size it asks for.
    """

    image: str = "gcr.io/my-project/keras-estimator-pipeline"
    image_tag: str = "0.1.0"
    image_root: str = IMAGE_ROOT
    family: str = families.DEFAULT_FAMILY
    pipeline_name: str = ""
    pipeline_root: str = ""
    data_root: str = ""
    serving_model_dir: str = ""
    beam_pipeline_args: Tuple[str, ...] = DEFAULT_BEAM_ARGS
    resources: Mapping[str, Resources] = dataclasses.field(
        default_factory=lambda: dict(DEFAULT_RESOURCES)
    )

    def __post_init__(self):
        # Unset names and places follow the family (placeholders for the buckets).
        name = self.pipeline_name or families.load(self.family).contract.pipeline_name
        defaults = {
            "pipeline_name": name,
            "pipeline_root": f"gs://my-bucket/tfx/{name}",
            "data_root": f"gs://my-bucket/data/{self.family}",
            "serving_model_dir": f"gs://my-bucket/serving/{name}",
        }
        for field, default in defaults.items():
            if not getattr(self, field):
                object.__setattr__(self, field, default)
        if not PIPELINE_NAME_PATTERN.fullmatch(self.pipeline_name):
            raise ValueError(
                f"pipeline_name {self.pipeline_name!r} is not accepted by KFP v2 and "
                "Vertex AI: use lower-case letters, digits and '-', starting with a "
                "letter or digit, at most 128 characters."
            )
        if not posixpath.isabs(self.image_root):
            raise ValueError(f"image_root must be an absolute path, got {self.image_root!r}.")
        if not self.image or not self.image_tag:
            raise ValueError("image and image_tag must both be set.")

    @property
    def image_uri(self) -> str:
        """The full image reference every step runs in."""
        return f"{self.image}:{self.image_tag}"

    def image_path(self, *parts: str) -> str:
        """Returns the path of a project file inside the image."""
        return posixpath.join(self.image_root, *parts)


def pipeline_config(settings: KubeflowSettings, **overrides) -> config_lib.PipelineConfig:
    """Returns the pipeline's settings for Kubeflow: image paths, deployment storage.

    Args:
      settings: the deployment.
      **overrides: any other `PipelineConfig` field (train_steps, blessing_bound, ...).
    """
    beam_pipeline_args = tuple(settings.beam_pipeline_args)
    if not any(arg.startswith("--sdk_container_image=") for arg in beam_pipeline_args):
        beam_pipeline_args += (f"--sdk_container_image={settings.image_uri}",)
    values = dict(
        pipeline_name=settings.pipeline_name,
        beam_pipeline_args=beam_pipeline_args,
        report_ui_metadata_path=UI_METADATA_PATH,
    )
    values.update(overrides)
    return config_lib.family_config(
        settings.family,
        pipeline_root=settings.pipeline_root,
        data_root=settings.data_root,
        serving_model_dir=settings.serving_model_dir,
        files_root=settings.image_root,
        **values,
    )
