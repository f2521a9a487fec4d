"""`make family`'s parts on small CSVs: reading, refusals, the task, the schema, writing.

The whole command, then a run of the family it writes, is `test_scaffold_e2e.py`.
"""

import shutil

import numpy as np
import pytest
import tensorflow as tf

import scaffold_data
from modules.common import preprocessing
from modules.common import tasks
from modules.common.preprocessing import positive_ids
from modules.common.preprocessing import transformed_key
from pipeline.definition import families
from pipeline.scaffold import __main__ as cli
from pipeline.scaffold import schema_inference
from pipeline.scaffold import table as table_lib
from pipeline.scaffold import task_inference
from pipeline.scaffold import writer
from pipeline.scaffold.table import ScaffoldError

HEADER = "a,b,label"


def _csv(
    tmp_path, text: str, name: str = "data.csv", bom: bool = False, newline: str = "\n"
) -> str:
    path = tmp_path / name
    data = text.replace("\n", newline).encode()
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return str(path)


def _rows(values, n=30):
    return "\n".join(values(i) for i in range(n)) + "\n"


def test_a_spreadsheet_csv_reads_as_example_gen_reads_it(tmp_path):
    path = _csv(
        tmp_path,
        '"x","y","label"\n' + _rows(lambda i: f'{i}.0,"v{i % 3}, with a comma",{i % 2}'),
        bom=True,
        newline="\r\n",
    )
    table = table_lib.read(path)
    assert list(table.columns) == ["x", "y", "label"] and table.rows == 30
    assert table.columns["y"].cells[:2] == ("v0, with a comma", "v1, with a comma")


def test_columns_are_typed_as_tfx_types_them(tmp_path):
    path = _csv(
        tmp_path,
        "i,f,s,whole,label\n"
        + _rows(lambda i: f"{i},{i / 3:.3f},w{i},{i}.0,{'' if i == 3 else i % 2}"),
        bom=True,
        newline="\r\n",
    )
    columns = table_lib.read(path).columns
    assert [columns[c].kind for c in ("i", "f", "s", "whole")] == [
        table_lib.INT,
        table_lib.FLOAT,
        table_lib.STRING,
        table_lib.FLOAT,
    ]
    assert columns["label"].empty_cells == 1 and columns["label"].kind == table_lib.INT


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a,,label\n", "column 2: the column has no name"),
        ("a,b c,label\n", "the name 'b c' is not a plain name"),
        ("a,a,label\n", "the columns ['a'] appear twice"),
    ],
)
def test_a_bad_header_is_refused(tmp_path, text, expected):
    path = _csv(tmp_path, text + _rows(lambda i: f"{i},{i},{i % 2}"))
    with pytest.raises(ScaffoldError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        table_lib.read(path)


def test_an_na_cell_reads_as_empty_and_is_listed(tmp_path):
    path = _csv(tmp_path, HEADER + "\n" + _rows(lambda i: f"{i},{'NA' if i == 4 else i},{i % 2}"))
    table = table_lib.read(path)
    assert table.missing_found == {"b": ("NA",)} and table.missing_tokens == ("NA",)
    assert table.columns["b"].cells[4] == "" and table.columns["b"].kind == table_lib.INT


def test_too_few_rows_and_a_ragged_row_are_refused(tmp_path):
    with pytest.raises(ScaffoldError, match="1 data row"):
        table_lib.read(_csv(tmp_path, HEADER + "\n1,2,1\n"))
    ragged = _csv(
        tmp_path, HEADER + "\n" + _rows(lambda i: "1,2" if i == 2 else "1,2,0"), name="ragged.csv"
    )
    with pytest.raises(ScaffoldError, match="line 4 has 2 fields"):
        table_lib.read(ragged)


def _table(tmp_path, labels, name="data.csv"):
    return table_lib.read(
        _csv(
            tmp_path,
            HEADER
            + "\n"
            + "\n".join(f"{i},w{i % 4},{label}" for i, label in enumerate(labels))
            + "\n",
            name=name,
        )
    )


@pytest.mark.parametrize(
    "labels, positive",
    [
        (["no", "yes", "yes"] * 10, "yes"),
        (["False", "True"] * 15, "True"),
        (["0", "1", "1"] * 10, "1"),
        (["<=50K"] * 20 + [">50K"] * 10, ">50K"),  # the less frequent
    ],
)
def test_two_labels_make_a_binary_task_with_its_positive_class(tmp_path, labels, positive):
    choice = task_inference.infer(_table(tmp_path, labels), "label")
    assert choice.kind == tasks.BINARY and choice.positive == positive
    assert choice.bound == task_inference.BINARY_AUC_BOUND
    assert tasks.binary(choice.bound, choice.max_change, positive=choice.positive)


def test_few_values_make_classes_and_a_bound_above_the_majority_share(tmp_path):
    labels = ["c"] * 15 + ["a"] * 10 + ["b"] * 5
    choice = task_inference.infer(_table(tmp_path, labels), "label")
    assert choice.kind == tasks.MULTICLASS and choice.classes == ("a", "b", "c")
    assert 0.5 < choice.bound <= 0.52
    integers = task_inference.infer(_table(tmp_path, ["10", "2", "3"] * 10, "i.csv"), "label")
    assert integers.classes == ("2", "3", "10")


def test_a_numeric_label_of_many_values_is_a_regression_bounded_by_its_std(tmp_path):
    labels = [f"{v:.2f}" for v in np.linspace(0, 29, 30)]
    choice = task_inference.infer(_table(tmp_path, labels), "label")
    std = np.std(np.linspace(0, 29, 30))
    assert choice.kind == tasks.REGRESSION
    assert std <= choice.bound < std * 1.01 and choice.label_std == pytest.approx(std)


def test_task_overrides_and_its_refusals(tmp_path):
    table = _table(tmp_path, [str(i % 5) for i in range(30)])
    assert task_inference.infer(table, "label", tasks.REGRESSION).kind == tasks.REGRESSION
    words = _table(tmp_path, [f"w{i}" for i in range(30)], "w.csv")
    with pytest.raises(ScaffoldError, match="more than 20"):
        task_inference.infer(words, "label")
    with pytest.raises(ScaffoldError, match="needs a numeric label"):
        task_inference.infer(words, "label", tasks.REGRESSION)
    assert len(task_inference.infer(words, "label", tasks.MULTICLASS).classes) == 30


@pytest.mark.parametrize(
    "labels, label, expected",
    [
        (["1"] * 30, "label", "one value only"),
        ([""] * 30, "label", "empty in every row"),
        (["0", "1"] * 15, "species", "no column 'species'"),
        (["0", "", "1"] * 10, "label", "empty in 10 row"),
    ],
)
def test_an_unusable_label_is_refused(tmp_path, labels, label, expected):
    with pytest.raises(ScaffoldError, match=expected):
        task_inference.infer(_table(tmp_path, labels), label)


def test_the_schema_passes_the_gate_on_its_data_and_leaves_the_label_out_of_serving(tmp_path):
    table = table_lib.read(scaffold_data.flowers_csv(str(tmp_path)))
    stats = schema_inference.statistics(table)
    schema = schema_inference.infer(table, "Species", stats)
    features = {f.name: f for f in schema.feature}
    assert features["Petal.Length"].value_count.min == 0  # it has empty cells
    assert features["Petal.Width"].value_count.min == 1
    assert all(f.value_count.max == 1 for f in schema.feature)
    assert list(features["Species"].not_in_environment) == ["SERVING"]
    assert schema_inference.gate_anomalies(schema, stats) == []


def test_the_schema_gate_catches_data_that_breaks_it(tmp_path):
    table = table_lib.read(scaffold_data.flowers_csv(str(tmp_path)))
    schema = schema_inference.infer(table, "Species")
    schema.feature[0].value_count.min = 1  # as if 'Petal.Length' had no empty cell
    assert any(
        "Petal.Length" in a
        for a in schema_inference.gate_anomalies(schema, schema_inference.statistics(table))
    )


def test_the_command_refuses_an_existing_family_and_bad_names(tmp_path, capsys):
    data = scaffold_data.rents_csv(str(tmp_path))
    (tmp_path / "project" / "modules" / "rents").mkdir(parents=True)
    with pytest.raises(ScaffoldError, match="never writes over a family"):
        cli.make_family("rents", data, "rent", project_root=str(tmp_path / "project"))
    assert cli.main(["--name", "Bad-Name", "--data", data, "--label", "rent"]) == 2
    assert "lower-case letters" in capsys.readouterr().err
    assert cli.main(["--name", "taxi", "--data", data, "--label", "rent"]) == 2
    assert "modules/taxi exists" in capsys.readouterr().err


def test_the_command_writes_a_family_whose_files_are_python(tmp_path):
    data = scaffold_data.churn_csv(str(tmp_path))
    project = tmp_path / "project"
    lines = cli.make_family("churn", data, "Churn", project_root=str(project))
    assert any("'Yes' is class 1" in line for line in lines)
    for name in ("contract", "preprocessing", "model"):
        source = (project / "modules" / "churn" / f"{name}.py").read_text()
        compile(source, name, "exec")
        assert "modules.churn" not in source  # a copy of the folder is another family
    assert (project / "data" / "churn" / "sample" / "churn.csv").read_bytes() == open(
        data, "rb"
    ).read()


def test_transformed_keys_and_binary_ids():
    assert transformed_key("Petal.Length") == "Petal_Length_xf"
    labels = tf.sparse.from_dense(tf.constant([["Yes"], ["No"], ["Yes"]]))
    assert positive_ids(labels, "Yes").numpy().tolist() == [1, 0, 1]
    floats = tf.constant([[1.0], [0.0]])
    assert positive_ids(floats, "1.0").numpy().tolist() == [1, 0]
    assert preprocessing.class_ids(
        tf.constant([2.0, 1.0, 7.0]), ("1.0", "2.0", "3.0")
    ).numpy().tolist() == [1, 0, -1]


def _copy_family(project, source: str, target: str) -> None:
    """`cp -r` of both folders, and the name changed in the contract."""
    shutil.copytree(project / "modules" / source, project / "modules" / target)
    shutil.copytree(project / "data" / source, project / "data" / target)
    contract = project / "modules" / target / "contract.py"
    contract.write_text(contract.read_text().replace(f'NAME = "{source}"', f'NAME = "{target}"'))


def test_a_copied_family_with_another_name_is_a_distinct_working_family(tmp_path):
    project = tmp_path / "project"
    cli.make_family(
        "rents", scaffold_data.rents_csv(str(tmp_path)), "rent", project_root=str(project)
    )
    _copy_family(project, "rents", "rents_b")
    folders = dict(modules_dir=str(project / "modules"), data_dir=str(project / "data"))
    original = families.load("rents", **folders)
    copy = families.load("rents_b", **folders)  # traced and checked, model built
    assert copy.contract.pipeline_name == "rents-b" != original.contract.pipeline_name
    assert copy.contract.exporter_name == "rents_b" != original.contract.exporter_name
    assert copy.contract.default_data == str(project / "data" / "rents_b" / "sample")
    # The copy's files reach their own siblings: its preprocessing reads its contract.
    assert families.module_of(copy, "preprocessing").contract.NAME == "rents_b"
    assert families.module_of(original, "preprocessing").contract.NAME == "rents"
    assert copy.trainer_fn_path == "modules.common.entry.trainer_fn"


def test_large_data_is_read_where_it_is_with_its_first_rows_as_the_sample(tmp_path, monkeypatch):
    folder = tmp_path / "big"
    folder.mkdir()
    scaffold_data.rents_csv(str(folder), rows=1500, index=False)
    monkeypatch.setattr(writer, "COPY_LIMIT_BYTES", 1000)  # a setting, not a mock
    project = tmp_path / "project"
    lines = cli.make_family("rents", str(folder), "rent", project_root=str(project))
    assert any("read where it is" in line for line in lines)
    sample = project / "data" / "rents" / "sample" / "data.csv"
    assert table_lib.read(str(sample)).rows == writer.SAMPLE_ROWS
    contract = (project / "modules" / "rents" / "contract.py").read_text()
    assert f"default_data={str(folder)!r}" in contract


def test_an_r_csv_makes_a_family_declaring_na_and_copied_without_row_names(tmp_path):
    data = scaffold_data.flowers_csv(str(tmp_path))  # write.csv: NA, row names "1".."300"
    project = tmp_path / "project"
    lines = cli.make_family("flowers", data, "Species", project_root=str(project))
    assert any(line.startswith("Left out: the first column (header '')") for line in lines)
    assert any("missing_values=('NA',)" in line and "Petal.Length: NA" in line for line in lines)
    contract = (project / "modules" / "flowers" / "contract.py").read_text()
    assert "missing_values=('NA',)," in contract
    copied = table_lib.read(str(project / "data" / "flowers" / "sample" / "flowers.csv"))
    assert list(copied.columns) == ["Petal.Length", "Petal.Width", "Colour", "Species"]
    assert copied.dropped_index is None and copied.missing_found == {"Petal.Length": ("NA",)}
    assert copied.rows == 300
