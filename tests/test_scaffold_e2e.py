"""`make family`, then `make run MODEL=<name>`: a pushed model from a CSV never seen.

Each case runs in a copy of the project (a git repository of the checkout's files,
the same virtual environment): `make family` on a CSV written as R, pandas or a
spreadsheet writes it with its defaults (R's `NA` and row names, pandas' index), then
`make run` with no edit. The run must finish blessed and
pushed, beat the naive predictor the task's bound stands for, and `git status` must
show only the two new family folders. The churn CSV holds a free-text column, `note`:
its family reads it as words, and its pushed model scores any text.
"""

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


@pytest.mark.parametrize("name", sorted(CASES))
def test_make_family_then_make_run_pushes_a_model(project, tmp_path, name):
    write_csv, label, kind, printed = CASES[name]
    csv_path = write_csv(str(tmp_path))
    before = _status(project)
    made = _make(project, "family", f"NAME={name}", f"DATA={csv_path}", f"LABEL={label}")
    assert made.returncode == 0, made.stderr[-3000:]
    assert f"Task: {kind}." in made.stdout and printed in made.stdout
    assert f"make run MODEL={name}" in made.stdout
    if name in ("flowers", "rents"):  # Written as R's write.csv and pandas' to_csv write.
        assert "Left out: the first column (header '')" in made.stdout
    if name == "flowers":  # R writes NA: declared, and read as empty by every reader.
        contract_text = open(os.path.join(project, "modules", name, "contract.py")).read()
        assert "missing_values=('NA',)" in contract_text
    # The family's own tests, from its folder (`make test` collects them too).
    tested = subprocess.run(
        [".venv/bin/python", "-m", "pytest", "-q", "-p", "no:cacheprovider", f"modules/{name}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": project},
    )
    assert tested.returncode == 0 and "3 passed" in tested.stdout, tested.stdout[-3000:]

    build = str(tmp_path / "build")
    ran = _make(project, "run", f"MODEL={name}", f"BUILD={build}")
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

    # Only new files, all in the family's two folders (the copy is shared by the cases).
    new = _status(project) - before
    assert new and all(
        line.startswith((f"?? modules/{name}/", f"?? data/{name}/")) for line in new
    ), sorted(new)


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
