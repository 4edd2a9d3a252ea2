"""The web studio (``headshot serve``): a page and a REST API over the pipeline, run locally.

Layout: :mod:`.app` (FastAPI: page, API, guards), :mod:`.uploads` (streaming uploads),
:mod:`.store` (SQLite jobs with leases), :mod:`.worker` (the image work, in worker processes),
:mod:`.retention` (deleting what is due), :mod:`.thumbs` (style thumbnails). See docs/web.md.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import shutil
import signal
import threading
from multiprocessing.process import BaseProcess

from .settings import API_KEY_ENV, ServeError, Settings, is_loopback

__all__ = ["Settings", "ServeError", "serve", "start_workers", "sweep_parts", "API_KEY_ENV", "is_loopback"]

log = logging.getLogger("headshot.web")


def _worker_main(settings: Settings, index: int, parent: int) -> None:
    from .worker import run

    run(settings, index, parent)


def _start_worker(settings: Settings, index: int) -> BaseProcess:
    # Spawned, not forked: a fork of a threaded server is not safe.
    p = mp.get_context("spawn").Process(target=_worker_main, args=(settings, index, os.getpid()),
                                        name=f"headshot-worker-{index}", daemon=True)
    p.start()
    return p


def start_workers(settings: Settings) -> list[BaseProcess]:
    """Start the worker processes."""
    return [_start_worker(settings, i) for i in range(settings.workers)]


class _Supervisor:
    """Replaces a worker process that died (a crash in native code, the OOM killer): its task is
    requeued at once and a new worker takes it (a task that keeps killing workers is failed after
    ``max_attempts``, see the store)."""

    def __init__(self, settings: Settings, procs: list[BaseProcess]) -> None:
        self.settings = settings
        self.procs = procs
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="supervisor", daemon=True)

    def _run(self) -> None:
        from .store import Store

        store = Store(self.settings.db_path)
        while not self.stopping.wait(1.0):
            for i, p in enumerate(self.procs):
                if p.is_alive() or self.stopping.is_set():
                    continue
                log.error("worker %d exited (code %s); starting another", i, p.exitcode)
                try:
                    store.release_dead(self.settings.clock())
                except Exception:  # the lease then runs out instead
                    log.exception("could not requeue the dead worker's task")
                sweep_parts(self.settings, p.pid)
                self.procs[i] = _start_worker(self.settings, i)


def sweep_parts(settings: Settings, pid: int | None = None) -> int:
    """Remove the half-written files (``.NAME.PID.part``) a dead worker left in the job folders:
    those of process `pid`, or every one (at start-up, when no worker is running)."""
    n = 0
    suffix = f".{pid}.part" if pid is not None else ".part"
    try:
        folders = list(settings.jobs_dir.iterdir())
    except OSError:
        return 0
    for folder in folders:
        try:
            names = [f.name for f in folder.iterdir()]
        except OSError:
            continue  # deleted meanwhile, or not a folder
        for name in names:
            if name.startswith(".") and name.endswith(suffix):
                (folder / name).unlink(missing_ok=True)
                n += 1
    return n


def _recover(settings: Settings) -> None:
    """Before anything runs: clear uploads cut off by a crash and the half-written files of workers
    that died with the last server, and requeue their tasks (they resume now instead of when their
    leases run out)."""
    from .store import Store

    settings.prepare()
    store = Store(settings.db_path)
    store.init()
    for d in settings.tmp_dir.iterdir():
        shutil.rmtree(d, ignore_errors=True)
    sweep_parts(settings)
    n = store.release_dead(settings.clock())
    if n:
        log.warning("%d unfinished task(s) of the last run requeued", n)


def serve(settings: Settings, *, log_level: str = "info") -> None:
    """Run the studio until interrupted: recovery, workers, then the HTTP server (uvicorn)."""
    import uvicorn

    from .app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    _recover(settings)
    app = create_app(settings)
    procs = start_workers(settings)
    supervisor = _Supervisor(settings, procs)
    supervisor.thread.start()
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level, access_log=False,
                    timeout_graceful_shutdown=5)
    finally:
        supervisor.stopping.set()
        supervisor.thread.join(timeout=5)
        for p in procs:
            if p.is_alive() and p.pid is not None:
                os.kill(p.pid, signal.SIGTERM)  # a worker gives its task back to the queue and exits
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
