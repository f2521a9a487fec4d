"""TFX's Beam runner, saying on stdout when each component starts and how long it took."""

import time
from typing import Optional

from tfx.orchestration.beam import beam_dag_runner


class ProgressNodeDoFn(beam_dag_runner.PipelineNodeAsDoFn):
    """Runs one pipeline node, printing when it starts and how long it took."""

    # The node running now, or the one a run ended in, for an interrupted run's reason.
    running: Optional[str] = None

    def process(self, element, *signals):
        node_id = self._pipeline_node.node_info.id
        print(f"[pipeline] {node_id}: running", flush=True)
        start = time.monotonic()
        ProgressNodeDoFn.running = node_id
        try:
            super().process(element, *signals)
        except KeyboardInterrupt:
            print(
                f"[pipeline] {node_id}: interrupted after {time.monotonic() - start:.1f}s",
                flush=True,
            )
            raise
        except BaseException:
            print(f"[pipeline] {node_id}: FAILED after {time.monotonic() - start:.1f}s", flush=True)
            raise
        ProgressNodeDoFn.running = None
        print(f"[pipeline] {node_id}: done in {time.monotonic() - start:.1f}s", flush=True)


class ProgressBeamDagRunner(beam_dag_runner.BeamDagRunner):
    """TFX's BeamDagRunner, reporting each component's progress on stdout."""

    _PIPELINE_NODE_DO_FN_CLS = ProgressNodeDoFn
