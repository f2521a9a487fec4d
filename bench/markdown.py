"""Markdown pieces shared by the bench's reports: numbers, tables, the machine line."""

from typing import List, Optional, Sequence

from bench import machine as machine_lib


def fmt(value: Optional[float], digits: int = 1) -> str:
    """Returns `value` with `digits` decimals and thousands separators; '–' for None."""
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    """Returns the lines of a markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def machine_line(section: dict) -> str:
    """Names the machine a section was measured on, and its load when it started."""
    before = (section.get("machine_before") or {}).get("load_average_1m")
    load = f" (1-minute load average {before} when the section started)" if before else ""
    return f"Measured on: {machine_lib.describe(section['machine'])}{load}."
