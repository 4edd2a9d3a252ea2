"""The studio's worker: claims tasks from the store and does the image work.

Runs in its own process (``headshot serve`` starts ``--workers`` of them), so decoding, analysis
and rendering never block the server's event loop. It holds a lease on the task it works on and
renews it from a heartbeat thread; every file it writes is committed through the store under that
lease (see :mod:`headshot.web.store`). Tests call :func:`drain` to run tasks in their own process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .._proc import die_with_parent
from ..checks import verdict
from ..errors import CredentialsError, HeadshotError
from ..framing import Crop, warp_image
from ..imageio import encode
from ..pipeline import Subject, analyse, encode_headshot, output_entry, render, write_report
from ..provenance import Identity, keys
from .settings import Settings
from .store import Store, Task, owner_id
from .thumbs import render_thumbnails

__all__ = ["Worker", "run", "drain", "before_image", "PREVIEW_SIDE"]

log = logging.getLogger("headshot.web.worker")

PREVIEW_SIDE = 1024
PAST_EDGE_GREY = 0.18  # linear (sRGB ~118): where a before image's frame lies past the photo
POLL_S = 0.1
SUBJECT_CACHE = 2  # analysed photos kept in memory, so a render right after the check does not re-analyse


class _Abandon(Exception):
    """The task is no longer ours (lease lost, job deleted, worker stopping)."""


@dataclass
class _Lease:
    """Renews a task's lease in the background while the worker works on it."""

    store: Store
    task: Task
    settings: Settings
    stopping: threading.Event

    def __post_init__(self) -> None:
        self.lost = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="lease", daemon=True)

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _beat(self) -> None:
        every = self.settings.lease_s / 3
        while not self._done.wait(every):
            try:
                ok = self.store.renew(self.task, now=self.settings.clock(), lease_s=self.settings.lease_s)
            except Exception:  # a busy database: try again at the next beat; the lease has slack
                log.exception("lease renewal failed")
                continue
            if not ok:
                self.lost.set()
                return

    def check(self) -> None:
        if self.lost.is_set():
            raise _Abandon("lease lost")
        if self.stopping.is_set():
            raise _Abandon("stopping")


class _Subjects:
    """A small in-memory LRU of analysed photos (never written anywhere)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._d: OrderedDict[tuple[str, int], Subject] = OrderedDict()

    def get(self, key: tuple[str, int]) -> Subject | None:
        s = self._d.get(key)
        if s is not None:
            self._d.move_to_end(key)
        return s

    def put(self, key: tuple[str, int], s: Subject) -> None:
        self._d[key] = s
        self._d.move_to_end(key)
        while len(self._d) > self.size:
            self._d.popitem(last=False)


def _checks(subject: Subject) -> dict[str, Any]:
    return {
        "verdict": verdict(subject.findings),
        "findings": [{"code": f.code, "severity": f.severity, "message": f.message} for f in subject.findings],
        "face_px": round(float(subject.face.width)),
    }


def _tmp(folder: Path, name: str) -> Path:
    return folder / f".{name}.{os.getpid()}.part"


class Worker:
    """Does one task at a time (see :meth:`work_one`)."""

    def __init__(self, settings: Settings, *, owner: str | None = None) -> None:
        self.settings = settings
        self.store = Store(settings.db_path)
        self.owner = owner or owner_id()
        self.stopping = threading.Event()
        self.subjects = _Subjects(SUBJECT_CACHE)
        self._identity: Identity | None = None

    def identity(self) -> Identity | None:
        """Who signs this worker's headshots (loaded once; None when credentials are off)."""
        s = self.settings
        if not s.credentials:
            return None
        if self._identity is None:
            if s.signing_cert is not None:
                self._identity = keys.load(s.signing_cert, s.signing_key)
            else:
                self._identity = keys.ensure()[0]
        return self._identity

    # -- the loop ---------------------------------------------------------------------------------

    def work_one(self) -> bool:
        """Claim and do one task; False if none was waiting."""
        s = self.settings
        task = self.store.claim(self.owner, now=s.clock(), lease_s=s.lease_s, max_attempts=s.max_attempts)
        if task is None:
            return False
        with _Lease(self.store, task, s, self.stopping) as lease:
            try:
                if task.kind == "check":
                    self._check(task, lease)
                else:
                    self._render(task, lease)
            except _Abandon as e:
                if str(e) == "stopping":
                    self.store.release(task, refund=True)
                return True
            except CredentialsError as e:  # the server's signing key went bad: say so in the job
                log.error("task %s of job %s: %s", task.id, task.job_id, e)
                self.store.finish(task, now=s.clock(), state="failed", error=str(e))
                return True
            except Exception as e:  # a bug, not the user's input: fail the job, keep the worker
                log.exception("task %s of job %s failed", task.id, task.job_id)
                self.store.finish(task, now=s.clock(), state="failed",
                                  error=f"internal error ({type(e).__name__}); please report it")
                return True
        self.store.finish(task, now=s.clock(), state="done")
        return True

    def _subject(self, task: Task, photo: dict[str, Any], lease: _Lease) -> Subject | None:
        """The analysed photo (from memory when the check just did it); records its checks."""
        key = (task.job_id, int(photo["index"]))
        subject = self.subjects.get(key)
        if subject is not None:
            return subject
        folder = self.settings.job_dir(task.job_id)
        lease.check()
        try:
            subject = analyse(folder / photo["file"])
        except FileNotFoundError:
            raise _Abandon("job deleted") from None
        except HeadshotError as e:
            # The message names the file as the person called it, not where the studio keeps it.
            msg = str(e).replace(str(folder / photo["file"]), photo["name"]).replace(photo["file"], photo["name"])
            if not self.store.photo_checked(task, key[1], checks=None, error=msg):
                raise _Abandon("lease lost") from None
            return None
        lease.check()
        preview = _preview(subject)
        tmp = _tmp(folder, f"preview-{key[1]}.jpg")
        _write(tmp, encode(preview, format="jpg", quality=85))
        if not self.store.commit_file(task, tmp, folder / f"preview-{key[1]}.jpg"):
            raise _Abandon("lease lost")
        if not self.store.photo_checked(task, key[1], checks=_checks(subject), error=None):
            raise _Abandon("lease lost")
        self.subjects.put(key, subject)
        return subject

    def _check(self, task: Task, lease: _Lease) -> None:
        job = self.store.job(task.job_id)
        if job is None:
            raise _Abandon("job deleted")
        photos = job["photos"]
        for i, photo in enumerate(photos):
            self._subject(task, photo, lease)
            self.store.progress(task, i + 1, len(photos))

    def _render(self, task: Task, lease: _Lease) -> None:
        job = self.store.job(task.job_id)
        if job is None:
            raise _Abandon("job deleted")
        req = task.payload
        styles: list[str] = req["styles"]
        platforms: list[str] = req["platforms"]
        fmt: str = req.get("format", "jpg")
        size = req.get("size")
        folder = self.settings.job_dir(task.job_id)
        photos = job["photos"]
        per_photo = 1 + len(styles) * len(platforms)
        total = len(photos) * per_photo
        done = 0
        self.store.progress(task, done, total)
        for photo in photos:
            idx = int(photo["index"])
            subject = self._subject(task, photo, lease)
            done += 1
            if subject is None:
                done += per_photo - 1
                self.store.progress(task, done, total)
                continue
            self.store.progress(task, done, total)
            entries: list[dict[str, object]] = []
            befores: dict[str, str] = {}
            for st in styles:
                for pf in platforms:
                    lease.check()
                    t = time.perf_counter()
                    hs = render(subject, st, pf, size=size)
                    name = f"{photo['stem']}_{st}_{pf}.{fmt}"
                    tmp = _tmp(folder, name)
                    t_enc = time.perf_counter()
                    data, prov = encode_headshot(hs, format=fmt, credentials=self.identity(), title=name)
                    _write(tmp, data)
                    enc = time.perf_counter() - t_enc
                    if pf not in befores:
                        before = f"before-{idx}-{pf}.jpg"
                        btmp = _tmp(folder, before)
                        _write(btmp, encode(before_image(subject, hs.crop), format="jpg", quality=88))
                        if not self.store.commit_file(task, btmp, folder / before):
                            raise _Abandon("lease lost")
                        befores[pf] = before
                    row = {"name": name, "photo": idx, "style": st, "platform": pf, "before": befores[pf],
                           "width": hs.crop.width, "height": hs.crop.height, "bytes": tmp.stat().st_size,
                           "created": self.settings.clock()}
                    if not self.store.commit_file(task, tmp, folder / name, output=row):
                        raise _Abandon("lease lost")
                    entries.append(output_entry(subject, hs, folder / name, rig=hs.style.rig, encode_s=enc,
                                                provenance=prov))
                    entries[-1]["timings_ms"]["total"] = round((time.perf_counter() - t) * 1000, 1)  # type: ignore[index]
                    done += 1
                    self.store.progress(task, done, total)
            report = f"report-{idx}.json"
            rtmp = _tmp(folder, report)
            write_report(subject, entries, rtmp)
            if not self.store.commit_file(task, rtmp, folder / report):
                raise _Abandon("lease lost")


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except FileNotFoundError:  # the job's folder is gone: it was deleted
        raise _Abandon("job deleted") from None


def before_image(subject: Subject, crop: Crop) -> np.ndarray:
    """The photo as it was, in a headshot's frame (for before/after). Where the frame reaches past
    the photo's edges there was no photo: that is shown as plain grey, not as the render's soft
    continuation, so the comparison is honest about what was added."""
    img = warp_image(subject.photo.pixels, crop, levels=subject.levels)
    h, w = subject.photo.pixels.shape[:2]
    inv = cv2.invertAffineTransform(crop.matrix)
    xs = np.arange(crop.width, dtype=np.float32)[None, :]
    ys = np.arange(crop.height, dtype=np.float32)[:, None]
    sx = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
    sy = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    img[(sx < -0.5) | (sx > w - 0.5) | (sy < -0.5) | (sy > h - 0.5)] = PAST_EDGE_GREY
    return img


def _preview(subject: Subject) -> np.ndarray:
    px = subject.photo.pixels
    h, w = px.shape[:2]
    f = PREVIEW_SIDE / max(h, w)
    if f >= 1:
        return px
    return cv2.resize(px, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)


def drain(settings: Settings, *, limit: int = 1000) -> int:
    """Do waiting tasks in this process until none is left; returns how many (for tests and tools)."""
    w = Worker(settings)
    n = 0
    while n < limit and w.work_one():
        n += 1
    return n


def run(settings: Settings, index: int = 0, parent: int | None = None) -> None:
    """A worker process's main loop (until SIGTERM/SIGINT, or the server process is gone)."""
    if parent is not None:
        die_with_parent(parent)
    with contextlib.suppress(OSError):
        # Image work yields the CPU to the server process, so uploads are answered promptly while a
        # worker renders (20 concurrent 3 MB uploads on 2 cores: p95 to 202 0.89 s -> 0.22 s). On
        # an idle machine the worker still gets every core it can use.
        os.nice(5)
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s worker-{index} %(levelname)s %(message)s")
    w = Worker(settings)

    def stop(*_: object) -> None:
        w.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if index == 0:
        try:
            render_thumbnails(settings.cache_dir)
        except Exception:  # thumbnails are a nicety: the page shows names without them
            log.exception("style thumbnails could not be rendered")
    while not w.stopping.is_set():
        if parent is not None and os.getppid() != parent:
            break
        try:
            busy = w.work_one()
        except Exception:  # the database is busy or its disk full: wait and try again
            log.exception("worker loop")
            busy = False
        if not busy:
            w.stopping.wait(POLL_S)
