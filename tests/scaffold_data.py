"""CSV files the project has never seen, written as R, pandas and spreadsheets write them.

Each has a signal a baseline model can learn (fixed seeds), missing values, and the
habits of its writer with its defaults: R's `write.csv` quotes every string and the
header, writes a missing value as an unquoted `NA` and the row names 1..n as a first
column headed ""; pandas' `to_csv` writes integer-valued floats as `2.0`, a missing
value (NaN) as an empty cell and the index 0..n-1 as a first column headed ""; a
spreadsheet's "CSV UTF-8" starts with a byte-order mark and ends lines with CRLF,
quoting only where a comma is, a missing value an empty cell.
"""

import csv
import os

import numpy as np


def _r_cell(value) -> str:
    if value is None:
        return "NA"
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    return format(value, ".15g")  # R's 15 significant digits: 2.0 is written 2.


def _write_r(path: str, header, rows) -> str:
    """As R's `write.csv(frame, path)`: row names, quoted strings, NA."""
    with open(path, "w", encoding="utf-8") as out:
        out.write(",".join(_r_cell(name) for name in [""] + list(header)) + "\n")
        for number, row in enumerate(rows, start=1):
            out.write(",".join(_r_cell(value) for value in [str(number)] + list(row)) + "\n")
    return path


def _write(path: str, header, rows, style: str, index: bool = False) -> str:
    if index:  # pandas' index: an unnamed first column, 0..n-1.
        header, rows = (
            [""] + list(header),
            [[number] + list(row) for number, row in enumerate(rows)],
        )
    if style == "r":
        options = dict(encoding="utf-8", quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    elif style == "pandas":
        options = dict(encoding="utf-8", quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    else:  # spreadsheet
        options = dict(encoding="utf-8-sig", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    encoding = options.pop("encoding")
    with open(path, "w", newline="", encoding=encoding) as out:
        writer = csv.writer(out, **options)
        writer.writerow(header)
        for row in rows:
            # pandas and spreadsheets write a missing value as an empty cell.
            writer.writerow(["" if value is None else value for value in row])
    return path


# Words of a customer's last support note: some tell of leaving, some of staying.
LEAVING_WORDS = ("cancel", "competitor", "refund", "outage", "overcharged", "disconnect")
STAYING_WORDS = ("thanks", "resolved", "happy", "upgrade", "helpful", "recommend")
FILLER_WORDS = (
    "customer called about the bill internet phone service agent today my account line "
    "asked again with and for a new router speed contract please"
).split()


def support_note(rng) -> tuple:
    """A free-text support note, and how much it says the customer will leave
    (-2 .. 2): a few filler words around zero to two telling ones, written as people
    write (capitals, punctuation, now and then an accent or a symbol)."""
    words = list(rng.choice(FILLER_WORDS, size=int(rng.integers(3, 14))))
    leaning = int(rng.integers(-2, 3))
    telling = LEAVING_WORDS if leaning > 0 else STAYING_WORDS
    for _ in range(abs(leaning)):
        words.insert(int(rng.integers(len(words) + 1)), str(rng.choice(telling)))
    text = " ".join(words).capitalize() + str(rng.choice([".", "!", "...", " - déjà vu ✓"]))
    return text, leaning


def churn_csv(folder: str, rows: int = 400) -> str:
    """Binary, from a spreadsheet: will a customer leave (`Yes`/`No`)? `note`, the
    customer's last support note, is free text whose words carry most of the signal."""
    rng = np.random.default_rng(1)
    notes = np.random.default_rng(11)
    data = []
    for _ in range(rows):
        plan = rng.choice(["Month-to-month, paper bill", "One year", "Two year"])
        tenure = int(rng.integers(1, 72))
        charges = round(float(rng.normal(70, 20)), 2)
        note, leaning = support_note(notes) if notes.random() > 0.05 else ("", 0)
        risk = (
            plan.startswith("Month") * 1.5
            - tenure / 24
            + (charges - 70) / 30
            + 1.5 * leaning
            + rng.normal(0, 0.7)
        )
        data.append(
            [
                tenure,
                charges if rng.random() > 0.05 else None,
                plan,
                note,
                "Yes" if risk > 0 else "No",
            ]
        )
    return _write(
        os.path.join(folder, "churn.csv"),
        ["tenure", "monthly_charges", "contract", "note", "Churn"],
        data,
        "spreadsheet",
    )


def flowers_csv(folder: str, rows: int = 300) -> str:
    """Multi-class, from R: which of three species is a flower?"""
    rng = np.random.default_rng(2)
    species = ("setosa", "versicolor", "virginica")
    data = []
    for _ in range(rows):
        k = int(rng.integers(3))
        length = round(1.5 + 2.5 * k + float(rng.normal(0, 0.6)), 1)
        width = float(round(0.3 + 0.9 * k + float(rng.normal(0, 0.3))))  # 1.0, 2.0 ...
        colour = species[k] if rng.random() < 0.6 else str(rng.choice(species))
        data.append([length if rng.random() > 0.05 else None, width, f"tone {colour}", species[k]])
    return _write_r(
        os.path.join(folder, "flowers.csv"),
        ["Petal.Length", "Petal.Width", "Colour", "Species"],
        data,
    )


def rents_csv(folder: str, rows: int = 400, index: bool = True) -> str:
    """Regression, from pandas: a flat's monthly rent, in euros (with pandas' index
    column unless `index` is False, as `to_csv(index=False)` writes it)."""
    rng = np.random.default_rng(3)
    data = []
    for _ in range(rows):
        area = float(round(float(rng.uniform(20, 120))))  # 54.0: pandas' integer floats
        rooms = int(rng.integers(1, 5))
        district = str(rng.choice(["north", "south", "centre"]))
        rent = (
            8 * area
            + 60 * rooms
            + {"north": 0, "south": -100, "centre": 250}[district]
            + float(rng.normal(0, 60))
        )
        data.append([area, rooms if rng.random() > 0.05 else None, district, round(rent, 2)])
    return _write(
        os.path.join(folder, "rents.csv"),
        ["area_m2", "rooms", "district", "rent"],
        data,
        "pandas",
        index,
    )
