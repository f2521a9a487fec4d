"""How ExampleGen splits the raw rows into train and eval."""

from typing import Tuple

from tfx.proto import example_gen_pb2

# Hash buckets per split: two thirds of the rows train, one third evaluates
# (`pipeline.local.sizing` gives large data a smaller eval share).
DEFAULT_SPLIT_BUCKETS = (2, 1)
SPLIT_NAMES = ("train", "eval")


def split_config(
    buckets: Tuple[int, int] = DEFAULT_SPLIT_BUCKETS,
) -> example_gen_pb2.Output:
    """Returns ExampleGen's output config: a hash split into train and eval.

    Args:
      buckets: hash buckets of the train and the eval split, in that order.
    """
    return example_gen_pb2.Output(
        split_config=example_gen_pb2.SplitConfig(
            splits=[
                example_gen_pb2.SplitConfig.Split(name=name, hash_buckets=count)
                for name, count in zip(SPLIT_NAMES, buckets)
            ]
        )
    )
