"""The CSV checks on their own: exact messages, and files read as a stream."""

import pytest

from components import csv_check
from components.csv_check import CsvFormatError

REQUIRED = ("fare", "tips", "company")
NUMERIC = ("fare", "tips")


def _file(tmp_path, name, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def test_a_good_file_passes_and_counts_its_rows(tmp_path):
    path = _file(tmp_path, "a.csv", b'fare,tips,company\n1.5,0,"A, Inc."\n,,\n\n2,1e-1,B\n')
    assert csv_check.check_files([path], REQUIRED, NUMERIC) == 3


def test_quoted_newlines_stay_in_their_row(tmp_path):
    path = _file(tmp_path, "a.csv", b'fare,tips,company\n1,0,"two\nlines"\n2,0,C\n')
    assert csv_check.check_files([path], REQUIRED, NUMERIC) == 2


@pytest.mark.parametrize("content, message", [
    (b"", r"a\.csv: the file is empty"),
    (b"fare,company\n1,A\n", r"a\.csv: the header has no column 'tips'"),
    (b"fare,tips,company\n1,0,A\n1,0\n", r"a\.csv: line 3 has 2 fields; the header has 3"),
    (b"fare,tips,company\n1,0,A,extra\n", r"a\.csv: line 2 has 4 fields; the header has 3"),
    (b"fare,tips,company\n1,zero,A\n", r"a\.csv: line 2, column 'tips': 'zero' is not a number"),
    (b"fare,tips,company\n1,0,A\n1,0,\xe9\n", r"a\.csv: line 3: byte 0xe9 is not UTF-8"),
    (b"fare,tips,company\n", r"hold a header but no data row"),
])
def test_each_problem_names_file_line_and_column(tmp_path, content, message):
    path = _file(tmp_path, "a.csv", content)
    with pytest.raises(CsvFormatError, match=message):
        csv_check.check_files([path], REQUIRED, NUMERIC)


def test_files_must_share_one_header(tmp_path):
    first = _file(tmp_path, "a.csv", b"fare,tips,company\n1,0,A\n")
    second = _file(tmp_path, "b.csv", b"tips,fare,company\n0,1,A\n")
    with pytest.raises(CsvFormatError, match=r"b\.csv: the header differs from .*a\.csv"):
        csv_check.check_files([second, first], REQUIRED, NUMERIC)


def test_no_file_is_an_error():
    with pytest.raises(CsvFormatError, match="No CSV file"):
        csv_check.check_files([], REQUIRED, NUMERIC)
