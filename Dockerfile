# The pipeline image: CPython 3.11 with the same pinned TFX 1.15.1 stack as a local
# run, and the project at /pipeline, where the compiled Kubeflow pipelines look for
# module files, the curated schema and the custom executors.
#   docker build -t <registry>/taxi-estimator-pipeline:<tag> .

# crcmod and pyfarmhash ship no CPython 3.11 wheels: they are compiled here, and only
# the finished environment goes into the image.
FROM python:3.11-slim-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
COPY requirements-lock.txt /tmp/requirements-lock.txt
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps --ignore-requires-python \
    -r /tmp/requirements-lock.txt

FROM python:3.11-slim-bookworm
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
