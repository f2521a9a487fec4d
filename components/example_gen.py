"""How ExampleGen splits the raw rows into train and eval."""

from tfx import v1 as tfx

# Hash buckets per split: two thirds of the rows train, one third evaluates.
SPLIT_BUCKETS = {"train": 2, "eval": 1}


def split_config() -> tfx.proto.Output:
    """Returns ExampleGen's output config: a hash split into train and eval."""
    return tfx.proto.Output(
        split_config=tfx.proto.SplitConfig(
            splits=[
                tfx.proto.SplitConfig.Split(name=name, hash_buckets=buckets)
                for name, buckets in SPLIT_BUCKETS.items()
            ]
        )
    )
