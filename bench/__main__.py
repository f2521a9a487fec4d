"""Runs the benchmark suite and writes build/bench/results.json and results.md.

Sections: `pipeline` (whole pipeline, cold and warm), `trainers` (cold runs of the
Estimator and the Keras trainer, side by side), `training` (Estimator against
native Keras examples/s in steady-state windows, the training step alone in one
process, and the Trainer's time split),
`serving` (latency and throughput of the pushed model) and `scale` (the pipeline at
multiples of the data). Training and serving use the first
cold run's build folder, or `--model-build`. Results of sections not run this time are
kept from the previous results.json (each section records its own machine and time).

    python -m bench --repeats 3 --scales 1,10,100
    python -m bench --repeats 1 --scales 1 --data data/taxi/sample   # a quick check
    python -m bench --model reviews --sections pipeline,training,serving

With another family than taxi, the pipeline section then times taxi's cold runs too,
in the same bench, for the ratio of the two.
"""

import argparse
import datetime
import json
import os
import sys

from bench import machine
from bench import pipeline_runs
from bench import report
from bench import scale_plot
from bench import serving_latency
from bench import step_compute
from bench import targets
from bench import trainer_paths
from bench import trainer_split
from bench import training_throughput
from pipeline.local import beam_profiles

SECTIONS = ("pipeline", "trainers", "training", "serving", "scale")
# The family another family's cold run time is compared with.
REFERENCE_MODEL = "taxi"


def _floats(text: str):
    return [float(part) for part in text.split(",") if part.strip()]


def parse_args(argv=None) -> argparse.Namespace:
    """Parses the bench's command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="timed repetitions per figure (the median is reported)",
    )
    parser.add_argument(
        "--scales",
        default="1,10,100",
        type=_floats,
        help="scale factors of the data for the scale section",
    )
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated subset of {', '.join(SECTIONS)}",
    )
    parser.add_argument("--model", default="taxi", help="model family")
    parser.add_argument(
        "--data",
        default=None,
        help="folder holding the one CSV file to benchmark on (default: the family's data)",
    )
    parser.add_argument("--out", default="build/bench", help="where runs and results go")
    parser.add_argument(
        "--model-build",
        default=None,
        help="a pipeline build folder for the training and serving "
        "sections (default: this bench's first cold run)",
    )
    parser.add_argument(
        "--train-windows",
        type=int,
        default=training_throughput.WINDOWS,
        help="steady-state windows per training run",
    )
    parser.add_argument(
        "--window-seconds",
        type=float,
        default=training_throughput.WINDOW_SECONDS,
        help="the least training time in one steady-state window",
    )
    parser.add_argument(
        "--warmup-seconds",
        type=float,
        default=training_throughput.WARMUP_SECONDS,
        help="training time cut at the start of each run",
    )
    parser.add_argument(
        "--serving-calls", type=int, default=1000, help="single-example calls per serving round"
    )
    parser.add_argument(
        "--scale-timeout",
        type=float,
        default=None,
        help="seconds after which a scale run is killed and recorded",
    )
    parser.add_argument(
        "--beam-profile",
        default=None,
        choices=beam_profiles.LOCAL_PROFILES,
        help="passed to the local runner as --beam-profile (default: the runner's own)",
    )
    parser.add_argument(
        "--plot",
        default=None,
        help="where the scale section draws seconds per component against rows "
        "(PNG; default: scale.png in --out)",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="forget the previous results.json instead of merging"
    )
    args = parser.parse_args(argv)
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = sorted(set(args.sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {', '.join(SECTIONS)}")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.train_windows < 1 or args.window_seconds <= 0 or args.warmup_seconds < 0:
        parser.error(
            "--train-windows must be at least 1, --window-seconds positive, "
            "--warmup-seconds not negative"
        )
    if args.data is None:
        from pipeline.definition import families

        args.data = families.load(args.model).contract.default_data
    if not os.path.isdir(args.data):
        parser.error(f"--data {args.data!r} is not a folder")
    return args


def source_csv(data_dir: str) -> str:
    """Returns the one CSV file in `data_dir`."""
    names = sorted(name for name in os.listdir(data_dir) if name.endswith(".csv"))
    if len(names) != 1:
        raise SystemExit(f"error: {data_dir} must hold exactly one .csv file, found {names}")
    return os.path.join(data_dir, names[0])


def _load_previous(path: str) -> dict:
    if os.path.exists(path):
        with open(path) as previous:
            return json.load(previous).get("sections", {})
    return {}


def _plot(measured: dict, path: str):
    """Draws the scale runs' seconds per component against rows; the path, or None."""
    try:
        written = scale_plot.write(
            measured["runs"],
            path,
            f"{os.path.relpath(measured['source'])}, scaled: seconds per component against rows",
        )
    except ValueError as error:
        print(f"[bench] no scale plot: {error}", flush=True)
        return None
    print(f"[bench] scale plot: {written}", flush=True)
    return written


def main(argv=None) -> int:
    """Runs the chosen sections, writing the results after each one."""
    args = parse_args(argv)
    out_dir = os.path.abspath(args.out)
    extra = ["--model", args.model]
    if args.beam_profile:
        extra += ["--beam-profile", args.beam_profile]
    sections = {} if args.fresh else _load_previous(os.path.join(out_dir, "results.json"))
    model_build = os.path.abspath(args.model_build or os.path.join(out_dir, "runs", "cold-1"))
    results = {
        "command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
        "options": {
            "model": args.model,
            "repeats": args.repeats,
            "scales": args.scales,
            "data": args.data,
            "sections": args.sections,
            "runner_args": extra,
        },
        "sections": sections,
    }

    def record(name: str, measured: dict) -> None:
        sections[name] = {"machine": machine.machine_info(), **measured}
        results["generated_at"] = datetime.datetime.now().isoformat(timespec="seconds")
        results["targets"] = targets.evaluate(sections, args.model)
        report.write(results, out_dir)
        print(f"[bench] {name} done; results in {out_dir}/results.md", flush=True)

    for name in SECTIONS:  # Fixed order: the long scale runs come last.
        if name not in args.sections:
            continue
        snapshot = machine.machine_info()  # The load average before the section ran.
        if name == "pipeline":
            print("[bench] pipeline: cold and warm runs", flush=True)
            measured = pipeline_runs.cold_and_warm(args.data, out_dir, args.repeats, extra)
            if args.model != REFERENCE_MODEL:
                print(
                    f"[bench] pipeline: cold runs of {REFERENCE_MODEL}, for the ratio", flush=True
                )
                reference = pipeline_runs.cold_runs(
                    None,
                    os.path.join(out_dir, REFERENCE_MODEL),
                    args.repeats,
                    ["--model", REFERENCE_MODEL] + extra[2:],
                )
                measured["reference"] = {"model": REFERENCE_MODEL, "cold": reference}
        elif name == "trainers":
            print("[bench] trainers: cold runs of the Estimator and the Keras trainer", flush=True)
            measured = trainer_paths.run(args.data, out_dir, args.repeats, extra)
        elif name == "training":
            measured = training_throughput.compare(
                model_build,
                args.repeats,
                out_dir,
                family=args.model,
                windows=args.train_windows,
                window_seconds=args.window_seconds,
                warmup_seconds=args.warmup_seconds,
            )
            measured["step_compute"] = step_compute.run(model_build, out_dir, args.model)
            measured["trainer_split"] = trainer_split.run(
                model_build, args.model, args.repeats, out_dir
            )
        elif name == "serving":
            measured = serving_latency.run(
                os.path.join(model_build, "serving_model", args.model),
                os.path.abspath(source_csv(args.data)),
                args.repeats,
                out_dir,
                single_calls=args.serving_calls,
                family=args.model,
            )
        else:
            measured = pipeline_runs.scale_runs(
                source_csv(args.data), args.scales, out_dir, extra, args.scale_timeout
            )
            measured["plot"] = _plot(measured, args.plot or os.path.join(out_dir, "scale.png"))
        record(name, {"machine_before": snapshot, **measured})
    return 0


if __name__ == "__main__":
    sys.exit(main())
