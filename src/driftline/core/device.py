"""Choosing where XGBoost runs: a visible GPU when allowed, else the CPU."""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess

logger = logging.getLogger(__name__)


@functools.cache
def gpu_visible() -> bool:
    """True when this XGBoost build has CUDA and `nvidia-smi` lists a GPU (asked once per
    process: a Spark Python worker scores many batches)."""
    import xgboost

    if not xgboost.build_info().get("USE_CUDA"):
        return False
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False
    try:
        listed = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return listed.returncode == 0 and "GPU" in listed.stdout


def choose_device(preference: str) -> str:
    """`auto` -> cuda where a GPU is visible, else cpu; `cpu`/`cuda` are taken as given."""
    if preference in ("cpu", "cuda"):
        return preference
    device = "cuda" if gpu_visible() else "cpu"
    logger.info("XGBoost device: %s", device)
    return device
