"""RunReport's executor: reads the inputs' folders, writes `index.html`."""

import datetime
import json
import os

from absl import logging
from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from components.run_report import render
from components.run_report import sections
from components.run_report.readers import tuning

PAGE_FILE = "index.html"


def pushed_facts(pushed_model) -> dict:
    """Returns {"pushed", "destination", "version", "forced"} of a PushedModel artifact."""
    return {
        "pushed": bool(pushed_model.get_int_custom_property("pushed")),
        "destination": pushed_model.get_string_custom_property("pushed_destination") or None,
        "version": pushed_model.get_string_custom_property("pushed_version") or None,
        "forced": bool(pushed_model.get_int_custom_property("forced")),
    }


# Where the Trainer's tuned values came from, as the hyperparameters table says it.
TUNED_IN_THIS_RUN = "tuned in this run"
TUNED_EARLIER = "tuned in an earlier run"


def tuning_facts(hyperparameters_uri, tuner_results_uri) -> dict:
    """The tuned values the Trainer took and, tuned in this run, the trials.

    Args:
      hyperparameters_uri: the Trainer's `HyperParameters` input (None: defaults).
      tuner_results_uri: this run's Tuner's results (None: no Tuner ran in this run).
    """
    if not hyperparameters_uri:
        return {"hparam_tuned": {}, "trials": None}
    return {
        "hparam_tuned": tuning.tuned_values(hyperparameters_uri),
        "tuned_source": TUNED_IN_THIS_RUN if tuner_results_uri else TUNED_EARLIER,
        "trials": tuning.read_trials(tuner_results_uri) if tuner_results_uri else None,
    }


def ui_metadata(html: str) -> dict:
    """KFP v1's UI metadata showing `html` as the step's web-app output."""
    return {"version": 1, "outputs": [{"type": "web-app", "storage": "inline", "source": html}]}


class Executor(base_executor.BaseExecutor):
    """Gathers the sections from the input artifacts and renders the page."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        def uri(key):
            artifacts = input_dict.get(key) or []
            return artifact_utils.get_single_uri(artifacts) if artifacts else None

        hparams = json.loads(exec_properties["hparams"])
        facts = {
            "blocking_kinds": json.loads(exec_properties["blocking_kinds"]),
            "hparam_defaults": hparams["defaults"],
            "hparam_overrides": hparams["overrides"],
            "train_steps": exec_properties["train_steps"],
            "task": json.loads(exec_properties["task"]),
            "label_sources": json.loads(exec_properties["label_sources"]),
            "example_template": exec_properties["example_template"],
            **tuning_facts(uri("hyperparameters"), uri("tuner_results")),
        }
        pushed = input_dict.get("pushed_model")
        page = sections.collect_page(
            title=f"Run report: {exec_properties['family']}",
            run={
                "family": exec_properties["family"],
                "data_root": exec_properties["data_root"],
                "components": [],
            },
            facts=facts,
            uris={
                key: uri(key)
                for key in (
                    "examples",
                    "statistics",
                    "anomalies",
                    "model_run",
                    "evaluation",
                    "blessing",
                )
            },
            pushed=pushed_facts(pushed[0]) if pushed else None,
            generated=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        )
        html = render.render_page(page)
        output = artifact_utils.get_single_instance(output_dict["report"])
        fileio.makedirs(output.uri)
        with fileio.open(os.path.join(output.uri, PAGE_FILE), "w") as page_file:
            page_file.write(html)
        output.set_string_custom_property("outcome", page["run"]["outcome"])
        ui_path = exec_properties.get("ui_metadata_path")
        if ui_path:
            with open(ui_path, "w") as ui_file:
                json.dump(ui_metadata(html), ui_file)
        logging.info("Run report written to %s", os.path.join(output.uri, PAGE_FILE))
