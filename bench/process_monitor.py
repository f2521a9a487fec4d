"""Running a child process while sampling its process tree's resident memory.

Every measurement runs in its own child process, so one cannot warm another's caches
and the bench's own memory is never counted.
"""

import json
import os
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional, Sequence

import psutil

from modules.common.paths import PROJECT_ROOT


def child_env() -> Dict[str, str]:
    """Returns the environment of a measured child: the project importable, TF quiet."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PROJECT_ROOT, env.get("PYTHONPATH")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def tree_rss(root: psutil.Process) -> int:
    """Returns the summed RSS (bytes) of `root` and all its descendants.

    Pages shared between processes are counted once per process, so with several
    processes this is an upper bound of the memory actually used.
    """
    total = 0
    try:
        processes = [root] + root.children(recursive=True)
    except psutil.Error:
        return 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.Error:  # Exited between listing and reading.
            pass
    return total


def run_monitored(
    cmd: Sequence[str],
    log_prefix: str,
    interval: float = 0.2,
    timeout: Optional[float] = None,
    cwd: str = PROJECT_ROOT,
) -> dict:
    """Runs `cmd`, timestamping its stdout lines and sampling its tree's RSS.

    stdout goes to `<log_prefix>.stdout.log`, stderr to `<log_prefix>.stderr.log`.

    Returns:
      {returncode, wall_seconds, start, lines: [(t, text)], samples: [(t, rss)],
       kernel_maxrss_bytes, timed_out}; times are `time.monotonic()` seconds. The kernel's
      figure (from wait4) is the peak of the largest single process, sampled by the
      kernel itself, so it cannot miss a short spike as `samples` can.
    """
    os.makedirs(os.path.dirname(os.path.abspath(log_prefix)), exist_ok=True)
    lines: List[tuple] = []
    samples: List[tuple] = []
    with (
        open(f"{log_prefix}.stdout.log", "w") as out_log,
        open(f"{log_prefix}.stderr.log", "w") as err_log,
    ):
        start = time.monotonic()
        process = subprocess.Popen(
            list(cmd),
            stdout=subprocess.PIPE,
            stderr=err_log,
            text=True,
            cwd=cwd,
            env=child_env(),
            start_new_session=True,
        )

        def read_stdout():
            for text in process.stdout:
                lines.append((time.monotonic(), text))
                out_log.write(text)
                out_log.flush()  # So the log can be followed while the child runs.

        reader = threading.Thread(target=read_stdout, daemon=True)
        reader.start()
        root = psutil.Process(process.pid)
        killed = False
        # wait4 instead of Popen.poll: it reaps the child *and* returns its rusage.
        while True:
            pid, status, rusage = os.wait4(process.pid, os.WNOHANG)
            now = time.monotonic()
            if pid:
                break
            samples.append((now, tree_rss(root)))
            if timeout is not None and now - start > timeout and not killed:
                os.killpg(process.pid, 9)  # Its own session: only what it started.
                killed = True
            time.sleep(interval)
        wall = now - start
        process.returncode = os.waitstatus_to_exitcode(status)
        reader.join(timeout=10)
        process.stdout.close()
    return {
        "returncode": process.returncode,
        "wall_seconds": wall,
        "start": start,
        "lines": lines,
        "samples": samples,
        "kernel_maxrss_bytes": rusage.ru_maxrss * 1024,  # Linux reports KiB.
        "timed_out": killed,
    }


def run_json(
    module: str, args: Sequence[str], log_prefix: str, timeout: Optional[float] = None
) -> dict:
    """Runs `python -m <module> <args>` and returns the JSON object it prints last.

    Raises:
      RuntimeError: naming the logs when the child fails or prints no JSON.
    """
    cmd = [sys.executable, "-m", module, *args]
    run = run_monitored(cmd, log_prefix, interval=0.5, timeout=timeout)
    json_lines = [text for _, text in run["lines"] if text.startswith("{")]
    if run["returncode"] != 0 or not json_lines:
        raise RuntimeError(
            f"{' '.join(cmd)} failed (exit {run['returncode']}); "
            f"see {log_prefix}.stderr.log and {log_prefix}.stdout.log"
        )
    result = json.loads(json_lines[-1])
    result["process_peak_rss_mb"] = round(run["kernel_maxrss_bytes"] / 2**20, 1)
    return result
