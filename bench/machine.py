"""The machine a figure was measured on: cores, memory, CPU model, load, versions."""

import datetime
import importlib.metadata
import os
import platform

import psutil

_PACKAGES = ("tfx", "tensorflow", "apache-beam", "tensorflow-transform")


def cpu_model() -> str:
    """Returns the CPU model name from /proc/cpuinfo (the platform's guess elsewhere)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict:
    """Returns the facts that make a timing comparable, taken now.

    The load average is part of it: timings taken while other jobs run are noisy.
    """
    versions = {}
    for package in _PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "hostname": platform.node(),
        "cores_logical": os.cpu_count(),
        "cores_physical": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu_model": cpu_model(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "packages": versions,
        "measured_at": datetime.datetime.now().isoformat(timespec="seconds"),
    }


def describe(machine: dict) -> str:
    """Returns the one-line description printed beside each figure."""
    return (
        f"{machine['cores_logical']} cores, {machine['memory_gb']:g} GB, "
        f"{machine['cpu_model']}; finished {machine['measured_at']}, "
        f"load average {machine['load_average_1m']}"
    )
