"""`make family` on CSVs with and without free text: the rule, its overrides, the sizes
it chooses, and the text parts of the written family (none without text)."""

import csv
import subprocess

import pytest

import scaffold_data
from modules.common.paths import PROJECT_ROOT
from pipeline.definition import families
from pipeline.scaffold import __main__ as cli
from pipeline.scaffold import schema_inference
from pipeline.scaffold import table as table_lib
from pipeline.scaffold import text_inference
from pipeline.scaffold import text_parts
from pipeline.scaffold.table import ScaffoldError


def _csv(tmp_path, rows, name="data.csv"):
    path = tmp_path / name
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["title", "colour", "code", "size", "label"])
        writer.writerows(rows)
    return str(path)


def _table(tmp_path, n=40):
    """`title`: distinct texts of 4 words and more; `colour`: 3 one-word values;
    `code`: distinct one-word ids; `size`: numbers."""
    rows = [
        [
            f"the {'big ' * (i % 5)}item number {i}",
            ["red", "green", "blue"][i % 3],
            f"c{i}",
            i,
            i % 2,
        ]
        for i in range(n)
    ]
    return table_lib.read(_csv(tmp_path, rows))


def test_the_rule_tells_text_from_categories_by_distinct_values_and_words(tmp_path):
    choice = text_inference.infer(_table(tmp_path), "label")
    assert list(choice.columns) == ["title"]
    reasons = dict(r.split(" is ", 1) for r in choice.reasons)
    assert reasons["'title'"].startswith("free text (the rule): 100% of its 40 values distinct")
    # Distinct but one word a value: an id, a category.
    assert reasons["'code'"].startswith("a category (the rule): 100% of its 40")
    assert "1 word a value at the median" in reasons["'code'"]
    assert reasons["'colour'"].startswith("a category (the rule): 8% of its 40")
    assert not any("'size'" in r or "'label'" in r for r in choice.reasons)


def test_the_sizes_come_from_the_words_of_the_data(tmp_path):
    table = _table(tmp_path)
    title = text_inference.infer(table, "label").columns["title"]
    words = [len(w) for w in text_inference.words_per_cell(table.columns["title"].values)]
    assert max(words) == 8  # "the big big big big item number 4"
    # The 95th percentile of 40 rows is the 38th smallest.
    assert title.sequence_length == sorted(words)[37] == 8
    # the, item, number, big: seen 3 times or more; each number once.
    assert title.vocabulary_size == 4
    assert title.oov_buckets == text_inference.OOV_BUCKETS


def test_the_sizes_are_capped():
    long_rows = [["w"] * 500 for _ in range(10)]
    column, _ = text_inference.text_column("t", long_rows)
    assert column.sequence_length == text_inference.MAX_SEQUENCE_LENGTH
    assert column.vocabulary_size == 1
    assert text_inference.percentile([1, 2, 3, 4], 50) == 2


def test_text_and_category_override_the_rule(tmp_path):
    table = _table(tmp_path)
    choice = text_inference.infer(table, "label", text=["code"], category=["title"])
    assert list(choice.columns) == ["code"]
    assert any(r.startswith("'code' is free text (TEXT)") for r in choice.reasons)
    assert any(r.startswith("'title' is a category (CATEGORY)") for r in choice.reasons)


@pytest.mark.parametrize(
    "text, category, expected",
    [
        (["nope"], [], "TEXT=nope: there is no such column"),
        (["size"], [], "column 'size' holds numbers"),
        ([], ["label"], "CATEGORY=label: 'label' is the label"),
        (["title"], ["title"], r"TEXT and CATEGORY both name \['title'\]"),
    ],
)
def test_a_bad_override_is_refused(tmp_path, text, category, expected):
    with pytest.raises(ScaffoldError, match=expected):
        text_inference.infer(_table(tmp_path), "label", text, category)


def test_a_text_column_has_no_string_domain_in_the_schema(tmp_path):
    table = _table(tmp_path)
    schema = schema_inference.infer(table, "label")
    features = {f.name: f for f in schema.feature}
    assert features["title"].HasField("domain")  # TFDV listed the 40 titles
    text_inference.drop_domains(schema, ["title"])
    features = {f.name: f for f in schema.feature}
    assert not features["title"].HasField("domain") and features["colour"].HasField("domain")
    assert "title" not in [d.name for d in schema.string_domain]


def test_a_family_with_text_reads_it_as_words(tmp_path):
    data = scaffold_data.churn_csv(str(tmp_path))
    project = tmp_path / "project"
    lines = cli.make_family("churn", data, "Churn", project_root=str(project))
    assert any(line.startswith("  - 'note' is free text (the rule)") for line in lines)
    assert any(line.startswith("  - 'contract' is a category (the rule)") for line in lines)
    folders = dict(modules_dir=str(project / "modules"), data_dir=str(project / "data"))
    family = families.load("churn", **folders)  # traced, model built, checked
    text = family.contract.text_columns["note"]
    assert text.sequence_length > 3 and text.vocabulary_size > 10
    assert "note_xf" in family.contract.model_input_keys
    contract = families.module_of(family, "contract")
    assert contract.CATEGORIES == ("contract",)
    assert family.contract.default_hparams["text_layer"] == "average"


def test_category_makes_the_text_column_a_category(tmp_path):
    data = scaffold_data.churn_csv(str(tmp_path))
    project = tmp_path / "project"
    cli.make_family("churn", data, "Churn", project_root=str(project), category=["note"])
    folders = dict(modules_dir=str(project / "modules"), data_dir=str(project / "data"))
    family = families.load("churn", **folders)
    assert family.contract.text_columns == ()
    assert families.module_of(family, "contract").CATEGORIES == ("contract", "note")


def test_a_family_without_text_has_no_text_parts(tmp_path):
    assert set(text_parts.values({}).values()) == {""}
    project = tmp_path / "project"
    lines = cli.make_family(
        "rents", scaffold_data.rents_csv(str(tmp_path)), "rent", project_root=str(project)
    )
    assert any("'district' is a category (the rule)" in line for line in lines)
    for name in ("contract", "preprocessing", "model"):
        source = (project / "modules" / "rents" / f"{name}.py").read_text()
        for part in ("TEXT", "text_", "word_ids", "$"):
            assert part not in source, (name, part)
    assert "Training: " in "\n".join(lines) and "about 30 epochs" in "\n".join(lines)


def test_a_large_text_family_trains_fewer_epochs():
    assert text_parts.epochs(400, 30) == 30
    assert text_parts.epochs(33_530, 30) == 1
    assert text_parts.epochs(10**7, 30) == 1


def test_make_family_passes_text_and_category_on():
    command = subprocess.run(
        [
            "make",
            "-n",
            "-o",
            ".venv/.installed",
            "family",
            "NAME=n",
            "DATA=d.csv",
            "LABEL=y",
            "TEXT=a,b",
            "CATEGORY=c",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert '--text "a,b" --category "c"' in command
