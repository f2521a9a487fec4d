"""The run report of a multi-class and of a regression model, on committed artifacts.

`tests/data/run_report/multiclass` comes from two penguins runs (the second, a
30-step candidate, not blessed against the first); `regression` from one run of a
throwaway family predicting a penguin's body mass in kilograms, with its eval examples
and pushed model (see the folder's README).
"""

import html
import json
import os

import tensorflow as tf
from tfx.types import standard_artifacts

import report_pages
from components.run_report import component
from components.run_report import executor
from components.run_report import render
from components.run_report import sections
from modules.common import tasks
from modules.penguins import contract as penguins
from modules.taxi import contract as taxi
from pipeline.results import facts as report_facts

DATA = report_pages.DATA
FACTS = report_facts.family_facts(taxi.CONTRACT)


MULTICLASS = os.path.join(DATA, "multiclass")
REGRESSION = os.path.join(DATA, "regression")
PUSHED_REGRESSION = os.path.join(REGRESSION, "pushed_model", "1796402863")
# The regression artifacts' family: a penguin's body mass in kilograms (see the README).
REGRESSION_FACTS = dict(
    FACTS, task=tasks.regression(bound=0.6, max_change=0.05).facts(), label_sources=["body_mass_kg"]
)


def _uris(folder, *roles):
    return {role: os.path.join(folder, role) for role in roles}


def test_a_multiclass_page_names_the_classes_and_has_no_reliability_diagram():
    facts = report_facts.family_facts(penguins.CONTRACT)
    page = sections.collect_page(
        "t", {"components": []}, facts, _uris(MULTICLASS, "statistics", "evaluation", "blessing")
    )
    assert page["errors"] == []
    assert page["evaluation"]["predictions"] is None
    page_html = html.unescape(render.render_page(page))
    assert "Confusion matrix: candidate (overall slice)" in page_html
    assert "Confusion matrix: baseline (overall slice)" in page_html
    for name in penguins.CLASSES:
        assert f"<th>{name}</th>" in page_html
    assert "Per class (overall slice)" in page_html
    assert "Reliability" not in page_html and "positives" not in page_html
    assert "sparse_categorical_accuracy per slice" in page_html
    assert "macro_auc" in page_html
    # Torgersen's penguins are all Adelie: every class's AUC there is undefined.
    torgersen = next(
        row for row in page["evaluation"]["slices"] if row["slice"] == "island = Torgersen"
    )
    assert torgersen["models"]["candidate"]["macro_auc"] == 0.0
    assert "an AUC of 0, which lowers that slice's average" in page_html
    assert "Judged on <code>sparse_categorical_accuracy</code> (higher is better)" in page_html


def test_a_regression_page_shows_predictions_against_actual():
    page = sections.collect_page(
        "t",
        {"components": []},
        REGRESSION_FACTS,
        _uris(REGRESSION, "statistics", "evaluation", "blessing", "examples"),
        pushed={"pushed": True, "destination": PUSHED_REGRESSION, "version": "1796402863"},
    )
    assert page["errors"] == []
    scored = page["evaluation"]["predictions"]
    assert scored["examples"] == 109 and scored["mean_baseline"]["rmse"] > scored["rmse"]
    page_html = html.unescape(render.render_page(page))
    assert "109 examples of the eval split scored with the pushed model" in page_html
    assert "Predicting the training mean" in page_html
    assert 'alt="predicted against actual on eval examples"' in page_html
    assert 'alt="residuals on eval examples"' in page_html
    assert "Reliability" not in page_html and "Confusion matrix" not in page_html
    assert "Judged on <code>root_mean_squared_error</code> (lower is better)" in page_html
    assert "RootMeanSquaredError at most 0.6 (overall slice)" in page_html
    assert "scores: the predicted value" not in page_html  # The template is the taxi one.
    for uri in report_pages.images(page_html):
        assert report_pages.decode(uri).size[0] > 100


def test_a_regression_without_a_pushed_model_shows_no_predictions():
    page = sections.collect_page(
        "t",
        {"components": []},
        REGRESSION_FACTS,
        _uris(REGRESSION, "statistics", "evaluation", "blessing", "examples"),
        pushed={"pushed": False},
    )
    assert page["errors"] == [] and page["evaluation"]["predictions"] is None


def test_a_model_that_cannot_score_the_examples_is_named_on_the_page(tmp_path):
    """A model whose `serving_default` returns two outputs is no regression's."""

    class TwoOutputs(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def serve(self, examples):
            zeros = tf.zeros([tf.shape(examples)[0]])
            return {"a": zeros, "b": zeros}

    model = TwoOutputs()
    tf.saved_model.save(model, str(tmp_path), signatures={"serving_default": model.serve})
    page = sections.collect_page(
        "t",
        {"components": []},
        REGRESSION_FACTS,
        _uris(REGRESSION, "evaluation", "examples"),
        pushed={"pushed": True, "destination": str(tmp_path), "version": "1"},
    )
    (error,) = page["errors"]
    assert error == (
        f"predictions on eval examples: {tmp_path}: the serving signature "
        "returns ['a', 'b']; a regression returns one output."
    )
    assert page["evaluation"]["slices"]
    assert "could not read predictions on eval examples" in html.unescape(render.render_page(page))


def test_executor_reads_the_task_and_scores_a_regressions_examples(tmp_path):
    spec = component.RunReport(
        family="penguin_mass",
        data_root="data/penguin_mass",
        blocking_kinds=FACTS["blocking_kinds"],
        hparam_defaults={},
        hparam_overrides={},
        train_steps=400,
        task=REGRESSION_FACTS["task"],
        label_sources=REGRESSION_FACTS["label_sources"],
        example_template=FACTS["example_template"],
    )
    assert json.loads(spec.exec_properties["task"]) == REGRESSION_FACTS["task"]
    types = {
        "examples": standard_artifacts.Examples,
        "statistics": standard_artifacts.ExampleStatistics,
        "evaluation": standard_artifacts.ModelEvaluation,
        "blessing": standard_artifacts.ModelBlessing,
    }
    inputs = {
        role: [report_pages.artifact(kind, os.path.join(REGRESSION, role))]
        for role, kind in types.items()
    }
    inputs["pushed_model"] = [
        report_pages.artifact(
            standard_artifacts.PushedModel,
            str(tmp_path / "push"),
            pushed=1,
            forced=0,
            pushed_destination=PUSHED_REGRESSION,
            pushed_version="1796402863",
        )
    ]
    output = report_pages.artifact(component.RunReportPage, str(tmp_path / "report"))
    executor.Executor().Do(inputs, {"report": [output]}, dict(spec.exec_properties))
    with open(tmp_path / "report" / executor.PAGE_FILE) as page_file:
        page_html = html.unescape(page_file.read())
    assert "109 examples of the eval split scored with the pushed model" in page_html
    assert (
        output.get_string_custom_property("outcome") == "Blessed and pushed as version 1796402863."
    )
