"""Writing the results: `results.json` (everything) and `results.md` (the tables)."""

import json
import os
from typing import List, Optional

from bench import scale_report
from bench import targets
from bench import trainer_paths
from bench.markdown import fmt
from bench.markdown import machine_line as _machine_line
from bench.markdown import table


def _met(flag) -> str:
    return {
        True: "met",
        False: "**missed**",
        None: "not measured",
        targets.UNRESOLVED: "not resolved: the interval holds both sides",
    }[flag]


def _pipeline(section: dict) -> List[str]:
    cold, warm = section["cold"], section["warm"]
    warm_by_id = {c["id"]: c for c in warm["components"]}
    rows = []
    for component in cold["components"]:
        other = warm_by_id.get(component["id"], {})
        rows.append(
            [
                component["id"],
                fmt(component["seconds"]["median"]),
                fmt(component["peak_rss_mb"]["median"], 0),
                fmt((other.get("seconds") or {}).get("median")),
                fmt((other.get("peak_rss_mb") or {}).get("median"), 0),
                ", ".join(other.get("states", [])) or "–",
            ]
        )
    rows.append(
        [
            "**whole run** (process wall, start-up included)",
            fmt(cold["wall_seconds"]["median"]),
            fmt(cold["peak_rss_mb"]["median"], 0),
            fmt(warm["wall_seconds"]["median"]),
            fmt(warm["peak_rss_mb"]["median"], 0),
            "",
        ]
    )
    rows.append(
        [
            "largest single process, kernel peak RSS",
            "",
            fmt(cold["kernel_peak_rss_mb"]["median"], 0),
            "",
            fmt(warm["kernel_peak_rss_mb"]["median"], 0),
            "",
        ]
    )
    return [
        f"## Whole pipeline on `{section['data']}` ({section['rows']:,} rows)",
        "",
        _machine_line(section),
        f"Median of {cold['runs']} cold runs (each from an empty build folder) and "
        f"{warm['runs']} warm runs (same build folder, after one unmeasured second run "
        "in which the Evaluator compares against the first run's blessed model). "
        "Seconds per component are ML Metadata's; peak RSS is the process tree's "
        "(summed over processes) sampled every 0.2 s while that component ran.",
        "",
        *table(
            ["component", "cold s", "cold peak MB", "warm s", "warm peak MB", "warm state"], rows
        ),
        "",
        f"{_quality_line(cold)}; "
        f"cold wall times: {', '.join(fmt(v) for v in cold['wall_seconds']['values'])} s.",
        "",
    ]


def _quality_line(cold: dict) -> str:
    """The eval figure of the cold runs: AUC, or the family's blessing metric."""
    blessing = cold.get("blessing")
    if cold["auc"]["median"] is None and blessing:
        return f"Eval {blessing['metric']} (cold, median): {fmt(blessing['value']['median'], 4)}"
    return f"Eval AUC (cold, median): {fmt(cold['auc']['median'], 4)}"


def _training(section: dict) -> List[str]:
    names = {
        "estimator": "Estimator (`model_to_estimator` + `train_and_evaluate`)",
        "keras": "Keras `model.fit`",
    }
    rows = []
    for mode, figures in section["modes"].items():
        rows.append(
            [
                names[mode],
                fmt(figures["median"], 0),
                f"{fmt(figures['p25'], 0)} to {fmt(figures['p75'], 0)}",
                f"{fmt(figures['min'], 0)} to {fmt(figures['max'], 0)}",
                fmt(figures["step_microseconds"], 0),
                str(figures["windows"]),
                ", ".join(fmt(value, 0) for value in figures["run_medians"]),
            ]
        )
    paired = section["ratio_paired_runs"]
    loads = [
        str(record.get("load_average_1m"))
        for records in section["run_records"].values()
        for record in records
    ]
    short = [
        mode
        for mode, figures in section["modes"].items()
        if figures["windows"] < section["windows_per_run"] * len(section["run_records"][mode])
    ]
    note = (
        [
            f"Some {' and '.join(short)} runs gave fewer windows than asked for: a "
            "step longer than the slack at the end of a run.",
            "",
        ]
        if short
        else []
    )
    return [
        f"## Training throughput ({section['model']})",
        "",
        _machine_line(section),
        f"Same model, same Transform output, batch {section['batch_size']}. Each run is "
        f"one training in its own process; the first {section['warmup_seconds']:g} s "
        f"are cut (graph building or tracing, first steps), then consecutive windows of "
        f"at least {section['window_seconds']:g} s of training give examples/s "
        f"({section['windows_per_run']} per run; the Estimator's checkpoints and "
        f"summaries fall inside them). Run order: {' '.join(section['order'])}. "
        f"1-minute load average after each run: {', '.join(loads)}.",
        "",
        *table(
            [
                "path",
                "median examples/s",
                "p25 to p75",
                "min to max",
                "us per step",
                "windows",
                "run medians",
            ],
            rows,
        ),
        "",
        *note,
        f"Estimator / Keras (ratio of the window medians): "
        f"**{fmt(section['ratio_estimator_to_keras'], 2)}**{_interval(section)}; "
        "runs paired in order: "
        f"{fmt(paired['min'], 2)} to {fmt(paired['max'], 2)} "
        f"(median {fmt(paired['median'], 2)}, {paired['runs']} pairs).",
        "",
        *_step_compute(section.get("step_compute"), section["modes"]["estimator"]),
        *_trainer_split(section.get("trainer_split")),
    ]


def _step_compute(step: Optional[dict], estimator_path: dict) -> List[str]:
    """The training step alone, and what the Estimator path adds around it."""
    if not step:
        return []
    op, keras = step["modes"]["estimator_op"], step["modes"]["keras_function"]
    interval = step["interval"] or {}
    around = (
        estimator_path["step_microseconds"] - op["step_microseconds"]
        if estimator_path.get("step_microseconds") and op["step_microseconds"]
        else None
    )
    return [
        f"The training step alone, in one process ({step['blocks']} alternating blocks of "
        f"{step['block_seconds']:g} s a path): the Estimator's training op in a plain "
        f"session {fmt(op['median'], 0)} examples/s ({fmt(op['step_microseconds'], 0)} us "
        f"a step, {step['op_executions_per_step']:,} op executions), Keras' train function "
        f"{fmt(keras['median'], 0)} ({fmt(keras['step_microseconds'], 0)} us); ratio "
        f"**{fmt(step['ratio'], 2)}** ({fmt(interval.get('low'), 2)} to "
        f"{fmt(interval.get('high'), 2)}). The whole Estimator path's step above, less "
        f"this: {fmt(around, 0)} us a step for hooks, checkpoints and summaries (two "
        "processes: as noisy as the windows).",
        "",
    ]


def _interval(section: dict) -> str:
    interval = section.get("ratio_interval")
    if not interval:
        return ""
    return (
        f" ({interval['confidence']:.0%} bootstrap interval over the windows: "
        f"{interval['low']:.2f} to {interval['high']:.2f})"
    )


_PHASE_NAMES = {
    "build": "build (`trainer_fn`: Transform output, Keras model, `model_to_estimator`)",
    "start_up": "start-up (training graph, session, warm start, first checkpoint)",
    "training": "training",
    "evaluation_during_training": "evaluation after the first periodic checkpoint",
    "final_checkpoint": "final checkpoint",
    "final_evaluation": "final evaluation",
    "serving_export": "serving export",
    "training_session_close": "closing the training session (its input pipeline too)",
    "eval_savedmodel_export": "EvalSavedModel export (`tfma.export`)",
}


def _trainer_split(split: Optional[dict]) -> List[str]:
    if not split:
        return []
    seconds = split["median_seconds"]
    training = seconds["training"]
    rows = [
        [
            _PHASE_NAMES[phase],
            fmt(value, 2),
            "**yes**" if phase != "training" and value > training else "",
        ]
        for phase, value in seconds.items()
    ]
    return [
        f"Trainer component at {split['train_steps']} steps, as TFX's Estimator executor "
        f"runs it (median of {len(split['runs'])} runs, one process each; evaluations "
        f"during training: {', '.join(map(str, split['evaluations_during_training']))}):",
        "",
        *table(["phase", "seconds", "longer than training"], rows),
        "",
        f"Total: {fmt(split['median_total_seconds'], 1)} s.",
        "",
    ]


def _serving(section: dict) -> List[str]:
    median = section["median"]
    batches = median["batch_examples_per_second"]
    rows = [
        [
            fmt(median["p50_ms"], 2),
            fmt(median["p99_ms"], 2),
            *[fmt(batches[size], 0) for size in batches],
            fmt(section["load_seconds"], 1),
        ]
    ]
    return [
        "## Serving the pushed model",
        "",
        _machine_line(section),
        f"`{section['model_dir']}`, loaded once with `tf.saved_model.load`; "
        f"`serving_default` called with serialized raw tf.Examples from `{section['csv']}` "
        f"after a warm-up. Median of {len(section['rounds'])} rounds, each "
        f"{section['single_calls_per_round']} single-example calls and "
        f"{section['batch_calls_per_round']} calls per batch size.",
        "",
        *table(
            [
                "p50 ms (1 example)",
                "p99 ms (1 example)",
                *[f"batch {size}: examples/s" for size in batches],
                "load s",
            ],
            rows,
        ),
        "",
    ]


def _trainers(section: dict) -> List[str]:
    return trainer_paths.markdown(section, fmt, table) + [_machine_line(section), ""]


_SECTIONS = (
    ("pipeline", _pipeline),
    ("trainers", _trainers),
    ("training", _training),
    ("serving", _serving),
    ("scale", scale_report.render),
)


def render_markdown(results: dict) -> str:
    """Returns results.md: the targets, then one table per measured section."""
    lines = [
        "# Benchmark results",
        "",
        f"Generated {results['generated_at']} by `{results['command']}`.",
        "",
        "## Targets",
        "",
        *table(
            ["section", "target", "measured", "status"],
            [
                [t["section"], t["target"], t["measured"], _met(t["met"])]
                for t in results["targets"]
            ],
        ),
        "",
    ]
    for name, render in _SECTIONS:
        section = results["sections"].get(name)
        if section:
            lines += render(section)
    return "\n".join(lines).rstrip() + "\n"


def write(results: dict, out_dir: str) -> None:
    """Writes results.json and results.md into `out_dir`."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.json"), "w") as json_file:
        json.dump(results, json_file, indent=2)
    with open(os.path.join(out_dir, "results.md"), "w") as md_file:
        md_file.write(render_markdown(results))
