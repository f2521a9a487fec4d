"""Reading a run back from ML Metadata: the newest run, its steps, a bounded number of queries.

The store is a real SQLite ML Metadata store, written here with the context, execution
and artifact types TFX's runners record (`pipeline`, `pipeline_run`, `node`).
"""

import pytest
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx.orchestration import metadata

from pipeline.results import run_record

NODES = ("CsvExampleGen", "Trainer", "Evaluator")


def _type(store, kind, name):
    proto = {
        "context": metadata_store_pb2.ContextType,
        "execution": metadata_store_pb2.ExecutionType,
        "artifact": metadata_store_pb2.ArtifactType,
    }[kind](name=name)
    return getattr(store, f"put_{kind}_type")(proto)


def _record_runs(path, pipeline, runs, other_pipeline_runs=0):
    """Writes `runs` runs of `pipeline` (and of another) as TFX's runner records them."""
    store = metadata_store.MetadataStore(metadata.sqlite_metadata_connection_config(path))
    types = {name: _type(store, "context", name) for name in ("pipeline", "pipeline_run", "node")}
    execution_type = _type(store, "execution", "Component")
    artifact_type = _type(store, "artifact", "ModelEvaluation")
    run_ids = []
    for name, count in ((pipeline, runs), ("other", other_pipeline_runs)):
        (pipeline_context,) = store.get_contexts_by_id(
            store.put_contexts([metadata_store_pb2.Context(type_id=types["pipeline"], name=name)])
        )
        node_contexts = store.get_contexts_by_id(
            store.put_contexts(
                [
                    metadata_store_pb2.Context(type_id=types["node"], name=f"{name}.{node}")
                    for node in NODES
                ]
            )
        )
        for number in range(count):
            run_id = f"{name}-run-{number}"
            (run_context,) = store.get_contexts_by_id(
                store.put_contexts(
                    [metadata_store_pb2.Context(type_id=types["pipeline_run"], name=run_id)]
                )
            )
            for node_context in node_contexts:
                execution = metadata_store_pb2.Execution(
                    type_id=execution_type, last_known_state=metadata_store_pb2.Execution.COMPLETE
                )
                artifact = metadata_store_pb2.Artifact(
                    type_id=artifact_type, uri=f"/{run_id}/{node_context.name}"
                )
                event = metadata_store_pb2.Event(type=metadata_store_pb2.Event.OUTPUT)
                store.put_execution(
                    execution, [(artifact, event)], [pipeline_context, run_context, node_context]
                )
            if name == pipeline:
                run_ids.append(run_id)
    return run_ids


class _CountingStore(metadata_store.MetadataStore):
    """The real store, counting its read calls."""

    calls = 0

    def __getattribute__(self, name):
        if name.startswith("get_"):
            type(self).calls += 1
        return super().__getattribute__(name)


@pytest.fixture
def counting_store(monkeypatch):
    _CountingStore.calls = 0
    monkeypatch.setattr(run_record.metadata_store, "MetadataStore", _CountingStore)
    return _CountingStore


def test_the_newest_run_of_the_pipeline_is_read_with_its_steps_and_outputs(tmp_path):
    path = str(tmp_path / "m.sqlite")
    run_ids = _record_runs(path, "penguins", runs=3, other_pipeline_runs=2)
    run = run_record.read_run(metadata.sqlite_metadata_connection_config(path), "penguins")
    assert run.run_id == run_ids[-1]
    assert [s.node_id for s in run.steps] == list(NODES)
    assert all(s.state == "executed" for s in run.steps)
    assert [a.uri.split("/")[1] for a in run.outputs("ModelEvaluation")] == [run_ids[-1]] * 3
    earlier = run_record.read_run(
        metadata.sqlite_metadata_connection_config(path), "penguins", run_id=run_ids[0]
    )
    assert {a.uri.split("/")[1] for a in earlier.outputs("ModelEvaluation")} == {run_ids[0]}


def test_a_pipeline_without_runs_or_without_a_recent_one_is_refused(tmp_path):
    path = str(tmp_path / "m.sqlite")
    _record_runs(path, "penguins", runs=1)
    config = metadata.sqlite_metadata_connection_config(path)
    with pytest.raises(ValueError, match="No run of pipeline 'taxi'"):
        run_record.read_run(config, "taxi")
    with pytest.raises(ValueError, match="no run recorded since"):
        run_record.read_run(config, "penguins", since_ms=2**62)


def test_the_queries_do_not_grow_with_the_history(tmp_path, counting_store):
    calls = {}
    for runs in (2, 30):
        path = str(tmp_path / f"m{runs}.sqlite")
        _record_runs(path, "penguins", runs=runs, other_pipeline_runs=runs)
        counting_store.calls = 0
        run = run_record.read_run(metadata.sqlite_metadata_connection_config(path), "penguins")
        assert len(run.steps) == len(NODES)
        calls[runs] = counting_store.calls
    assert calls[30] == calls[2], calls
