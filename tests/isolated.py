"""Run ``headshot.imageio.load`` on files in worker processes, with a hard time limit per file and
the decode's peak memory measured.

A worker (``python -m tests.isolated``) reads one JSON job per line on stdin (a manifest entry made
by :func:`tests.hostile.write_cases`), loads the file, judges the outcome with
:func:`tests.hostile.judge` and answers one JSON line. The parent (:class:`WorkerPool`) gives each
job ``timeout`` seconds of the worker's **CPU time** (read from ``/proc/<pid>/stat``; the workers
run their decoders on one thread, so on an idle machine that is the wall time), with a wall-clock
backstop of ``backstop`` times as much for a load that blocks without computing. A worker over
either limit is killed (SIGKILL) and the job counts as a hang; a worker that dies (a signal, a
non-zero exit) counts as a crash. Either way a fresh worker takes its place. CPU time rather than
wall time, so that another job on the machine cannot turn a 2-second decode into a "hang".

Memory: before each load the worker writes ``5`` to ``/proc/self/clear_refs``, which resets the
kernel's peak-RSS counter (VmHWM) to the current RSS, and reads VmHWM afterwards; the decode's
memory is the difference. That is exact for the load's own peak as long as freed memory goes
back to the kernel between loads, so workers run with glibc's mmap threshold pinned at 128 KiB
(``MALLOC_MMAP_THRESHOLD_``: every large buffer is its own mapping and is unmapped when freed)
and the baseline RSS before each load is reported too (it stays flat when that holds). One
process per file would measure the same thing with ~0.5 s of imports per file; a reset counter
in a long-lived worker costs nothing.

The worker also points its stdout and stderr at a file and reports anything written there: the
library must never print.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

__all__ = ["JobResult", "WorkerPool", "worker_env"]


@dataclass
class JobResult:
    """What happened to one job.

    ``status`` is ``"pass"`` or ``"fail"`` (judged by the worker), ``"hang"`` (killed over the time
    limit) or ``"crash"`` (the worker died); ``outcome`` describes it. ``seconds`` is the load's
    wall time and ``cpu_seconds`` its CPU time (for a hang: how far it got before the kill).
    Memory in KiB: ``hwm_delta_kib`` is the peak RSS during the load minus the RSS just before it.
    """

    index: int
    name: str
    status: str
    outcome: str
    seconds: float
    cpu_seconds: float = 0.0
    hwm_delta_kib: int | None = None
    rss_before_kib: int | None = None
    hwm_kib: int | None = None
    error_class: str | None = None
    stderr: str = ""
    notes: str = ""


def worker_env(threads: int = 1) -> dict[str, str]:
    """The environment of a worker: imports from this checkout, ``threads`` threads per library,
    glibc returning large buffers to the kernel when freed (see the module docstring)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["MALLOC_MMAP_THRESHOLD_"] = str(128 * 1024)
    env["MALLOC_TRIM_THRESHOLD_"] = str(128 * 1024)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[var] = str(threads)
    env["HEADSHOT_WORKER_THREADS"] = str(threads)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (fields 14 and 15)


class _Worker:
    def __init__(self, env: dict[str, str], address_limit: int | None) -> None:
        cmd = [sys.executable, "-m", "tests.isolated"]
        if address_limit:
            cmd += ["--address-limit", str(address_limit)]
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=str(REPO),
            bufsize=0,
            start_new_session=True,
        )
        self.buffer = b""
        self.job: int | None = None
        self.judging = False  # the load is done and timed; the worker is judging its outcome
        self.ready = False
        self.started = time.monotonic()
        self.cpu_at_start = 0.0

    def send(self, index: int, job: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.job = index
        self.judging = False
        self.started = time.monotonic()
        self.cpu_at_start = _cpu_seconds(self.proc.pid)
        self.proc.stdin.write((json.dumps({**job, "index": index}) + "\n").encode())

    def cpu_used(self) -> float:
        return _cpu_seconds(self.proc.pid) - self.cpu_at_start

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


class WorkerPool:
    """``workers`` processes loading files one at a time each, ``timeout`` CPU seconds per file.

    Parameters
    ----------
    workers : int
        Processes run in parallel.
    timeout : float
        CPU seconds a single load may take before its worker is killed (a hang).
    backstop : float
        The wall-clock limit is ``timeout * backstop`` (a load that blocks without computing).
    threads : int
        Threads each worker's libraries may use (OpenCV, BLAS, libheif).
    address_limit : int, optional
        RLIMIT_AS of each worker in bytes, a safety net against a bomb taking the machine down
        (address space is not memory: keep it far above the figure being measured).
    startup_timeout : float
        Wall seconds a worker may take to import everything and warm up.
    """

    def __init__(
        self,
        workers: int = 2,
        timeout: float = 5.0,
        *,
        backstop: float = 6.0,
        threads: int = 1,
        address_limit: int | None = 16 * 1024**3,
        startup_timeout: float = 120.0,
    ) -> None:
        self.workers = max(1, workers)
        self.timeout = timeout
        self.wall_limit = timeout * backstop
        self.env = worker_env(threads)
        self.address_limit = address_limit
        self.startup_timeout = startup_timeout

    def run(
        self,
        jobs: Sequence[dict[str, Any]],
        progress: Callable[[JobResult], None] | None = None,
    ) -> list[JobResult]:
        """Run every job (manifest entries); results in the order of ``jobs``."""
        results: list[JobResult | None] = [None] * len(jobs)
        pending = list(range(len(jobs)))[::-1]
        sel = selectors.DefaultSelector()
        pool: list[_Worker] = []

        def add_worker() -> None:
            w = _Worker(self.env, self.address_limit)
            pool.append(w)
            assert w.proc.stdout is not None
            sel.register(w.proc.stdout, selectors.EVENT_READ, w)

        def retire(w: _Worker) -> None:
            assert w.proc.stdout is not None
            sel.unregister(w.proc.stdout)
            w.kill()
            pool.remove(w)

        def finish(res: JobResult) -> None:
            results[res.index] = res
            if progress is not None:
                progress(res)

        def feed(w: _Worker) -> None:
            if pending:
                i = pending.pop()
                w.send(i, jobs[i])
            else:
                w.job = None

        def replace(w: _Worker, index: int | None) -> None:
            retire(w)
            if pending or index is not None:
                add_worker()

        for _ in range(min(self.workers, len(jobs))):
            add_worker()
        try:
            while any(r is None for r in results):
                now = time.monotonic()
                for w in list(pool):  # noqa: PERF101 - a copy: replace() changes the pool
                    if not w.ready:
                        if now - w.started > self.startup_timeout:
                            raise RuntimeError("a worker did not start in time")
                        continue
                    if w.job is None:
                        continue
                    wall = now - w.started
                    if w.judging:  # the load is over; the judging only gets a generous backstop
                        if wall > self.startup_timeout:
                            raise RuntimeError(f"judging {jobs[w.job]['name']} took over {self.startup_timeout:g} s")
                        continue
                    cpu = w.cpu_used()
                    if cpu > self.timeout or wall > self.wall_limit:
                        index = w.job
                        why = f"{cpu:.1f} s CPU" if cpu > self.timeout else f"{wall:.0f} s wall ({cpu:.1f} s CPU)"
                        finish(JobResult(index, jobs[index]["name"], "hang", f"killed after {why}", wall, cpu))
                        replace(w, index)
                for key, _ in sel.select(timeout=0.1):
                    w = key.data
                    chunk = os.read(key.fd, 1 << 16)
                    if not chunk:
                        index = w.job
                        w.proc.wait()
                        code = w.proc.returncode
                        if index is None and not w.ready:
                            raise RuntimeError(f"a worker failed to start (exit status {code})")
                        if index is not None:
                            why = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
                            finish(
                                JobResult(
                                    index,
                                    jobs[index]["name"],
                                    "crash",
                                    f"worker died: {why}",
                                    time.monotonic() - w.started,
                                )
                            )
                        replace(w, index)
                        continue
                    w.buffer += chunk
                    while b"\n" in w.buffer:
                        line, w.buffer = w.buffer.split(b"\n", 1)
                        msg = json.loads(line)
                        if msg.get("ready"):
                            w.ready = True
                            feed(w)
                            continue
                        if msg.get("loaded"):
                            w.judging = True
                            continue
                        index = w.job
                        assert index is not None and msg["index"] == index
                        finish(
                            JobResult(
                                index,
                                jobs[index]["name"],
                                msg["status"],
                                msg["outcome"],
                                msg["seconds"],
                                msg["cpu_seconds"],
                                msg.get("hwm_delta_kib"),
                                msg.get("rss_before_kib"),
                                msg.get("hwm_kib"),
                                msg.get("error_class"),
                                msg.get("stderr", ""),
                                msg.get("notes", ""),
                            )
                        )
                        feed(w)
        finally:
            for w in list(pool):  # noqa: PERF101 - a copy: retire() changes the pool
                retire(w)
            sel.close()
        return [r for r in results if r is not None]


# ------------------------------------------------------------------------------------------
# The worker side
# ------------------------------------------------------------------------------------------


def _status_kib() -> dict[str, int]:
    out = {}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _warm_up() -> None:
    """Import and touch every decoder once so lazy imports and cached tables do not count as the
    first file's decode memory."""
    import io

    import cv2
    import numpy as np
    from PIL import Image

    from headshot import imageio
    from tests.hostile import _heif

    img = Image.fromarray(np.full((16, 16, 3), 100, np.uint8))
    blobs = []
    for fmt in ("JPEG", "PNG", "WEBP"):
        buf = io.BytesIO()
        img.save(buf, format=fmt)
        blobs.append(buf.getvalue())
    blobs.append(_heif(img, quality=50))
    deep = Image.fromarray(np.full((16, 16), 1000, np.uint16))
    buf = io.BytesIO()
    deep.save(buf, format="PNG")
    blobs.append(buf.getvalue())
    blobs.append(cv2.imencode(".png", np.full((8, 8, 3), 1000, np.uint16))[1].tobytes())
    for blob in blobs:
        imageio.load(blob)


def _worker_main(argv: list[str]) -> int:
    import resource

    if "--address-limit" in argv:
        limit = int(argv[argv.index("--address-limit") + 1])
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    threads = int(os.environ.get("HEADSHOT_WORKER_THREADS", "1"))
    import cv2
    import pillow_heif

    cv2.setNumThreads(threads)
    pillow_heif.options.DECODE_THREADS = threads
    from headshot import imageio
    from tests.hostile import judge, read_reference

    _warm_up()
    # Decoders must not print (the library never does): fds 1 and 2 go to a file whose growth is
    # reported, and the answers go to the parent on a private copy of the original stdout.
    import tempfile

    out = os.fdopen(os.dup(1), "wb", buffering=0)
    err_file = tempfile.TemporaryFile()  # noqa: SIM115 - open for the worker's whole life
    os.dup2(err_file.fileno(), 1)
    os.dup2(err_file.fileno(), 2)
    refs: dict[str, Any] = {}
    out.write(b'{"ready": true}\n')
    can_reset = _reset_peak()
    for line in sys.stdin.buffer:
        job = json.loads(line)
        ref = None
        if job.get("ref"):
            if job["ref"] not in refs:
                if len(refs) > 64:
                    refs.clear()
                refs[job["ref"]] = read_reference(job["ref"])
            ref = refs[job["ref"]]
        if job.get("test_hook") == "sleep":  # for tests of the pool itself: a hang, a spin, a crash
            time.sleep(3600)
        elif job.get("test_hook") == "spin":
            while True:
                pass
        elif job.get("test_hook") == "segfault":
            os.kill(os.getpid(), signal.SIGSEGV)
        before = _status_kib()["VmRSS"]
        if can_reset:
            _reset_peak()
        start, cpu_start = time.perf_counter(), time.process_time()
        outcome: Any
        try:
            outcome = imageio.load(job["path"], **job.get("kwargs", {}))
        except BaseException as exc:  # noqa: BLE001 - every exception is a result to report
            outcome = exc
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
        out.write(b'{"loaded": true}\n')  # the time limit covers the load, not the judging below
        status = _status_kib()
        printed = os.lseek(2, 0, os.SEEK_END)
        stderr_text = ""
        if printed:
            os.lseek(2, 0, os.SEEK_SET)
            stderr_text = os.read(2, 300).decode("utf-8", "replace")
            os.ftruncate(2, 0)
            os.lseek(2, 0, os.SEEK_SET)
        ok, text = judge(job["expect"], job.get("error"), ref, outcome)
        error_class = type(outcome).__name__ if isinstance(outcome, BaseException) else None
        notes = "" if error_class else "; ".join((f"{outcome.source.bit_depth}-bit", *outcome.source.notes))
        del outcome
        reply = {
            "index": job.get("index"),
            "status": "pass" if ok else "fail",
            "outcome": text[:500],
            "seconds": seconds,
            "cpu_seconds": cpu_seconds,
            "hwm_delta_kib": status["VmHWM"] - before if can_reset else None,
            "rss_before_kib": before,
            "hwm_kib": status["VmHWM"],
            "error_class": error_class,
            "stderr": stderr_text,
            "notes": notes,
        }
        out.write((json.dumps(reply) + "\n").encode())
    return 0


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1:]))
