"""The run report's readers, one per source, on small committed artifacts.

`tests/data/run_report/` holds outputs of real runs (see its README): a binary
classifier's on data/taxi/sample, a multi-class one's (penguins) and a regression's
(a penguin's body mass), each with the statistics of data that has empty cells.
"""

import csv
import math
import os

import pytest
import tensorflow as tf

import report_pages
from components import evaluation as evaluation_config
from components.run_report.readers import ReportInputError
from components.run_report.readers import evaluation
from components.run_report.readers import events
from components.run_report.readers import predictions
from components.run_report.readers import signatures
from components.run_report.readers import statistics
from modules.common import tasks
from modules.penguins import contract as penguins
from modules.taxi import contract as taxi
from pipeline.definition import families

DATA = report_pages.DATA
MULTICLASS = os.path.join(DATA, "multiclass")
REGRESSION = os.path.join(DATA, "regression")
# The regression artifacts' family: a penguin's body mass in kilograms.
REGRESSION_LABEL = "body_mass_kg"
REGRESSION_TASK = tasks.regression(bound=0.6, max_change=0.05)
PUSHED_REGRESSION = os.path.join(REGRESSION, "pushed_model", "1796402863")


def _empty_cells(csv_path):
    with open(csv_path, newline="") as csv_file:
        rows = list(csv.DictReader(csv_file))
    return len(rows), {column: sum(not row[column].strip() for row in rows) for column in rows[0]}


def _overall(section, model="candidate"):
    return section["slices"][0]["models"][model]


# --- statistics ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statistics_dir, family",
    [
        (os.path.join(DATA, "statistics"), "taxi"),
        (os.path.join(MULTICLASS, "statistics"), "penguins"),
    ],
)
def test_missing_counts_are_the_empty_cells_of_the_csv(statistics_dir, family):
    """TFDV counts an empty cell (an empty list) as present; the report does not."""
    rows, empty = _empty_cells(os.path.join(families.load(family).sample_dir, "data.csv"))
    data = statistics.data_section(statistics_dir)
    assert sum(data["splits"].values()) == rows
    for feature in data["features"]:
        splits = feature["splits"].values()
        assert sum(s["missing"] for s in splits) == empty[feature["name"]], feature["name"]
        assert all(
            s["count"] + s["missing"] == n
            for s, n in zip(splits, data["splits"].values(), strict=True)
        )
    assert any(empty.values())  # The data has empty cells to count.


def test_statistics_alone_would_say_nothing_is_missing():
    """What TFDV records: `num_missing` 0 where a third of `company` is empty."""
    train = statistics.load_statistics(os.path.join(DATA, "statistics"))["train"]
    company = next(f for f in train.features if f.path.step[0] == "company")
    common = company.string_stats.common_stats
    assert common.num_missing == 0 and common.num_non_missing == train.num_examples
    assert statistics.examples_with_a_value(common) == common.tot_num_values < 1000


def test_numeric_histogram_counts_the_values_present():
    data = statistics.data_section(os.path.join(MULTICLASS, "statistics"))
    mass = statistics.column(data, "body_mass_g")["train"]
    assert mass["kind"] == "numeric" and mass["missing"] == 1
    assert sum(bucket[2] for bucket in mass["histogram"]) == pytest.approx(mass["count"])
    assert statistics.column(data, "no such column") is None


def test_a_folder_without_statistics_is_named(tmp_path):
    with pytest.raises(ReportInputError, match=r"no Split-\*/FeatureStats\.pb"):
        statistics.data_section(str(tmp_path))


# --- events -------------------------------------------------------------------------------


def test_scalars_come_through_tensorboards_event_accumulator():
    files = events.find_event_files(os.path.join(DATA, "model_run"))
    assert [len(files["train"]), len(files["eval"])] == [1, 1]
    train = events.read_scalars(files["train"])
    assert list(train) == ["loss"]  # `loss_1` renamed; `global_step/sec` left out.
    evaluation_ = events.read_scalars(files["eval"])
    assert sorted(evaluation_) == ["accuracy", "auc", "loss"]  # No `checkpoint_path`.
    ((step, auc),) = evaluation_["auc"]
    assert step == 201 and 0.5 < auc <= 1.0


def test_tf2_scalar_tensors_are_read_and_text_is_not(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        for step, value in ((1, 0.5), (2, 0.25)):
            tf.summary.scalar("loss_1", value, step=step)
        tf.summary.text("note", "not a number", step=1)
    writer.close()
    (path,) = events.find_event_files(str(tmp_path))["train"]
    assert events.read_scalars([path]) == {"loss": [[1, 0.5], [2, 0.25]]}


# --- evaluation: one reader, three tasks ----------------------------------------------------


@pytest.fixture(scope="module")
def binary():
    return evaluation.evaluation_section(
        os.path.join(DATA, "evaluation"), os.path.join(DATA, "blessing"), taxi.CONTRACT.task.facts()
    )


@pytest.fixture(scope="module")
def multiclass():
    return evaluation.evaluation_section(
        os.path.join(MULTICLASS, "evaluation"),
        os.path.join(MULTICLASS, "blessing"),
        penguins.CONTRACT.task.facts(),
    )


@pytest.fixture(scope="module")
def regression():
    return evaluation.evaluation_section(
        os.path.join(REGRESSION, "evaluation"),
        os.path.join(REGRESSION, "blessing"),
        REGRESSION_TASK.facts(),
    )


def test_the_reader_names_the_kinds_as_the_tasks_do():
    assert (evaluation.BINARY, evaluation.MULTICLASS, evaluation.REGRESSION) == tasks.KINDS


def test_each_task_shows_its_own_metrics(binary, multiclass, regression):
    for section, task in (
        (binary, taxi.CONTRACT.task),
        (multiclass, penguins.CONTRACT.task),
        (regression, REGRESSION_TASK),
    ):
        assert section["metric_names"] == list(task.metric_names)
        assert section["blessing"] == task.blessing.as_dict()
        assert set(_overall(section)) == set(task.metric_names)


def test_binary_has_calibration_and_no_classes(binary):
    assert set(binary["calibration"]) == {"candidate", "baseline"}
    assert binary["class_metrics"] == {} and binary["confusion"] == {}
    assert _overall(binary)["auc"] == pytest.approx(0.5422, abs=1e-4)


def test_multiclass_accuracy_and_macro_auc_by_the_tasks_names(multiclass):
    overall = _overall(multiclass)
    assert overall["sparse_categorical_accuracy"] == pytest.approx(129 / 140)
    assert 0.5 < overall[tasks.MACRO_AUC] <= 1.0
    assert overall["example_count"] == 140
    assert multiclass["calibration"] == {}
    # Per-class values stay out of the slice table.
    assert all(
        "precision" not in values
        for row in multiclass["slices"]
        for values in row["models"].values()
    )


def test_per_class_precision_and_recall_carry_the_class_names(multiclass):
    rows = multiclass["class_metrics"]["candidate"]
    assert [row["class"] for row in rows] == list(penguins.CLASSES)
    for row in rows:
        assert 0.0 <= row["precision"] <= 1.0 and 0.0 <= row["recall"] <= 1.0
    assert set(multiclass["class_metrics"]) == {"candidate", "baseline"}


def test_the_confusion_matrix_agrees_with_accuracy_and_count(multiclass):
    for model in ("candidate", "baseline"):
        matrix = multiclass["confusion"][model]
        assert matrix["classes"] == list(penguins.CLASSES)
        counts = matrix["counts"]
        total = sum(map(sum, counts))
        overall = _overall(multiclass, model)
        assert total == overall["example_count"]
        right = sum(counts[i][i] for i in range(len(counts)))
        assert right / total == pytest.approx(overall["sparse_categorical_accuracy"])


def test_regression_rmse_and_mae(regression):
    overall = _overall(regression)
    assert 0 < overall["mean_absolute_error"] <= overall["root_mean_squared_error"] < 0.6
    assert regression["calibration"] == {} and regression["confusion"] == {}


@pytest.mark.parametrize(
    "section, lines",
    [
        (
            "binary",
            [
                "AUC at least 0.5 (overall slice)",
                "AUC no more than 0.01 below the baseline's (overall slice; checked once a "
                "baseline exists)",
            ],
        ),
        (
            "multiclass",
            [
                "SparseCategoricalAccuracy at least 0.9 (overall slice)",
                "SparseCategoricalAccuracy no more than 0.03 below the baseline's "
                "(overall slice; checked once a baseline exists)",
            ],
        ),
        ("regression", ["RootMeanSquaredError at most 0.6 (overall slice)"]),
    ],
)
def test_thresholds_follow_the_direction_of_the_blessing(request, section, lines):
    assert request.getfixturevalue(section)["thresholds"] == lines


def test_a_macro_average_threshold_says_so():
    import tensorflow_model_analysis as tfma

    task = tasks.multiclass(penguins.CLASSES, bound=0.8, max_change=0.1, metric=tasks.MACRO_AUC)
    config = evaluation_config.eval_config(task.metrics_specs(), [], "scores")
    assert isinstance(config, tfma.EvalConfig)
    assert evaluation.thresholds(config)[0] == "AUC (macro average) at least 0.8 (overall slice)"


def test_verdicts_and_reasons(binary, multiclass, regression):
    assert binary["blessed"] is False and multiclass["blessed"] is False
    assert regression["blessed"] is True and regression["reasons"] == []
    assert multiclass["reasons"] == [
        "sparse_categorical_accuracy changed by -0.0714 against the baseline, more than "
        "the allowed -0.0300"
    ]


def test_the_summary_reads_reasons_through_the_same_reader():
    from pipeline.results import summary

    assert summary.blessing_reasons is evaluation.blessing_reasons


# --- signatures and predictions -------------------------------------------------------------


def test_signatures_of_the_pushed_regression_model():
    found = signatures.serving_signatures(PUSHED_REGRESSION)
    (output,) = found["serving_default"]["outputs"].values()
    assert found["serving_default"]["inputs"]["examples"]["dtype"] == "string"
    assert output["dtype"] == "float32"


@pytest.fixture(scope="module")
def scored():
    data = statistics.data_section(os.path.join(REGRESSION, "statistics"))
    return predictions.predictions_section(
        os.path.join(REGRESSION, "examples"),
        PUSHED_REGRESSION,
        REGRESSION_LABEL,
        statistics.column(data, REGRESSION_LABEL),
    )


def test_scoring_the_eval_split_reproduces_tfmas_errors(scored, regression):
    """The pushed model is the evaluated candidate, and the eval split is all scored."""
    overall = _overall(regression)
    assert scored["examples"] == overall["example_count"] == 109
    assert scored["rmse"] == pytest.approx(overall["root_mean_squared_error"], rel=1e-4)
    assert scored["mae"] == pytest.approx(overall["mean_absolute_error"], rel=1e-4)


def test_the_training_mean_baseline_is_what_predicting_it_scores(scored):
    baseline = scored["mean_baseline"]
    actual = [a for a, _ in scored["points"]]
    direct = math.sqrt(sum((a - baseline["train_mean"]) ** 2 for a in actual) / len(actual))
    assert baseline["rmse"] == pytest.approx(direct, rel=1e-3)
    assert baseline["rmse"] > scored["rmse"]  # The model beats the mean.


def test_the_sample_is_limited_and_labels_are_read_per_example():
    examples = predictions.read_examples(os.path.join(REGRESSION, "examples"), limit=5)
    assert len(examples) == 5
    labels = [predictions.label_of(e, REGRESSION_LABEL) for e in examples]
    assert all(2.0 < label < 7.0 for label in labels)
    assert predictions.label_of(examples[0], "no such column") is None


def test_a_folder_without_an_eval_split_is_named(tmp_path):
    with pytest.raises(ReportInputError, match=r"no Split-eval/ files"):
        predictions.read_examples(str(tmp_path))


def test_metric_names_of_tfma_keys():
    from tensorflow_model_analysis.metrics import metric_types

    assert evaluation_config.metric_name(metric_types.MetricKey("auc").to_proto()) == "auc"
    macro = metric_types.MetricKey(
        "auc", aggregation_type=metric_types.AggregationType(macro_average=True)
    )
    assert evaluation_config.metric_name(macro.to_proto()) == tasks.MACRO_AUC
