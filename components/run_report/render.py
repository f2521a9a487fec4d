"""The report page: the sections' data and charts through a jinja2 template.

The page is self-contained: its style is inline, its images are data URIs, and it
has no script, so it opens from disk, in a KFP UI frame or offline alike.
"""

import math
import os
from typing import Mapping, Optional

import jinja2

from components.run_report import charts as charts_lib

TEMPLATE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
TEMPLATE = "report.html.j2"
# The page's sections, in order: (key in the page dict, anchor title).
SECTIONS = (
    ("run", "The run"),
    ("data", "The data"),
    ("anomalies", "Anomalies"),
    ("training", "Training"),
    ("evaluation", "Evaluation"),
    ("pushed", "The pushed model"),
)


def _number(value, digits: int = 4) -> str:
    if value is None or isinstance(value, jinja2.Undefined):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (
        isinstance(value, float) and value.is_integer() and abs(value) >= 1000
    ):
        return f"{int(value):,}"
    if isinstance(value, float) and math.isnan(value):
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return str(value)
    return f"{value:.{digits}g}"


def _percent(value) -> str:
    if value is None or isinstance(value, jinja2.Undefined):
        return "–"
    return f"{100 * value:.1f}%"


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["num"] = _number
    environment.filters["pct"] = _percent
    return environment


def render_page(page: Mapping, charts: Optional[Mapping] = None) -> str:
    """Returns the report's HTML for `page`.

    Args:
      page: {"title", "run", "data", "anomalies", "training", "evaluation",
        "pushed"}; a section that is None or missing is not shown (the run did not
        get that far).
      charts: precomputed charts (`charts.all_charts(page)` when None).
    """
    sections = [(key, title) for key, title in SECTIONS if page.get(key)]
    return (
        _environment()
        .get_template(TEMPLATE)
        .render(
            page=page,
            sections=sections,
            charts=charts if charts is not None else charts_lib.all_charts(page),
            state_colors=charts_lib.STATE_COLORS,
        )
    )


def write_page(page: Mapping, path: str) -> str:
    """Renders `page` into the file `path` (its folder is created); returns `path`."""
    html = render_page(page)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as page_file:
        page_file.write(html)
    return path
