# The pipeline image: CPython 3.11 with the same pinned TFX 1.15.1 stack as a local
# run, and the project at /pipeline, where the compiled Kubeflow pipelines look for
# module files, the curated schema and the custom executors.
#   make image IMAGE=<registry>/keras-estimator-pipeline TAG=<tag>
# (python3 -m pipeline.image.build: Docker where its engine runs, else podman.)
ARG BASE_IMAGE=python:3.11-slim-bookworm

# crcmod and pyfarmhash ship no CPython 3.11 wheels: they are compiled here, and only
# the finished environment goes into the image.
FROM ${BASE_IMAGE} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
# Set only where the build reaches PyPI through the host's CA bundle (podman here).
ARG PIP_CERT=
COPY requirements-lock.txt /tmp/requirements-lock.txt
# The lock is the runtime part (requirements-dev.txt stays out), installed as it is.
# TensorFlow's C++ headers go: only compiling custom ops reads them.
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps --ignore-requires-python \
    -r /tmp/requirements-lock.txt \
    && rm -rf /opt/venv/lib/python3.11/site-packages/tensorflow/include

FROM ${BASE_IMAGE}
COPY --from=build /opt/venv /opt/venv
# KFP runs `python -m tfx.orchestration...`: `python` must be the environment's.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/pipeline \
    PYTHONUNBUFFERED=1 \
    TF_CPP_MIN_LOG_LEVEL=2
WORKDIR /pipeline
COPY pipeline/ pipeline/
COPY components/ components/
COPY modules/ modules/
# The families' curated schemas (.dockerignore leaves their CSV data out).
COPY data/ data/
