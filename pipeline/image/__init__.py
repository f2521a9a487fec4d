"""The pipeline image: building it from the Dockerfile, and running commands in it.

Standard library only, so that it runs with the machine's own Python before the
project's virtual environment exists.
"""
