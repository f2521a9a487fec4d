"""A resolver strategy for an optional input: the latest artifact, or none yet.

TFX's `LatestArtifactStrategy` fails its resolver node (state FAILED in ML Metadata)
when a channel has no artifact at all, as the hyperparameters channel has until the
first tuning run of a pipeline. This one resolves to an empty list instead, so the
consumer runs without the input (the Trainer: with the family's defaults).
"""

from typing import Dict, List, Optional

from tfx import types
from tfx.dsl.input_resolution.strategies import latest_artifact_strategy


class LatestArtifactIfAnyStrategy(latest_artifact_strategy.LatestArtifactStrategy):
    """The latest artifact of each channel (by id), or an empty list when there is none."""

    def resolve_artifacts(
        self, store, input_dict: Dict[str, List[types.Artifact]]
    ) -> Optional[Dict[str, List[types.Artifact]]]:
        return self._resolve(input_dict)
