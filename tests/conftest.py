"""Shared fixtures: the committed small sample and its parsed schema."""

import os

import pytest

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE_DIR = os.path.join(PROJECT_ROOT, "data", "sample")


@pytest.fixture(scope="session")
def sample_dir():
    """The folder of the small committed CSV sample."""
    return SAMPLE_DIR
