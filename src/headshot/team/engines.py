"""Where a team's per-person tasks run: a local pool of worker processes, or Ray.

Both engines have the same small interface (:class:`Engine`): the coordinator hands them tasks
and collects, for each, either a :class:`PersonOutcome` or a :class:`Lost` (the worker died, or the
task raised). They keep no state of their own that matters: the ledger decides what is done and
what is retried, so an engine can lose a worker, or be replaced by another, without losing anyone.

The local pool is written here rather than taken from :mod:`concurrent.futures`: a
``ProcessPoolExecutor`` whose worker dies marks *every* task in flight as failed and must be
rebuilt, so a photo that crashes its worker would be blamed on its neighbours too. Here each worker
is a process with its own pipe, so exactly the task it held is reported lost and one worker is
replaced.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait as mp_wait
from typing import Any, Protocol

from .._proc import SINGLE_THREAD_ENV, die_with_parent, environment
from ..errors import TeamError
from .task import PersonOutcome, PersonTask, run_person

__all__ = ["Engine", "LocalPool", "RayEngine", "Lost", "TaskFn", "make_engine", "ENGINES"]

ENGINES = ("local", "ray")
TaskFn = Callable[[PersonTask], PersonOutcome]


@dataclass(frozen=True)
class Lost:
    """A task that gave no outcome: its worker died (``died``) or it raised (a bug; ``message`` has
    the traceback's last line)."""

    message: str
    died: bool = True


class Engine(Protocol):
    """What the coordinator needs from an engine."""

    #: How many tasks to keep handed out at once.
    slots: int

    def submit(self, key: str, task: PersonTask) -> None: ...

    def wait(self, timeout: float | None = None) -> list[tuple[str, PersonOutcome | Lost]]:
        """Results of finished tasks (at least one unless `timeout` passed or nothing is in flight)."""
        ...

    def close(self) -> None: ...


_READY = ("", None)  # a worker's first message: started, ready for tasks
START_TIMEOUT_S = 180.0  # a worker must be ready within this (imports, on a slow disk)


def _worker_main(conn: Connection, parent: int, fn: TaskFn) -> None:
    """A local worker: take a task, run it, send back the outcome; until told to stop."""
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle
    import cv2

    cv2.setNumThreads(1)
    try:
        conn.send(_READY)
    except (BrokenPipeError, OSError):
        return
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return
        if item is None:
            return
        key, task = item
        try:
            result: PersonOutcome | Lost = fn(task)
        except Exception as e:  # a bug: report it (the coordinator retries, then gives up on the person)
            last = traceback.format_exception_only(type(e), e)[-1].strip()
            result = Lost(message=f"the worker failed on this photo ({last})", died=False)
        try:
            conn.send((key, result))
        except (BrokenPipeError, OSError):
            return


class _Worker:
    def __init__(self, ctx: Any, fn: TaskFn) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        with environment(SINGLE_THREAD_ENV):
            self.proc = ctx.Process(target=_worker_main, args=(child, os.getpid(), fn), daemon=True)
            self.proc.start()
        child.close()
        self.key: str | None = None

    def stop(self, timeout: float = 2.0) -> None:
        with contextlib.suppress(Exception):
            self.conn.send(None)
        self.proc.join(timeout)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(1.0)
        with contextlib.suppress(Exception):
            self.conn.close()


class LocalPool:
    """Worker processes on this machine (started fresh with ``spawn``), one task each at a time.

    Parameters
    ----------
    workers : int
        How many processes (one per core is right: each is kept single-threaded).
    fn : callable
        The task function (default :func:`headshot.team.task.run_person`); must be importable by
        name in a fresh process.
    """

    def __init__(self, workers: int, fn: TaskFn = run_person) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self._ctx = mp.get_context("spawn")
        self._fn = fn
        self._workers = [_Worker(self._ctx, fn) for _ in range(workers)]
        self.slots = workers
        self._await_ready()

    def _await_ready(self) -> None:
        """Wait until every first worker has started: one that cannot start is the pool's failure
        (a missing ``__main__`` guard, a broken install), not the fault of the photos it would get."""
        waiting = list(self._workers)
        while waiting:
            ready = set(mp_wait([w.conn for w in waiting] + [w.proc.sentinel for w in waiting], START_TIMEOUT_S))
            if not ready:
                self.close()
                raise TeamError(f"the worker processes did not start within {START_TIMEOUT_S:g} s")
            for w in list(waiting):
                if w.conn in ready:
                    try:
                        w.conn.recv()
                        waiting.remove(w)
                        continue
                    except (EOFError, OSError):
                        pass
                if w.conn in ready or w.proc.sentinel in ready:
                    w.proc.join(1.0)
                    code = w.proc.exitcode
                    self.close()
                    raise TeamError(
                        f"a worker process could not start (exit status {code}); a script that calls run_team "
                        "must guard its top level with `if __name__ == \"__main__\":` (the workers are "
                        "started with spawn), and the task function must be importable by name")

    def submit(self, key: str, task: PersonTask) -> None:
        for w in self._workers:
            if w.key is None:
                w.key = key
                try:
                    w.conn.send((key, task))
                except (BrokenPipeError, OSError):
                    pass  # it died while idle: wait() sees its sentinel and reports the task lost
                return
        raise RuntimeError("no idle worker: submit at most `slots` tasks at once")

    def wait(self, timeout: float | None = None) -> list[tuple[str, PersonOutcome | Lost]]:
        busy = [w for w in self._workers if w.key is not None]
        if not busy:
            return []
        handles: list[Any] = [w.conn for w in busy] + [w.proc.sentinel for w in busy]
        ready = set(mp_wait(handles, timeout))
        out: list[tuple[str, PersonOutcome | Lost]] = []
        for w in busy:
            if w.conn in ready:
                try:
                    key, result = w.conn.recv()
                except (EOFError, OSError):
                    pass  # the pipe closed without an answer: the worker died
                else:
                    if (key, result) == _READY:
                        continue  # a replacement worker saying it has started; its answer comes later
                    w.key = None
                    out.append((key, result))
                    continue
            elif w.proc.sentinel not in ready:
                continue
            key = w.key
            assert key is not None
            w.proc.join(1.0)
            code = w.proc.exitcode
            why = f"killed by signal {-code}" if code is not None and code < 0 else f"exit status {code}"
            out.append((key, Lost(message=f"the worker process died while rendering this person ({why})")))
            w.stop(0.1)
            self._workers[self._workers.index(w)] = _Worker(self._ctx, self._fn)
        return out

    def close(self) -> None:
        for w in self._workers:
            w.stop()


def _ray_run(fn: TaskFn, task: PersonTask) -> PersonOutcome:
    import cv2

    cv2.setNumThreads(1)
    return fn(task)


class RayEngine:
    """The same tasks as Ray tasks, on a local Ray started here or an existing cluster.

    Ray's own retries are off (``max_retries=0``): a lost task is reported to the coordinator,
    which counts the attempt in the ledger and submits it again, so nothing is done twice behind
    the ledger's back.

    Parameters
    ----------
    workers : int
        CPUs of the local Ray started here (ignored with `address`: the cluster's CPUs are used).
    address : str, optional
        An existing cluster (``ray://host:10001`` or ``host:6379``); photos travel as bytes, so its
        workers need not see this machine's files, but every node needs headshot-studio installed
        (a cluster that cannot import it stops the run with a :class:`TeamError`, nobody failed).
    fn : callable
        The task function (default :func:`headshot.team.task.run_person`).
    """

    def __init__(self, workers: int, address: str | None = None, fn: TaskFn = run_person) -> None:
        try:
            import ray
        except ImportError:
            raise TeamError("--engine ray needs Ray: pip install 'headshot-studio[ray]' "
                            "(or use the default --engine local)") from None
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            try:
                if address:
                    # A cluster's workers get the thread limits through Ray's runtime environment.
                    ray.init(address=address, runtime_env={"env_vars": dict(SINGLE_THREAD_ENV)}, **kwargs)
                else:
                    # "local": a new Ray for this run, even when RAY_ADDRESS or `ray start` says otherwise.
                    # Its processes inherit the thread limits from here: a runtime environment would make
                    # Ray start a second set of workers (each importing the whole library again; measured
                    # 100 photos: Ray/local 1.18 with it).
                    with environment(SINGLE_THREAD_ENV):
                        ray.init(address="local", num_cpus=workers, **kwargs)
            except Exception as e:  # Ray raises ConnectionError, RuntimeError, ValueError... for a bad address
                raise TeamError(f"cannot start Ray{' at ' + address if address else ''}: {e}") from None
            self._started = True
        cpus = int(ray.cluster_resources().get("CPU", workers)) if address else workers
        self.slots = max(1, cpus)
        self._remote = ray.remote(num_cpus=1, max_retries=0)(_ray_run)
        self._fn_ref = ray.put(fn)
        self._refs: dict[Any, str] = {}

    def submit(self, key: str, task: PersonTask) -> None:
        self._refs[self._remote.remote(self._fn_ref, task)] = key

    def wait(self, timeout: float | None = None) -> list[tuple[str, PersonOutcome | Lost]]:
        ray = self._ray
        if not self._refs:
            return []
        ready, _ = ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        out: list[tuple[str, PersonOutcome | Lost]] = []
        for ref in ready:
            key = self._refs.pop(ref)
            try:
                out.append((key, ray.get(ref)))
            except ray.exceptions.RayTaskError as e:  # the task raised: a bug, not a death
                cause = e.cause if getattr(e, "cause", None) is not None else e
                last = traceback.format_exception_only(type(cause), cause)[-1].strip().splitlines()[-1]
                if isinstance(cause, ImportError) or "ModuleNotFoundError" in last or "ImportError" in last:
                    # Not this person's fault: the cluster cannot run the task at all.
                    self._refs[ref] = key  # still in flight: the coordinator hands it back
                    raise TeamError(f"the Ray workers cannot run Headshot Studio ({last}); install "
                                    "headshot-studio (the same version, with its dependencies) on every node "
                                    "of the cluster") from None
                out.append((key, Lost(message=f"the worker failed on this photo ({last})", died=False)))
            except ray.exceptions.RayError as e:  # worker died, node lost, object lost...
                out.append((key, Lost(message=f"the Ray worker was lost while rendering this person "
                                              f"({type(e).__name__})")))
        return out

    def close(self) -> None:
        for ref in list(self._refs):
            with contextlib.suppress(Exception):
                self._ray.cancel(ref, force=True)
        self._refs.clear()
        if self._started:
            with contextlib.suppress(Exception):
                self._ray.shutdown()


def make_engine(kind: str, workers: int, *, address: str | None = None, fn: TaskFn = run_person) -> Engine:
    """An engine by name (``local`` or ``ray``)."""
    if kind == "local":
        if address:
            raise ValueError("--ray-address goes with --engine ray")
        return LocalPool(workers, fn)
    if kind == "ray":
        return RayEngine(workers, address, fn)
    raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {kind!r}")
