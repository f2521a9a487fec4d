"""`make family`, then `make run MODEL=<name>`: a pushed model from a CSV never seen.

The cases run side by side in one copy of the project (a git repository of the checkout's files,
the same virtual environment): `make family` on a CSV written as R, pandas or a
spreadsheet writes it with its defaults (R's `NA` and row names, pandas' index), then
`make run` with no edit. The run must finish blessed and
pushed, beat the naive predictor the task's bound stands for, and `git status` must
show only the two new family folders. The churn CSV holds a free-text column, `note`:
its family reads it as words, and its pushed model scores any text.
"""

import concurrent.futures
import json
import os
import shutil
import subprocess

import numpy as np
import pytest

import scaffold_data
from modules.common import tasks
from modules.common.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow

_GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]


def _project_copy(root: str) -> str:
    """A git repository holding the checkout's files (committed or not, not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
    ).stdout
    for relative in filter(None, listed.decode().split("\0")):
        source = os.path.join(PROJECT_ROOT, relative)
        if os.path.isfile(source) and not os.path.islink(source):
            os.makedirs(os.path.dirname(os.path.join(root, relative)), exist_ok=True)
            shutil.copy2(source, os.path.join(root, relative))
    os.symlink(os.path.realpath(os.path.join(PROJECT_ROOT, ".venv")), os.path.join(root, ".venv"))
    subprocess.run(_GIT + ["init", "-q"], cwd=root, check=True)
    subprocess.run(_GIT + ["add", "-A"], cwd=root, check=True)
    subprocess.run(_GIT + ["commit", "-qm", "copy"], cwd=root, check=True)
    return root


def _make(project: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "-o", ".venv/.installed", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _status(project: str) -> set:
    return set(
        subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=project,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return _project_copy(str(tmp_path_factory.mktemp("project")))


CASES = {
    # name: (CSV writer, label, task, a sentence `make family` prints)
    "churn": (scaffold_data.churn_csv, "Churn", tasks.BINARY, "'note' is free text (the rule)"),
    "flowers": (scaffold_data.flowers_csv, "Species", tasks.MULTICLASS, "majority class"),
    "rents": (scaffold_data.rents_csv, "rent", tasks.REGRESSION, "standard deviation"),
}


def _family_then_run(project: str, root: str, name: str) -> dict:
    """`make family`, the family's own tests, then `make run`, for one case."""
    write_csv, label, _, _ = CASES[name]
    os.makedirs(root)
    csv_path = write_csv(root)
    made = _make(project, "family", f"NAME={name}", f"DATA={csv_path}", f"LABEL={label}")
    if made.returncode != 0:
        return {"made": made}
    # The family's own tests, from its folder (`make test` collects them too).
    tested = subprocess.run(
        [".venv/bin/python", "-m", "pytest", "-q", "-p", "no:cacheprovider", f"modules/{name}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": project},
    )
    build = os.path.join(root, "build")
    ran = _make(project, "run", f"MODEL={name}", f"BUILD={build}")
    return {"made": made, "tested": tested, "ran": ran, "build": build}


@pytest.fixture(scope="module")
def cases(project, tmp_path_factory):
    """Every case, run side by side (each is mostly one busy process; the machine has
    more than one core), in the one project copy: its `git status` before and after."""
    root = str(tmp_path_factory.mktemp("cases"))
    before = _status(project)
    with concurrent.futures.ThreadPoolExecutor(len(CASES)) as pool:
        futures = {
            name: pool.submit(_family_then_run, project, os.path.join(root, name), name)
            for name in CASES
        }
        results = {name: future.result() for name, future in futures.items()}
    return results, _status(project) - before


@pytest.mark.parametrize("name", sorted(CASES))
def test_make_family_then_make_run_pushes_a_model(project, cases, name):
    _, _, kind, printed = CASES[name]
    results, new = cases
    made = results[name]["made"]
    assert made.returncode == 0, made.stderr[-3000:]
    assert f"Task: {kind}." in made.stdout and printed in made.stdout
    assert f"make run MODEL={name}" in made.stdout
    if name in ("flowers", "rents"):  # Written as R's write.csv and pandas' to_csv write.
        assert "Left out: the first column (header '')" in made.stdout
    if name == "flowers":  # R writes NA: declared, and read as empty by every reader.
        contract_text = open(os.path.join(project, "modules", name, "contract.py")).read()
        assert "missing_values=('NA',)" in contract_text
    tested = results[name]["tested"]
    assert tested.returncode == 0 and "3 passed" in tested.stdout, tested.stdout[-3000:]

    build, ran = results[name]["build"], results[name]["ran"]
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    with open(os.path.join(build, "run_summary.json")) as summary_file:
        summary = json.load(summary_file)
    assert summary["status"] == "finished" and summary["task"] == kind
    assert summary["blessed"] is True and summary["pushed"]
    # The family states its length in epochs; the runner made steps of them.
    used = summary["hyperparameters"]["used"]
    assert summary["trained_examples"] % used["train_batch_size"] == 0
    assert abs(summary["epochs"] - 30) <= 1.5, summary["epochs"]
    blessing = summary["blessing"]
    # The bound stands for the naive predictor (AUC 0.6 for binary); a baseline model
    # clears it with room.
    if blessing["direction"] == tasks.HIGHER:
        assert blessing["value"] > blessing["bound"] + 0.1
    else:
        assert blessing["value"] < 0.6 * blessing["bound"]

    if name == "churn":
        _check_text_scoring(project, build)

    # Only new files, all in the cases' own two folders each (the copy is shared).
    folders = tuple(f"?? {top}/{case}/" for case in CASES for top in ("modules", "data"))
    assert all(line.startswith(folders) for line in new), sorted(new)
    assert any(line.startswith(f"?? modules/{name}/") for line in new)
    assert any(line.startswith(f"?? data/{name}/") for line in new)


def _check_text_scoring(project: str, build: str) -> None:
    """The pushed churn model scores its free-text column, `note`, one bytes feature of
    the raw row, whatever the text: empty, unseen words, 4,000 words, non-ASCII; and
    its words count: notes of leaving score above notes of staying."""
    from pipeline.serving import client as serving

    schema = serving.load_schema(os.path.join(project, "data", "churn", "schema.pbtxt"))
    types = serving.feature_types(schema)
    assert types["note"].name == "string"
    notes = {
        "empty": "",
        "unseen": "zyzzyva quux frobnicate",
        "long": " ".join(["customer"] * 3999 + ["thanks"]),
        "non-ascii": "Très déçu, 請取消 ✓ — naïve Ωmega",
        "leaving": "cancel refund competitor disconnect outage overcharged",
        "staying": "thanks resolved happy upgrade helpful recommend",
    }
    row = {"tenure": "24", "monthly_charges": "70", "contract": "One year"}
    examples = [serving.example_from_row({**row, "note": note}, types) for note in notes.values()]
    model_dir = serving.latest_version_dir(os.path.join(build, "serving_model", "churn"))
    scores = dict(zip(notes, np.asarray(serving.predict(model_dir, examples).scores)))
    assert all(np.isfinite(v) and 0 <= v <= 1 for v in scores.values()), scores
    assert scores["leaving"] > scores["staying"] + 0.3, scores
