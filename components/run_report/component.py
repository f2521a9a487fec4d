"""RunReport's spec and component: a run's artifacts in, one HTML page out."""

import json
from typing import Iterable, Mapping, Optional, Sequence

from tfx.dsl.components.base import base_component
from tfx.dsl.components.base import executor_spec
from tfx.types import artifact
from tfx.types import channel
from tfx.types import component_spec
from tfx.types import standard_artifacts

from components.run_report import executor


class RunReportPage(artifact.Artifact):
    """The run's report: `index.html` in the artifact's folder, self-contained."""

    # KFP v2 takes a custom artifact type only as `<module>.<Class>`, and its steps
    # import the class back by that name (see `components/__init__.py`).
    TYPE_NAME = "components.RunReportPage"


def _optional(artifact_type):
    return component_spec.ChannelParameter(type=artifact_type, optional=True)


class RunReportSpec(component_spec.ComponentSpec):
    """Every input is optional: a section is shown when its artifact is there."""

    PARAMETERS = {
        "family": component_spec.ExecutionParameter(type=str),
        "data_root": component_spec.ExecutionParameter(type=str),
        # JSON lists and objects: the model family's facts.
        "blocking_kinds": component_spec.ExecutionParameter(type=str),
        "hparams": component_spec.ExecutionParameter(type=str),
        # The model's task (`Task.facts()`): kind, classes, blessing, metric names.
        "task": component_spec.ExecutionParameter(type=str),
        "label_sources": component_spec.ExecutionParameter(type=str),
        "train_steps": component_spec.ExecutionParameter(type=int),
        "example_template": component_spec.ExecutionParameter(type=str),
        # KFP v1 shows a step's `/mlpipeline-ui-metadata.json`; empty writes none.
        "ui_metadata_path": component_spec.ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {
        # ExampleGen's examples: a regression's eval examples are scored for the page.
        "examples": _optional(standard_artifacts.Examples),
        "statistics": _optional(standard_artifacts.ExampleStatistics),
        "anomalies": _optional(standard_artifacts.ExampleAnomalies),
        "model_run": _optional(standard_artifacts.ModelRun),
        # The hyperparameters the Trainer took: this run's Tuner's best, or an earlier
        # run's (the resolver's); with this run's Tuner, its trials too.
        "hyperparameters": _optional(standard_artifacts.HyperParameters),
        "tuner_results": _optional(standard_artifacts.TunerResults),
        "evaluation": _optional(standard_artifacts.ModelEvaluation),
        "blessing": _optional(standard_artifacts.ModelBlessing),
        "pushed_model": _optional(standard_artifacts.PushedModel),
    }
    OUTPUTS = {
        "report": component_spec.ChannelParameter(type=RunReportPage),
    }


class RunReport(base_component.BaseComponent):
    """Renders the run's report from its artifacts; the last step of a pipeline."""

    SPEC_CLASS = RunReportSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self,
        *,
        family: str,
        data_root: str,
        blocking_kinds: Iterable[str],
        hparam_defaults: Mapping[str, object],
        hparam_overrides: Mapping[str, object],
        train_steps: int,
        task: Mapping[str, object],
        label_sources: Sequence[str],
        example_template: str,
        ui_metadata_path: str = "",
        examples: Optional[channel.BaseChannel] = None,
        statistics: Optional[channel.BaseChannel] = None,
        anomalies: Optional[channel.BaseChannel] = None,
        model_run: Optional[channel.BaseChannel] = None,
        hyperparameters: Optional[channel.BaseChannel] = None,
        tuner_results: Optional[channel.BaseChannel] = None,
        evaluation: Optional[channel.BaseChannel] = None,
        blessing: Optional[channel.BaseChannel] = None,
        pushed_model: Optional[channel.BaseChannel] = None,
    ):
        """Builds the report step.

        Args:
          family: the model family's name, shown on the page.
          data_root: the data the run read.
          blocking_kinds: TFDV anomaly kinds that stop a run (the gate's setting).
          hparam_defaults: the family's default hyperparameters.
          hparam_overrides: what the pipeline sets on top of them.
          train_steps: the training steps asked for.
          task: the model's task as plain values (`Task.facts()`: "kind",
            "classes", "blessing", "metric_names"): what the evaluation shows.
          label_sources: raw columns the label is made from (left out of the
            scoring example).
          example_template: Python code scoring one raw row, with `{model_dir}` and
            `{row}` placeholders.
          ui_metadata_path: where to write KFP v1's UI metadata (a `web-app` output
            holding the page); empty for none.
          examples, statistics, anomalies, model_run, hyperparameters, tuner_results,
            evaluation, blessing, pushed_model: the run's artifacts, each optional.
        """
        super().__init__(
            spec=RunReportSpec(
                family=family,
                data_root=data_root,
                blocking_kinds=json.dumps(sorted(blocking_kinds)),
                hparams=json.dumps(
                    {"defaults": dict(hparam_defaults), "overrides": dict(hparam_overrides)},
                    sort_keys=True,
                ),
                task=json.dumps(dict(task), sort_keys=True),
                label_sources=json.dumps(list(label_sources)),
                train_steps=train_steps,
                example_template=example_template,
                ui_metadata_path=ui_metadata_path,
                examples=examples,
                statistics=statistics,
                anomalies=anomalies,
                model_run=model_run,
                hyperparameters=hyperparameters,
                tuner_results=tuner_results,
                evaluation=evaluation,
                blessing=blessing,
                pushed_model=pushed_model,
                report=channel.Channel(type=RunReportPage),
            )
        )
