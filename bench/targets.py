"""The project's performance targets, and whether a set of results meets them."""

from typing import List, Optional

COLD_SECONDS = 70.0
MIN_AUC = 0.93
# Another family than taxi: its own AUC target, and its cold run against taxi's.
FAMILY_MIN_AUC = {"reviews": 0.88}
MAX_COLD_RATIO_TO_TAXI = 3.0
# Estimator examples/s over model.fit's at steady state, for every family.
MIN_ESTIMATOR_RATIO = 1.0
SCALE_FACTOR = 100  # About 1.5 million rows of the taxi data.
SCALE_SECONDS = 20 * 60.0
SCALE_PEAK_MB = 6 * 1024.0
MAX_SCALE_TIME_RATIO = 12.0  # time(100x) / time(10x)
SERVING_P50_MS = 5.0


# A target's `met`: True, False, None (not measured), or this: measured, but the
# measurement's interval holds both sides of the bound.
UNRESOLVED = "unresolved"


def _target(section: str, target: str, value: Optional[float], met, shown: str) -> dict:
    return {"section": section, "target": target,
            "measured": shown if value is not None else "not measured",
            "met": None if value is None else bool(met(value))}


def _blessing_target(blessing: Optional[dict]) -> dict:
    """Another family's quality target: its task's blessing metric within its bound."""
    if not blessing:
        return _target("pipeline", "eval blessing metric within the family's bound", None,
                       None, "")
    higher = blessing["direction"] == "higher"
    value = (blessing.get("value") or {}).get("median")
    return _target("pipeline", f"eval {blessing['metric']} {'>=' if higher else '<='} "
                   f"{blessing['bound']:g} (the family's bound)", value,
                   lambda v: v >= blessing["bound"] if higher else v <= blessing["bound"],
                   f"{value or 0:.4f}")


def _ratio_target(section: str, target: str, ratio: Optional[float],
                  interval: Optional[dict], bound: float) -> dict:
    """A lower bound on a ratio measured with an interval: met only if the whole
    interval is at or above it, missed only if the whole interval is below it."""
    if ratio is None or interval is None:
        return _target(section, target, ratio, lambda v: v >= bound, f"{ratio or 0:.2f} x")
    low, high = interval["low"], interval["high"]
    met = True if low >= bound else False if high < bound else UNRESOLVED
    return {"section": section, "target": target,
            "measured": f"{ratio:.2f} x ({interval['confidence']:.0%} interval "
                        f"{low:.2f} to {high:.2f})",
            "met": met}


def _scale_run(results: dict, scale: float) -> Optional[dict]:
    for run in (results.get("scale") or {}).get("runs", []):
        if run["scale"] == scale:
            return run
    return None


def evaluate(sections: dict, model: str = "taxi") -> List[dict]:
    """Returns one row per target: section, target, measured (text), met (None: not
    run; `UNRESOLVED`: the interval holds both sides of the bound)."""
    rows = []
    pipeline = sections.get("pipeline") or {}
    cold = pipeline.get("cold") or {}
    wall = (cold.get("wall_seconds") or {}).get("median")
    auc = (cold.get("auc") or {}).get("median")
    if model == "taxi":
        rows.append(_target("pipeline", f"cold run under {COLD_SECONDS:g} s", wall,
                            lambda v: v < COLD_SECONDS, f"{wall or 0:.1f} s (median)"))
    else:
        taxi = ((pipeline.get("reference") or {}).get("cold") or {}).get("wall_seconds") or {}
        ratio = wall / taxi["median"] if wall and taxi.get("median") else None
        rows.append(_target("pipeline", f"{model} cold run <= {MAX_COLD_RATIO_TO_TAXI:g} x "
                            "taxi's, same bench", ratio, lambda v: v <= MAX_COLD_RATIO_TO_TAXI,
                            f"{ratio or 0:.2f} x ({wall or 0:.1f} s against "
                            f"{taxi.get('median') or 0:.1f} s)"))
    if model == "taxi" or model in FAMILY_MIN_AUC:
        min_auc = FAMILY_MIN_AUC.get(model, MIN_AUC)
        rows.append(_target("pipeline", f"eval AUC >= {min_auc:g}", auc,
                            lambda v: v >= min_auc, f"{auc or 0:.4f}"))
    else:
        rows.append(_blessing_target(cold.get("blessing")))

    training = sections.get("training") or {}
    rows.append(_ratio_target("training", f"{model}: Estimator >= {MIN_ESTIMATOR_RATIO:g} x "
                              "Keras examples/s (steady state)",
                              training.get("ratio_estimator_to_keras"),
                              training.get("ratio_interval"), MIN_ESTIMATOR_RATIO))

    big = _scale_run(sections, SCALE_FACTOR)
    ok = big is not None and big["returncode"] == 0
    rows_text = f" ({big['rows']:,} rows)" if big else ""
    if big is not None and not ok:
        rows.append({"section": "scale", "target": f"{SCALE_FACTOR}x run completes",
                     "measured": f"failed (exit {big['returncode']}){rows_text}", "met": False})
    seconds = big["wall_seconds"] if ok else None
    rows.append(_target("scale", f"{SCALE_FACTOR}x under {SCALE_SECONDS / 60:g} min", seconds,
                        lambda v: v < SCALE_SECONDS, f"{(seconds or 0) / 60:.1f} min{rows_text}"))
    peak = big["peak_rss_mb"] if ok else None
    rows.append(_target("scale", f"{SCALE_FACTOR}x peak memory under {SCALE_PEAK_MB / 1024:g} GB",
                        peak, lambda v: v < SCALE_PEAK_MB, f"{(peak or 0) / 1024:.2f} GB"))
    ten = _scale_run(sections, 10)
    time_ratio = (big["wall_seconds"] / ten["wall_seconds"]
                  if ok and ten and ten["returncode"] == 0 else None)
    rows.append(_target("scale", f"time(100x) / time(10x) <= {MAX_SCALE_TIME_RATIO:g}",
                        time_ratio, lambda v: v <= MAX_SCALE_TIME_RATIO,
                        f"{time_ratio or 0:.2f}"))

    p50 = ((sections.get("serving") or {}).get("median") or {}).get("p50_ms")
    rows.append(_target("serving", f"p50 under {SERVING_P50_MS:g} ms", p50,
                        lambda v: v < SERVING_P50_MS, f"{p50 or 0:.2f} ms"))
    return rows
