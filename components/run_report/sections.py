"""The report page's sections, assembled from the readers of each source.

Every function takes folder paths (the `uri` of an artifact) and a model family's
facts as arguments, and returns JSON-able values: the readers
(`components/run_report/readers/`) read one source each; the charts and the page are
made from the sections elsewhere (`charts.py`, `render.py`).
"""

import json
import re
from typing import List, Mapping, Optional, Sequence

from components.run_report.readers import ReportInputError
from components.run_report.readers import anomalies as anomalies_reader
from components.run_report.readers import evaluation as evaluation_reader
from components.run_report.readers import events
from components.run_report.readers import predictions as predictions_reader
from components.run_report.readers import signatures
from components.run_report.readers import statistics
from components.run_report.readers import tuning

# --- training -----------------------------------------------------------------------------


def training_section(
    model_run_uri: str,
    hparam_defaults: Mapping[str, object],
    hparam_overrides: Mapping[str, object],
    trials: Optional[List[dict]] = None,
    train_steps: Optional[int] = None,
    hparam_tuned: Optional[Mapping[str, object]] = None,
    tuned_source: str = "tuned",
    trained_examples: Optional[int] = None,
    epochs: Optional[float] = None,
) -> dict:
    """Loss and metrics against the step (train and eval), hyperparameters, trials,
    and the training's length: examples read and epochs of the training split.

    Each hyperparameter's value is what the Trainer recorded it trained with, where
    it recorded one; its source is where that value came from.

    Args:
      model_run_uri: the Trainer's `model_run` folder.
      hparam_defaults: the model family's default hyperparameters.
      hparam_overrides: what the pipeline set on top of them.
      trials: the trials of the tuning the values came from (`trials.json`), if any.
      train_steps: the training steps asked for.
      hparam_tuned: a Tuner's best values the Trainer took (between the defaults and
        the pipeline's settings), with `tuned_source` saying where they came from.
      trained_examples, epochs: the training's length as a local run's summary tells
        it; None: as the Trainer's record tells it (`tuning.training_length`).
    """
    files = events.find_event_files(model_run_uri)
    length = tuning.training_length(model_run_uri)
    hparam_tuned = hparam_tuned or {}
    used = tuning.trained_with(model_run_uri)
    hparams = []
    for name in sorted(set(hparam_defaults) | set(hparam_tuned) | set(hparam_overrides)):
        for values, source in (
            (hparam_overrides, "pipeline setting"),
            (hparam_tuned, tuned_source),
            (hparam_defaults, "family default"),
        ):
            if name in values:
                hparams.append(
                    {
                        "name": name,
                        "value": json.dumps(used.get(name, values[name])),
                        "source": source,
                    }
                )
                break
    return {
        "train": events.read_scalars(files["train"]),
        "eval": events.read_scalars(files["eval"]),
        "event_files": sum(len(v) for v in files.values()),
        "hparams": hparams,
        "trials": tuning.trial_rows(trials),
        "train_steps": train_steps,
        "trained_examples": trained_examples or length["trained_examples"],
        "epochs": epochs or length["epochs"],
        "model_run": model_run_uri,
    }


# --- the pushed model ---------------------------------------------------------------------


def pushed_section(
    pushed: bool,
    destination: Optional[str],
    version: Optional[str],
    forced: bool = False,
    example_template: str = "",
    row: Optional[Mapping[str, str]] = None,
) -> dict:
    """The pushed model: version, folder, signatures and a copy-paste scoring example.

    Args:
      pushed: whether the Pusher pushed a model in this run.
      destination: the version folder it pushed to.
      version: the version's name.
      forced: pushed although not blessed (an operator's override).
      example_template: Python code with `{model_dir}` and `{row}` placeholders.
      row: one raw row (column -> CSV text) for the example.
    """
    section = {
        "pushed": pushed,
        "destination": destination,
        "version": version,
        "forced": forced,
        "signatures": {},
        "example": "",
    }
    if pushed and destination and signatures.has_saved_model(destination):
        section["signatures"] = signatures.serving_signatures(destination)
    if pushed and destination and example_template:
        section["example"] = example_template.format(
            model_dir=json.dumps(destination),
            row="{\n"
            + "".join(
                f"    {json.dumps(k)}: {json.dumps(v)},\n" for k, v in sorted((row or {}).items())
            )
            + "}",
        )
    return section


# --- the whole page -----------------------------------------------------------------------


def outcome(
    components: Sequence[Mapping],
    evaluation: Optional[Mapping],
    pushed: Optional[Mapping],
    anomalies: Optional[Mapping],
    error: str = "",
) -> dict:
    """Returns {"kind": ok|warn|stop, "text": one sentence} for how the run ended."""
    failed = [c["id"] for c in components if c.get("state") == "failed"]
    if anomalies and anomalies.get("stopped"):
        return {
            "kind": "stop",
            "text": (
                f"Stopped at the data gate: {anomalies['blocking']} anomalies of kinds that stop "
                "a run; nothing was trained or pushed."
            ),
        }
    if failed or error:
        where = f" in {failed[0]}" if failed else ""
        # Beam appends the step it was running; the component is named already.
        first_line = (
            re.sub(r"\s*\[while running '[^']*'\]$", "", error.strip().splitlines()[0])
            if error.strip()
            else ""
        )
        cause = f": {first_line}" if first_line else ""
        return {"kind": "stop", "text": f"Stopped{where}{cause}; nothing after it ran."}
    blessed = evaluation.get("blessed") if evaluation else None
    reasons = "; ".join(evaluation.get("reasons", [])) if evaluation else ""
    if pushed and pushed.get("pushed"):
        version = pushed.get("version")
        if blessed:
            return {"kind": "ok", "text": f"Blessed and pushed as version {version}."}
        if pushed.get("forced"):
            return {
                "kind": "warn",
                "text": (
                    f"Not blessed ({reasons or 'a threshold failed'}), but pushed anyway by an "
                    f"operator's override as version {version}."
                ),
            }
        return {"kind": "warn", "text": f"Pushed as version {version}, without a blessing."}
    if blessed is False:
        return {
            "kind": "warn",
            "text": (
                f"Not blessed: {reasons or 'a threshold failed'}; nothing was pushed, the "
                "serving folder keeps its previous model."
            ),
        }
    if blessed:
        return {
            "kind": "ok",
            "text": (
                "Blessed; nothing new was pushed: the serving folder already holds this model."
            ),
        }
    return {"kind": "warn", "text": "The run ended before the model was evaluated."}


def _guarded(errors: List[str], what: str, build, *args, **kwargs):
    """Builds one section; a section that cannot be read is named on the page instead."""
    try:
        return build(*args, **kwargs)
    except (ReportInputError, OSError, ValueError) as error:
        errors.append(f"{what}: {error}")
        return None


def _task(facts: Mapping) -> dict:
    """The task's facts; a caller without them gets every metric and no task's extras."""
    return dict(facts.get("task") or {})


def regression_predictions(
    task: Mapping,
    facts: Mapping,
    uris: Mapping[str, Optional[str]],
    data: Optional[dict],
    pushed: Optional[Mapping],
) -> Optional[dict]:
    """A regression's predictions on eval examples, when the run pushed a model."""
    label_sources = list(facts.get("label_sources") or [])
    destination = (pushed or {}).get("destination")
    if (
        task.get("kind") != evaluation_reader.REGRESSION
        or not uris.get("examples")
        or len(label_sources) != 1
        or not (pushed or {}).get("pushed")
        or not destination
        or not signatures.has_saved_model(destination)
    ):
        return None
    label_stats = statistics.column(data, label_sources[0]) if data else None
    return predictions_reader.predictions_section(
        uris["examples"], destination, label_sources[0], label_stats
    )


def collect_page(
    title: str,
    run: Mapping,
    facts: Mapping,
    uris: Mapping[str, Optional[str]],
    pushed: Optional[Mapping] = None,
    gate_stopped: bool = False,
    error: str = "",
    generated: str = "",
) -> dict:
    """Gathers every section the run got far enough to have.

    Args:
      title: the page's title.
      run: {"family", "pipeline", "run_id", "data_root", "components", "started",
        "wall_seconds"}; `components` as [{"id", "state", "seconds", "start", "end"}].
      facts: the model family's facts: "blocking_kinds", "hparam_defaults",
        "hparam_overrides", "hparam_tuned" and "tuned_source" (values a Tuner chose,
        and where), "trials" (that tuning's `trials.json`), "train_steps",
        "trained_examples" and "epochs" (a local run's summary), "task" (the
        task's facts: kind, classes, blessing, metric names), "candidate", "baseline",
        "label_sources", "example_template".
      uris: artifact folders by role: "examples", "statistics", "anomalies",
        "model_run", "evaluation", "blessing"; missing or None when
        the run did not produce them.
      pushed: {"pushed", "destination", "version", "forced"} from the Pusher.
      gate_stopped: the data gate stopped the run.
      error: what stopped the run, when something did.
      generated: when the page was made (text).
    """
    errors: List[str] = []
    task = _task(facts)

    def section(what, role, build, *args):
        """A section read from its artifact; None when the run made no such artifact."""
        return _guarded(errors, what, build, uris[role], *args) if uris.get(role) else None

    data = section("statistics", "statistics", statistics.data_section)
    page = {"title": title, "generated": generated, "errors": errors, "data": data}
    page["anomalies"] = section(
        "anomalies",
        "anomalies",
        anomalies_reader.anomalies_section,
        facts.get("blocking_kinds", ()),
        gate_stopped,
    )
    page["training"] = section(
        "training",
        "model_run",
        training_section,
        facts.get("hparam_defaults", {}),
        facts.get("hparam_overrides", {}),
        facts.get("trials"),
        facts.get("train_steps"),
        facts.get("hparam_tuned"),
        facts.get("tuned_source", "tuned"),
        facts.get("trained_examples"),
        facts.get("epochs"),
    )
    evaluation = section(
        "evaluation",
        "evaluation",
        evaluation_reader.evaluation_section,
        uris.get("blessing"),
        task,
        facts.get("candidate", "candidate"),
        facts.get("baseline", "baseline"),
    )
    if evaluation is not None:
        evaluation["predictions"] = _guarded(
            errors,
            "predictions on eval examples",
            regression_predictions,
            task,
            facts,
            uris,
            data,
            pushed,
        )
    page["evaluation"] = evaluation
    page["pushed"] = None
    if pushed is not None:
        row = statistics.typical_row(data, leave_out=facts.get("label_sources", ())) if data else {}
        page["pushed"] = _guarded(
            errors,
            "pushed model",
            pushed_section,
            bool(pushed.get("pushed")),
            pushed.get("destination"),
            pushed.get("version"),
            bool(pushed.get("forced")),
            facts.get("example_template", ""),
            row,
        )
    run = dict(run)
    verdict = outcome(
        run.get("components", []), page["evaluation"], page["pushed"], page["anomalies"], error
    )
    run.update(outcome=verdict["text"], outcome_kind=verdict["kind"], error=error)
    page["run"] = run
    return page
