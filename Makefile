# The project's one entry point: `make help` lists every target.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# The model family: a folder of modules/ (taxi, reviews, penguins, taxi_fare).
MODEL ?= taxi
# A folder of CSV files; empty: the family's own data.
DATA ?=
BUILD ?= build
TRAIN_STEPS ?=
# Beam profile of the Beam-based components (README, "Beam profiles"); empty: the
# runner's own. make run: local (default) or local-multiprocess. make kfp:
# local-multiprocess (default: the DirectRunner in each pod), local, dataflow, flink or
# spark, with their values (flags of pipeline.kubeflow.runner; from the command line or
# the environment):
#   dataflow: BEAM_PROJECT, BEAM_REGION, BEAM_TEMP_LOCATION (gs://); BEAM_SDK_IMAGE
#   flink, spark: BEAM_JOB_ENDPOINT (host:port), BEAM_ENVIRONMENT_CONFIG;
#     BEAM_ENVIRONMENT_TYPE (EXTERNAL, DOCKER, PROCESS, LOOPBACK); BEAM_SDK_IMAGE
BEAM_PROFILE ?=
BEAM_PROJECT ?=
BEAM_REGION ?=
BEAM_TEMP_LOCATION ?=
BEAM_SDK_IMAGE ?=
BEAM_JOB_ENDPOINT ?=
BEAM_ENVIRONMENT_TYPE ?=
BEAM_ENVIRONMENT_CONFIG ?=
FORCE_PUSH ?=
# Tuning: TUNE=1 runs the Tuner before the Trainer (make tune sets it); TRIALS trials
# of TUNING_STEPS steps each (empty: 4 trials of the family's training steps);
# TUNING_ALGORITHM random or bayesian.
TUNE ?=
# The trainer: estimator (TFX's Estimator Trainer, the default) or keras (TFX's generic
# Keras Trainer: the pipeline <name>-keras, its folders <family>-keras). Read by run,
# tune, kfp, report and tensorboard.
TRAINER ?=
TRIALS ?=
TUNING_STEPS ?=
TUNING_ALGORITHM ?=

# The project's packages (pipeline, components, modules) import from the root.
export PYTHONPATH := $(CURDIR)
# TensorFlow's C++ start-up chatter says nothing about this pipeline.
export TF_CPP_MIN_LOG_LEVEL ?= 2
# Google client libraries warn at import time about Python versions they will drop.
export PYTHONWARNINGS ?= ignore::FutureWarning

.DEFAULT_GOAL := help
.PHONY: help venv run tune test test-fast lint clean report tensorboard family

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements-lock.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; CPython 3.11 is required (make PYTHON=...)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "error: $(PYTHON) is not CPython 3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	@echo "Installing the pinned TFX 1.15.1 stack into $(VENV) (about two minutes)..."
	$(BIN)/pip install --quiet --no-deps --ignore-requires-python -r requirements-lock.txt -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed ## Create the virtual environment from the lock file, if missing.

run: venv ## Run the pipeline of MODEL (taxi) on DATA (the family's data); outputs go to build/. TUNE=1 tunes first; TRAINER=keras trains without the Estimator.
	$(BIN)/python -m pipeline.local.runner --model $(MODEL) $(if $(DATA),--data $(DATA)) --build-dir $(BUILD) $(if $(TRAINER),--trainer $(TRAINER)) $(if $(TRAIN_STEPS),--train-steps $(TRAIN_STEPS)) $(if $(FORCE_PUSH),--force-push) $(if $(BEAM_PROFILE),--beam-profile $(BEAM_PROFILE)) \
		$(if $(TUNE),--tune) $(if $(TRIALS),--tuning-trials $(TRIALS)) $(if $(TUNING_STEPS),--tuning-steps $(TUNING_STEPS)) $(if $(TUNING_ALGORITHM),--tuning-algorithm $(TUNING_ALGORITHM))

family: venv ## Make a model family from a CSV: NAME=<name> DATA=<csv file or folder> LABEL=<column> [TASK=binary|multiclass|regression] [TEXT=a,b] [CATEGORY=c].
	$(BIN)/python -m pipeline.scaffold --name "$(NAME)" --data "$(DATA)" --label "$(LABEL)" $(if $(TASK),--task $(TASK)) $(if $(TEXT),--text "$(TEXT)") $(if $(CATEGORY),--category "$(CATEGORY)")

tune: TUNE = 1
tune: run ## Run the pipeline with the Tuner (TRIALS=4 TUNING_STEPS=...); later runs reuse its best values.

test: venv ## Run the whole test suite (without the image tests: make test-image).
	$(BIN)/python -m pytest -m "not image"

test-fast: venv ## Run the unit tests only (no pipeline runs), in about two minutes.
	$(BIN)/python -m pytest -m "not slow and not image"

lint: venv ## Lint and check the format with ruff (settings in pyproject.toml); changes no file.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean: ## Remove build/ (pipeline root, metadata, pushed models).
	rm -rf $(BUILD)

report: venv ## Render the report of the newest MODEL run in BUILD again, from ML Metadata and the pipeline root.
	$(BIN)/python -m pipeline.results.report --model $(MODEL) --build-dir $(BUILD) $(if $(TRAINER),--trainer $(TRAINER))

TB_PORT ?= 6006
tensorboard: venv ## TensorBoard on the MODEL training summaries in BUILD, at http://127.0.0.1:6006 (TB_PORT=...).
	$(BIN)/python -m pipeline.results.tensorboard --model $(MODEL) --build-dir $(BUILD) --port $(TB_PORT) $(if $(TRAINER),--trainer $(TRAINER))

# Benchmarks: REPEATS timed runs per figure (median reported); SCALES as multiples of DATA.
REPEATS ?= 3
SCALES ?= 1,10,100
.PHONY: bench
bench: venv ## Benchmark MODEL: pipeline, training, serving, scale (REPEATS=3 SCALES=1,10,100); results in build/bench/MODEL/.
	$(BIN)/python -m bench --model $(MODEL) --repeats $(REPEATS) --scales $(SCALES) $(if $(DATA),--data $(DATA)) --out $(BUILD)/bench/$(MODEL) $(BENCH_ARGS)

# Kubeflow deployment: the image the steps run in and the storage they share.
IMAGE ?= gcr.io/my-project/keras-estimator-pipeline
TAG ?= 0.1.0
# Empty: placeholder buckets named after the family's pipeline.
PIPELINE_ROOT ?=
DATA_ROOT ?=
SERVING_DIR ?=
.PHONY: kfp
kfp: venv ## Compile MODEL for Kubeflow into $(BUILD)/kfp/MODEL: pipeline.yaml (KFP v1), pipeline.json (KFP v2, Vertex); BEAM_PROFILE=dataflow|flink|spark.
	$(BIN)/python -m pipeline.kubeflow.runner --model $(MODEL) --output-dir $(BUILD)/kfp --image $(IMAGE) --tag $(TAG) $(if $(TRAINER),--trainer $(TRAINER)) \
		$(if $(PIPELINE_ROOT),--pipeline-root $(PIPELINE_ROOT)) $(if $(DATA_ROOT),--data-root $(DATA_ROOT)) \
		$(if $(SERVING_DIR),--serving-dir $(SERVING_DIR)) $(if $(TRAIN_STEPS),--train-steps $(TRAIN_STEPS)) $(if $(TUNE),--tune) \
		$(if $(BEAM_PROFILE),--beam-profile $(BEAM_PROFILE)) $(if $(BEAM_PROJECT),--beam-project $(BEAM_PROJECT)) \
		$(if $(BEAM_REGION),--beam-region $(BEAM_REGION)) $(if $(BEAM_TEMP_LOCATION),--beam-temp-location $(BEAM_TEMP_LOCATION)) \
		$(if $(BEAM_SDK_IMAGE),--beam-sdk-image $(BEAM_SDK_IMAGE)) $(if $(BEAM_JOB_ENDPOINT),--beam-job-endpoint $(BEAM_JOB_ENDPOINT)) \
		$(if $(BEAM_ENVIRONMENT_TYPE),--beam-environment-type $(BEAM_ENVIRONMENT_TYPE)) \
		$(if $(BEAM_ENVIRONMENT_CONFIG),--beam-environment-config $(BEAM_ENVIRONMENT_CONFIG))

# The pipeline image, built with Docker where its engine runs, else with podman
# (pipeline/image/build.py, standard library only: no venv needed to build).
.PHONY: image image-tools test-image
image: ## Build the pipeline image $(IMAGE):$(TAG) (Docker, else podman); log in $(BUILD)/image/.
	$(PYTHON) -m pipeline.image.build --image $(IMAGE):$(TAG) --log $(BUILD)/image/build.log

image-tools: ## Install podman, buildah, runc, debootstrap with apt where no Docker engine runs.
	$(PYTHON) -m pipeline.image.build --install-tools

test-image: venv ## Build the image; run the compiled pipeline and a training cluster in it (slow; skipped without an engine).
	$(BIN)/python -m pytest -m image tests/test_image.py tests/test_multiworker.py
