"""What the run report's tests share: the committed artifacts, images, artifacts by hand."""

import base64
import io
import os
import re

from PIL import Image

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "run_report")


def images(page_html):
    """The `src` of every image of a page."""
    return re.findall(r'<img src="([^"]*)"', page_html)


def decode(uri):
    """The PIL image of a PNG data URI."""
    assert uri.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def artifact(artifact_class, uri, **custom):
    """An artifact of `artifact_class` at `uri`, with custom properties."""
    made = artifact_class()
    made.uri = uri
    for key, value in custom.items():
        if isinstance(value, int):
            made.set_int_custom_property(key, value)
        else:
            made.set_string_custom_property(key, value)
    return made
