"""Runs a compiled KFP v2 PipelineJob on this machine, as a KFP launcher would.

For each task, in dependency order, it builds the `ExecutorInput` from the spec (the
task's constant parameters, its upstream tasks' output artifacts, fresh output
artifact URIs under the pipeline root) and runs the task's container command line
from the spec as a subprocess: first the `preCacheCheck` driver when there is one,
then the executor. Given a `container` function, each command line runs in the
pipeline image through it; without one, the `python` of a command is this
interpreter, and the working folder and PYTHONPATH are the image root, standing in
for the pipeline image.

Resolver tasks query ML Metadata for artifacts of earlier runs. A launched job here is
always a first run on a fresh pipeline root, so they resolve to nothing.
"""

import concurrent.futures
import json
import os
import subprocess
import sys
import time
from typing import Callable, Dict, List, Mapping, Optional

_EXECUTOR_INPUT_PLACEHOLDER = "{{$}}"


class TaskFailed(RuntimeError):
    """A task's command exited with an error."""


def _task_dependencies(task: Mapping) -> set:
    deps = set(task.get("dependentTasks", []))
    for spec in task.get("inputs", {}).get("artifacts", {}).values():
        deps.add(spec["taskOutputArtifact"]["producerTask"])
    return deps


def task_dependencies(pipeline_spec: Mapping) -> Dict[str, set]:
    """Returns task name -> the tasks it waits for (explicitly or for artifacts)."""
    return {
        name: _task_dependencies(task)
        for name, task in pipeline_spec["root"]["dag"]["tasks"].items()
    }


class Launcher:
    """Runs the tasks of one PipelineJob dict; `run` returns each task's outputs.

    `container`, when given, turns a task's command line into the command that runs
    it in the pipeline image (for instance `podman run ... <image> <command line>`).
    """

    def __init__(
        self,
        pipeline_job: Mapping,
        image_root: str,
        work_dir: str,
        job_id: str = "local-run",
        parallelism: int = 2,
        container: Optional[Callable[[List[str]], List[str]]] = None,
    ):
        self._spec = pipeline_job["pipelineSpec"]
        self._root = pipeline_job["runtimeConfig"]["gcsOutputDirectory"]
        self._image_root = image_root
        self._work_dir = work_dir
        self._job_id = job_id
        self._parallelism = parallelism
        self._container = container
        # task name -> output key -> list of RuntimeArtifact dicts
        self.outputs: Dict[str, Dict[str, List[dict]]] = {}
        # task name -> the task's command lines, and what was run for each.
        self.commands: Dict[str, List[List[str]]] = {}
        self.launched: Dict[str, List[List[str]]] = {}
        self.seconds: Dict[str, float] = {}

    def run(self) -> Dict[str, Dict[str, List[dict]]]:
        """Runs every task once its dependencies are done; raises TaskFailed on error."""
        deps = task_dependencies(self._spec)
        pending = dict(deps)
        with concurrent.futures.ThreadPoolExecutor(self._parallelism) as pool:
            running = {}
            while pending or running:
                ready = [n for n, d in pending.items() if d <= set(self.outputs)]
                for name in sorted(ready):
                    del pending[name]
                    running[pool.submit(self._run_task, name)] = name
                if not running:
                    raise RuntimeError(f"Tasks wait on tasks that never run: {pending}")
                done, _ = concurrent.futures.wait(
                    running, return_when=concurrent.futures.FIRST_COMPLETED
                )
                for future in done:
                    name = running.pop(future)
                    self.outputs[name] = future.result()
        return self.outputs

    def _component(self, task_name: str) -> Mapping:
        task = self._spec["root"]["dag"]["tasks"][task_name]
        return self._spec["components"][task["componentRef"]["name"]]

    def _run_task(self, name: str) -> Dict[str, List[dict]]:
        started = time.monotonic()
        try:
            return self._run_task_steps(name)
        finally:
            self.seconds[name] = time.monotonic() - started

    def _run_task_steps(self, name: str) -> Dict[str, List[dict]]:
        component = self._component(name)
        executor = self._spec["deploymentSpec"]["executors"][component["executorLabel"]]
        if "resolver" in executor:
            return {key: [] for key in executor["resolver"]["outputArtifactQueries"]}
        if "container" not in executor:
            raise NotImplementedError(
                f"Task {name}: executor kind {sorted(executor)} is not supported."
            )
        container = executor["container"]
        executor_input = self._executor_input(name, component)
        output_file = executor_input["outputs"]["outputFile"]
        driver = container.get("lifecycle", {}).get("preCacheCheck")
        if driver:
            self._execute(name, "driver", driver["command"], driver["args"], executor_input)
            # The launcher records what the driver decided about the outputs
            # (span, version, fingerprint) before the executor runs.
            for key, artifacts in self._read_output(output_file).get("artifacts", {}).items():
                for given, updated in zip(
                    executor_input["outputs"]["artifacts"][key]["artifacts"], artifacts["artifacts"]
                ):
                    given["metadata"] = updated.get("metadata", {})
        self._execute(name, "executor", container["command"], container["args"], executor_input)
        written = self._read_output(output_file).get("artifacts", {})
        result = {}
        for key, given in executor_input["outputs"]["artifacts"].items():
            artifacts = written.get(key, given)["artifacts"]
            result[key] = [
                dict(a, name=a.get("name") or g["name"], uri=a.get("uri") or g["uri"])
                for a, g in zip(artifacts, given["artifacts"])
            ]
        return result

    def _executor_input(self, name: str, component: Mapping) -> dict:
        task = self._spec["root"]["dag"]["tasks"][name]
        task_root = f"{self._root}/{self._job_id}/{name}"
        parameters = {
            key: value["runtimeValue"]["constantValue"]
            for key, value in task.get("inputs", {}).get("parameters", {}).items()
        }
        input_definitions = component.get("inputDefinitions", {}).get("artifacts", {})
        artifacts = {}
        for key, source in task.get("inputs", {}).get("artifacts", {}).items():
            producer = source["taskOutputArtifact"]
            upstream = self.outputs[producer["producerTask"]][producer["outputArtifactKey"]]
            artifacts[key] = {
                "artifacts": [
                    dict(a, type=input_definitions[key]["artifactType"]) for a in upstream
                ]
            }
        outputs = {
            key: {
                "artifacts": [
                    {
                        "name": f"{self._job_id}/{name}/{key}",
                        "type": definition["artifactType"],
                        "uri": f"{task_root}/{key}",
                        "metadata": {},
                    }
                ]
            }
            for key, definition in component.get("outputDefinitions", {})
            .get("artifacts", {})
            .items()
        }
        return {
            "inputs": {"parameters": parameters, "artifacts": artifacts},
            "outputs": {"artifacts": outputs, "outputFile": f"{task_root}/executor_output.json"},
        }

    def _execute(
        self, name: str, stage: str, command: List[str], args: List[str], executor_input: Mapping
    ) -> None:
        serialized = json.dumps(executor_input)
        argv = list(command) + [serialized if a == _EXECUTOR_INPUT_PLACEHOLDER else a for a in args]
        if self._container is not None:
            launched, cwd, env = self._container(argv), None, None
        else:
            if argv[0] == "python":  # The image's interpreter.
                argv[0] = sys.executable
            launched, cwd = argv, self._image_root
            env = dict(os.environ, PYTHONPATH=self._image_root, TF_CPP_MIN_LOG_LEVEL="2")
        self.commands.setdefault(name, []).append(argv)
        self.launched.setdefault(name, []).append(launched)
        log_path = os.path.join(self._work_dir, f"{name}.{stage}.log")
        with open(log_path, "w") as log:
            status = subprocess.run(
                launched, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT
            ).returncode
        if status != 0:
            with open(log_path) as log:
                tail = log.read()[-3000:]
            raise TaskFailed(f"Task {name} ({stage}) exited with {status}; log {log_path}:\n{tail}")

    @staticmethod
    def _read_output(path: str) -> dict:
        if not os.path.exists(path):
            return {}
        with open(path) as output:
            return json.load(output)
