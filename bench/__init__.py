"""The benchmark suite: `python -m bench --help`, or `make bench`."""
