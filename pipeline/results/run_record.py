"""One pipeline run as ML Metadata recorded it: its executions, their artifacts, the tuning.

The summary (`summary.py`) and the report (`report.py`) read a run through `read_run`
alone. The number of queries is bounded by the size of the pipeline, never by the
length of its history: the newest run is found with two filtered queries, and then each
of its executions is read once, its events and artifacts in one batch.
"""

import dataclasses
import json
import os
from typing import Dict, List, Optional

from ml_metadata import metadata_store as mlmd
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from components import tuner as tuner_lib

STATE_NAMES = {
    metadata_store_pb2.Execution.COMPLETE: "executed",
    metadata_store_pb2.Execution.CACHED: "cached",
    metadata_store_pb2.Execution.FAILED: "failed",
    metadata_store_pb2.Execution.RUNNING: "running",
    metadata_store_pb2.Execution.CANCELED: "canceled",
    metadata_store_pb2.Execution.NEW: "new",
}

# Where the Trainer's hyperparameters came from, as the summary says it.
DEFAULTS = "defaults"
TUNED_IN_THIS_RUN = "tuned in this run"


@dataclasses.dataclass
class Step:
    """One execution of the run: a component that ran, was cached or failed."""

    node_id: str
    state: str
    start_ms: int
    end_ms: int
    execution: metadata_store_pb2.Execution
    inputs: List[metadata_store_pb2.Artifact]
    outputs: List[metadata_store_pb2.Artifact]

    @property
    def seconds(self) -> float:
        return (self.end_ms - self.start_ms) / 1000.0

    def property(self, key: str):
        """An execution property (TFX stores a component's parameters there), or None."""
        value = self.execution.custom_properties.get(key)
        if value is None:
            value = self.execution.properties.get(key)
        return None if value is None else getattr(value, value.WhichOneof("value"))

    def json_property(self, key: str, default):
        text = self.property(key)
        try:
            return json.loads(text) if text else default
        except (TypeError, json.JSONDecodeError):
            return default

    def output(self, type_name: str) -> Optional[metadata_store_pb2.Artifact]:
        """The first output artifact of a type (`Model`, `ModelEvaluation`, ...)."""
        return next((a for a in self.outputs if a.type == type_name), None)


@dataclasses.dataclass
class RunRecord:
    """A run: its id, start, and its steps in the order they started."""

    run_id: str
    started_ms: int
    steps: List[Step]
    store: metadata_store.MetadataStore

    def step(self, node_id: str) -> Optional[Step]:
        return next((s for s in self.steps if s.node_id == node_id), None)

    def outputs(self, type_name: str) -> List[metadata_store_pb2.Artifact]:
        """Every output artifact of a type, over all the run's steps."""
        return [a for s in self.steps for a in s.outputs if a.type == type_name]


def custom(artifact, key: str):
    """An artifact's custom property, or None."""
    value = artifact.custom_properties.get(key)
    if value is None:
        return None
    return getattr(value, value.WhichOneof("value"))


def _newest_run_id(store, pipeline_name: str) -> Optional[str]:
    newest = store.get_executions(
        list_options=mlmd.ListOptions(
            filter_query=f"contexts_a.type = 'pipeline' AND contexts_a.name = '{pipeline_name}'",
            order_by=mlmd.OrderByField.CREATE_TIME,
            is_asc=False,
            limit=1,
        )
    )
    if not newest:
        return None
    return next(
        (c.name for c in store.get_contexts_by_execution(newest[0].id) if c.type == "pipeline_run"),
        None,
    )


def _artifacts(store, executions) -> Dict[int, Dict[str, list]]:
    """{execution id: {"inputs": [...], "outputs": [...]}}, in two queries."""
    events = store.get_events_by_execution_ids([e.id for e in executions])
    by_id = (
        {a.id: a for a in store.get_artifacts_by_id(sorted({e.artifact_id for e in events}))}
        if events
        else {}
    )
    found = {e.id: {"inputs": [], "outputs": []} for e in executions}
    for event in events:
        if event.artifact_id not in by_id:
            continue
        if event.type == metadata_store_pb2.Event.OUTPUT:
            found[event.execution_id]["outputs"].append(by_id[event.artifact_id])
        elif event.type == metadata_store_pb2.Event.INPUT:
            found[event.execution_id]["inputs"].append(by_id[event.artifact_id])
    return found


def read_run(
    connection_config: metadata_store_pb2.ConnectionConfig,
    pipeline_name: str,
    run_id: Optional[str] = None,
    since_ms: int = 0,
) -> RunRecord:
    """Returns a run of `pipeline_name`: the newest, or `run_id`.

    Raises:
      ValueError: the store holds no such run, or the newest started before `since_ms`
        (ms since the epoch): a summary is only ever of a run recorded since then.
    """
    store = metadata_store.MetadataStore(connection_config)
    run_id = run_id or _newest_run_id(store, pipeline_name)
    run_context = run_id and store.get_context_by_type_and_name("pipeline_run", run_id)
    if not run_context:
        raise ValueError(
            f"No run {run_id + ' ' if run_id else ''}of pipeline {pipeline_name!r} in ML Metadata."
        )
    if run_context.create_time_since_epoch < since_ms:
        raise ValueError(f"Pipeline {pipeline_name!r} has no run recorded since {since_ms}.")
    executions = sorted(
        store.get_executions_by_context(run_context.id),
        key=lambda e: (e.create_time_since_epoch, e.id),
    )
    artifacts = _artifacts(store, executions)
    steps = []
    for execution in executions:
        node = next(
            (c.name for c in store.get_contexts_by_execution(execution.id) if c.type == "node"), "?"
        )
        steps.append(
            Step(
                node_id=node.split(".", 1)[-1],
                state=STATE_NAMES.get(execution.last_known_state, "unknown"),
                start_ms=execution.create_time_since_epoch,
                end_ms=execution.last_update_time_since_epoch,
                execution=execution,
                **artifacts[execution.id],
            )
        )
    return RunRecord(
        run_id=run_id, started_ms=run_context.create_time_since_epoch, steps=steps, store=store
    )


def _producer(store, artifact_id: int):
    """The execution that made an artifact: the first to output it (a cached one reuses)."""
    events = [
        e
        for e in store.get_events_by_artifact_ids([artifact_id])
        if e.type == metadata_store_pb2.Event.OUTPUT
    ]
    if not events:
        return None
    executions = store.get_executions_by_id([e.execution_id for e in events])
    return min(executions, key=lambda e: (e.create_time_since_epoch, e.id))


def tuning_of(run: RunRecord, trainer: Step) -> dict:
    """Where a Trainer execution's hyperparameters came from, with that tuning's trials.

    Read from its input `HyperParameters` artifact (none: the family's `defaults`)
    and the `TunerResults` of the Tuner execution that made it, in this run or an
    earlier one.
    """
    tuned = [a for a in trainer.inputs if a.type == "HyperParameters"]
    if not tuned:
        return {"source": DEFAULTS, "tuned": {}, "tuned_in_run": None, "trials": []}
    artifact = tuned[0]
    with open(os.path.join(artifact.uri, "best_hyperparameters.txt")) as best_file:
        values = json.load(best_file).get("values", {})
    store = run.store
    producer = _producer(store, artifact.id)
    tuned_in, trials = None, []
    if producer is not None:
        tuned_in = next(
            (
                c.name
                for c in store.get_contexts_by_execution(producer.id)
                if c.type == "pipeline_run"
            ),
            None,
        )
        for output in _artifacts(store, [producer])[producer.id]["outputs"]:
            if output.type == "TunerResults" and os.path.isfile(
                os.path.join(output.uri, tuner_lib.TRIALS_FILE)
            ):
                trials = tuner_lib.read_trials(output.uri)
    return {
        "source": TUNED_IN_THIS_RUN if tuned_in == run.run_id else f"tuned in run {tuned_in}",
        "tuned": values,
        "tuned_in_run": tuned_in,
        "trials": trials,
    }
