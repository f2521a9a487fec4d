"""Where a family's data lives in the project: `data/<family>/`."""

import os

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def family_data_dir(family: str, *parts: str) -> str:
    """Returns `data/<family>/<parts...>` under the project's root."""
    return os.path.join(PROJECT_ROOT, "data", family, *parts)
