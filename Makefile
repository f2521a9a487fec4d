# The project's one entry point: `make help` lists every target.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DATA ?= data/taxi
BUILD ?= build
TRAIN_STEPS ?=
# Beam profile of the Beam-based components: local or local-multiprocess.
BEAM_PROFILE ?= local
FORCE_PUSH ?=

# The project's packages (pipeline, components, modules) import from the root.
export PYTHONPATH := $(CURDIR)
# TensorFlow's C++ start-up chatter says nothing about this pipeline.
export TF_CPP_MIN_LOG_LEVEL ?= 2
# Google client libraries warn at import time about Python versions they will drop.
export PYTHONWARNINGS ?= ignore::FutureWarning

.DEFAULT_GOAL := help
.PHONY: help venv run test clean

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements-lock.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; CPython 3.11 is required (make PYTHON=...)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "error: $(PYTHON) is not CPython 3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	@echo "Installing the pinned TFX 1.15.1 stack into $(VENV) (about two minutes)..."
	$(BIN)/pip install --quiet --no-deps --ignore-requires-python -r requirements-lock.txt -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed ## Create the virtual environment from the lock file, if missing.

run: venv ## Run the whole pipeline on DATA (default data/taxi); outputs go to build/.
	$(BIN)/python -m pipeline.local_runner --data $(DATA) --build-dir $(BUILD) $(if $(TRAIN_STEPS),--train-steps $(TRAIN_STEPS)) $(if $(FORCE_PUSH),--force-push) --beam-profile $(BEAM_PROFILE)

test: venv ## Run the whole test suite (without the image tests: make test-image).
	$(BIN)/python -m pytest -m "not image"

clean: ## Remove build/ (pipeline root, metadata, pushed models).
	rm -rf $(BUILD)

# Benchmarks: REPEATS timed runs per figure (median reported); SCALES as multiples of DATA.
REPEATS ?= 3
SCALES ?= 1,10,100
.PHONY: bench
bench: venv ## Benchmark pipeline, training, serving, scale (REPEATS=3 SCALES=1,10,100); results in build/bench/.
	$(BIN)/python -m bench --repeats $(REPEATS) --scales $(SCALES) --data $(DATA) --out $(BUILD)/bench $(BENCH_ARGS)

# Kubeflow deployment: the image the steps run in and the storage they share.
IMAGE ?= gcr.io/my-project/taxi-estimator-pipeline
TAG ?= 0.1.0
PIPELINE_ROOT ?= gs://my-bucket/tfx/chicago-taxi
DATA_ROOT ?= gs://my-bucket/data/taxi
SERVING_DIR ?= gs://my-bucket/serving/chicago-taxi
.PHONY: kfp
kfp: venv ## Compile for Kubeflow into $(BUILD)/kfp: pipeline.yaml (KFP v1) and pipeline.json (KFP v2, Vertex).
	$(BIN)/python -m pipeline.kubeflow_runner --output-dir $(BUILD)/kfp --image $(IMAGE) --tag $(TAG) \
		--pipeline-root $(PIPELINE_ROOT) --data-root $(DATA_ROOT) --serving-dir $(SERVING_DIR) \
		$(if $(TRAIN_STEPS),--train-steps $(TRAIN_STEPS))

# The pipeline image, built with Docker where its engine runs, else with podman
# (pipeline/image/build.py, standard library only: no venv needed to build).
.PHONY: image image-tools test-image
image: ## Build the pipeline image $(IMAGE):$(TAG) (Docker, else podman); log in $(BUILD)/image/.
	$(PYTHON) -m pipeline.image.build --image $(IMAGE):$(TAG) --log $(BUILD)/image/build.log

image-tools: ## Install podman, buildah, runc, debootstrap with apt where no Docker engine runs.
	$(PYTHON) -m pipeline.image.build --install-tools

test-image: venv ## Build the image; run the compiled pipeline and a training cluster in it (slow; skipped without an engine).
	$(BIN)/python -m pytest -m image tests/test_image.py tests/test_multiworker.py
