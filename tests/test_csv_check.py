"""The CSV checks on their own: exact messages, physical line numbers, files read as a stream."""

import gzip

import pytest

from components import csv_check
from components.csv_check import CsvFormatError

REQUIRED = ("fare", "tips", "company")
NUMERIC = ("fare", "tips")
HEADER = b"fare,tips,company\n"
LONG = b"x" * (csv_check.FIELD_LIMIT + 1)


def _file(tmp_path, name, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def test_a_good_file_passes_and_counts_its_rows(tmp_path):
    path = _file(tmp_path, "a.csv", b'fare,tips,company\n1.5,0,"A, Inc."\n,,\n\n2,1e-1,B\n')
    assert csv_check.check_files([path], REQUIRED, NUMERIC) == 3


# Inputs that are data: each passes, with this many rows.
@pytest.mark.parametrize(
    "name, content, rows",
    [
        ("quoted line breaks", HEADER + b'1,0,"two\nlines"\n2,0,"three\n\nlines"\n3,0,C\n', 3),
        ("CRLF line endings", b'fare,tips,company\r\n1,0,A\r\n2,0,"B\r\nC"\r\n', 2),
        ("a UTF-8 byte-order mark", b"\xef\xbb\xbf" + HEADER + b"1,0,A\n", 1),
        ("a field of exactly the limit", HEADER + b"1,0," + LONG[1:] + b"\n", 1),
        ("signs, exponents, spaces", HEADER + b"+1,-.5,A\n 2e3 ,1E-2,B\n", 2),
    ],
)
def test_inputs_that_are_data(tmp_path, name, content, rows):
    path = _file(tmp_path, "a.csv", content)
    assert csv_check.check_files([path], REQUIRED, NUMERIC) == rows, name


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    path = _file(tmp_path, "a.csv", b"\xef\xbb\xbf" + HEADER + b"1,0,A\n")
    assert csv_check.read_header(path) == list(REQUIRED)


def test_a_gzipped_file_is_read_through_gzip(tmp_path):
    path = _file(tmp_path, "a.csv.gz", gzip.compress(HEADER + b"1,0,A\n2,0,B\n"))
    assert csv_check.check_files([path], REQUIRED, NUMERIC) == 2


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty", b"", r"a\.csv: the file is empty"),
        ("no tips", b"fare,company\n1,A\n", r"a\.csv: the header has no column 'tips'"),
        (
            "too few fields",
            HEADER + b"1,0,A\n1,0\n",
            r"a\.csv: line 3 has 2 fields; the header has 3",
        ),
        (
            "too many fields",
            HEADER + b"1,0,A,extra\n",
            r"a\.csv: line 2 has 4 fields; the header has 3",
        ),
        (
            "text in a number",
            HEADER + b"1,zero,A\n",
            r"a\.csv: line 2, column 'tips': 'zero' is not a number\. If 'zero' means a missing",
        ),
        ("not UTF-8", HEADER + b"1,0,A\n1,0,\xe9\n", r"a\.csv: line 3: byte 0xe9 is not UTF-8"),
        ("header only", HEADER, r"hold a header but no data row"),
        # Physical lines: the row after a quoted line break starts on line 4, not 3.
        (
            "line after a quoted line break",
            HEADER + b'1,0,"two\nlines"\n1,x,B\n',
            r"a\.csv: line 4, column 'tips': 'x' is not a number",
        ),
        (
            "a row with a line break and a field too many",
            HEADER + b'1,0,"two\nlines",D\n',
            r"a\.csv: line 2 \(a row over lines 2 to 3\) has 4 fields; the header has 3",
        ),
        (
            "CR-only line endings",
            b"fare,tips,company\r1,0,A\r2,0,B\r",
            r"a\.csv: lines end with a carriage return \(CR\) only \(old Mac line endings\).*"
            r"save the file with LF or CRLF line endings",
        ),
        (
            "a CR inside a line",
            HEADER + b"1,0,A\r2,0,B\n",
            r"a\.csv: line 2: a carriage return \(CR\) outside quotes inside the line",
        ),
        (
            "a field over 128 KiB",
            HEADER + b"1,0," + LONG + b"\n",
            r"a\.csv: line 2, column 'company': the field is longer than 131,072 characters",
        ),
        (
            "a quoted field over 128 KiB",
            HEADER + b'1,0,A\n2,"' + LONG + b'",B\n',
            r"a\.csv: line 3, column 'tips': the field is longer than 131,072 characters",
        ),
        (
            "an unclosed quote",
            HEADER + b'1,0,A\n2,0,"B\n3,0,C\n',
            r"a\.csv: line 3: a quoted field opened on this line is never closed",
        ),
        (
            "nan",
            HEADER + b"nan,0,A\n",
            r"line 2, column 'fare': 'nan' is not a number; leave the cell empty for a missing",
        ),
        (
            "NaN",
            HEADER + b"1,NaN,A\n",
            r"column 'tips': 'NaN' is not a number; leave the cell empty",
        ),
        (
            "inf",
            HEADER + b"inf,0,A\n",
            r"column 'fare': 'inf' is not a finite number; write a finite",
        ),
        ("-inf", HEADER + b"-inf,0,A\n", r"column 'fare': '-inf' is not a finite number"),
        (
            "Infinity",
            HEADER + b"1,Infinity,A\n",
            r"column 'tips': 'Infinity' is not a finite number",
        ),
        (
            "digit separator",
            HEADER + b"1_000,0,A\n",
            r"line 2, column 'fare': '1_000' is not a number; write it without '_' \(1000\)",
        ),
        (
            "non-ASCII digits",
            HEADER + "١٢,0,A\n".encode(),
            r"column 'fare': '١٢' is not a number\.",
        ),
        (
            "gzip named .csv",
            gzip.compress(HEADER + b"1,0,A\n"),
            r"a\.csv: the file is gzip-compressed; name it \*\.csv\.gz",
        ),
    ],
)
def test_each_problem_names_file_line_and_column(tmp_path, name, content, message):
    path = _file(tmp_path, "a.csv", content)
    with pytest.raises(CsvFormatError, match=message):
        csv_check.check_files([path], REQUIRED, NUMERIC)


GZIPPED = gzip.compress(HEADER + b"1,0,A\n" * 20000)


@pytest.mark.parametrize(
    "content, message",
    [
        (HEADER + b"1,0,A\n", r"a\.csv\.gz: cannot be read as gzip: Not a gzipped file"),
        (
            GZIPPED[: len(GZIPPED) // 2],
            r"a\.csv\.gz: cannot be read as gzip: Compressed file ended",
        ),
    ],
    ids=["plain text", "cut short"],
)
def test_a_broken_gzip_file_is_named(tmp_path, content, message):
    path = _file(tmp_path, "a.csv.gz", content)
    with pytest.raises(CsvFormatError, match=message):
        csv_check.check_files([path], REQUIRED, NUMERIC)


def test_a_quote_left_open_over_a_large_file_stops_early(tmp_path):
    rows = b"1,0,A\n" * (csv_check.MAX_OPEN_QUOTE_CHARS // 6 + 10)
    path = _file(tmp_path, "a.csv", HEADER + b'1,0,"A\n' + rows)
    with pytest.raises(
        CsvFormatError,
        match=r"a\.csv: line 2: a quoted field opened on this "
        r"line is still open at line \d+",
    ):
        csv_check.check_files([path], REQUIRED, NUMERIC)


def test_files_must_share_one_header(tmp_path):
    first = _file(tmp_path, "a.csv", b"fare,tips,company\n1,0,A\n")
    second = _file(tmp_path, "b.csv", b"tips,fare,company\n0,1,A\n")
    with pytest.raises(CsvFormatError, match=r"b\.csv: the header differs from .*a\.csv"):
        csv_check.check_files([second, first], REQUIRED, NUMERIC)


def test_no_file_is_an_error():
    with pytest.raises(CsvFormatError, match="No CSV file"):
        csv_check.check_files([], REQUIRED, NUMERIC)


CLASSES = csv_check.LabelRule("company", classes=("A", "B", "C"))


@pytest.mark.parametrize(
    "rule, content, message",
    [
        (
            CLASSES,
            HEADER + b"1,0,A\n2,0,D\n",
            r"a\.csv: line 3, column 'company': the label 'D' is not one of the classes 'A', "
            r"'B', 'C' of the family's task; fix the cell, or add the class",
        ),
        (
            CLASSES,
            HEADER + b"1,0,A\n2,0,\n",
            r"a\.csv: line 3, column 'company': the label is empty; fill it, or have the family "
            r"drop such rows \(drop_empty_label=True in its task\)",
        ),
        (
            csv_check.LabelRule("tips", numeric=True),
            HEADER + b"1,0,A\n2,lots,B\n",
            r"a\.csv: line 3, column 'tips': the label 'lots' is not a number\. A regression's "
            r"label must be a number\.",
        ),
    ],
)
def test_a_label_the_task_cannot_use_stops_naming_line_and_value(tmp_path, rule, content, message):
    path = _file(tmp_path, "a.csv", content)
    with pytest.raises(CsvFormatError, match=message):
        csv_check.check_files([path], REQUIRED, NUMERIC, rule)


def test_rows_with_an_empty_label_drop_when_the_family_says_so(tmp_path):
    path = _file(tmp_path, "a.csv", HEADER + b"1,0,A\n2,0,\n3,0, \n4,0,C\n")
    rule = csv_check.LabelRule("company", classes=("A", "B", "C"), drop_empty=True)
    assert csv_check.check_files([path], REQUIRED, NUMERIC, rule) == 2
    assert csv_check.check_files([path], REQUIRED, NUMERIC) == 4
