"""Process helpers shared by the web studio's workers and a team run's worker pool."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator

__all__ = ["die_with_parent", "SINGLE_THREAD_ENV", "environment"]

# One worker process per core: each library's own thread pool would only make the workers fight
# for the same cores (OpenCV, OpenMP/BLAS, numba's kernels in pymatting, TFLite in MediaPipe).
SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "OPENCV_FOR_THREADS_NUM": "1",
}


def die_with_parent(parent: int) -> None:
    """Exit when the parent process exits, even when it is killed with SIGKILL (Linux: PDEATHSIG)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(0)


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the processes started inside the block (spawned children read
    the environment when they start), then restore the caller's."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
