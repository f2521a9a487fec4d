"""The penguins family end to end: a three-class classifier blessed on accuracy.

One module-scoped fixture runs the real pipeline twice in one fresh build folder: a
first run on the whole data set (its sample; blessed on the absolute bound alone) and a
worse candidate (one training step) judged against that baseline. The pushed model is
scored by the project's client and by TensorFlow's `saved_model_cli`; a class outside
the task's list stops a run before anything trains.
"""

import csv
import json
import os

import numpy as np
import pytest

import conftest
from components import versioned_pusher
from components.run_report.readers import statistics as statistics_reader
from modules.common import tasks
from pipeline.definition import config as config_lib
from pipeline.definition import families
from pipeline.local import runner as local_runner
from pipeline.results import naive_baseline
from pipeline.serving import client as serving

# Whole pipeline runs: `make test-fast` leaves them out.
pytestmark = pytest.mark.slow

PENGUINS = families.load("penguins")
CONTRACT = PENGUINS.contract
CLASSES = ("Adelie", "Chinstrap", "Gentoo")
# A male Gentoo and a female Adelie, as a serving request carries them.
GENTOO = {
    "island": ["Biscoe"],
    "bill_length_mm": [47.5],
    "bill_depth_mm": [14.2],
    "flipper_length_mm": [215],
    "body_mass_g": [5000],
    "sex": ["male"],
    "year": [2008],
}
ADELIE = {
    "island": ["Torgersen"],
    "bill_length_mm": [38.9],
    "bill_depth_mm": [17.8],
    "flipper_length_mm": [181],
    "body_mass_g": [3625],
    "sex": ["female"],
    "year": [2007],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(first, worse, build folder, serving folder, versions after the first run)."""
    build_dir = str(tmp_path_factory.mktemp("penguins_build"))
    metadata = config_lib.metadata_path(build_dir)
    summary_path = os.path.join(build_dir, "run_summary.json")

    def run(**overrides):
        config = config_lib.local_config(
            build_dir, PENGUINS.sample_dir, family="penguins", **overrides
        )
        return config, local_runner.run(config, metadata, summary_path)

    config, first = run()
    pushed_after_first = versioned_pusher.versions(config.serving_model_dir)
    # One training step, under a bound any model meets: only the change can fail it.
    _, worse = run(train_steps=1, blessing_bound=0.0)
    return first, worse, build_dir, config.serving_model_dir, pushed_after_first


def test_the_first_run_is_blessed_on_accuracy_above_its_bound_and_pushed(runs):
    first, *_ = runs
    assert first["status"] == "finished" and first["task"] == tasks.MULTICLASS
    blessing = first["blessing"]
    assert blessing["metric"] == tasks.ACCURACY and blessing["direction"] == tasks.HIGHER
    assert blessing["bound"] == CONTRACT.task.blessing.bound
    assert blessing["value"] == first["metrics"]["candidate"][tasks.ACCURACY]
    assert blessing["bound"] <= blessing["value"] <= 1.0
    assert blessing["baseline_value"] is None
    assert set(first["metrics"]["candidate"]) == set(CONTRACT.task.metric_names)
    assert first["metrics"]["candidate"][tasks.MACRO_AUC] > 0.9
    assert first["blessed"] is True and first["blessing_reasons"] == [] and first["pushed"]


def test_the_model_clearly_beats_the_majority_class(runs):
    first, _, build_dir, *_ = runs
    statistics = statistics_reader.load_statistics(
        naive_baseline.latest_statistics_uri(build_dir, "penguins")
    )
    naive = naive_baseline.naive_baseline(CONTRACT.task, "species", statistics)
    assert naive["majority_class"] in CLASSES
    assert naive["eval_examples"] == first["metrics"]["candidate"][tasks.EXAMPLE_COUNT]
    assert naive["value"] < 0.6 < first["blessing"]["value"]


def test_a_worse_candidate_is_judged_against_the_baseline_and_not_pushed(runs):
    first, worse, _, serving_dir, pushed_after_first = runs
    blessing = worse["blessing"]
    assert blessing["baseline_value"] == pytest.approx(first["blessing"]["value"], abs=1e-6)
    assert blessing["value"] < blessing["baseline_value"] - blessing["max_change"]
    assert worse["blessed"] is False and not worse["pushed"]
    (reason,) = worse["blessing_reasons"]
    assert reason.startswith("sparse_categorical_accuracy changed by -")
    assert reason.endswith("against the baseline, more than the allowed -0.0300")
    assert versioned_pusher.versions(serving_dir) == pushed_after_first


def _examples(rows):
    types = serving.feature_types(serving.load_schema(PENGUINS.schema_file))
    return [serving.example_from_row({k: str(v[0]) for k, v in row.items()}, types) for row in rows]


def test_the_client_returns_a_score_per_class_and_the_class_names(runs):
    first, *_ = runs
    examples = serving.examples_from_csv(
        os.path.join(PENGUINS.sample_dir, "data.csv"), serving.load_schema(PENGUINS.schema_file)
    )[:30]
    predictions = serving.predict(first["pushed_model"], examples)
    assert predictions.scores.shape == (30, 3)
    assert predictions.classes == CLASSES
    assert np.allclose(predictions.scores.sum(axis=1), 1.0, atol=1e-5)
    assert np.all(predictions.scores >= 0)
    pair = serving.predict(first["pushed_model"], _examples([GENTOO, ADELIE]))
    assert pair.predicted_classes() == ["Gentoo", "Adelie"]


def test_saved_model_cli_scores_raw_examples_with_the_pushed_model(runs):
    first, *_ = runs
    outputs = conftest.saved_model_cli_run(first["pushed_model"], [GENTOO, ADELIE])
    assert set(outputs) == {tasks.SCORES_OUTPUT, tasks.CLASSES_OUTPUT}
    assert outputs[tasks.CLASSES_OUTPUT].count("b'Adelie' b'Chinstrap' b'Gentoo'") == 2
    scores = np.array(conftest.printed_numbers(outputs[tasks.SCORES_OUTPUT])).reshape(2, 3)
    assert np.allclose(scores.sum(axis=1), 1.0, atol=1e-5)
    assert [CLASSES[i] for i in scores.argmax(axis=1)] == ["Gentoo", "Adelie"]


def test_a_species_outside_the_class_list_stops_the_run_with_file_line_and_value(
    runs, tmp_path, capsys
):
    _, _, build_dir, serving_dir, pushed_after_first = runs
    with open(os.path.join(PENGUINS.sample_dir, "data.csv"), newline="") as sample:
        rows = list(csv.reader(sample))
    rows[42][rows[0].index("species")] = "Emperor"  # line 43 of the file
    data = tmp_path / "data"
    data.mkdir()
    with open(data / "data.csv", "w", newline="") as copy:
        csv.writer(copy, lineterminator="\n").writerows(rows)
    code = local_runner.main(["--model", "penguins", "--data", str(data), "--build-dir", build_dir])
    assert code == 1
    with open(os.path.join(build_dir, "run_summary.json")) as summary_file:
        summary = json.load(summary_file)
    assert summary["status"] == "stopped" and summary["family"] == "penguins"
    assert (
        f"{data / 'data.csv'}: line 43, column 'species': the label 'Emperor' is not "
        "one of the classes 'Adelie', 'Chinstrap', 'Gentoo'"
    ) in summary["reason"]
    assert summary["pushed"] is False
    err = capsys.readouterr().err
    assert "STOPPED:" in err and "Emperor" in err and "Traceback" not in err
    assert versioned_pusher.versions(serving_dir) == pushed_after_first
