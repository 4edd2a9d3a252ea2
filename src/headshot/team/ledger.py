"""The team run's ledger: one SQLite file in the output folder that says where each person stands.

It is the single source of truth for resuming: a person is ``done`` only once every one of their
files is in place (written atomically) *and* the ledger's row says so in the same transaction that
records the outcome. A run killed at any moment leaves every person either ``done`` (all files
there) or not (re-rendered next time, its files replaced with the same bytes), so re-running the
command never redoes a finished person and never duplicates one. Only the coordinating process
writes it; workers (local processes or Ray tasks) only compute.

States: ``pending`` (to do), ``running`` (handed to a worker; a leftover from a killed run is
treated as pending), ``done``, ``failed`` (the photo cannot be used, or the worker died on it
``max_attempts`` times).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import LedgerError
from .roster import RESERVED

__all__ = ["Ledger", "Row", "LEDGER_NAME"]

LEDGER_NAME = "team-ledger.sqlite"
LOCK_NAME = ".team.lock"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS people (
    person TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    photos TEXT NOT NULL,         -- JSON list of paths
    fingerprint TEXT NOT NULL,    -- the photos' names, sizes and modification times
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    outcome TEXT,                 -- JSON: what came of the last finished attempt
    updated REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Row:
    """One person's line of the ledger."""

    person: str
    slug: str
    photos: tuple[str, ...]
    fingerprint: str
    state: str
    attempts: int
    outcome: dict[str, object] | None


class Ledger:
    """The ledger of one output folder, held with an exclusive lock while a run uses it.

    Parameters
    ----------
    folder : Path
        The team's output folder (created if missing).
    config : dict
        The run's settings (style, platforms, size, format...) as JSON-able data. A folder whose
        ledger was made with other settings is refused: its finished people would not match.

    Raises
    ------
    LedgerError
        Another run holds the folder, or its ledger was made with other settings or is damaged.
    """

    def __init__(self, folder: Path, config: dict[str, object]) -> None:
        self.folder = folder
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise LedgerError(f"cannot create the output folder {folder}: {e.strerror or e}; choose another --out") from None
        self._lock = open(folder / LOCK_NAME, "a+")  # noqa: SIM115 (held for the ledger's life)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise LedgerError(f"another 'headshot team' run is writing to {folder}; wait for it to finish, "
                              "or choose another --out") from None
        try:
            self.db = sqlite3.connect(folder / LEDGER_NAME, isolation_level=None, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(SCHEMA)
            self._check_config(config)
        except sqlite3.DatabaseError as e:
            self.close()
            raise LedgerError(f"{folder / LEDGER_NAME} is damaged ({e}); move it away to start the team again "
                              "(finished headshots stay where they are)") from None
        except LedgerError:
            self.close()
            raise

    def _check_config(self, config: dict[str, object]) -> None:
        text = json.dumps(config, sort_keys=True)
        row = self.db.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()
        if row is None:
            self.db.execute("INSERT INTO meta VALUES ('config', ?)", (text,))
            return
        if row[0] != text:
            old = json.loads(row[0])
            diff = sorted(k for k in set(old) | set(config) if old.get(k) != config.get(k))
            raise LedgerError(f"{self.folder} holds a team run made with other settings ({', '.join(diff)} "
                              "differ); re-run with the same options to continue it, or choose another --out")

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def sync(self, people: list[tuple[str, str, tuple[str, ...], str]], *, retry_failed: bool = False) -> dict[str, int]:
        """Bring the ledger in line with the roster: add new people; a person whose photos changed
        starts again; ``running`` rows of a killed run go back to pending; failed ones too with
        `retry_failed`. Returns counts of what changed."""
        counts = {"new": 0, "changed": 0, "resumed": 0, "retried": 0}
        now = time.time()
        with self._tx() as db:
            known = {r[0]: (r[1], r[2]) for r in db.execute("SELECT person, fingerprint, state FROM people")}
            slugs = {r[0].casefold() for r in db.execute("SELECT slug FROM people")} | set(RESERVED)
            for person, slug, photos, fp in people:
                if person not in known:
                    # A person keeps the folder name the ledger gave them; a newcomer whose name
                    # clashes with an earlier person's folder gets the next free one.
                    base, i = slug, 2
                    while slug.casefold() in slugs:
                        slug, i = f"{base}-{i}", i + 1
                    slugs.add(slug.casefold())
                    db.execute("INSERT INTO people (person, slug, photos, fingerprint, state, updated) "
                               "VALUES (?, ?, ?, ?, 'pending', ?)", (person, slug, json.dumps(photos), fp, now))
                    counts["new"] += 1
                elif known[person][0] != fp:
                    db.execute("UPDATE people SET photos = ?, fingerprint = ?, state = 'pending', attempts = 0, "
                               "outcome = NULL, updated = ? WHERE person = ?", (json.dumps(photos), fp, now, person))
                    counts["changed"] += 1
            # A killed run's people go back to pending; the attempt its end cut short does not count
            # against them (only a worker dying on a person, or finishing it, does).
            counts["resumed"] = db.execute(
                "UPDATE people SET state = 'pending', attempts = MAX(attempts - 1, 0), updated = ? "
                "WHERE state = 'running'", (now,)).rowcount
            if retry_failed:
                counts["retried"] = db.execute(
                    "UPDATE people SET state = 'pending', attempts = 0, updated = ? WHERE state = 'failed'",
                    (now,)).rowcount
        return counts

    def rows(self, people: list[str] | None = None) -> list[Row]:
        """Rows in name order (only those of `people` when given)."""
        wanted = None if people is None else set(people)
        out = []
        for r in self.db.execute("SELECT person, slug, photos, fingerprint, state, attempts, outcome FROM people "
                                 "ORDER BY person"):
            if wanted is None or r[0] in wanted:
                out.append(Row(person=r[0], slug=r[1], photos=tuple(json.loads(r[2])), fingerprint=r[3], state=r[4],
                               attempts=r[5], outcome=json.loads(r[6]) if r[6] else None))
        return out

    def attempts(self, person: str) -> int:
        """How many attempts a person has had (0 for an unknown person)."""
        r = self.db.execute("SELECT attempts FROM people WHERE person = ?", (person,)).fetchone()
        return int(r[0]) if r else 0

    def start(self, person: str) -> int:
        """Mark a person as handed to a worker; returns the attempt number (1 for the first)."""
        with self._tx() as db:
            db.execute("UPDATE people SET state = 'running', attempts = attempts + 1, updated = ? WHERE person = ?",
                       (time.time(), person))
        return self.attempts(person)

    def finish(self, person: str, state: str, outcome: dict[str, object]) -> None:
        """Record a finished attempt (``done`` or ``failed``) and its outcome."""
        if state not in ("done", "failed"):
            raise ValueError(f"state must be done or failed, got {state!r}")
        with self._tx() as db:
            db.execute("UPDATE people SET state = ?, outcome = ?, updated = ? WHERE person = ?",
                       (state, json.dumps(outcome, ensure_ascii=False), time.time(), person))

    def release(self, person: str, *, count: bool = True) -> None:
        """Hand a person back, pending again: their worker died (the attempt counts), or the run is
        stopping (``count=False``: it does not)."""
        with self._tx() as db:
            db.execute("UPDATE people SET state = 'pending', attempts = attempts - ?, updated = ? "
                       "WHERE person = ? AND state = 'running'", (0 if count else 1, time.time(), person))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.db.close()
        with contextlib.suppress(Exception):
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def fingerprint(photos: tuple[Path, ...]) -> str:
    """Names, sizes and modification times of a person's photos: a change re-does the person."""
    parts = []
    for p in photos:
        try:
            st = os.stat(p)
            parts.append(f"{p.name}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{p.name}:missing")
    return "|".join(parts)
