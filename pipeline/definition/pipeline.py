"""The pipeline definition: one `create_pipeline`, shared by every runner."""

from typing import Dict, Optional

from ml_metadata.proto import metadata_store_pb2

# Direct imports, not `tfx.v1`: that one also loads the Kubeflow and Google Cloud
# extensions, 7 s of every run's start-up here.
from tfx.components import Evaluator
from tfx.components import ExampleValidator
from tfx.components import Pusher
from tfx.components import SchemaGen
from tfx.components import Trainer
from tfx.components import Transform
from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import base_beam_component
from tfx.dsl.components.base import base_node
from tfx.dsl.components.base import executor_spec
from tfx.dsl.components.common.resolver import Resolver
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import (
    LatestBlessedModelStrategy,
)
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.proto import trainer_pb2
from tfx.types import Channel
from tfx.types import standard_artifacts

from components import checked_csv_example_gen
from components import csv_check
from components import curated_schema as curated_schema_lib
from components import evaluation
from components import example_gen
from components import latest_artifact
from components import missing_values
from components import pusher
from components import statistics
from components import tuner as tuner_lib
from components import versioned_pusher
from components.data_gate.component import DataGate
from components.run_report.component import RunReport
from modules.common import entry
from modules.common import tasks
from modules.common.epochs import TRAIN_EPOCHS_KEY
from pipeline.definition import trainers
from pipeline.definition.config import PipelineConfig
from pipeline.results.facts import family_facts

# Node ids: they name the components in ML Metadata and on a Kubeflow graph.
EXAMPLE_GEN = "CsvExampleGen"
STATISTICS_GEN = "StatisticsGen"
SCHEMA_GEN = "SchemaGen"
SCHEMA_IMPORTER = "CuratedSchema"
EXAMPLE_VALIDATOR = "ExampleValidator"
DATA_GATE = "DataGate"
TRANSFORM = "Transform"
TUNER = "Tuner"
HYPERPARAMETERS_RESOLVER = "LatestTunedHyperparametersResolver"
TRAINER = "Trainer"
BASELINE_RESOLVER = "LatestBlessedModelResolver"
EVALUATOR = "Evaluator"
PUSHER = "Pusher"
RUN_REPORT = "RunReport"
# Every node a pipeline can have: with `config.tune` it has the Tuner, without it the
# resolver of earlier tuned hyperparameters.
NODE_IDS = (
    EXAMPLE_GEN,
    STATISTICS_GEN,
    SCHEMA_GEN,
    SCHEMA_IMPORTER,
    EXAMPLE_VALIDATOR,
    DATA_GATE,
    TRANSFORM,
    TUNER,
    HYPERPARAMETERS_RESOLVER,
    TRAINER,
    BASELINE_RESOLVER,
    EVALUATOR,
    PUSHER,
    RUN_REPORT,
)


def label_rule(contract) -> Optional[csv_check.LabelRule]:
    """What the CSV checks require of the label cells: a known class, or a number.

    None for a binary family, whose label Transform computes (from one column or more)
    and whose schema bounds the values.
    """
    task = contract.task
    if task.kind == tasks.BINARY:
        return None
    return csv_check.LabelRule(
        column=contract.label_column,
        classes=task.classes,
        numeric=task.kind == tasks.REGRESSION,
        drop_empty=task.drop_empty_label,
    )


def _data_steps(config: PipelineConfig) -> Dict[str, base_node.BaseNode]:
    """ExampleGen, statistics, the inferred and the curated schema, validation, the gate."""
    contract = config.contract
    # CsvExampleGen's executor, behind CSV checks that name file, line and column,
    # reading only the data files of the folder.
    example_gen_component = FileBasedExampleGen(
        input_base=config.data_root,
        output_config=example_gen.split_config(config.split_buckets),
        custom_config=checked_csv_example_gen.custom_config(
            contract.raw_columns,
            contract.numeric_columns,
            label_rule(contract),
            missing_values.MissingValues.of_contract(contract),
        ),
        custom_executor_spec=executor_spec.BeamExecutorSpec(checked_csv_example_gen.Executor),
    ).with_id(EXAMPLE_GEN)

    # Every example counted (no sampling), in batches of 10,000 (components/statistics.py).
    statistics_gen = statistics.statistics_gen(example_gen_component.outputs["examples"]).with_id(
        STATISTICS_GEN
    )

    # The schema inferred from this data: what to compare with when curating.
    schema_gen = SchemaGen(
        statistics=statistics_gen.outputs["statistics"], infer_feature_shape=False
    ).with_id(SCHEMA_GEN)

    # The curated schema the model is built for: new data is validated against it,
    # not against itself. The digest of its contents is part of the cache key.
    curated_schema = curated_schema_lib.CuratedSchema(
        schema_file=config.schema_file,
        digest=config.schema_digest,
    ).with_id(SCHEMA_IMPORTER)
    schema = curated_schema.outputs["schema"]

    example_validator = ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema
    ).with_id(EXAMPLE_VALIDATOR)

    # Transform, and so everything after it, waits for the gate, which fails the run
    # on anomalies of the kinds that matter.
    data_gate = DataGate(
        anomalies=example_validator.outputs["anomalies"],
        blocking_kinds=config.blocking_anomalies,
        data_root=config.data_root,
    ).with_id(DATA_GATE)

    return {
        c.id: c
        for c in (
            example_gen_component,
            statistics_gen,
            schema_gen,
            curated_schema,
            example_validator,
            data_gate,
        )
    }


def _training_steps(config: PipelineConfig, examples, schema) -> Dict[str, base_node.BaseNode]:
    """Transform, then the Tuner (or the resolver of earlier tuned values), the Trainer."""
    # The family's functions by dotted path: imported where the components run,
    # never packaged into wheels (a wheel build at start-up and a pip install in every
    # execution). `modules_version` keeps the cache honest about their code.
    transform = Transform(
        examples=examples,
        schema=schema,
        preprocessing_fn=config.preprocessing_fn,
        custom_config={"modules_version": config.modules_version},
        # Statistics of the transformed data cost two TFDV passes (5 s a run here).
        disable_statistics=True,
        # Nothing reads the analyzer cache; writing it costs 5 s a run here.
        disable_analyzer_cache=True,
        # The TF1 graph path analyzes this data set about 20% faster than tracing
        # `preprocessing_fn` as a tf.function (on the sample: 18 s against 21 s).
        force_tf_compat_v1=True,
    ).with_id(TRANSFORM)

    if config.tune:
        tuner = tuner_lib.Tuner(
            tuner_fn=config.tuner_fn,
            examples=transform.outputs["transformed_examples"],
            transform_graph=transform.outputs["transform_graph"],
            schema=schema,
            train_args=trainer_pb2.TrainArgs(num_steps=config.trial_steps),
            eval_args=trainer_pb2.EvalArgs(num_steps=config.eval_steps),
            custom_config={
                "tuning": {
                    "algorithm": config.tuning_algorithm,
                    "trials": config.tuning_trials,
                    "seed": config.tuning_seed,
                    "trainer": config.trainer,
                },
                "hparams": dict(config.hparams),
                "modules_version": config.modules_version,
                entry.FAMILY_KEY: config.contract.name,
            },
        ).with_id(TUNER)
        tuned = tuner.outputs["best_hyperparameters"]
    else:
        # The latest hyperparameters an earlier run of this pipeline (so of this
        # family: the query is scoped to the pipeline's context) tuned, if any.
        tuner = Resolver(
            strategy_class=latest_artifact.LatestArtifactIfAnyStrategy,
            hyperparameters=Channel(type=standard_artifacts.HyperParameters),
        ).with_id(HYPERPARAMETERS_RESOLVER)
        tuned = tuner.outputs["hyperparameters"]

    # The Estimator's `trainer_fn`, or TFX's GenericExecutor and the shared `run_fn`.
    trainer = Trainer(
        **trainers.module_entry(config.trainer, config.trainer_fn),
        custom_executor_spec=executor_spec.ExecutorClassSpec(
            trainers.executor_class(config.trainer)
        ),
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema,
        hyperparameters=tuned,
        # By epochs: no step count (fn_args.train_steps None), the epochs end the input.
        train_args=trainer_pb2.TrainArgs(
            num_steps=0 if config.train_epochs else config.train_steps
        ),
        eval_args=trainer_pb2.EvalArgs(num_steps=config.eval_steps),
        custom_config={
            "hparams": dict(config.hparams),
            "modules_version": config.modules_version,
            entry.FAMILY_KEY: config.contract.name,
            **({TRAIN_EPOCHS_KEY: config.train_epochs} if config.train_epochs else {}),
        },
    ).with_id(TRAINER)

    return {c.id: c for c in (transform, tuner, trainer)}


def _evaluated_output(config: PipelineConfig) -> str:
    """The model output TFMA reads: the Keras output, or a Keras export's `scores`."""
    multiclass = config.task.kind == tasks.MULTICLASS
    if multiclass and trainers.evaluates_serving_model(config.trainer):
        return tasks.SCORES_OUTPUT
    return config.contract.prediction_key


def _release_steps(config: PipelineConfig, examples, model) -> Dict[str, base_node.BaseNode]:
    """The latest blessed model, the Evaluator that judges the candidate, the Pusher."""
    contract = config.contract
    baseline_resolver = Resolver(
        strategy_class=LatestBlessedModelStrategy,
        model=Channel(type=standard_artifacts.Model),
        model_blessing=Channel(type=standard_artifacts.ModelBlessing),
    ).with_id(BASELINE_RESOLVER)

    evaluator = Evaluator(
        examples=examples,
        model=model,
        baseline_model=baseline_resolver.outputs["model"],
        eval_config=evaluation.eval_config(
            metrics_specs=config.task.metrics_specs(),
            slice_columns=contract.slice_columns,
            prediction_key=_evaluated_output(config),
            serving_label_key=(
                contract.label_key if trainers.evaluates_serving_model(config.trainer) else ""
            ),
        ),
    ).with_id(EVALUATOR)

    pusher_component = Pusher(
        model=model,
        model_blessing=evaluator.outputs["blessing"],
        push_destination=pusher.push_destination(config.serving_model_dir),
        custom_executor_spec=executor_spec.ExecutorClassSpec(versioned_pusher.Executor),
        custom_config={versioned_pusher.FORCE_PUSH: config.force_push},
    ).with_id(PUSHER)

    return {c.id: c for c in (baseline_resolver, evaluator, pusher_component)}


def _report_step(config: PipelineConfig, steps: Dict[str, base_node.BaseNode]) -> RunReport:
    """The run's report from every other step's outputs."""
    contract = config.contract
    # The run's report as an artifact: what a Kubeflow run shows. (A local run renders
    # its page from ML Metadata after the run instead, however it ended.)
    # By epochs the Trainer gets no step count: the page shows the epochs it recorded.
    asked_steps = 0 if config.train_epochs else config.train_steps
    facts = family_facts(contract, config.hparams, asked_steps, config.blocking_anomalies)
    # The hyperparameters the Trainer took, and this run's trials when it tuned.
    if config.tune:
        tuned = steps[TUNER].outputs["best_hyperparameters"]
        tuner_results = steps[TUNER].outputs["tuner_results"]
    else:
        tuned, tuner_results = steps[HYPERPARAMETERS_RESOLVER].outputs["hyperparameters"], None
    return RunReport(
        family=contract.name,
        data_root=config.data_root,
        blocking_kinds=facts["blocking_kinds"],
        hparam_defaults=facts["hparam_defaults"],
        hparam_overrides=facts["hparam_overrides"],
        train_steps=asked_steps,
        task=facts["task"],
        label_sources=facts["label_sources"],
        example_template=facts["example_template"],
        ui_metadata_path=config.report_ui_metadata_path,
        examples=steps[EXAMPLE_GEN].outputs["examples"],
        statistics=steps[STATISTICS_GEN].outputs["statistics"],
        anomalies=steps[EXAMPLE_VALIDATOR].outputs["anomalies"],
        model_run=steps[TRAINER].outputs["model_run"],
        hyperparameters=tuned,
        tuner_results=tuner_results,
        evaluation=steps[EVALUATOR].outputs["evaluation"],
        blessing=steps[EVALUATOR].outputs["blessing"],
        pushed_model=steps[PUSHER].outputs["pushed_model"],
    ).with_id(RUN_REPORT)


def create_pipeline(
    config: PipelineConfig,
    metadata_connection_config: Optional[metadata_store_pb2.ConnectionConfig] = None,
) -> tfx_pipeline.Pipeline:
    """Returns the TFX pipeline from raw CSV to a pushed, blessed model.

    With `config.tune`, the Tuner searches the family's hyperparameters between
    Transform and the Trainer, which trains with the best; without it, the Trainer
    takes the latest ones an earlier run of the same pipeline tuned, if any. Building
    it reads no file and runs no TensorFlow: it takes the facts in `config`.

    Args:
      config: every setting of the pipeline.
      metadata_connection_config: the ML Metadata store of a local run; orchestrators
        that bring their own store (Kubeflow) leave it out.
    """
    steps = _data_steps(config)
    examples = steps[EXAMPLE_GEN].outputs["examples"]
    schema = steps[SCHEMA_IMPORTER].outputs["schema"]
    steps.update(_training_steps(config, examples, schema))
    # Transform, and so everything after it, waits for the gate.
    steps[TRANSFORM].add_upstream_node(steps[DATA_GATE])
    steps.update(_release_steps(config, examples, steps[TRAINER].outputs["model"]))
    if config.report_step:
        steps[RUN_REPORT] = _report_step(config, steps)
    components = list(steps.values())
    for component_id, args in config.component_beam_args.items():
        if not isinstance(steps.get(component_id), base_beam_component.BaseBeamComponent):
            raise ValueError(
                f"component_beam_args names {component_id!r}, which is not "
                "a Beam-based component of this pipeline."
            )
        steps[component_id].with_beam_pipeline_args(list(args))

    return tfx_pipeline.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=config.pipeline_root,
        components=components,
        enable_cache=config.enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=list(config.beam_pipeline_args),
    )
