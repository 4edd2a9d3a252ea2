"""Jobs, tasks and outputs in SQLite (WAL), with leases so that a crash never loses or duplicates work.

A *job* is one upload: its photos, the findings of their capture checks and the headshots made of
them. Work on a job is done by *tasks* (``check``: analyse the photos; ``render``: analyse and render
the requested styles x platforms), claimed by worker processes with a lease:

- :meth:`Store.claim` takes the oldest waiting task (checks first: they are what a person is
  watching) or one whose lease ran out, and stamps it with the worker's id and a deadline;
- the worker renews the lease while it works (:meth:`Store.renew`);
- every file a worker produces is put in place by :meth:`Store.commit_file` inside a write
  transaction that first checks the lease is still the worker's and the job still exists, so a
  worker that lost its lease (or whose job was deleted) can never add a file, and a retried task
  rewrites the same fixed names instead of adding copies;
- a task claimed ``max_attempts`` times without finishing (its worker died each time) is failed.

One short-lived connection per call: SQLite connections are cheap, and this keeps the store safe to
use from the server's thread pool, the sweeper thread and the worker processes alike.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Store", "Task", "owner_id", "owner_alive", "QueueFull", "RenderBusy"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    expires REAL NOT NULL,
    state TEXT NOT NULL,
    request TEXT NOT NULL,
    error TEXT,
    progress_done INTEGER NOT NULL DEFAULT 0,
    progress_total INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_expires ON jobs(expires);
CREATE TABLE IF NOT EXISTS photos (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    name TEXT NOT NULL,
    stem TEXT NOT NULL,
    file TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'waiting',
    error TEXT,
    checks TEXT,
    PRIMARY KEY (job_id, idx)
);
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until REAL,
    created REAL NOT NULL,
    finished REAL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS tasks_waiting ON tasks(state, kind, id);
CREATE INDEX IF NOT EXISTS tasks_job ON tasks(job_id);
CREATE TABLE IF NOT EXISTS outputs (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    photo INTEGER NOT NULL,
    style TEXT NOT NULL,
    platform TEXT NOT NULL,
    before TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (job_id, name)
);
"""

#: Tables holding rows of a job (what deleting a job must empty).
JOB_TABLES = ("outputs", "tasks", "photos", "jobs")


class QueueFull(Exception):
    """Too many tasks are waiting; the caller answers 503 with ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"queue full; retry after {retry_after} s")
        self.retry_after = retry_after


class RenderBusy(Exception):
    """A render of this job is already waiting or running."""


def owner_id() -> str:
    """This process's worker id: ``host:pid:random`` (the random part tells a reused pid apart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"


def owner_alive(owner: str) -> bool | None:
    """Whether a worker id's process is alive: True/False on this host, None for another host."""
    host, _, rest = owner.partition(":")
    if host != socket.gethostname():
        return None
    try:
        pid = int(rest.partition(":")[0])
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # alive, but another user's
        return True
    return True


@dataclass(frozen=True)
class Task:
    """A claimed task."""

    id: int
    job_id: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    owner: str
    lease_until: float


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Store:
    """The studio's database (see the module's docstring)."""

    def __init__(self, path: Path, *, busy_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s

    # -- connections --------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("PRAGMA synchronous = NORMAL")  # WAL: durable at checkpoints, never corrupt
        return con

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        con = self._connect()
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken at once (BEGIN IMMEDIATE), so read-then-write is atomic."""
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        finally:
            con.close()

    def init(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._connect()
        try:
            con.execute("PRAGMA journal_mode = WAL")
            con.executescript(SCHEMA)
        finally:
            con.close()

    # -- jobs -----------------------------------------------------------------------------------

    def ensure_room(self, max_queued: int) -> None:
        """Raise :class:`QueueFull` when `max_queued` tasks are waiting for a worker."""
        with self._read() as con:
            self._check_queue(con, max_queued)

    def create_job(self, job_id: str, photos: list[dict[str, str]], request: dict[str, Any], *, render: bool,
                   now: float, expires: float, max_queued: int) -> None:
        """Insert a job, its photos and its first task (``render`` or ``check``).

        `photos`: ``{"name", "stem", "file"}`` each. Raises :class:`QueueFull` past `max_queued`.
        """
        with self._write() as con:
            self._check_queue(con, max_queued)
            con.execute("INSERT INTO jobs (id, created, expires, state, request, progress_total) VALUES (?,?,?,?,?,?)",
                        (job_id, now, expires, "queued", json.dumps(request), len(photos)))
            con.executemany("INSERT INTO photos (job_id, idx, name, stem, file) VALUES (?,?,?,?,?)",
                            [(job_id, i, p["name"], p["stem"], p["file"]) for i, p in enumerate(photos)])
            con.execute("INSERT INTO tasks (job_id, kind, state, payload, created) VALUES (?,?,?,?,?)",
                        (job_id, "render" if render else "check", "queued", json.dumps(request), now))

    def _check_queue(self, con: sqlite3.Connection, max_queued: int) -> None:
        n = int(con.execute("SELECT count(*) FROM tasks WHERE state = 'queued'").fetchone()[0])
        if n >= max_queued:
            # A rough wait: a few seconds per waiting task, between 5 s and 2 min.
            raise QueueFull(retry_after=int(min(120, max(5, 2 * n))))

    def add_render(self, job_id: str, request: dict[str, Any], *, now: float, max_queued: int) -> bool:
        """Queue a render of an existing job; False if there is no such job.

        Raises :class:`RenderBusy` while another render is waiting or running, :class:`QueueFull`.
        """
        with self._write() as con:
            if con.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone() is None:
                return False
            busy = con.execute("SELECT 1 FROM tasks WHERE job_id = ? AND kind = 'render' AND state IN "
                               "('queued', 'running')", (job_id,)).fetchone()
            if busy is not None:
                raise RenderBusy(job_id)
            self._check_queue(con, max_queued)
            con.execute("UPDATE jobs SET request = ?, error = NULL WHERE id = ?", (json.dumps(request), job_id))
            con.execute("UPDATE jobs SET state = 'queued' WHERE id = ? AND state != 'checking'", (job_id,))
            con.execute("INSERT INTO tasks (job_id, kind, state, payload, created) VALUES (?,?,?,?,?)",
                        (job_id, "render", "queued", json.dumps(request), now))
        return True

    def job(self, job_id: str) -> dict[str, Any] | None:
        """The job with its photos and outputs, as plain data (None if unknown)."""
        with self._read() as con:
            con.execute("BEGIN")  # one consistent snapshot
            row = con.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                return None
            photos = con.execute("SELECT * FROM photos WHERE job_id = ? ORDER BY idx", (job_id,)).fetchall()
            outputs = con.execute("SELECT * FROM outputs WHERE job_id = ? ORDER BY photo, created, name",
                                  (job_id,)).fetchall()
            con.execute("COMMIT")
        return {
            "id": row["id"],
            "state": row["state"],
            "created": _iso(row["created"]),
            "expires": _iso(row["expires"]),
            "progress": {"done": row["progress_done"], "total": row["progress_total"]},
            "request": json.loads(row["request"]),
            "error": row["error"],
            "photos": [{"index": p["idx"], "name": p["name"], "stem": p["stem"], "file": p["file"],
                        "state": p["state"], "error": p["error"],
                        **(json.loads(p["checks"]) if p["checks"] else {})} for p in photos],
            "outputs": [dict(o) for o in outputs],
        }

    def job_ids(self) -> set[str]:
        with self._read() as con:
            return {r[0] for r in con.execute("SELECT id FROM jobs")}

    def expired(self, now: float) -> list[str]:
        with self._read() as con:
            return [r[0] for r in con.execute("SELECT id FROM jobs WHERE expires <= ?", (now,))]

    def delete_job(self, job_id: str, job_dir: Path) -> bool:
        """Delete every row of a job, then its folder. False if there was no such job.

        The rows go first, in one transaction: from then on no worker can commit a file to the job
        (see :meth:`commit_file`), so the folder removed after stays removed.
        """
        with self._write() as con:
            found = con.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone() is not None
            for table in JOB_TABLES:
                con.execute(f"DELETE FROM {table} WHERE {'id' if table == 'jobs' else 'job_id'} = ?", (job_id,))
        remove_tree(job_dir)
        return found

    # -- tasks ----------------------------------------------------------------------------------

    def claim(self, owner: str, *, now: float, lease_s: float, max_attempts: int) -> Task | None:
        """Claim the next task (checks first, then oldest), or one whose lease ran out."""
        with self._read() as con:  # idle workers poll: look without taking the write lock
            if con.execute("SELECT 1 FROM tasks WHERE state = 'queued' OR (state = 'running' AND lease_until < ?) "
                           "LIMIT 1", (now,)).fetchone() is None:
                return None
        with self._write() as con:
            while True:
                row = con.execute(
                    "SELECT * FROM tasks WHERE state = 'queued' OR (state = 'running' AND lease_until < ?) "
                    "ORDER BY (kind != 'check'), id LIMIT 1", (now,)).fetchone()
                if row is None:
                    return None
                if row["attempts"] >= max_attempts:
                    # Its worker died every time (a photo that crashes the decoder, say): give up on it.
                    msg = (f"this job stopped its worker {row['attempts']} times and was given up; "
                           "try another photo, or a smaller copy of this one")
                    con.execute("UPDATE tasks SET state = 'failed', error = ?, finished = ?, lease_owner = NULL "
                                "WHERE id = ?", (msg, now, row["id"]))
                    con.execute("UPDATE jobs SET state = 'failed', error = ? WHERE id = ?", (msg, row["job_id"]))
                    continue
                until = now + lease_s
                con.execute("UPDATE tasks SET state = 'running', attempts = attempts + 1, lease_owner = ?, "
                            "lease_until = ? WHERE id = ?", (owner, until, row["id"]))
                con.execute("UPDATE jobs SET state = ? WHERE id = ?",
                            ("checking" if row["kind"] == "check" else "rendering", row["job_id"]))
                return Task(id=row["id"], job_id=row["job_id"], kind=row["kind"], payload=json.loads(row["payload"]),
                            attempts=row["attempts"] + 1, owner=owner, lease_until=until)

    def renew(self, task: Task, *, now: float, lease_s: float) -> bool:
        """Extend a lease; False if the task is no longer this worker's (then stop working on it)."""
        with self._write() as con:
            cur = con.execute("UPDATE tasks SET lease_until = ? WHERE id = ? AND lease_owner = ? AND state = 'running'",
                              (now + lease_s, task.id, task.owner))
            return cur.rowcount == 1

    def _holds(self, con: sqlite3.Connection, task: Task) -> bool:
        return con.execute("SELECT 1 FROM tasks WHERE id = ? AND lease_owner = ? AND state = 'running'",
                           (task.id, task.owner)).fetchone() is not None

    def release(self, task: Task, *, refund: bool = True) -> None:
        """Give a task back to the queue (a worker stopping); `refund` does not count the attempt."""
        with self._write() as con:
            con.execute("UPDATE tasks SET state = 'queued', lease_owner = NULL, lease_until = NULL, "
                        f"attempts = attempts - {1 if refund else 0} WHERE id = ? AND lease_owner = ? AND "
                        "state = 'running'", (task.id, task.owner))
            con.execute("UPDATE jobs SET state = 'queued' WHERE id = ?", (task.job_id,))

    def release_dead(self, now: float) -> int:
        """Requeue running tasks whose worker was a process on this host that is gone (a restart
        after a crash resumes at once rather than after the lease). Returns how many."""
        with self._write() as con:
            rows = con.execute("SELECT id, job_id, lease_owner FROM tasks WHERE state = 'running'").fetchall()
            dead = [r for r in rows if owner_alive(r["lease_owner"] or "") is False]
            for r in dead:
                con.execute("UPDATE tasks SET state = 'queued', lease_owner = NULL, lease_until = NULL WHERE id = ?",
                            (r["id"],))
                con.execute("UPDATE jobs SET state = 'queued' WHERE id = ?", (r["job_id"],))
        return len(dead)

    def finish(self, task: Task, *, now: float, state: str, error: str | None = None) -> bool:
        """End a task (``done`` or ``failed``) and set its job's state; False if the lease was lost."""
        with self._write() as con:
            if not self._holds(con, task):
                return False
            con.execute("UPDATE tasks SET state = ?, error = ?, finished = ?, lease_owner = NULL WHERE id = ?",
                        (state, error, now, task.id))
            if state == "done":
                job_state = "done" if task.kind == "render" else "checked"
                if task.kind == "check" and con.execute(
                        "SELECT 1 FROM tasks WHERE job_id = ? AND kind = 'render' AND state = 'queued'",
                        (task.job_id,)).fetchone() is not None:
                    job_state = "queued"  # (a render was asked for while the check ran)
                usable = con.execute("SELECT count(*) FROM photos WHERE job_id = ? AND state != 'failed'",
                                     (task.job_id,)).fetchone()[0]
                if usable == 0:
                    job_state, error = "failed", "no photo could be used: see each photo's reason"
            else:
                job_state = "failed"
            con.execute("UPDATE jobs SET state = ?, error = ? WHERE id = ?", (job_state, error, task.job_id))
            return True

    def progress(self, task: Task, done: int, total: int) -> bool:
        with self._write() as con:
            if not self._holds(con, task):
                return False
            con.execute("UPDATE jobs SET progress_done = ?, progress_total = ? WHERE id = ?",
                        (done, total, task.job_id))
            return True

    def photo_checked(self, task: Task, idx: int, *, checks: dict[str, Any] | None, error: str | None) -> bool:
        with self._write() as con:
            if not self._holds(con, task):
                return False
            con.execute("UPDATE photos SET state = ?, error = ?, checks = ? WHERE job_id = ? AND idx = ?",
                        ("failed" if error else "checked", error, json.dumps(checks) if checks else None,
                         task.job_id, idx))
            return True

    def commit_file(self, task: Task, tmp: Path, final: Path, output: dict[str, Any] | None = None) -> bool:
        """Move a finished file into place (and record it as an output) if the task is still this
        worker's and its job still exists; otherwise remove it and return False."""
        try:
            with self._write() as con:
                if not self._holds(con, task):
                    raise _Lost
                os.replace(tmp, final)
                if output is not None:
                    con.execute(
                        "INSERT OR REPLACE INTO outputs (job_id, name, photo, style, platform, before, width, height, "
                        "bytes, created) VALUES (:job_id, :name, :photo, :style, :platform, :before, :width, :height, "
                        ":bytes, :created)", {"job_id": task.job_id, **output})
        except _Lost:
            tmp.unlink(missing_ok=True)
            return False
        return True


class _Lost(Exception):
    pass


def remove_tree(path: Path, *, tries: int = 5) -> None:
    """Remove a folder and everything in it, retrying while a worker may still be adding a file."""
    for i in range(tries):
        try:
            shutil.rmtree(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            if i == tries - 1:
                raise
            time.sleep(0.05)
