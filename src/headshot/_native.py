"""Keeping MediaPipe's native start-up notices off the user's terminal.

MediaPipe's C++ graphs and TensorFlow Lite print notices straight to file descriptor 2 when a model
starts and on its first frame ("Created TensorFlow Lite XNNPACK delegate", "Feedback manager requires
a model with a single signature inference", "Using NORM_RECT without IMAGE_DIMENSIONS"): eight lines
of log noise before a CLI's first result, none of which a user can act on. They bypass Python, and
neither ``GLOG_minloglevel`` nor ``TF_CPP_MIN_LOG_LEVEL`` silences them in the pinned 0.10.21 (absl
logging, TFLite's own logger; both measured). So a model is built, run once on a blank frame (its
graph opens its calculators on worker threads after construction, and they print when they do: a
frame's result is the only sign they are done) and run on its first real frame with descriptor 2
pointed at ``/dev/null``; later frames print nothing.

A failure inside still raises its Python exception after descriptor 2 is restored. The redirect is
process-wide, so whatever another thread writes to stderr in that window (once per process, while
the models start: a fraction of a second) is lost too; the web studio and team runs analyse in
worker processes of their own, so their servers' logs are not affected. ``HEADSHOT_NATIVE_LOGS=1``
keeps everything (for debugging MediaPipe itself).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["quiet_stderr", "Quiet"]

_LOCK = threading.Lock()


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Point file descriptor 2 at ``/dev/null`` for the block (process-wide; serialised by a lock)."""
    if os.environ.get("HEADSHOT_NATIVE_LOGS") == "1":
        yield
        return
    with _LOCK:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        try:
            saved = os.dup(2)
        except OSError:  # no descriptor 2 at all (a daemon): nothing to keep quiet
            yield
            return
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, 2)
            finally:
                os.close(devnull)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class Quiet:
    """A MediaPipe solution, run once on a blank frame when wrapped, whose first :meth:`process`
    also runs under :func:`quiet_stderr` (a face mesh's notices come on its first face).

    Wrap it inside :func:`quiet_stderr`, where it was built. Callers keep their own lock around
    :meth:`process` (the solutions are not thread-safe), which also makes the first-frame flag safe.
    """

    def __init__(self, solution: Any) -> None:
        self._solution = solution
        self._first = True
        solution.process(np.full((64, 64, 3), 128, dtype=np.uint8))

    def process(self, image: Any) -> Any:
        if not self._first:
            return self._solution.process(image)
        with quiet_stderr():
            out = self._solution.process(image)
        self._first = False
        return out
