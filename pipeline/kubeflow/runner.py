"""Compiles the pipeline for Kubeflow Pipelines (v1, Argo) and KFP v2 / Vertex AI.

Nothing here talks to a cluster: both outputs are files to upload.

Module files are not packaged (`create_pipeline` never packages them): the image
carries the project at `KubeflowSettings.image_root`, the compiled spec names the
module files by their paths there, and the image's PYTHONPATH makes `modules` and
`components` importable.

The Beam-based components run where `--beam-profile` says (pipeline/kubeflow/settings.py,
`beam_args`): the DirectRunner in each pod (`local`, `local-multiprocess`, the default),
Dataflow (`dataflow`: --beam-project, --beam-region, --beam-temp-location), or a Flink or
Spark job server (`flink`, `spark`: --beam-job-endpoint, --beam-environment-config).

Usage: python -m pipeline.kubeflow.runner [--model FAMILY] [--output-dir DIR] [--image I]
  [--tag T] [--pipeline-root URI] [--data-root URI] [--serving-dir URI] [--train-steps N]
  [--tune] [--beam-profile P] [--beam-project ID] [--beam-region R]
  [--beam-temp-location gs://...] [--beam-sdk-image IMAGE] [--beam-job-endpoint HOST:PORT]
  [--beam-environment-type T] [--beam-environment-config C]
"""

import argparse
import os
import sys

from kfp.pipeline_spec import pipeline_spec_pb2
from tfx.dsl.components.common.resolver import RESOLVER_STRATEGY_CLASS
from tfx.dsl.components.common.resolver import Resolver
from tfx.dsl.input_resolution.strategies import latest_artifact_strategy
from tfx.orchestration.kubeflow import kubeflow_dag_runner
from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner
from tfx.utils import import_utils

from components import latest_artifact
from pipeline.definition import config as config_lib
from pipeline.definition import families
from pipeline.definition import pipeline as pipeline_lib
from pipeline.definition import trainers
from pipeline.definition.pipeline import create_pipeline
from pipeline.kubeflow import settings as kubeflow_settings
from pipeline.local import beam_profiles

V1_FILENAME = "pipeline.yaml"
V2_FILENAME = "pipeline.json"
_ResourceSpec = pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec


def build_pipeline(config: config_lib.PipelineConfig, settings: kubeflow_settings.KubeflowSettings):
    """Returns `create_pipeline(config)` with module files left as image paths.

    Raises:
      ValueError: when `settings.resources` names a component the pipeline lacks.
    """
    tfx_pipeline = create_pipeline(config)
    # Resources of a component this pipeline leaves out (the Tuner when tuning is
    # off) are unused, not wrong.
    unknown = set(settings.resources) - set(pipeline_lib.NODE_IDS)
    if unknown:
        raise ValueError(
            f"resources name components the pipeline does not have: {sorted(unknown)}; "
            f"its components are {sorted(pipeline_lib.NODE_IDS)}."
        )
    return tfx_pipeline


def _v1_resources_op(resources):
    """Returns a KFP v1 operator function sizing each step by its component id."""

    def apply(container_op):
        # `name` is the sanitized Kubernetes name; `human_name` is the component id.
        wanted = resources.get(container_op.human_name)
        if wanted is None:
            return
        if wanted.cpu:
            container_op.container.set_cpu_request(f"{wanted.cpu:g}")
        if wanted.memory_gb:
            container_op.container.set_memory_request(f"{wanted.memory_gb:g}G")
        if wanted.accelerator_count:
            container_op.container.set_gpu_limit(str(wanted.accelerator_count))
            container_op.add_node_selector_constraint(
                "cloud.google.com/gke-accelerator",
                wanted.accelerator_type.lower().replace("_", "-"),
            )

    return apply


def compile_v1(
    config: config_lib.PipelineConfig, settings: kubeflow_settings.KubeflowSettings, output_dir: str
) -> str:
    """Compiles the KFP v1 Argo workflow; returns the written file's path."""
    runner_config = kubeflow_dag_runner.KubeflowDagRunnerConfig(
        kubeflow_metadata_config=kubeflow_dag_runner.get_default_kubeflow_metadata_config(),
        tfx_image=settings.image_uri,
        pipeline_operator_funcs=(
            kubeflow_dag_runner.get_default_pipeline_operator_funcs()
            + [_v1_resources_op(settings.resources)]
        ),
    )
    os.makedirs(output_dir, exist_ok=True)
    kubeflow_dag_runner.KubeflowDagRunner(
        config=runner_config, output_dir=output_dir, output_filename=V1_FILENAME
    ).run(build_pipeline(config, settings))
    return os.path.join(output_dir, V1_FILENAME)


def _v2_resource_spec(wanted: kubeflow_settings.Resources) -> _ResourceSpec:
    spec = _ResourceSpec()
    if wanted.cpu:
        spec.cpu_limit = wanted.cpu
    if wanted.memory_gb:
        spec.memory_limit = wanted.memory_gb
    if wanted.accelerator_count:
        spec.accelerator.type = wanted.accelerator_type
        spec.accelerator.count = wanted.accelerator_count
    return spec


def check_v2_artifact_types(tfx_pipeline) -> None:
    """Checks that KFP v2 can name, and a step re-import, each custom artifact type.

    KFP v2 records a custom type's TYPE_NAME as its schema title, which must read
    `<module>.<Class>`, and the step's container imports the class back by that path.

    Raises:
      ValueError: naming each type whose TYPE_NAME is not its own import path.
    """
    problems = set()
    for component in tfx_pipeline.components:
        for channel in list(component.outputs.values()) + list(component.inputs.values()):
            artifact_class = channel.type
            if artifact_class.__module__.startswith("tfx."):
                continue
            try:
                imported = import_utils.import_class_by_path(artifact_class.TYPE_NAME)
            except (ImportError, AttributeError, ValueError):
                imported = None
            if imported is not artifact_class:
                problems.add(
                    f"{artifact_class.__module__}.{artifact_class.__name__} "
                    f"(TYPE_NAME {artifact_class.TYPE_NAME!r})"
                )
    if problems:
        raise ValueError(
            "KFP v2 needs each custom artifact type's TYPE_NAME to be '<module>.<Class>', "
            "importable in the image by that path (for instance "
            "'components.DataValidationReport', exported by components/__init__.py); "
            f"not so for: {', '.join(sorted(problems))}."
        )


def use_v2_resolver_strategies(tfx_pipeline) -> None:
    """Gives each resolver a strategy KFP v2 compiles into its metadata query.

    KFP v2 knows only TFX's `LatestArtifactStrategy` and `LatestBlessedModelStrategy`,
    by class; there the query itself resolves, to nothing when no artifact exists, so
    `LatestArtifactIfAnyStrategy` becomes TFX's own strategy.
    """
    for component in tfx_pipeline.components:
        if not isinstance(component, Resolver):
            continue
        strategy = component.exec_properties.get(RESOLVER_STRATEGY_CLASS)
        if strategy is latest_artifact.LatestArtifactIfAnyStrategy:
            # Resolver offers no setter; its exec properties are read from this field.
            component._strategy_class = (  # pylint: disable=protected-access
                latest_artifact_strategy.LatestArtifactStrategy
            )


def compile_v2(
    config: config_lib.PipelineConfig, settings: kubeflow_settings.KubeflowSettings, output_dir: str
) -> str:
    """Compiles the KFP v2 / Vertex AI PipelineJob JSON; returns the written file's path."""
    tfx_pipeline = build_pipeline(config, settings)
    check_v2_artifact_types(tfx_pipeline)
    use_v2_resolver_strategies(tfx_pipeline)
    for component in tfx_pipeline.components:
        if component.id in settings.resources:
            component.with_platform_config(_v2_resource_spec(settings.resources[component.id]))
    runner_config = kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(
        default_image=settings.image_uri
    )
    kubeflow_v2_dag_runner.KubeflowV2DagRunner(
        config=runner_config, output_dir=output_dir, output_filename=V2_FILENAME
    ).run(tfx_pipeline)
    return os.path.join(output_dir, V2_FILENAME)


def compile_all(
    settings: kubeflow_settings.KubeflowSettings, output_dir: str, **overrides
) -> tuple:
    """Compiles both targets from one `PipelineConfig`; returns (v1 path, v2 path).

    Args:
      settings: the deployment.
      output_dir: folder receiving `pipeline.yaml` and `pipeline.json`.
      **overrides: `PipelineConfig` fields to change (train_steps, blessing_bound, ...).
    """
    config = kubeflow_settings.pipeline_config(settings, **overrides)
    return compile_v1(config, settings, output_dir), compile_v2(config, settings, output_dir)


# A Beam value's command-line flag, make variable, and the profiles that read it.
BEAM_VALUES = {
    "project": ("--beam-project", "BEAM_PROJECT", ("dataflow",)),
    "region": ("--beam-region", "BEAM_REGION", ("dataflow",)),
    "temp_location": ("--beam-temp-location", "BEAM_TEMP_LOCATION", ("dataflow",)),
    "sdk_container_image": ("--beam-sdk-image", "BEAM_SDK_IMAGE", ("dataflow", "flink", "spark")),
    "job_endpoint": ("--beam-job-endpoint", "BEAM_JOB_ENDPOINT", ("flink", "spark")),
    "environment_type": ("--beam-environment-type", "BEAM_ENVIRONMENT_TYPE", ("flink", "spark")),
    "environment_config": (
        "--beam-environment-config",
        "BEAM_ENVIRONMENT_CONFIG",
        ("flink", "spark"),
    ),
}


def beam_args_from_flags(profile: str, image_uri: str, values: dict) -> tuple:
    """Returns `settings.beam_args` for the command line's Beam values (None: not given).

    Raises:
      ValueError: a value the profile does not read, or a missing one, by its flag and
        make variable.
    """
    unused = [
        BEAM_VALUES[name][0]
        for name, value in values.items()
        if value is not None and profile not in BEAM_VALUES[name][2]
    ]
    if unused:
        raise ValueError(f"Beam profile {profile!r} does not read {', '.join(unused)}.")
    given = {name: value for name, value in values.items() if value is not None}
    try:
        return kubeflow_settings.beam_args(profile, image_uri, **given)
    except beam_profiles.MissingValues as missing:
        flags = ", ".join(BEAM_VALUES[name][0] for name in missing.names)
        make = " ".join(f"{BEAM_VALUES[name][1]}=..." for name in missing.names)
        raise ValueError(
            f"Beam profile {profile!r} needs {', '.join(missing.names)}: "
            f"pass {flags} (make kfp BEAM_PROFILE={profile} {make}); "
            'see README, "Beam profiles".'
        ) from None


def main(argv=None) -> int:
    """Parses the command line and writes both compiled pipelines."""
    defaults = kubeflow_settings.KubeflowSettings
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        default=families.DEFAULT_FAMILY,
        help=f"model family ({', '.join(families.available())})",
    )
    parser.add_argument(
        "--output-dir", default=os.path.join(config_lib.PROJECT_ROOT, "build", "kfp")
    )
    parser.add_argument("--image", default=defaults.image)
    parser.add_argument("--tag", default=defaults.image_tag)
    parser.add_argument("--pipeline-root", default="", help="default: a placeholder bucket")
    parser.add_argument("--data-root", default="", help="default: a placeholder bucket")
    parser.add_argument("--serving-dir", default="", help="default: a placeholder bucket")
    parser.add_argument(
        "--train-steps", type=int, default=None, help="training steps (default: the family's)"
    )
    parser.add_argument(
        "--tune", action="store_true", help="compile with the Tuner before the Trainer"
    )
    parser.add_argument(
        "--trainer",
        default=trainers.DEFAULT_TRAINER,
        choices=trainers.TRAINERS,
        help="estimator (trainer_fn) or keras (TFX's generic Trainer, run_fn; the "
        "pipeline <name>-keras)",
    )
    parser.add_argument(
        "--beam-profile",
        default=kubeflow_settings.DEFAULT_BEAM_PROFILE,
        choices=beam_profiles.PROFILES,
        help="where the Beam-based components run (README, Beam profiles)",
    )
    for name, (flag, _, profiles) in BEAM_VALUES.items():
        parser.add_argument(
            flag, dest=name, default=None, help=f"Beam {name} ({', '.join(profiles)})"
        )
    args = parser.parse_args(argv)
    try:
        image_uri = f"{args.image}:{args.tag}"
        beam_values = {name: getattr(args, name) for name in BEAM_VALUES}
        settings = kubeflow_settings.KubeflowSettings(
            family=args.model,
            pipeline_name=trainers.suffixed(
                families.load(args.model).contract.pipeline_name, args.trainer
            ),
            image=args.image,
            image_tag=args.tag,
            pipeline_root=args.pipeline_root,
            data_root=args.data_root,
            serving_model_dir=args.serving_dir,
            beam_pipeline_args=beam_args_from_flags(args.beam_profile, image_uri, beam_values),
        )
        overrides = {} if args.train_steps is None else {"train_steps": args.train_steps}
        if args.tune:
            overrides["tune"] = True
        overrides["trainer"] = args.trainer
        output_dir = os.path.join(args.output_dir, trainers.suffixed(args.model, args.trainer))
        paths = compile_all(settings, output_dir, **overrides)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in paths:
        print(f"[kfp] wrote {path}")
    print(f"[kfp] image {settings.image_uri}; pipeline root {settings.pipeline_root}")
    print(
        f"[kfp] Beam profile {args.beam_profile}: "
        f"{' '.join(settings.beam_pipeline_args) or '(no arguments)'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
