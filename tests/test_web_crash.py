"""Crash test: a real ``headshot serve`` is killed with SIGKILL while it renders, then restarted.

Every job must reach a final state, and none may be duplicated: each job has its one render task,
each headshot exists once under its name, no half-written file is left, and each report lists each
headshot once.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
from tests.webserver import alive, children, start, stop  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ASTRONAUT = (REPO / "examples" / "astronaut.jpg").read_bytes()
STYLES = ("corporate", "charcoal", "navy")
N_JOBS = 4

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and SIGKILL")


@pytest.mark.slow
def test_kill_9_while_rendering_then_restart_finishes_every_job_once(tmp_path: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "server.log"
    proc, base = start(data, log)
    try:
        ids = []
        for i in range(N_JOBS):
            r = httpx.post(f"{base}/api/jobs", files=[("photos", (f"p{i}.jpg", ASTRONAUT, "image/jpeg"))],
                           data={"styles": ",".join(STYLES)}, timeout=30)
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        # Wait until a job is part-way through its render (some of its headshots written, not all).
        end = time.monotonic() + 120
        while time.monotonic() < end:
            jobs = [httpx.get(f"{base}/api/jobs/{j}", timeout=10).json() for j in ids]
            if any(j["state"] == "rendering" and 0 < len(j["outputs"]) < len(STYLES) for j in jobs):
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"no job was caught mid-render: {[j['state'] for j in jobs]}")
        workers = children(proc.pid)
        assert workers, "the server has no worker processes"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        end = time.monotonic() + 10
        while any(alive(w) for w in workers) and time.monotonic() < end:
            time.sleep(0.05)
        assert not any(alive(w) for w in workers), "workers outlived the killed server"
        unfinished = [j["id"] for j in jobs if j["state"] not in ("done", "failed")]
        assert unfinished

        proc, base = start(data, log)
        end = time.monotonic() + 240
        while time.monotonic() < end:
            jobs = [httpx.get(f"{base}/api/jobs/{j}", timeout=10).json() for j in ids]
            if all(j["state"] in ("done", "failed") for j in jobs):
                break
            time.sleep(0.2)
        states = [j["state"] for j in jobs]
        assert states == ["done"] * N_JOBS, (states, log.read_text()[-3000:])
        con = sqlite3.connect(data / "headshot.db")
        try:
            for j in jobs:
                names = [o["name"] for o in j["outputs"]]
                assert sorted(names) == sorted(f"p{ids.index(j['id'])}_{s}_linkedin.jpg" for s in STYLES)
                folder = data / "jobs" / j["id"]
                files = sorted(p.name for p in folder.iterdir())
                assert not [f for f in files if f.startswith(".")], files  # no half-written file
                assert all(files.count(n) == 1 for n in names)
                report = json.loads((folder / "report-0.json").read_text())
                assert sorted(e["file"] for e in report["outputs"]) == sorted(names)
                tasks = con.execute("SELECT kind, state, attempts FROM tasks WHERE job_id = ?", (j["id"],)).fetchall()
                assert len(tasks) == 1 and tasks[0][:2] == ("render", "done"), tasks
                assert 1 <= tasks[0][2] <= 2
            assert con.execute("SELECT count(*) FROM outputs").fetchone()[0] == N_JOBS * len(STYLES)
        finally:
            con.close()
    finally:
        stop(proc)


@pytest.mark.slow
def test_a_worker_killed_mid_render_is_replaced_and_its_job_finished(tmp_path: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "server.log"
    proc, base = start(data, log)
    try:
        r = httpx.post(f"{base}/api/jobs", files=[("photos", ("w.jpg", ASTRONAUT, "image/jpeg"))],
                       data={"styles": ",".join(STYLES)}, timeout=30)
        job_id = r.json()["id"]
        end = time.monotonic() + 120
        while time.monotonic() < end:
            job = httpx.get(f"{base}/api/jobs/{job_id}", timeout=10).json()
            if job["state"] == "rendering" and job["outputs"]:
                break
            time.sleep(0.05)
        assert job["state"] == "rendering" and len(job["outputs"]) < len(STYLES), job["state"]
        workers = children(proc.pid)
        assert len(workers) >= 1
        for w in workers:
            os.kill(w, signal.SIGKILL)
        end = time.monotonic() + 120
        while time.monotonic() < end:
            job = httpx.get(f"{base}/api/jobs/{job_id}", timeout=10).json()
            if job["state"] in ("done", "failed"):
                break
            time.sleep(0.2)
        assert job["state"] == "done", log.read_text()[-3000:]
        assert sorted(o["name"] for o in job["outputs"]) == sorted(f"w_{s}_linkedin.jpg" for s in STYLES)
        assert proc.poll() is None and set(children(proc.pid)).isdisjoint(workers)
        assert "exited" in log.read_text() and "starting another" in log.read_text()
    finally:
        stop(proc)
