"""Retention: everything of a job is deleted once its time is up (and nothing is left behind)."""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path

from .settings import Settings
from .store import Store, remove_tree

__all__ = ["sweep", "Sweeper", "ORPHAN_AGE_S"]

log = logging.getLogger("headshot.web.retention")

#: A job folder without a database row is removed once it is this old (younger ones may be an
#: upload between being moved into place and its rows being written).
ORPHAN_AGE_S = 600.0


def _age(path: Path, now: float) -> float:
    try:
        return now - path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def sweep(settings: Settings, store: Store | None = None) -> dict[str, int]:
    """Delete expired jobs (rows, then files), orphaned job folders and stale incoming uploads.

    Returns how many of each were removed.
    """
    store = store or Store(settings.db_path)
    now = settings.clock()
    expired = store.expired(now)
    for job_id in expired:
        store.delete_job(job_id, settings.job_dir(job_id))
    known = store.job_ids()
    orphans = 0
    if settings.jobs_dir.exists():
        for d in settings.jobs_dir.iterdir():
            if d.name not in known and _age(d, now) > ORPHAN_AGE_S:
                remove_tree(d)
                orphans += 1
    stale = 0
    if settings.tmp_dir.exists():
        for d in settings.tmp_dir.iterdir():
            if _age(d, now) > 3600:  # an upload that was cut off and not cleaned (a crash mid-stream)
                shutil.rmtree(d, ignore_errors=True)
                stale += 1
    if expired or orphans or stale:
        log.info("retention: %d expired job(s), %d orphaned folder(s), %d stale upload(s) removed",
                 len(expired), orphans, stale)
    return {"expired": len(expired), "orphans": orphans, "stale_uploads": stale}


class Sweeper:
    """Runs :func:`sweep` every ``settings.sweep_every_s`` on a background thread (file deletion is
    blocking I/O: it stays off the event loop)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            try:
                sweep(self.settings)
            except Exception:  # a busy database or a file in use: the next pass tries again
                log.exception("retention sweep failed")
            if self._stop.wait(self.settings.sweep_every_s):
                return

