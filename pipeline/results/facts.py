"""What the run report needs to know of a model family, as plain values.

`create_pipeline` hands these facts to the RunReport step, and a local run's report
reads them too; they come from the family's contract alone.
"""

import os
from typing import Optional

from components.data_gate.report import DEFAULT_BLOCKING_KINDS
from modules.common import tasks
from modules.common.contract import FamilyContract
from modules.common.paths import PROJECT_ROOT
from modules.common.paths import family_data_dir

# Scores one raw row with a pushed model through `pipeline/serving/client.py`, run from the
# project's root (hence the schema's path relative to it).
SCORING_EXAMPLE = """from pipeline.serving import client as serving

schema = serving.load_schema("{schema_file}")
row = {{row}}
example = serving.example_from_row(row, serving.feature_types(schema))
print(serving.predict({{model_dir}}, [example]))  # {what}
"""

# What `predict` returns, by task.
_PREDICTION_TEXT = {
    tasks.BINARY: "scores: the probability of class 1",
    tasks.MULTICLASS: "scores: one per class, named in classes",
    tasks.REGRESSION: "scores: the predicted value",
}


def scoring_example_template(schema_file: str, task: tasks.Task) -> str:
    """The report's scoring example, with `{model_dir}` and `{row}` left to fill."""
    return SCORING_EXAMPLE.format(schema_file=schema_file, what=_PREDICTION_TEXT[task.kind])


def family_facts(
    contract: FamilyContract,
    hparam_overrides: Optional[dict] = None,
    train_steps: Optional[int] = None,
    blocking_kinds=None,
) -> dict:
    """The model family's facts the report needs (see `sections.collect_page`)."""
    schema_file = os.path.relpath(family_data_dir(contract.name, "schema.pbtxt"), PROJECT_ROOT)
    return {
        "blocking_kinds": list(
            blocking_kinds if blocking_kinds is not None else DEFAULT_BLOCKING_KINDS
        ),
        "hparam_defaults": contract.hparam_defaults,
        "hparam_overrides": dict(hparam_overrides or {}),
        "train_steps": train_steps,
        "task": contract.task.facts(),
        "label_sources": list(contract.label_source_columns),
        "example_template": scoring_example_template(schema_file, contract.task),
    }
