"""The serving client's CSV reading and version lookup, on small files; no model needed."""

import csv
import os

import pytest
import tensorflow as tf

from components import versioned_pusher
from pipeline.serving import client as serving


@pytest.fixture(scope="module")
def sample_rows(sample_csv):
    """The sample's header and its first three rows with a value in the first column."""
    with open(sample_csv, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, [row for row in reader if row[0]][:3]


def _write(path, header, rows, prefix=b""):
    with open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([header] + rows)
    if prefix:
        with open(path, "rb") as f:
            content = f.read()
        with open(path, "wb") as f:
            f.write(prefix + content)
    return str(path)


def _first_column(examples, header):
    return [tf.train.Example.FromString(e).features.feature[header[0]] for e in examples]


def test_a_byte_order_mark_is_read_as_such(tmp_path, sample_rows, schema):
    header, rows = sample_rows
    plain = serving.examples_from_csv(_write(tmp_path / "a.csv", header, rows), schema)
    with_bom = serving.examples_from_csv(
        _write(tmp_path / "b.csv", header, rows, prefix=b"\xef\xbb\xbf"), schema
    )
    assert with_bom == plain
    # The first column is not lost under a name with the mark in front.
    assert all(feature.WhichOneof("kind") for feature in _first_column(with_bom, header))


@pytest.mark.parametrize(
    "rename, message",
    [
        (
            {"fare": "fair"},
            r"b\.csv: the header does not match the schema: column 'fair' is not "
            r"in the schema; column 'fare' of the schema is missing",
        ),
        ({"company": None}, r"b\.csv: .*column 'company' of the schema is missing"),
        ({"extra": "extra"}, r"b\.csv: .*column 'extra' is not in the schema\.$"),
    ],
)
def test_a_header_that_does_not_match_the_schema_is_named(
    tmp_path, sample_rows, schema, rename, message
):
    header, rows = sample_rows
    new_header, columns = [], []
    for index, column in enumerate(header):
        name = rename.get(column, column)
        if name is not None:
            new_header.append(name)
            columns.append(index)
    new_rows = [[row[i] for i in columns] for row in rows]
    if "extra" in rename:
        new_header.append("extra")
        new_rows = [row + ["x"] for row in new_rows]
    with pytest.raises(ValueError, match=message):
        serving.examples_from_csv(_write(tmp_path / "b.csv", new_header, new_rows), schema)


@pytest.mark.parametrize("keep_tips", [True, False])
def test_the_label_source_may_be_present_or_absent(tmp_path, sample_rows, schema, keep_tips):
    header, rows = sample_rows
    keep = [i for i, c in enumerate(header) if keep_tips or c != "tips"]
    path = _write(
        tmp_path / "a.csv", [header[i] for i in keep], [[row[i] for i in keep] for row in rows]
    )
    examples = serving.examples_from_csv(path, schema)
    assert len(examples) == 3
    assert all("tips" not in tf.train.Example.FromString(e).features.feature for e in examples)


def test_without_serving_the_label_source_is_required(tmp_path, sample_rows, schema):
    header, rows = sample_rows
    keep = [i for i, c in enumerate(header) if c != "tips"]
    path = _write(
        tmp_path / "a.csv", [header[i] for i in keep], [[row[i] for i in keep] for row in rows]
    )
    with pytest.raises(ValueError, match=r"column 'tips' of the schema is missing"):
        serving.examples_from_csv(path, schema, serving=False)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", r"a\.csv: the file is empty"),
        (None, r"a\.csv, line 3: the row's field count differs from the header's \(18\)"),
    ],
)
def test_an_empty_file_or_a_short_row_is_an_error(tmp_path, sample_rows, schema, content, message):
    header, rows = sample_rows
    path = tmp_path / "a.csv"
    if content is None:
        _write(path, header, [rows[0], rows[1][:-1]])
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        serving.examples_from_csv(str(path), schema)


def test_latest_version_skips_versions_without_the_completion_marker(tmp_path):
    serving_dir = tmp_path / "serving"
    for version, complete in ((100, True), (200, True), (300, False)):
        (serving_dir / str(version)).mkdir(parents=True)
        if complete:
            (serving_dir / str(version) / versioned_pusher.PUSHED_MARKER).write_text("{}")
    (serving_dir / ".incomplete-host-1-2-ab").mkdir()
    assert serving.latest_version_dir(str(serving_dir)) == os.path.join(str(serving_dir), "200")


def test_no_complete_version_is_an_error(tmp_path):
    (tmp_path / "serving" / "100").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="No complete pushed model version"):
        serving.latest_version_dir(str(tmp_path / "serving"))
