"""The run report as a person sees it: real runs' pages opened in headless Chromium.

Three runs in a copy of the session's build folder (`pipeline_run`): its first run (blessed and
pushed), one more through `local_runner.main` with a one-step training (not blessed
against that baseline), and one on a copy of the sample with an empty column (stopped at
the data gate). Besides the taxi family's binary classifier: a run of the penguins
family (multi-class) and one of the taxi_fare family (regression), each in a build
folder of its own. Each page is loaded through the DevTools protocol, which records
every request the page makes; a screenshot of each is saved next to its page.

Without Chromium the tests are skipped, saying so; under CI (CI=true) they fail.
"""

import contextlib
import csv
import io
import itertools
import os
import re

import numpy as np
import pytest
from PIL import Image

import browser
import conftest
from modules.penguins import contract as penguins
from pipeline.local import runner as local_runner
from pipeline.results import report

# Whole pipeline runs: `make test-fast` leaves them out.
pytestmark = pytest.mark.slow

ALL_SECTIONS = ["run", "data", "anomalies", "training", "evaluation", "pushed"]
LAPTOP_WIDTH = 1366


# Session-scoped so that, without a browser, the skip comes before the session's
# pipeline runs are made.
@pytest.fixture(scope="session")
def chromium():
    """A headless Chromium, or a skip (a failure under CI) when none is installed."""
    binary = browser.find_browser()
    if binary is None:
        message = (
            f"no headless Chromium found (looked for {', '.join(browser.BINARIES)}); "
            "install Debian's `chromium` package to see the report in a browser"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: this test must run)")
        pytest.skip(message)
    chrome = browser.Browser(binary)
    yield chrome
    chrome.close()


def _main(*args):
    """Runs `local_runner.main`; returns (exit code, the report path it printed)."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = local_runner.main(list(args))
    printed = re.findall(r"^\[pipeline\] report: (\S+) ", output.getvalue(), re.M)
    assert len(printed) == 1, output.getvalue()
    return code, printed[0]


@pytest.fixture(scope="module")
def reports(pipeline_run, sample_dir, sample_csv, tmp_path_factory):
    """The report pages of a blessed, a not-blessed and a gate-stopped run."""
    build = conftest.copy_of_run(pipeline_run, tmp_path_factory.mktemp("report_build"))
    build_dir = build.build_dir
    blessed = report.write_report(build_dir, run_id=pipeline_run.first["run_id"])

    code, not_blessed = _main(
        "--data",
        sample_dir,
        "--build-dir",
        build_dir,
        "--train-steps",
        "1",
        "--blessing-bound",
        "0.8",
    )
    assert code == 0

    bad_dir = tmp_path_factory.mktemp("empty_company")
    with (
        open(sample_csv, newline="") as source,
        open(bad_dir / "data.csv", "w", newline="") as target,
    ):
        rows = csv.DictReader(source)
        writer = csv.DictWriter(target, rows.fieldnames)
        writer.writeheader()
        for row in itertools.islice(rows, 300):
            writer.writerow(dict(row, company=""))
    code, gate = _main("--data", str(bad_dir), "--build-dir", build_dir)
    assert code == 1
    return {
        "build": build,
        "blessed": blessed,
        "not_blessed": not_blessed,
        "gate": gate,
        "latest": os.path.join(build_dir, report.REPORT_DIR, report.LATEST, report.PAGE_FILE),
    }


@pytest.fixture(scope="module")
def task_reports(tmp_path_factory):
    """The pages of a multi-class run (penguins) and of a regression's (taxi_fare)."""
    found = {}
    for case, family in (("multiclass", "penguins"), ("regression", "taxi_fare")):
        code, found[case] = _main(
            "--model", family, "--build-dir", str(tmp_path_factory.mktemp(f"{family}_build"))
        )
        assert code == 0
    return found


@pytest.fixture
def pages(request):
    """Every report page, by case; a task's pages without the taxi runs."""
    if request.node.callspec.params["case"] in ("multiclass", "regression"):
        return request.getfixturevalue("task_reports")
    return request.getfixturevalue("reports")


@pytest.mark.parametrize(
    "case, sections, outcome",
    [
        ("blessed", ALL_SECTIONS, "Blessed and pushed as version "),
        ("not_blessed", ALL_SECTIONS, "Not blessed: auc "),
        ("gate", ["run", "data", "anomalies"], "Stopped at the data gate: 2 anomalies "),
        ("multiclass", ALL_SECTIONS, "Blessed and pushed as version "),
        ("regression", ALL_SECTIONS, "Blessed and pushed as version "),
    ],
)
def test_report_in_a_browser(chromium, pages, case, sections, outcome):
    path = pages[case]
    page = chromium.open_page("file://" + path, width=LAPTOP_WIDTH)

    # Nothing but the page itself and its embedded images was requested.
    assert page.requests[0] == "file://" + path
    assert [url for url in page.requests[1:] if not url.startswith("data:image/png;base64,")] == []
    assert page.evaluate("document.scripts.length") == 0

    images = page.evaluate(
        "Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth])"
    )
    assert len(images) > 3
    assert [alt for alt, complete, width in images if not (complete and width > 0)] == []

    assert (
        page.evaluate("Array.from(document.querySelectorAll('main > section')).map(s => s.id)")
        == sections
    )
    assert page.evaluate("document.querySelector('#run .outcome').textContent.trim()").startswith(
        outcome
    )
    # Readable on a laptop: nothing wider than the window.
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP_WIDTH

    shot = page.screenshot(os.path.join(os.path.dirname(path), "screenshot.png"))
    print(f"screenshot of the {case} report: {shot}")
    pixels = np.asarray(Image.open(shot).convert("L"))
    assert pixels.shape[1] == LAPTOP_WIDTH and pixels.shape[0] > 600
    assert pixels.std() > 10  # Not a blank page.


def test_the_blessed_reports_example_scores_a_raw_row(chromium, reports, monkeypatch):
    monkeypatch.chdir(conftest.PROJECT_ROOT)  # Where the example is meant to run.
    page = chromium.open_page("file://" + reports["blessed"])
    code = page.evaluate("document.querySelector('#pushed pre code').textContent")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "the report's example", "exec"), {})  # pylint: disable=exec-used
    # `Predictions(scores=array([0.1...], dtype=float32), classes=None)`.
    (scores,) = re.findall(r"scores=array\(\[([^\]]*)\]", printed.getvalue())
    assert 0.0 <= float(scores) <= 1.0


def test_not_blessed_report_says_nothing_was_pushed(chromium, reports):
    page = chromium.open_page("file://" + reports["not_blessed"])
    assert "against the baseline, more than the allowed -0.0100" in page.evaluate(
        "document.querySelector('#evaluation .outcome').textContent"
    )
    assert (
        page.evaluate("document.querySelector('#pushed').textContent").count(
            "Nothing was pushed in this run"
        )
        == 1
    )
    assert "baseline" in page.evaluate("document.querySelector('#evaluation table').textContent")


def test_latest_points_at_the_newest_run(reports):
    assert os.path.realpath(reports["latest"]) == os.path.realpath(reports["gate"])


def test_the_local_report_reads_the_run_from_ml_metadata(reports):
    from tfx.orchestration import metadata

    build = reports["build"]
    run = report.read_run(
        metadata.sqlite_metadata_connection_config(build.metadata),
        build.config.pipeline_name,
        build.config.pipeline_root,
    )
    states = {c["id"]: c["state"] for c in run["components"]}
    assert states["DataGate"] == "failed" and run["gate_stopped"]
    assert "Transform" not in states
    assert set(run["uris"]) == {"examples", "statistics", "anomalies"}
    assert all(0 <= c["start"] <= c["end"] for c in run["components"])

    # Re-rendered from the build folder alone, the page still says what stopped the run.
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert report.main(["--build-dir", build.build_dir]) == 0
    assert output.getvalue().strip() == f"[report] {reports['gate']}"
    with open(reports["gate"]) as page_file:
        page_html = page_file.read()
    assert "What stopped it" in page_html and "FEATURE_TYPE_NOT_PRESENT" in page_html


def _example_output(chromium, path, monkeypatch):
    """Runs the page's scoring example from the project's root; returns what it printed."""
    monkeypatch.chdir(conftest.PROJECT_ROOT)
    page = chromium.open_page("file://" + path)
    code = page.evaluate("document.querySelector('#pushed pre code').textContent")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "the report's example", "exec"), {})  # pylint: disable=exec-used
    return code, printed.getvalue()


def test_the_multiclass_report_names_the_classes(chromium, task_reports, monkeypatch):
    page = chromium.open_page("file://" + task_reports["multiclass"])
    headers = page.evaluate(
        "Array.from(document.querySelectorAll('#evaluation table.confusion tr:first-child th'))"
        ".map(th => th.textContent.trim())"
    )
    assert headers[1:] == list(penguins.CLASSES)
    counts = page.evaluate(
        "Array.from(document.querySelectorAll('#evaluation table.confusion td'))"
        ".map(td => Number(td.textContent))"
    )
    assert len(counts) == len(penguins.CLASSES) ** 2 and sum(counts) > 100
    assert "Reliability" not in page.evaluate("document.querySelector('#evaluation').textContent")
    code, printed = _example_output(chromium, task_reports["multiclass"], monkeypatch)
    assert "# scores: one per class, named in classes" in code
    assert all(repr(name) in printed for name in penguins.CLASSES)


def test_the_regression_report_plots_predictions_and_scores_a_raw_row(
    chromium, task_reports, monkeypatch
):
    page = chromium.open_page("file://" + task_reports["regression"])
    images = page.evaluate(
        "Array.from(document.querySelectorAll('#evaluation img')).map(i => [i.alt, i.naturalWidth])"
    )
    alts = [alt for alt, width in images if width > 0]
    assert {"predicted against actual on eval examples", "residuals on eval examples"} <= set(alts)
    text = page.evaluate("document.querySelector('#evaluation').textContent")
    assert "Predicting the training mean" in text and "lower is better" in text
    code, printed = _example_output(chromium, task_reports["regression"], monkeypatch)
    assert "# scores: the predicted value" in code
    (fare,) = re.findall(r"scores=array\(\[([^\]]*)\]", printed)
    assert 2.0 < float(fare) < 100.0  # Dollars: a typical trip's fare.
