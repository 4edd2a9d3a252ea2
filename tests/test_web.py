"""The web studio's API, in-process: the ASGI test client, and the worker run with ``drain``.

Tiers: request handling and guards (fast, no image work); one real job (check, render, files, ZIP,
delete) shared by a module fixture; the store's leases and the retention sweep with a fake clock.
The crash test (a real server killed with SIGKILL) is in test_web_crash.py, the OpenAPI fuzzing in
test_web_schema.py and the browser test in test_web_browser.py.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sqlite3
import struct
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from starlette.requests import Request

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from headshot.cli import main as cli_main  # noqa: E402
from headshot.web import ServeError, Settings  # noqa: E402
from headshot.web.app import create_app  # noqa: E402
from headshot.web.retention import sweep  # noqa: E402
from headshot.web.store import JOB_TABLES, Store  # noqa: E402
from headshot.web.uploads import receive  # noqa: E402
from headshot.web.worker import Worker, drain  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ASTRONAUT = (REPO / "examples" / "astronaut.jpg").read_bytes()
KEY = "k" * 24


class FakeClock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings, sweeper=False), base_url="http://127.0.0.1")


def upload(c: TestClient, *files: tuple[str, bytes], **fields: str):
    return c.post("/api/jobs", files=[("photos", (n, d, "application/octet-stream")) for n, d in files],
                  data=fields)


def rows_of(settings: Settings, job_id: str) -> int:
    con = sqlite3.connect(settings.db_path)
    try:
        return sum(con.execute(f"SELECT count(*) FROM {t} WHERE {'id' if t == 'jobs' else 'job_id'} = ?",
                               (job_id,)).fetchone()[0] for t in JOB_TABLES)
    finally:
        con.close()


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", clock=FakeClock())


# -- one real job, shared -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def done_job(tmp_path_factory: pytest.TempPathFactory):
    s = Settings(data_dir=tmp_path_factory.mktemp("web") / "data")
    c = client(s)
    r = upload(c, ("my selfie.jpg", ASTRONAUT), render="false")
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    assert drain(s) == 1
    checked = c.get(f"/api/jobs/{job_id}").json()
    r = c.post(f"/api/jobs/{job_id}/render", json={"styles": ["corporate", "charcoal"], "platforms": ["linkedin",
                                                                                                      "website"]})
    assert r.status_code == 202, r.text
    assert drain(s) == 1
    return s, c, job_id, checked, c.get(f"/api/jobs/{job_id}").json()


def test_upload_answers_202_with_the_job_and_its_location(settings: Settings) -> None:
    c = client(settings)
    r = upload(c, ("a.jpg", ASTRONAUT))
    assert r.status_code == 202
    job = r.json()
    assert r.headers["location"] == f"/api/jobs/{job['id']}"
    assert job["state"] == "queued" and job["photos"][0]["state"] == "waiting"
    assert job["request"]["styles"] == ["corporate", "warm", "charcoal", "high-key"]
    assert len(job["id"]) >= 20  # 128 random bits: the id is what gives access


def test_the_check_gives_findings_with_advice_and_a_preview(done_job) -> None:
    s, c, job_id, checked, _ = done_job
    assert checked["state"] == "checked"
    photo = checked["photos"][0]
    assert photo["state"] == "checked" and photo["name"] == "my selfie.jpg"
    assert photo["verdict"] in ("good", "usable, could be better", "retake advised")
    # The sample's face is small (92 px): the advice says what to do.
    small = [f for f in photo["findings"] if f["code"] == "face_small"]
    assert small and "move closer" in small[0]["message"]
    r = c.get(photo["preview"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"] == "no-store"
    assert max(Image.open(io.BytesIO(r.content)).size) <= 1024


def test_render_makes_every_variant_with_a_before_in_the_same_frame(done_job) -> None:
    s, c, job_id, _, job = done_job
    assert job["state"] == "done"
    assert job["progress"] == {"done": 5, "total": 5}
    names = sorted(o["name"] for o in job["outputs"])
    assert names == sorted(f"my-selfie_{st}_{pf}.jpg" for st in ("corporate", "charcoal")
                           for pf in ("linkedin", "website"))
    for o in job["outputs"]:
        img = c.get(o["url"])
        before = c.get(o["before"])
        assert img.status_code == before.status_code == 200
        a, b = Image.open(io.BytesIO(img.content)), Image.open(io.BytesIO(before.content))
        assert a.size == b.size == (o["width"], o["height"])
        assert len(img.content) == o["bytes"]
        # The before is the photo itself in that frame: the same person in the same place, so the
        # two agree closely inside the subject (grey levels, 8-bit).
        ga = np.asarray(a.convert("L"), np.float32)
        gb = np.asarray(b.convert("L"), np.float32)
        h, w = ga.shape
        centre = (slice(h * 3 // 10, h * 6 // 10), slice(w * 4 // 10, w * 6 // 10))
        assert np.corrcoef(ga[centre].ravel(), gb[centre].ravel())[0, 1] > 0.8
    d = c.get(job["outputs"][0]["url"], params={"download": "true"})
    assert d.headers["content-disposition"].startswith("attachment")
    # Every download carries its content credentials, signed with the server's (local) keys.
    from headshot.provenance import keys, verify

    v = verify(d.content, trust=keys.trust_anchors())
    assert v.status == "trusted", v.problems
    assert v.digital_source_type == "http://cv.iptc.org/newscodes/digitalsourcetype/compositeSynthetic"


def test_download_all_has_every_headshot_and_the_report(done_job) -> None:
    s, c, job_id, _, job = done_job
    r = c.get(job["download_all"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(r.content))
    names = set(z.namelist())
    assert {o["name"] for o in job["outputs"]} <= names
    report = json.loads(z.read("my-selfie_report.json"))
    assert len(report["outputs"]) == 4 and report["findings"]
    # The ZIP is written into the job's folder and removed once sent.
    assert not list(s.job_dir(job_id).glob("*.zip"))


def test_nothing_of_a_job_is_kept_outside_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spool = tmp_path / "system-tmp"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    s = Settings(data_dir=tmp_path / "data")
    c = client(s)
    big = ASTRONAUT + b"\0" * (3 * 2**20)  # past Starlette's 1 MiB in-memory spooling limit
    r = upload(c, ("a.jpg", big), render="false")
    assert r.status_code == 202
    assert not files_under(spool)
    assert (s.job_dir(r.json()["id"]) / "upload-0.jpg").stat().st_size == len(big)


def test_delete_removes_every_file_and_row_at_once(settings: Settings) -> None:
    c = client(settings)
    job_id = upload(c, ("a.jpg", ASTRONAUT), render="false").json()["id"]
    drain(settings)
    assert rows_of(settings, job_id) > 0 and files_under(settings.job_dir(job_id))
    t = time.perf_counter()
    r = c.delete(f"/api/jobs/{job_id}")
    assert r.status_code == 204
    assert time.perf_counter() - t < 1.0  # "within a second" (typically a few ms)
    assert rows_of(settings, job_id) == 0
    assert not settings.job_dir(job_id).exists()
    assert c.get(f"/api/jobs/{job_id}").status_code == 404
    assert c.delete(f"/api/jobs/{job_id}").status_code == 404


def test_a_worker_cannot_add_files_to_a_deleted_job(settings: Settings) -> None:
    c = client(settings)
    job_id = upload(c, ("a.jpg", ASTRONAUT)).json()["id"]
    store = Store(settings.db_path)
    task = store.claim("w1", now=settings.clock(), lease_s=60, max_attempts=3)
    assert task is not None
    folder = settings.job_dir(job_id)
    tmp = folder / ".x.part"
    tmp.write_bytes(b"late")
    assert c.delete(f"/api/jobs/{job_id}").status_code == 204
    assert not store.commit_file(task, tmp, folder / "x.jpg")  # (the folder is gone with the job)
    assert not folder.exists()
    assert not store.finish(task, now=settings.clock(), state="done")


# -- bad input: a clear 4xx, never a 500, nothing left behind ------------------------------------------

@pytest.mark.parametrize("name,data,status,code", [
    ("notes.txt", b"hello, this is not a photo\n" * 10, 415, "unsupported_format"),
    ("empty.jpg", b"", 415, "empty_file"),
    ("scan.pdf", b"%PDF-1.7\n" + b"x" * 200, 415, "unsupported_format"),
])
def test_files_that_are_not_photos_are_refused(settings: Settings, name: str, data: bytes, status: int,
                                               code: str) -> None:
    c = client(settings)
    r = upload(c, (name, data))
    assert r.status_code == status and r.json()["error"] == code
    assert name.split(".")[0] in r.json()["message"] or "empty" in r.json()["message"]
    assert not files_under(settings.tmp_dir) and not files_under(settings.jobs_dir)


def test_an_image_whose_format_shows_late_in_its_header_is_accepted(tmp_path: Path) -> None:
    # An ISO-BMFF (HEIC) file names its brands in its 'ftyp' box; a camera may list the HEIF brand
    # after a dozen others, past the first 64 bytes.
    brands = [b"mp42", b"iso2", b"isom", b"mp41", b"avc1", b"iso4", b"iso5", b"iso6", b"3gp4", b"3gp5",
              b"3gp6", b"dby1", b"MiHE", b"miaf", b"MiPr", b"heic"]
    box = b"ftyp" + b"mp42" + b"\0\0\0\0" + b"".join(brands)
    head = struct.pack(">I", len(box) + 4) + box
    assert head.index(b"heic") > 64
    body = head + b"\0" * 4000
    pieces = [b'--b\r\nContent-Disposition: form-data; name="photos"; filename="IMG_0001.HEIC"\r\n\r\n' + body[:70],
              body[70:] + b"\r\n--b--\r\n"]  # (the network may cut the body anywhere)
    messages = [{"type": "http.request", "body": p, "more_body": i < len(pieces) - 1} for i, p in enumerate(pieces)]

    async def receive_message():  # type: ignore[no-untyped-def]
        return messages.pop(0)

    request = Request({"type": "http", "method": "POST", "path": "/api/jobs",
                       "headers": [(b"content-type", b"multipart/form-data; boundary=b")]}, receive_message)
    up = asyncio.run(receive(request, tmp_path / "up", max_bytes=10**6, max_photos=1))
    assert [p["format"] for p in up.photos] == ["heif"]
    assert (tmp_path / "up" / "upload-0.heic").read_bytes() == body


def test_form_errors(settings: Settings) -> None:
    c = client(settings)
    r = c.post("/api/jobs", content=b"{}", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "not_a_form"
    r = c.post("/api/jobs", data={"render": "false"}, files=[("other", ("a.jpg", ASTRONAUT, "image/jpeg"))])
    assert r.status_code == 400 and "photos" in r.json()["message"]
    r = upload(c, ("a.jpg", ASTRONAUT), colour="blue")
    assert r.status_code == 400 and "colour" in r.json()["message"]
    for fields, code in (({"styles": "glamour"}, "unknown_style"), ({"platforms": "tiktok"}, "unknown_platform"),
                         ({"format": "gif"}, "invalid"), ({"size": "9999"}, "invalid"), ({"size": "big"}, "invalid"),
                         ({"size": ""}, "invalid"),  # (the spec says integer: schemathesis found "" accepted)
                         ({"render": "maybe"}, "bad_field"),
                         # (the spec's fields are single values: schemathesis found repeated ones accepted)
                         ({"render": ["true", "false"]}, "bad_field"), ({"platforms": ["linkedin", "website"]},
                                                                        "bad_field")):
        r = upload(c, ("a.jpg", ASTRONAUT), **fields)
        assert r.status_code in (400, 422) and r.json()["error"] == code, (fields, r.text)
    # A style is a built-in name, never a path the server would open.
    r = upload(c, ("a.jpg", ASTRONAUT), styles=str(REPO / "src/headshot/styles/corporate.toml"))
    assert r.status_code == 422
    r = c.post("/api/jobs/nosuchjob123/render", json={"styles": ["corporate"]})
    assert r.status_code == 404
    r = c.post("/api/jobs/nosuchjob123/render", json={"styles": ["../../etc/passwd"]})
    assert r.status_code == 422 and r.json()["error"] == "invalid"
    assert not files_under(settings.jobs_dir)


def test_too_many_photos_and_too_large_requests(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "d", max_photos=2, max_request_bytes=len(ASTRONAUT) * 3 + 4096)
    c = client(s)
    r = upload(c, ("a.jpg", ASTRONAUT), ("b.jpg", ASTRONAUT), ("c.jpg", ASTRONAUT))
    assert r.status_code == 400 and r.json()["error"] == "too_many_photos"
    r = upload(c, ("a.jpg", ASTRONAUT + b"\0" * len(ASTRONAUT) * 3))
    assert r.status_code == 413 and "MiB" in r.json()["message"]

    # Counted while streaming, whatever Content-Length claims (a chunked body has none).
    def chunks():
        yield (b"--b\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"a.jpg\"\r\n\r\n" + ASTRONAUT)
        for _ in range(8):
            yield ASTRONAUT
        yield b"\r\n--b--\r\n"

    r = c.post("/api/jobs", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413
    assert not files_under(s.tmp_dir) and not files_under(s.jobs_dir)


def test_a_broken_photo_fails_its_job_with_a_reason(settings: Settings) -> None:
    c = client(settings)
    job_id = upload(c, ("broken.jpg", ASTRONAUT[:2000])).json()["id"]
    drain(settings)
    job = c.get(f"/api/jobs/{job_id}").json()
    assert job["state"] == "failed"
    assert job["photos"][0]["state"] == "failed"
    assert "broken.jpg" in job["photos"][0]["error"] and str(settings.data_dir) not in job["photos"][0]["error"]
    assert job["outputs"] == []


def test_a_photo_without_a_face_is_reported_the_others_rendered(settings: Settings) -> None:
    c = client(settings)
    buf = io.BytesIO()
    Image.fromarray(np.full((300, 400, 3), 128, np.uint8)).save(buf, format="PNG")
    job_id = upload(c, ("wall.png", buf.getvalue()), ("me.jpg", ASTRONAUT), styles="corporate").json()["id"]
    drain(settings)
    job = c.get(f"/api/jobs/{job_id}").json()
    assert job["state"] == "done"
    assert job["photos"][0]["state"] == "failed" and "face" in job["photos"][0]["error"]
    assert [o["name"] for o in job["outputs"]] == ["me_corporate_linkedin.jpg"]


def test_overload_is_answered_with_retry_after(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "d", max_queued=2)
    c = client(s)
    assert upload(c, ("a.jpg", ASTRONAUT)).status_code == 202
    assert upload(c, ("a.jpg", ASTRONAUT)).status_code == 202
    r = upload(c, ("a.jpg", ASTRONAUT))
    assert r.status_code == 503 and int(r.headers["retry-after"]) > 0 and r.json()["error"] == "queue_full"
    c.app.state.uploads = s.max_uploads  # as many uploads streaming as allowed
    r = upload(c, ("a.jpg", ASTRONAUT))
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    c.app.state.uploads = 0
    assert len(list(s.jobs_dir.iterdir())) == 2


def test_a_second_render_while_one_is_waiting_is_refused(settings: Settings) -> None:
    c = client(settings)
    job_id = upload(c, ("a.jpg", ASTRONAUT)).json()["id"]
    r = c.post(f"/api/jobs/{job_id}/render", json={"styles": ["navy"]})
    assert r.status_code == 409 and r.json()["error"] == "busy"


# -- guards -------------------------------------------------------------------------------------------

def test_cross_site_requests_and_foreign_hosts_are_refused(settings: Settings) -> None:
    c = client(settings)
    r = c.post("/api/jobs", files=[("photos", ("a.jpg", ASTRONAUT, "image/jpeg"))],
               headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and r.json()["error"] == "cross_site"
    assert c.get("/api/config", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert c.get("/api/config", headers={"Origin": "http://127.0.0.1"}).status_code == 200
    # DNS rebinding: a loopback server answers loopback names only.
    assert c.get("/api/config", headers={"Host": "evil.example"}).status_code == 400
    # No CORS, for any origin, on any answer (a preflight included).
    for r in (c.get("/api/config", headers={"Origin": "http://127.0.0.1"}),
              c.options("/api/jobs", headers={"Origin": "https://evil.example",
                                              "Access-Control-Request-Method": "POST"})):
        assert not any(k.lower().startswith("access-control-allow") for k in r.headers)
    page = c.get("/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert c.get("/static/app.js").status_code == 200


def test_the_api_key_is_required_when_set(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "d", api_key=KEY)
    c = client(s)
    assert c.get("/api/config").json()["auth_required"] is True
    assert c.get("/api/health").status_code == 200
    r = c.get("/api/styles")
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    assert c.get("/api/styles", headers={"X-API-Key": "x" * 24}).status_code == 401
    assert c.get("/api/styles", headers={"X-API-Key": KEY}).status_code == 200
    assert c.get("/api/styles", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    assert upload(c, ("a.jpg", ASTRONAUT)).status_code == 401
    assert not files_under(s.jobs_dir)


def test_binding_off_localhost_needs_a_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ServeError, match="API key"):
        Settings(data_dir=tmp_path, host="0.0.0.0")
    with pytest.raises(ServeError, match="16 characters"):
        Settings(data_dir=tmp_path, host="0.0.0.0", api_key="short")
    Settings(data_dir=tmp_path, host="0.0.0.0", api_key=KEY)
    Settings(data_dir=tmp_path, host="::1")
    os.environ.pop("HEADSHOT_API_KEY", None)
    assert cli_main(["serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path)]) == 2
    assert "API key" in capsys.readouterr().err


def test_presets_are_listed_with_thumbnails_once_rendered(tmp_path: Path) -> None:
    from headshot.web.thumbs import render_thumbnails

    s = Settings(data_dir=tmp_path / "d")
    c = client(s)
    styles = c.get("/api/styles").json()
    assert {x["name"] for x in styles} >= {"corporate", "charcoal"} and all(x["thumbnail"] is None for x in styles)
    assert c.get("/api/styles/corporate/thumbnail").status_code == 404
    render_thumbnails(s.cache_dir)
    styles = c.get("/api/styles").json()
    assert all(x["thumbnail"] for x in styles)
    r = c.get(styles[0]["thumbnail"])
    assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size == (240, 240)
    platforms = {p["name"]: p for p in c.get("/api/platforms").json()}
    assert platforms["linkedin"]["width"] > 0 and "passport" in platforms


# -- leases and retention -----------------------------------------------------------------------------

def test_a_lease_that_runs_out_is_claimed_again_and_the_first_worker_is_locked_out(settings: Settings) -> None:
    c = client(settings)
    job_id = upload(c, ("a.jpg", ASTRONAUT)).json()["id"]
    store = Store(settings.db_path)
    clock = settings.clock
    a = store.claim("host:1:a", now=clock(), lease_s=30, max_attempts=3)
    assert a is not None and a.attempts == 1
    assert store.claim("host:2:b", now=clock() + 10, lease_s=30, max_attempts=3) is None  # still held
    assert store.renew(a, now=clock() + 20, lease_s=30)  # held until +50
    assert store.claim("host:2:b", now=clock() + 40, lease_s=30, max_attempts=3) is None
    b = store.claim("host:2:b", now=clock() + 51, lease_s=30, max_attempts=3)
    assert b is not None and b.id == a.id and b.attempts == 2
    assert not store.renew(a, now=clock() + 52, lease_s=30)
    tmp = settings.job_dir(job_id) / ".late.part"
    tmp.write_bytes(b"x")
    assert not store.commit_file(a, tmp, settings.job_dir(job_id) / "late.jpg") and not tmp.exists()
    assert not store.finish(a, now=clock() + 53, state="done")
    assert store.finish(b, now=clock() + 54, state="done")


def test_a_task_that_keeps_killing_its_worker_is_failed(settings: Settings) -> None:
    c = client(settings)
    job_id = upload(c, ("a.jpg", ASTRONAUT)).json()["id"]
    store = Store(settings.db_path)
    t = settings.clock()
    for i in range(3):
        assert store.claim(f"h:{i}:x", now=t + 100 * i, lease_s=10, max_attempts=3) is not None
    assert store.claim("h:9:x", now=t + 1000, lease_s=10, max_attempts=3) is None
    job = c.get(f"/api/jobs/{job_id}").json()
    assert job["state"] == "failed" and "3 times" in job["error"]


def test_a_stopping_worker_gives_its_task_back_uncounted(settings: Settings) -> None:
    c = client(settings)
    job_id = upload(c, ("a.jpg", ASTRONAUT), render="false").json()["id"]
    w = Worker(settings)
    w.stopping.set()  # (as SIGTERM does): the task is released at its first checkpoint
    assert w.work_one()
    con = sqlite3.connect(settings.db_path)
    state, attempts = con.execute("SELECT state, attempts FROM tasks WHERE job_id = ?", (job_id,)).fetchone()
    con.close()
    assert (state, attempts) == ("queued", 0)
    assert drain(settings) == 1
    assert c.get(f"/api/jobs/{job_id}").json()["state"] == "checked"


def test_tasks_of_dead_workers_are_requeued_at_start(settings: Settings) -> None:
    import socket
    import subprocess
    import sys

    c = client(settings)
    upload(c, ("a.jpg", ASTRONAUT))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    owner = f"{socket.gethostname()}:{int(dead.stdout)}:abcd"
    store = Store(settings.db_path)
    assert store.claim(owner, now=settings.clock(), lease_s=3600, max_attempts=3) is not None
    assert store.release_dead(settings.clock()) == 1
    assert store.claim("other", now=settings.clock(), lease_s=60, max_attempts=3) is not None


def test_after_the_retention_period_one_sweep_leaves_nothing_of_the_job(tmp_path: Path) -> None:
    clock = FakeClock()
    s = Settings(data_dir=tmp_path / "d", clock=clock, retention_s=3600)
    c = client(s)
    old = upload(c, ("old.jpg", ASTRONAUT), styles="corporate").json()["id"]
    drain(s)
    assert c.get(f"/api/jobs/{old}").json()["state"] == "done"
    clock.t += 1800
    young = upload(c, ("young.jpg", ASTRONAUT), render="false").json()["id"]
    assert rows_of(s, old) > 0 and len(files_under(s.job_dir(old))) >= 4
    clock.t += 1799
    assert sweep(s)["expired"] == 0 and rows_of(s, old) > 0
    clock.t += 2
    assert sweep(s)["expired"] == 1
    assert rows_of(s, old) == 0
    assert not s.job_dir(old).exists()
    assert not [p for p in files_under(s.data_dir) if old in str(p)]
    assert c.get(f"/api/jobs/{old}").status_code == 404
    assert rows_of(s, young) > 0 and s.job_dir(young).exists()  # not due yet
    clock.t += 1800
    sweep(s)
    assert rows_of(s, young) == 0 and not s.job_dir(young).exists()
    # Only the database and the style cache remain in the data dir.
    left = {p.relative_to(s.data_dir).parts[0] for p in files_under(s.data_dir)}
    assert left <= {"headshot.db", "headshot.db-wal", "headshot.db-shm"}


def test_half_written_files_of_dead_workers_are_swept(tmp_path: Path) -> None:
    """A worker killed while writing leaves `.NAME.PID.part` in a job folder: the supervisor removes
    the dead worker's own ones (others' writes in progress are kept), start-up removes every one;
    finished files are never touched."""
    from headshot.web import sweep_parts

    settings = Settings(data_dir=tmp_path / "data")
    settings.prepare()
    job = settings.jobs_dir / "job1"
    job.mkdir()
    names = [".a_linkedin.jpg.123.part", ".b_linkedin.jpg.456.part", "a_linkedin.jpg", "report-0.json"]
    for n in names:
        (job / n).write_bytes(b"x")
    assert sweep_parts(settings, 123) == 1
    assert sorted(p.name for p in job.iterdir()) == sorted(names[1:])
    assert sweep_parts(settings) == 1
    assert sorted(p.name for p in job.iterdir()) == ["a_linkedin.jpg", "report-0.json"]
