"""Team runs (``headshot team``): one consistent, resumable, exactly-once headshot set for a team.

Sections (in this order):

1. helpers and fixtures (photos synthesised from scikit-image's public-domain astronaut);
2. roster: who is in the team (a folder or a CSV);
3. ledger: the SQLite source of truth (lock, settings, sync);
4. end to end on an astronaut-derived team (outputs, reports, contact sheet, consistency);
5. resume and exactly-once (identical re-run, a changed photo, kill -9 of the CLI);
6. worker deaths and bugs in the local pool;
7. Ray (skipped without Ray) and determinism;
8. the CLI's ``team`` command;
9. the team look: ``render(..., team=True)`` and ``colour.team_correction``;
10. the ``[team]`` table of a style file;
11. dev photos (``shared``: skipped when ../shared/faces is absent).

Each local run spawns worker processes (a few seconds), so runs are shared through module-scoped
fixtures; a test that runs again on a shared folder leaves it as it was (same people, same bytes).
Fault injection is in tests/team_faults.py (task functions the spawned workers import by name).
Tests named in the final report as exposing library bugs fail on purpose until the bug is fixed.
"""

from __future__ import annotations

import csv
import functools
import html
import io
import json
import math
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import headshot
from headshot.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from headshot.colour import LUMA, ColourEstimate, team_correction
from headshot.errors import HeadshotError, LedgerError, PresetError, RosterError, TeamError
from headshot.imageio import encode, from_srgb8, load
from headshot.pipeline import render
from headshot.presets import TeamLook, Tone, load_style
from headshot.team import TeamProgress, TeamResult, load_roster, run_team
from headshot.team.consistency import delta_e2000
from headshot.team.ledger import LEDGER_NAME, LOCK_NAME, Ledger, fingerprint
from headshot.team.report import CSV_COLUMNS
from headshot.team.task import THUMB_SIDE, measure
from tests import team_faults
from tests.conftest import ASTRONAUT, ROOT, dev_photos, needs_shared

# =====================================================================================================
# 1. Helpers and fixtures
# =====================================================================================================

SIZE = 256  # longest side of every headshot in the runs (small: the runs stay quick)
STYLE = "corporate"
PLATFORMS = ("linkedin", "website")
CAST_GAINS = (1.25, 1.0, 0.75)  # a warm (tungsten-like) cast, on linear pixels
EXPOSURE_SHIFT = 0.6  # about -0.74 EV, within the team look's 1.5 EV limit
LEDGER_FILES = {LEDGER_NAME, f"{LEDGER_NAME}-wal", f"{LEDGER_NAME}-shm", f"{LEDGER_NAME}-journal", LOCK_NAME}
TEMP_NAME = re.compile(r"^\..+\.\d+\.[0-9a-f]{8}\.tmp$")  # imageio.write_atomic's temporary files


@functools.lru_cache(maxsize=1)
def _astronaut() -> np.ndarray:
    """scikit-image's astronaut (public domain) as linear float32 RGB; treat as read-only."""
    from skimage import data

    img = from_srgb8(data.astronaut())
    img.flags.writeable = False
    return img


def mirrored() -> np.ndarray:
    return np.ascontiguousarray(_astronaut()[:, ::-1])


def cast(gains: tuple[float, float, float] = CAST_GAINS) -> np.ndarray:
    return np.clip(_astronaut() * np.asarray(gains, dtype=np.float32), 0.0, 1.0)


def darker(k: float = EXPOSURE_SHIFT) -> np.ndarray:
    return np.clip(_astronaut() * np.float32(k), 0.0, 1.0)


def cropped() -> np.ndarray:
    return np.ascontiguousarray(_astronaut()[:448, 32:480])


def blurred(img: np.ndarray, sigma: float = 6.0) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), sigma)


def no_face() -> np.ndarray:
    """A flat grey picture: a valid image in which no face can be found."""
    return np.full((240, 320, 3), 0.2, dtype=np.float32)


def write_photo(path: Path, image: np.ndarray) -> Path:
    """Encode a linear image by the file's extension (.jpg, .png, .webp) and write it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = path.suffix.lstrip(".").lower()
    path.write_bytes(encode(image, format=fmt, quality=95))
    return path


def tiny_photo(path: Path) -> Path:
    """A small valid image (the roster only sniffs a file's first bytes, never decodes it)."""
    return write_photo(path, np.full((8, 8, 3), 0.5, dtype=np.float32))


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` but the ledger and its lock, by relative path."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in LEDGER_FILES}


def mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in LEDGER_FILES}


def images(folder: Path) -> dict[str, bytes]:
    """The headshots and thumbnails of a team's output folder (what must be byte-identical), without
    their C2PA manifest stores: C2PA requires a fresh random salt in every signed assertion, so only
    the manifest differs between two runs (tests/test_provenance.py checks the manifests themselves)."""
    from headshot.provenance import strip

    return {k: strip(v) for k, v in files_under(folder).items() if k.endswith((".jpg", ".png", ".webp"))}


def temp_files(folder: Path) -> list[str]:
    """Temporary files left anywhere under `folder` (hidden ones included)."""
    return [os.path.join(root, f) for root, _, names in os.walk(folder) for f in names
            if f.endswith(".tmp")]


def team_json(out: Path) -> dict:
    return json.loads((out / "team.json").read_text(encoding="utf-8"))


def people_by_name(out: Path) -> dict[str, dict]:
    return {p["person"]: p for p in team_json(out)["people"]}


def ledger_rows(out: Path, *, readonly: bool = True) -> dict[str, tuple[str, int]]:
    """(state, attempts) by person, read from the ledger (read-only by default: it never takes the
    run's lock; `readonly=False` once its writer is dead, so SQLite may recover its WAL index)."""
    uri = (out / LEDGER_NAME).as_uri() + ("?mode=ro" if readonly else "")
    con = sqlite3.connect(uri, uri=True, timeout=10)
    try:
        return {p: (s, a) for p, s, a in con.execute("SELECT person, state, attempts FROM people")}
    finally:
        con.close()


def expected_outputs(slug: str, platforms: tuple[str, ...] = PLATFORMS, fmt: str = "jpg") -> set[str]:
    return {f"{slug}_{STYLE}_{pf}.{fmt}" for pf in platforms} | {"report.json"}


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def lab_of(path: Path) -> np.ndarray:
    from skimage.color import rgb2lab

    with Image.open(path) as im:
        return rgb2lab(np.asarray(im.convert("RGB"), dtype=np.float64) / 255.0)


@dataclass
class Run:
    """A finished team run: its result, folders, progress events and wall time; with a fault task
    function, the attempts each person's task really ran with (tests/team_faults.py's log)."""

    result: TeamResult
    photos: Path
    out: Path
    events: list[TeamProgress]
    seconds: float
    executions: dict[str, list[int]] | None = None


def do_run(photos: Path, out: Path, *, platforms: tuple[str, ...] = PLATFORMS, task_log: Path | None = None,
           **kw: object) -> Run:
    """run_team with this file's settings (style, size, 2 workers); `task_log` turns on the fault
    functions' execution log (an environment variable the workers inherit)."""
    events: list[TeamProgress] = []
    kw.setdefault("workers", 2)
    t = time.perf_counter()
    with pytest.MonkeyPatch.context() as mp:
        if task_log is not None:
            mp.setenv(team_faults.LOG_ENV, str(task_log))
        result = run_team(photos, style=STYLE, platforms=list(platforms), out_dir=out, size=SIZE,
                          on_progress=events.append, **kw)  # type: ignore[arg-type]
    return Run(result, photos, out, events, time.perf_counter() - t,
               team_faults.executions(task_log) if task_log is not None else None)


# The end-to-end team: the original, a mirrored copy, a colour-cast copy (a name that needs
# escaping and a slug), an under-exposed copy, a person with three photos (a blurred one, a sharp
# one, one without a face), a person whose only photo has no face, a text file and a hidden file.
E2E_NAMES = ("Alice", "Bob", "Zoë O'Brien", "Dave", "Eve", "Frank")
E2E_DONE = ("Alice", "Bob", "Dave", "Eve", "Zoë O'Brien")
CAST_NAME = "Zoë O'Brien"


def make_e2e_photos(folder: Path) -> Path:
    write_photo(folder / "Alice.jpg", _astronaut())
    write_photo(folder / "Bob.png", mirrored())
    write_photo(folder / f"{CAST_NAME}.jpg", cast())
    write_photo(folder / "Dave.jpg", darker())
    write_photo(folder / "Eve" / "a_blurry.jpg", blurred(cropped()))
    write_photo(folder / "Eve" / "b_sharp.png", cropped())
    write_photo(folder / "Eve" / "c_noface.png", no_face())
    write_photo(folder / "Frank.png", no_face())
    (folder / "notes.txt").write_text("Frank's photo is the grey one; Eve sent three.\n")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(64))
    return folder


@pytest.fixture(scope="module")
def e2e(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One run of the end-to-end team (2 local workers, two platforms)."""
    base = tmp_path_factory.mktemp("team-e2e")
    return do_run(make_e2e_photos(base / "photos"), base / "out")


# A small team for determinism and Ray: the original and a colour-cast copy.
def make_small_photos(folder: Path) -> Path:
    write_photo(folder / "Alice.jpg", _astronaut())
    write_photo(folder / "Bob.jpg", cast())
    return folder


@pytest.fixture(scope="module")
def small_photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_small_photos(tmp_path_factory.mktemp("team-small") / "photos")


@pytest.fixture(scope="module")
def small_local(small_photos: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return do_run(small_photos, tmp_path_factory.mktemp("team-small-local") / "out", platforms=("linkedin",))


# =====================================================================================================
# 2. Roster
# =====================================================================================================


def test_roster_folder_stems_and_subfolders(tmp_path: Path) -> None:
    """A file is a person named by its stem (two files with one stem: one person with two photos);
    a sub-folder is one person with every photo inside; people come sorted by name."""
    tiny_photo(tmp_path / "anna.jpg")
    tiny_photo(tmp_path / "anna.png")
    tiny_photo(tmp_path / "Ben" / "one.jpg")
    tiny_photo(tmp_path / "Ben" / "two.webp")
    tiny_photo(tmp_path / "carl.png")
    roster = load_roster(tmp_path)
    assert [p.name for p in roster.people] == ["anna", "Ben", "carl"]
    by = {p.name: p for p in roster.people}
    assert [f.name for f in by["anna"].photos] == ["anna.jpg", "anna.png"]
    assert [f.name for f in by["Ben"].photos] == ["one.jpg", "two.webp"]
    assert [f.name for f in by["carl"].photos] == ["carl.png"]
    assert all(f.is_file() for p in roster.people for f in p.photos)
    assert roster.skipped == ()


def test_roster_skips_non_photos_with_reasons_and_ignores_hidden(tmp_path: Path) -> None:
    """Files are judged by content: a text file (even one named .jpg) is skipped with a reason that
    names it; hidden files and folders are ignored altogether; a folder without photos is skipped."""
    tiny_photo(tmp_path / "anna.jpg")
    (tmp_path / "notes.txt").write_text("the team's photos\n")
    (tmp_path / "fake.jpg").write_text("not really a JPEG\n")
    (tmp_path / ".DS_Store").write_bytes(bytes(64))
    tiny_photo(tmp_path / ".hidden.jpg")
    tiny_photo(tmp_path / ".cache" / "x.jpg")
    (tmp_path / "Ben").mkdir()
    tiny_photo(tmp_path / "Ben" / "ben.png")
    (tmp_path / "Ben" / "readme.md").write_text("# Ben\n")
    (tmp_path / "empty").mkdir()
    roster = load_roster(tmp_path)
    assert [p.name for p in roster.people] == ["anna", "Ben"]
    assert [f.name for f in roster.people[1].photos] == ["ben.png"]
    reasons = {Path(f).name: why for f, why in roster.skipped}
    assert set(reasons) == {"notes.txt", "fake.jpg", "readme.md", "empty"}
    for name in ("notes.txt", "fake.jpg", "readme.md"):
        assert name in reasons[name] and "JPEG" in reasons[name], reasons[name]  # says what is accepted
    assert "empty" in reasons["empty"] and "without photos" in reasons["empty"]
    assert not any(".DS_Store" in f or "hidden" in f or ".cache" in f for f, _ in roster.skipped)


def test_roster_slugs_are_safe_and_unique(tmp_path: Path) -> None:
    """Names that make the same folder name (case or punctuation aside) get unique slugs; accents
    and punctuation become a safe ASCII name; a name with nothing usable still gets one."""
    lees = ("Anna Lee", "anna-lee", "ANNA  LEE!")
    for n in (*lees, "Zoë O'Brien", "日本"):
        tiny_photo(tmp_path / f"{n}.jpg")
    roster = load_roster(tmp_path)
    slugs = {p.name: p.slug for p in roster.people}
    assert len(slugs) == 5
    assert len({s.casefold() for s in slugs.values()}) == 5, slugs
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", s) for s in slugs.values()), slugs
    assert sorted(slugs[n].casefold() for n in lees) == ["anna-lee", "anna-lee-2", "anna-lee-3"], slugs
    assert slugs["Zoë O'Brien"] == "Zoe-O-Brien"
    assert slugs["日本"] == "person"


@pytest.mark.parametrize("header", [True, False], ids=["header", "no-header"])
def test_roster_csv_relative_to_its_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, header: bool) -> None:
    """A CSV of person,photo (header optional): relative paths are read from the CSV's folder (not
    the working directory), absolute ones as they are; a person's rows are gathered."""
    team = tmp_path / "team"
    tiny_photo(team / "photos" / "a1.jpg")
    tiny_photo(team / "photos" / "a2.png")
    other = tiny_photo(tmp_path / "elsewhere" / "b.jpg")
    rows = ([["person", "photo"]] if header else []) + [["Anna", "photos/a1.jpg"], ["Ben", str(other)],
                                                        ["Anna", "photos/a2.png"]]
    with (team / "list.csv").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    roster = load_roster(team / "list.csv")
    assert [p.name for p in roster.people] == ["Anna", "Ben"]
    assert [f.name for f in roster.people[0].photos] == ["a1.jpg", "a2.png"]
    assert roster.people[0].photos[0].resolve() == (team / "photos" / "a1.jpg").resolve()
    assert roster.people[1].photos == (other,)


def test_roster_csv_missing_photo_names_the_row(tmp_path: Path) -> None:
    """A CSV row whose photo does not exist is a RosterError naming the person, the path and the
    row as a person sees it in the file (its line; a header and blank lines count), and saying that
    relative paths are read from the CSV's folder."""
    tiny_photo(tmp_path / "a.jpg")
    f = tmp_path / "team.csv"
    f.write_text("person,photo\nAnna,a.jpg\n\nBen,missing/ben.jpg\n", encoding="utf-8")
    with pytest.raises(RosterError) as e:
        load_roster(f)
    msg = str(e.value)
    assert "Ben" in msg and str(tmp_path / "missing" / "ben.jpg") in msg and "CSV's folder" in msg, msg
    # Ben is on line 4 of the file (header, Anna, a blank line, Ben): "row 2" would send the reader
    # to Anna's line in any editor or spreadsheet.
    assert re.search(r"\b(row|line) 4\b", msg), msg


@pytest.mark.parametrize("case", ["empty-folder", "only-notes", "missing", "not-a-csv", "empty-csv", "bad-row",
                                  "not-utf8"])
def test_roster_errors_are_actionable(tmp_path: Path, case: str) -> None:
    """Nothing usable is a RosterError (a TeamError and a HeadshotError) that names the path and
    says what to give instead."""
    src = tmp_path / "team"
    if case == "empty-folder":
        src.mkdir()
        words = ["holds no photos", "one photo per person"]
    elif case == "only-notes":
        src.mkdir()
        (src / "notes.txt").write_text("hello\n")
        words = ["holds no photos", "CSV"]
    elif case == "missing":
        words = ["does not exist", "folder of photos"]
    elif case == "not-a-csv":
        src = tiny_photo(tmp_path / "team.jpg")
        words = ["is a file", "CSV"]
    elif case == "empty-csv":
        src = tmp_path / "team.csv"
        src.write_text("person,photo\n")
        words = ["names no photos", "person,photo"]
    elif case == "bad-row":
        src = tmp_path / "team.csv"
        src.write_text("Anna\n")
        words = ["must be person,photo", "Anna"]
    else:
        src = tmp_path / "team.csv"
        src.write_bytes("person,photo\nAnna,a.jpg\n".encode("utf-16"))
        words = ["cannot read", "UTF-8"]
    with pytest.raises(RosterError) as e:
        load_roster(src)
    assert isinstance(e.value, TeamError) and isinstance(e.value, HeadshotError)
    msg = str(e.value)
    assert str(src) in msg, msg
    for w in words:
        assert w in msg, (w, msg)


# =====================================================================================================
# 3. Ledger
# =====================================================================================================

CONFIG = {"style": "corporate", "platforms": ["linkedin"], "size": 256, "format": "jpg", "quality": 92}


def test_ledger_refuses_a_second_run_on_the_folder(tmp_path: Path) -> None:
    """While one Ledger holds a folder, a second is refused with a LedgerError saying why and what
    to do; once the first is closed the folder can be opened again (the lock is not leaked)."""
    first = Ledger(tmp_path, CONFIG)
    try:
        with pytest.raises(LedgerError) as e:
            Ledger(tmp_path, CONFIG)
        assert "another 'headshot team' run" in str(e.value) and "--out" in str(e.value)
        assert str(tmp_path) in str(e.value)
    finally:
        first.close()
    with Ledger(tmp_path, CONFIG) as again:
        assert again.rows() == []


def test_ledger_refuses_other_settings_naming_them(tmp_path: Path) -> None:
    """A folder made with other settings is refused, naming exactly the settings that differ; the
    refusal releases the lock, so the original settings still open it."""
    with Ledger(tmp_path, CONFIG):
        pass
    with pytest.raises(LedgerError) as e:
        Ledger(tmp_path, {**CONFIG, "size": 320, "quality": 80})
    msg = str(e.value)
    assert "size" in msg and "quality" in msg and "other settings" in msg, msg
    assert "format" not in msg and "platforms" not in msg, msg
    with Ledger(tmp_path, CONFIG) as led:
        assert led.rows() == []


def test_ledger_damaged_file_is_a_ledger_error(tmp_path: Path) -> None:
    """A ledger that is not an SQLite database is a LedgerError saying to move it away (the
    finished headshots stay), and the folder's lock is released."""
    (tmp_path / LEDGER_NAME).write_bytes(b"this is not a database" * 100)
    with pytest.raises(LedgerError) as e:
        Ledger(tmp_path, CONFIG)
    assert "damaged" in str(e.value) and "move it away" in str(e.value) and LEDGER_NAME in str(e.value)
    (tmp_path / LEDGER_NAME).unlink()
    with Ledger(tmp_path, CONFIG) as led:
        assert led.rows() == []


def test_ledger_creates_a_missing_folder(tmp_path: Path) -> None:
    """Ledger's documented contract: the output folder is created if missing."""
    folder = tmp_path / "new" / "out"
    with Ledger(folder, CONFIG):
        pass
    assert (folder / LEDGER_NAME).is_file()


def _entry(name: str, photo: Path) -> tuple[str, str, tuple[str, ...], str]:
    return (name, name.lower(), (str(photo),), fingerprint((photo,)))


def test_ledger_sync_adds_new_people_as_pending(tmp_path: Path) -> None:
    """sync() adds everyone new as pending with no attempt; a second sync changes nothing."""
    a, b = tiny_photo(tmp_path / "p" / "a.jpg"), tiny_photo(tmp_path / "p" / "b.jpg")
    (tmp_path / "out").mkdir()
    with Ledger(tmp_path / "out", CONFIG) as led:
        counts = led.sync([_entry("Anna", a), _entry("Ben", b)])
        assert counts == {"new": 2, "changed": 0, "resumed": 0, "retried": 0}
        assert [(r.person, r.state, r.attempts, r.outcome) for r in led.rows()] == [
            ("Anna", "pending", 0, None), ("Ben", "pending", 0, None)]
        assert led.sync([_entry("Anna", a), _entry("Ben", b)]) == {"new": 0, "changed": 0, "resumed": 0, "retried": 0}


def test_ledger_sync_keeps_folders_and_gives_newcomers_free_ones(tmp_path: Path) -> None:
    """A person keeps the folder the ledger gave them; a newcomer whose roster slug is already a
    folder of the ledger (case aside) gets the next free one, so no two people share a folder."""
    a = tiny_photo(tmp_path / "p" / "a.jpg")
    (tmp_path / "out").mkdir()
    with Ledger(tmp_path / "out", CONFIG) as led:
        led.sync([("Anna-Lee", "Anna-Lee", (str(a),), fingerprint((a,)))])
        # The next roster sorts a newcomer first and gives it the folder name (see the roster test).
        counts = led.sync([("Anna Lee", "Anna-Lee", (str(a),), fingerprint((a,))),
                           ("Anna-Lee", "Anna-Lee-2", (str(a),), fingerprint((a,))),
                           ("ANNA LEE", "anna-lee", (str(a),), fingerprint((a,)))])
        assert counts["new"] == 2
        slugs = {r.person: r.slug for r in led.rows()}
    assert slugs["Anna-Lee"] == "Anna-Lee"
    assert len({s.casefold() for s in slugs.values()}) == 3, slugs


def test_ledger_sync_changed_photo_goes_back_to_pending(tmp_path: Path) -> None:
    """A done person whose photo was rewritten (new size) or only touched (new mtime) is pending
    again with its attempts reset; an unchanged done person stays done."""
    a, b = tiny_photo(tmp_path / "p" / "a.jpg"), tiny_photo(tmp_path / "p" / "b.jpg")
    (tmp_path / "out").mkdir()
    with Ledger(tmp_path / "out", CONFIG) as led:
        led.sync([_entry("Anna", a), _entry("Ben", b)])
        for n in ("Anna", "Ben"):
            led.start(n)
            led.finish(n, "done", {"ok": True})
        write_photo(a, np.full((16, 16, 3), 0.3, dtype=np.float32))  # rewritten: another size
        counts = led.sync([_entry("Anna", a), _entry("Ben", b)])
        assert counts["changed"] == 1
        rows = {r.person: r for r in led.rows()}
        assert (rows["Anna"].state, rows["Anna"].attempts, rows["Anna"].outcome) == ("pending", 0, None)
        assert rows["Ben"].state == "done"
        led.start("Anna")
        led.finish("Anna", "done", {"ok": True})
        st = b.stat()
        os.utime(b, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))  # touched: same bytes
        assert led.sync([_entry("Anna", a), _entry("Ben", b)])["changed"] == 1
        rows = {r.person: r for r in led.rows()}
        assert rows["Ben"].state == "pending" and rows["Anna"].state == "done"


def test_ledger_sync_running_rows_of_a_killed_run_resume(tmp_path: Path) -> None:
    """A person left 'running' by a run that died (its ledger closed without a finish) is pending
    again at the next run's sync."""
    a = tiny_photo(tmp_path / "p" / "a.jpg")
    (tmp_path / "out").mkdir()
    led = Ledger(tmp_path / "out", CONFIG)
    led.sync([_entry("Anna", a)])
    assert led.start("Anna") == 1
    assert led.rows()[0].state == "running"
    led.close()  # the run is gone
    with Ledger(tmp_path / "out", CONFIG) as led2:
        assert led2.sync([_entry("Anna", a)])["resumed"] == 1
        assert led2.rows()[0].state == "pending"


def test_ledger_sync_failed_stays_failed_unless_retried(tmp_path: Path) -> None:
    """A failed person stays failed at the next sync (their photo did not change); with
    retry_failed they are pending again with their attempts reset."""
    a = tiny_photo(tmp_path / "p" / "a.jpg")
    (tmp_path / "out").mkdir()
    with Ledger(tmp_path / "out", CONFIG) as led:
        led.sync([_entry("Anna", a)])
        led.start("Anna")
        led.finish("Anna", "failed", {"ok": False, "error": "no face found"})
        assert led.sync([_entry("Anna", a)])["retried"] == 0
        assert led.rows()[0].state == "failed" and led.rows()[0].outcome == {"ok": False, "error": "no face found"}
        assert led.sync([_entry("Anna", a)], retry_failed=True)["retried"] == 1
        assert (led.rows()[0].state, led.rows()[0].attempts) == ("pending", 0)


# =====================================================================================================
# 4. End to end (astronaut-derived team; always runs)
# =====================================================================================================


def test_e2e_states_and_skipped_files(e2e: Run) -> None:
    """Everyone with a face is done, the person without one failed, nobody is left pending; the
    text file is skipped with a reason naming it; the hidden file is ignored."""
    r = e2e.result
    assert r.people == len(E2E_NAMES)
    assert sorted(r.done) == sorted(E2E_DONE)
    assert r.failed == ("Frank",)
    assert r.pending == ()
    assert r.rendered == len(E2E_NAMES)
    assert [Path(f).name for f, _ in r.skipped] == ["notes.txt"]
    assert "notes.txt" in r.skipped[0][1]
    assert "no face" in " ".join(r.retake["Frank"]).lower()


def test_e2e_exactly_one_output_per_person_per_platform(e2e: Run) -> None:
    """OUT/<slug>/ holds exactly one headshot per platform and report.json, at the requested size;
    the failed person has no folder; nothing else sits in OUT but the reports, thumbs and ledger."""
    rows = people_by_name(e2e.out)
    for name in E2E_DONE:
        slug = rows[name]["folder"]
        folder = e2e.out / slug
        assert {p.name for p in folder.iterdir()} == expected_outputs(slug), name
        for pf in PLATFORMS:
            with Image.open(folder / f"{slug}_{STYLE}_{pf}.jpg") as im:
                assert im.format == "JPEG" and max(im.size) == SIZE, (name, pf, im.size)
        assert sorted(rows[name]["files"]) == sorted(f"{slug}/{f}" for f in expected_outputs(slug))
    assert rows[CAST_NAME]["folder"] == "Zoe-O-Brien"
    assert not (e2e.out / rows["Frank"]["folder"]).exists()
    top = {p.name for p in e2e.out.iterdir()}
    assert top - LEDGER_FILES == {rows[n]["folder"] for n in E2E_DONE} | {"thumbs", "index.html", "team.csv",
                                                                          "team.json"}
    assert temp_files(e2e.out) == []


def test_e2e_reports_agree(e2e: Run) -> None:
    """team.csv has one row per person, team.json's counts and states agree with the result and
    the ledger, and the retake list is the same everywhere."""
    doc = team_json(e2e.out)
    assert doc["counts"] == {"done": 5, "failed": 1, "pending": 0}
    assert doc["style"] == STYLE and doc["platforms"] == list(PLATFORMS)
    states = {p["person"]: p["status"] for p in doc["people"]}
    assert states == {n: ("failed" if n == "Frank" else "done") for n in E2E_NAMES}
    assert {p: s for p, (s, _) in ledger_rows(e2e.out).items()} == states
    with (e2e.out / "team.csv").open(newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    assert tuple(table[0]) == CSV_COLUMNS
    body = [dict(zip(CSV_COLUMNS, r)) for r in table[1:]]
    assert len(body) == len(E2E_NAMES)
    assert {r["person"]: r["status"] for r in body} == states
    assert {r["person"] for r in body if r["retake_needed"] == "yes"} == set(doc["retake"]) == set(e2e.result.retake)
    assert doc["retake"] == e2e.result.retake
    frank = next(r for r in body if r["person"] == "Frank")
    assert "no face" in frank["error"].lower() and frank["files"] == ""
    for r in body:
        if r["status"] == "done":
            assert r["eye_line"] and r["skin_lightness"] and r["backdrop_delta_e"], r
    assert [s["reason"] for s in doc["skipped"] if Path(s["file"]).name == "notes.txt"]


def test_e2e_contact_sheet_is_self_contained(e2e: Run) -> None:
    """index.html names every person (escaped), lists the failed person's reason and the skipped
    file, loads nothing from the network, and every link and image in it is a file of OUT."""
    page = (e2e.out / "index.html").read_text(encoding="utf-8")
    for name in E2E_NAMES:
        assert html.escape(name) in page, name
    assert "O'Brien" not in page  # the apostrophe is escaped wherever the name appears
    assert "http" not in page.lower()
    assert "@import" not in page and "url(" not in page
    refs = re.findall(r"""(?:src|href)\s*=\s*['"]?([^'"\s>]+)""", page)
    assert len(refs) >= 2 * len(E2E_DONE)  # a link and a thumbnail per person done
    for ref in refs:
        assert not ref.startswith(("/", "//")) and ":" not in ref, ref
        assert (e2e.out / html.unescape(ref)).is_file(), ref
    assert "notes.txt" in page
    assert html.escape(e2e.result.retake["Frank"][0]) in page


def test_e2e_best_photo_is_chosen_and_reported(e2e: Run) -> None:
    """Of Eve's three photos (a blurred one first by name, a sharp one, one without a face) the
    sharp one is used, and the choice and its reason are in team.json, report.json and the sheet."""
    eve = people_by_name(e2e.out)["Eve"]
    assert eve["photo_used"] == "b_sharp.png"
    assert "best of 2 usable photos" in eve["why_this_photo"] and "1 could not be used" in eve["why_this_photo"]
    cands = {c["photo"]: c for c in eve["candidates"]}
    assert set(cands) == {"a_blurry.jpg", "b_sharp.png", "c_noface.png"}
    assert "error" in cands["c_noface.png"] and "face" in cands["c_noface.png"]["error"]
    assert "blurry" in cands["a_blurry.jpg"]["findings"] and "blurry" not in cands["b_sharp.png"]["findings"]
    report = json.loads((e2e.out / eve["folder"] / "report.json").read_text(encoding="utf-8"))
    assert report["team"]["chosen"] == "b_sharp.png" and report["team"]["why"] == eve["why_this_photo"]
    assert report["input"]["name"] == "b_sharp.png"
    assert html.escape(eve["why_this_photo"]) in (e2e.out / "index.html").read_text(encoding="utf-8")


def test_e2e_consistency_figures(e2e: Run) -> None:
    """The team's figures are computed and met; the mirrored, colour-cast and under-exposed copies
    land on the original: eye line within 0.5% of the height, skin L* within 2, backdrop within
    ΔE 1, because the look corrected them (the darker copy got log2(1/0.6) EV more exposure and the
    cast copy's face has the original's colour)."""
    checks = e2e.result.stats["checks"]
    assert set(checks) == {"eye_line_std", "face_height_std", "skin_lightness_std", "backdrop_delta_e_max"}
    for key, c in checks.items():
        assert c["value"] is not None and c["met"] is True, (key, c)
    assert e2e.result.stats["people"] == len(E2E_DONE)
    assert team_json(e2e.out)["consistency"]["checks"] == checks
    rows = people_by_name(e2e.out)
    ref = rows["Alice"]["measures"]
    assert ref["face_found"]
    for name in ("Bob", CAST_NAME, "Dave"):
        m = rows[name]["measures"]
        assert m["face_found"], name
        assert abs(m["eye_line"] - ref["eye_line"]) <= 0.005, (name, m, ref)
        assert abs(m["skin_lightness"] - ref["skin_lightness"]) <= 2.0, (name, m, ref)
        assert float(delta_e2000(np.array(m["backdrop_lab"]), np.array(ref["backdrop_lab"]))) <= 1.0, (name, m, ref)
    ev = {n: rows[n]["exposure_ev"] for n in ("Alice", "Dave")}
    assert abs((ev["Dave"] - ev["Alice"]) - math.log2(1 / EXPOSURE_SHIFT)) < 0.15, ev
    # The cast was removed: the face of the cast copy's headshot has the original's colour
    # (uncorrected, a 1.25/0.75 cast is about ΔE 15 on skin).
    a = lab_of(e2e.out / rows["Alice"]["folder"] / f"{rows['Alice']['folder']}_{STYLE}_linkedin.jpg")
    z = lab_of(e2e.out / rows[CAST_NAME]["folder"] / f"{rows[CAST_NAME]['folder']}_{STYLE}_linkedin.jpg")
    h, w = a.shape[:2]
    box = (slice(int(0.25 * h), int(0.6 * h)), slice(int(0.35 * w), int(0.65 * w)))
    de = float(np.mean(delta_e2000(a[box], z[box])))
    assert de <= 3.5, de


def test_e2e_thumbnails(e2e: Run) -> None:
    """OUT/thumbs/<slug>.jpg exists for each person done (a JPEG of THUMB_SIDE px), none for the
    failed one, and team.json points at them."""
    rows = people_by_name(e2e.out)
    for name in E2E_DONE:
        slug = rows[name]["folder"]
        assert rows[name]["thumbnail"] == f"thumbs/{slug}.jpg"
        with Image.open(e2e.out / "thumbs" / f"{slug}.jpg") as im:
            assert im.format == "JPEG" and max(im.size) == THUMB_SIDE
    assert rows["Frank"]["thumbnail"] is None
    assert sorted(p.name for p in (e2e.out / "thumbs").iterdir()) == sorted(
        f"{rows[n]['folder']}.jpg" for n in E2E_DONE)


def test_e2e_person_report_has_team_section(e2e: Run) -> None:
    """Each person's report.json has the usual report plus a "team" section: the person, the photo
    used, and the measures of every platform's headshot as written."""
    rows = people_by_name(e2e.out)
    for name in E2E_DONE:
        report = json.loads((e2e.out / rows[name]["folder"] / "report.json").read_text(encoding="utf-8"))
        team = report["team"]
        assert team["person"] == name and team["chosen"] == rows[name]["photo_used"]
        assert set(team["measures"]) == set(PLATFORMS)
        assert all(m["face_found"] for m in team["measures"].values())
        assert team["measures"]["linkedin"] == rows[name]["measures"]
        assert len(report["outputs"]) == len(PLATFORMS)


def test_e2e_progress_events(e2e: Run) -> None:
    """on_progress is called once per person finished, counting up to the team's size."""
    ev = e2e.events
    assert len(ev) == len(E2E_NAMES)
    assert [e.done for e in ev] == list(range(1, len(E2E_NAMES) + 1))
    assert {e.total for e in ev} == {len(E2E_NAMES)}
    assert {e.person for e in ev} == set(E2E_NAMES)
    assert ev[-1].eta_s == 0 and all(e.eta_s is not None and e.eta_s >= 0 for e in ev)


def test_people_named_like_the_outputs_get_folders_of_their_own(tmp_path: Path) -> None:
    """People whose names are those of the run's own files and folders ("thumbs", "index.html")
    are rendered into folders of their own: the run completes, writes its contact sheet, and the
    thumbnails folder holds thumbnails only."""
    photos = tmp_path / "photos"
    write_photo(photos / "thumbs.jpg", _astronaut())
    write_photo(photos / "index.html.jpg", mirrored())
    out = tmp_path / "out"
    run = do_run(photos, out, platforms=("linkedin",))  # raises OutputError today: OUT/index.html is a folder
    assert sorted(run.result.done) == ["index.html", "thumbs"]
    assert (out / "index.html").is_file() and (out / "team.json").is_file()
    rows = people_by_name(out)
    folders = {rows[n]["folder"] for n in ("thumbs", "index.html")}
    assert not folders & {"thumbs", "index.html", "team.csv", "team.json", LEDGER_NAME}, folders
    for name in ("thumbs", "index.html"):
        slug = rows[name]["folder"]
        assert {p.name for p in (out / slug).iterdir()} == expected_outputs(slug, ("linkedin",))
    assert sorted(p.name for p in (out / "thumbs").iterdir()) == sorted(f"{s}.jpg" for s in folders)


# =====================================================================================================
# 5. Resume and exactly-once
# =====================================================================================================


def test_identical_rerun_renders_nobody_and_changes_nothing(e2e: Run) -> None:
    """Running the same command again renders nobody (not even the failed person), starts no
    worker, and leaves every file's bytes as they were; headshots are not even rewritten."""
    before, times = files_under(e2e.out), mtimes(e2e.out)
    attempts = ledger_rows(e2e.out)
    again = do_run(e2e.photos, e2e.out)
    assert again.result.rendered == 0 and again.events == []
    assert sorted(again.result.done) == sorted(E2E_DONE) and again.result.failed == ("Frank",)
    assert files_under(e2e.out) == before
    after = mtimes(e2e.out)
    for k, t in times.items():
        if "/" in k:  # people's files and thumbnails
            assert after[k] == t, k
    assert ledger_rows(e2e.out) == attempts


def test_changed_photo_rerenders_only_that_person(tmp_path: Path) -> None:
    """Replacing one person's photo re-renders that person alone (attempts start again); the
    others' files are neither changed nor rewritten."""
    photos = make_small_photos(tmp_path / "photos")
    out = tmp_path / "out"
    first = do_run(photos, out, platforms=("linkedin",))
    assert first.result.rendered == 2
    before, times = files_under(out), mtimes(out)
    write_photo(photos / "Bob.jpg", cropped())
    second = do_run(photos, out, platforms=("linkedin",))
    assert second.result.rendered == 1 and [e.person for e in second.events] == ["Bob"]
    assert sorted(second.result.done) == ["Alice", "Bob"]
    after = files_under(out)
    for k in before:
        if k.startswith(("Alice/", "thumbs/Alice")):
            assert after[k] == before[k] and mtimes(out)[k] == times[k], k
    assert after["Bob/Bob_corporate_linkedin.jpg"] != before["Bob/Bob_corporate_linkedin.jpg"]
    assert {p.name for p in (out / "Bob").iterdir()} == expected_outputs("Bob", ("linkedin",))
    assert ledger_rows(out) == {"Alice": ("done", 1), "Bob": ("done", 1)}
    assert people_by_name(out)["Bob"]["photos"] == ["Bob.jpg"]


def test_output_folder_inside_the_photos_is_not_read_as_people(tmp_path: Path) -> None:
    """`cd photos; headshot team .` writes ./team-headshots inside the photos folder: re-running
    must not take the run's own headshots, thumbnails and reports for people or list them as
    skipped files; nobody is rendered again."""
    photos = tmp_path / "photos"
    write_photo(photos / "Alice.jpg", _astronaut())
    out = photos / "team-headshots"
    first = do_run(photos, out, platforms=("linkedin",), workers=1)
    assert first.result.done == ("Alice",) and first.result.skipped == ()
    before = files_under(out / "Alice")
    again = do_run(photos, out, platforms=("linkedin",), workers=1)
    assert again.result.people == 1 and again.result.done == ("Alice",)
    assert again.result.rendered == 0
    assert again.result.skipped == (), [why for _, why in again.result.skipped]
    assert files_under(out / "Alice") == before


def test_output_folder_equal_to_the_photos_folder_is_refused(tmp_path: Path) -> None:
    """`--out` the photos folder itself would mix headshots with photos (a second run would take
    them for people): refused before any work with a TeamError that says what to do, and a team's
    output folder given as PHOTOS is refused by the roster."""
    photos = tmp_path / "photos"
    write_photo(photos / "Alice.jpg", _astronaut())
    with pytest.raises(TeamError, match="--out is the photos folder"):
        run_team(photos, out_dir=photos, size=SIZE, workers=1)
    assert sorted(p.name for p in photos.iterdir()) == ["Alice.jpg"]
    out = tmp_path / "out"
    do_run(photos, out, platforms=("linkedin",), workers=1)
    with pytest.raises(RosterError, match="output folder of a team run"):
        load_roster(out)


def test_kill_9_mid_run_then_rerun_is_exactly_once(tmp_path: Path) -> None:
    """kill -9 of a `headshot team` process group once the ledger shows someone done: the folder's
    lock is released with it, and running the same command again (the CLI, exit 0) renders only
    the people not done, keeps the finished ones' files untouched, leaves exactly one output each
    and no temporary file (a stale one from the killed run is swept)."""
    photos = tmp_path / "photos"
    write_photo(photos / "Alice.jpg", _astronaut())
    write_photo(photos / "Bob.png", mirrored())
    write_photo(photos / "Carol.jpg", cast())
    write_photo(photos / "Dave.jpg", darker())
    out = tmp_path / "out"
    args = ["team", str(photos), "--out", str(out), "--size", str(SIZE), "--workers", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    log = tmp_path / "child.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "headshot.cli", *args], cwd=ROOT, env=env, stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            if (out / LEDGER_NAME).is_file():
                try:
                    if any(s == "done" for s, _ in ledger_rows(out).values()):
                        break
                except sqlite3.Error:
                    pass  # created but not yet initialised
            if proc.poll() is not None:
                pytest.fail(f"the run ended (status {proc.returncode}) before it could be killed:\n"
                            f"{log.read_text(errors='replace')[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail("nobody was done after 120 s")
            time.sleep(0.05)
        with pytest.raises(LedgerError, match="another 'headshot team' run"):
            run_team(photos, out_dir=out, size=SIZE, workers=1)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
    states = ledger_rows(out, readonly=False)
    done_before = sorted(p for p, (s, _) in states.items() if s == "done")
    assert 1 <= len(done_before) < 4, states
    kept = {k: v for k, v in files_under(out).items() if k.split("/")[0] in done_before
            or k in {f"thumbs/{p}.jpg" for p in done_before}}
    kept_times = {k: mtimes(out)[k] for k in kept}
    stale = out / "thumbs" / ".Carol.jpg.99999.0badc0de.tmp"  # what a write killed half-way leaves
    assert TEMP_NAME.match(stale.name)
    stale.write_bytes(b"half a thumbnail")

    code, so, se = cli(*args)
    assert code == EXIT_OK, se
    assert re.search(rf"^4 of 4 people done \({4 - len(done_before)} in this run\), 0 failed", so, re.M), so
    assert f"Contact sheet: {(out / 'index.html').resolve()}\n" in so
    assert {p: s for p, (s, _) in ledger_rows(out).items()} == dict.fromkeys(["Alice", "Bob", "Carol", "Dave"], "done")
    for name in ("Alice", "Bob", "Carol", "Dave"):
        assert {p.name for p in (out / name).iterdir()} == expected_outputs(name, ("linkedin",)), name
        assert (out / "thumbs" / f"{name}.jpg").is_file()
    assert temp_files(out) == []
    now = files_under(out)
    for k, v in kept.items():
        assert now[k] == v and mtimes(out)[k] == kept_times[k], f"{k} was rewritten after it was done"


# =====================================================================================================
# 6. Worker deaths and bugs (local pool)
# =====================================================================================================

FAULT_NAMES = ("crash-once Ann", "crash-always Ben", "bug Cat", "Dan")


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One local run (2 workers) of a team whose members sabotage their own tasks by name (see
    tests/team_faults.py): a worker killed on the first attempt, one killed on every attempt, a
    task that raises, and a healthy person."""
    base = tmp_path_factory.mktemp("team-faults")
    photos = base / "photos"
    write_photo(photos / "crash-once Ann.jpg", _astronaut())
    write_photo(photos / "crash-always Ben.jpg", mirrored())
    write_photo(photos / "bug Cat.jpg", cast())
    write_photo(photos / "Dan.jpg", darker())
    return do_run(photos, base / "out", platforms=("linkedin",), task_fn=team_faults.faulty, max_attempts=3,
                  task_log=base / "executions.tsv")


def test_worker_killed_once_is_retried_exactly_once(faults: Run) -> None:
    """A worker SIGKILLed on a person's first attempt: the person is done on the second attempt,
    with exactly one set of outputs, and the healthy person was done at the first attempt."""
    rows = people_by_name(faults.out)
    ann = rows["crash-once Ann"]
    assert ann["status"] == "done" and ann["attempts"] == 2
    assert {p.name for p in (faults.out / ann["folder"]).iterdir()} == expected_outputs(ann["folder"], ("linkedin",))
    assert rows["Dan"]["status"] == "done" and rows["Dan"]["attempts"] == 1
    assert ledger_rows(faults.out)["Dan"] == ("done", 1)
    assert faults.executions["crash-once Ann"] == [1, 2] and faults.executions["Dan"] == [1]  # nothing ran twice
    assert temp_files(faults.out) == []


def test_worker_killed_every_time_fails_that_person_only(faults: Run) -> None:
    """A person whose worker dies on every attempt fails after max_attempts, with a reason saying
    the worker died (and the signal), listed for a retake; the others are not affected."""
    ben = people_by_name(faults.out)["crash-always Ben"]
    assert ben["status"] == "failed" and ben["attempts"] == 3
    assert faults.executions["crash-always Ben"] == [1, 2, 3]
    assert "died" in ben["error"] and "signal 9" in ben["error"] and "3 attempts" in ben["error"], ben["error"]
    assert faults.result.retake["crash-always Ben"] == [ben["error"]]
    assert not (faults.out / ben["folder"]).exists()
    assert set(faults.result.done) == {"crash-once Ann", "Dan"}


def test_task_exception_is_a_failed_person_not_a_crash(faults: Run) -> None:
    """A task function that raises (a bug) fails that person with the exception's type and text;
    the run itself carries on and reports everyone."""
    cat = people_by_name(faults.out)["bug Cat"]
    assert cat["status"] == "failed"
    assert "ValueError" in cat["error"] and team_faults.BUG_MESSAGE in cat["error"], cat["error"]
    assert 1 <= len(faults.executions["bug Cat"]) <= 3  # given up after max_attempts at most
    assert set(faults.result.failed) == {"crash-always Ben", "bug Cat"}
    assert faults.result.pending == () and faults.result.people == len(FAULT_NAMES)
    assert team_json(faults.out)["counts"] == {"done": 2, "failed": 2, "pending": 0}


def test_workers_that_cannot_start_stop_the_run_and_fail_nobody(tmp_path: Path) -> None:
    """When the worker processes cannot start (here: the task function's module cannot be
    imported in a fresh process, as happens to a script without an `if __name__ == "__main__":`
    guard), the run stops at once with a TeamError that says what to do, and nobody is marked
    failed or charged an attempt: the same run, fixed, starts clean."""
    mod_dir = tmp_path / "mods"
    mod_dir.mkdir()
    (mod_dir / "ghost_task.py").write_text("from headshot.team import run_person\n\n"
                                           "def task(t):\n    return run_person(t)\n")
    sys.path.insert(0, str(mod_dir))
    try:
        import ghost_task  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(mod_dir))  # the spawned workers get this sys.path: they cannot import it
    photos = tmp_path / "photos"
    write_photo(photos / "Alice.jpg", _astronaut())
    out = tmp_path / "out"
    try:
        with pytest.raises(TeamError, match="could not start.*__main__"):
            run_team(photos, out_dir=out, size=SIZE, workers=1, task_fn=ghost_task.task)
    finally:
        sys.modules.pop("ghost_task", None)
    assert ledger_rows(out) == {"Alice": ("pending", 0)}
    again = run_team(photos, out_dir=out, size=SIZE, workers=1)
    assert again.done == ("Alice",)


# =====================================================================================================
# 7. Ray and determinism
# =====================================================================================================


@pytest.fixture(scope="module")
def ray_run(small_photos: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The small team on a local 2-CPU Ray, Bob's first attempt killing its Ray worker."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'headshot-studio[ray]')")
    if ray.is_initialized():  # a Ray started elsewhere would not see the execution log's variable
        pytest.skip("Ray is already initialised in this process")
    base = tmp_path_factory.mktemp("team-ray")
    ray.cloudpickle.register_pickle_by_value(team_faults)  # Ray workers need not import tests/
    try:
        return do_run(small_photos, base / "out", platforms=("linkedin",), engine="ray",
                      task_fn=team_faults.crash_bob_once, task_log=base / "executions.tsv")
    finally:
        ray.cloudpickle.unregister_pickle_by_value(team_faults)


def test_ray_worker_killed_once_is_exactly_once(ray_run: Run) -> None:
    """engine="ray": a Ray worker killed on Bob's first attempt is retried by the coordinator (Ray's
    own retries are off), Bob is done at attempt 2, Alice at attempt 1, one output each."""
    r = ray_run.result
    assert sorted(r.done) == ["Alice", "Bob"] and r.failed == () and r.pending == ()
    assert ledger_rows(ray_run.out) == {"Alice": ("done", 1), "Bob": ("done", 2)}
    assert ray_run.executions == {"Alice": [1], "Bob": [1, 2]}  # no retry by Ray behind the ledger's back
    for name in ("Alice", "Bob"):
        assert {p.name for p in (ray_run.out / name).iterdir()} == expected_outputs(name, ("linkedin",))
    assert temp_files(ray_run.out) == []


def test_ray_outputs_match_local_bytes(ray_run: Run, small_local: Run) -> None:
    """The Ray engine writes byte-for-byte the headshots and thumbnails the local engine writes."""
    local = images(small_local.out)
    assert len(local) == 4  # 2 headshots, 2 thumbnails
    assert images(ray_run.out) == local


def test_same_team_twice_gives_identical_images(small_local: Run, small_photos: Path, tmp_path: Path) -> None:
    """Two runs of the same team into two folders give byte-identical headshots and thumbnails."""
    other = do_run(small_photos, tmp_path / "out", platforms=("linkedin",))
    assert other.result.rendered == 2
    assert images(other.out) == images(small_local.out)


# =====================================================================================================
# 8. CLI
# =====================================================================================================


def _e2e_args(e2e: Run, *extra: str) -> list[str]:
    args = ["team", str(e2e.photos), "--out", str(e2e.out), "--size", str(SIZE), "--workers", "2"]
    for pf in PLATFORMS:
        args += ["--platform", pf]
    return args + list(extra)


def test_cli_team_failed_person_exits_1_with_summary(e2e: Run) -> None:
    """`headshot team` on a folder with a failed person (resumed: nobody to render) exits 1, prints
    each retake with its reason, the one-line summary and the contact sheet's path, and lists the
    skipped file on stderr."""
    code, out, err = cli(*_e2e_args(e2e))
    assert code == EXIT_FAILED, err
    assert re.search(r"^5 of 6 people done \(0 in this run\), 1 failed, \d+ to retake; consistency: "
                     r"eye line ✓, face height ✓, face exposure ✓, backdrop ✓$", out, re.M), out
    assert f"Contact sheet: {(e2e.out / 'index.html').resolve()}\n" in out
    assert re.search(r"^✗ Frank: no face", out, re.M), out
    assert "skipped notes.txt" in err


def test_cli_team_retry_failed_tries_only_the_failed(e2e: Run) -> None:
    """--retry-failed renders the failed person again (and nobody else): still failed, exit 1."""
    code, out, err = cli(*_e2e_args(e2e, "--retry-failed"))
    assert code == EXIT_FAILED, err
    assert re.search(r"^5 of 6 people done \(1 in this run\), 1 failed", out, re.M), out
    assert ledger_rows(e2e.out)["Frank"] == ("failed", 1)


def test_cli_team_usage_errors_exit_2(e2e: Run, tmp_path: Path) -> None:
    """A missing folder and a re-run with other settings exit 2 with one line naming the problem
    (the size that differs) and nothing on stdout; the folder is left as it was."""
    code, out, err = cli("team", str(tmp_path / "nope"), "--out", str(tmp_path / "o"))
    assert code == EXIT_USAGE and out == "" and not (tmp_path / "o").exists()
    assert err.count("\n") == 1 and err.startswith("headshot: ") and "does not exist" in err, err
    before = files_under(e2e.out)
    code, out, err = cli(*[a if a != str(SIZE) else "320" for a in _e2e_args(e2e)])
    assert code == EXIT_USAGE and out == ""
    assert err.count("\n") == 1 and "other settings" in err and "size" in err and str(e2e.out) in err, err
    assert files_under(e2e.out) == before


# =====================================================================================================
# 9. The team look: render(team=True) and colour.team_correction
# =====================================================================================================


@pytest.fixture(scope="module")
def half_subject() -> headshot.Subject:
    """The astronaut example downscaled 2x (256 px), analysed."""
    px = load(ASTRONAUT.read_bytes()).pixels
    small = cv2.resize(px, (px.shape[1] // 2, px.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return headshot.analyse(encode(small, format="png"))


def test_team_render_has_the_platform_size_for_a_small_photo(half_subject: headshot.Subject) -> None:
    """A team headshot has the platform's full size even from a 256 px photo (a single headshot is
    reduced so as not to enlarge the face); an explicit size is honoured."""
    pf = headshot.load_platform("linkedin")
    hs = render(half_subject, STYLE, pf, team=True)
    assert hs.image.shape == (pf.height, pf.width, 3)
    solo = render(half_subject, STYLE, pf)
    assert solo.image.shape[0] < pf.height  # what team=True changes
    assert render(half_subject, STYLE, pf, size=SIZE, team=True).image.shape == (SIZE, SIZE, 3)


def test_team_render_same_frame_at_half_resolution(astronaut_subject: headshot.Subject,
                                                   half_subject: headshot.Subject) -> None:
    """The astronaut and its 2x-downscaled copy get the same frame: eye line and head size equal
    within 1 px (mapped from the analysis' landmarks) and within 0.5% of the height when the face
    is found again on the rendered images."""
    pf = headshot.load_platform("linkedin")
    frames = []
    for subj in (astronaut_subject, half_subject):
        hs = render(subj, STYLE, pf, team=True)
        eye_y = float(hs.crop.apply(subj.face.eye_mid[None, :2])[0, 1])
        head = subj.face.head_height * hs.crop.scale
        frames.append((eye_y, head, measure(hs.image, hs.alpha)))
    (e1, h1, m1), (e2, h2, m2) = frames
    assert abs(e1 - e2) <= 1.0 and abs(h1 - h2) <= 1.0, frames
    assert abs(e1 - pf.eye_line * pf.height) <= 1.0 and abs(h1 - pf.head_height * pf.height) <= 1.0
    assert m1["face_found"] and m2["face_found"]
    assert abs(m1["eye_line"] - m2["eye_line"]) <= 0.005, (m1, m2)


def test_team_render_never_enlarges_one_person(astronaut_subject: headshot.Subject) -> None:
    """A photo that ends at the chest is zoomed in for a single headshot (to fill the frame's
    bottom) but not in a team: its head keeps the platform's height, like everyone else's."""
    px = load(ASTRONAUT.read_bytes()).pixels
    chest = headshot.analyse(encode(np.ascontiguousarray(px[:250]), format="png"))
    pf = headshot.load_platform("linkedin")
    target = pf.head_height * SIZE
    solo = render(chest, STYLE, pf, size=SIZE)
    assert chest.face.head_height * solo.crop.scale > target + 5  # what team=True must not do
    for subj in (chest, astronaut_subject):
        hs = render(subj, STYLE, pf, size=SIZE, team=True)
        assert abs(subj.face.head_height * hs.crop.scale - target) <= 1.0
        assert abs(float(hs.crop.apply(subj.face.eye_mid[None, :2])[0, 1]) - pf.eye_line * SIZE) <= 1.0


@pytest.mark.parametrize("lightness", [45.0, 75.0])
def test_team_render_reaches_the_styles_face_lightness(astronaut_subject: headshot.Subject, tmp_path: Path,
                                                       lightness: float) -> None:
    """The [team] face_lightness of the style is what the rendered face's skin measures (mean L*)."""
    f = tmp_path / "brand.toml"
    f.write_text(f'name = "brand"\n[team]\nface_lightness = {lightness}\n')
    hs = render(astronaut_subject, load_style(f), "linkedin", size=400, team=True)
    m = measure(hs.image, hs.alpha)
    assert abs(m["skin_lightness"] - lightness) <= 2.0, m


def _lstar(y: np.ndarray) -> np.ndarray:
    """CIE L* of linear luminance (written out here, independently of the library)."""
    y = np.asarray(y, dtype=np.float64)
    return np.where(y > 216 / 24389, 116.0 * np.cbrt(y) - 16.0, y * 24389 / 27)


def _skin(level: float, gains: tuple[float, float, float] = (1.0, 1.0, 1.0), n: int = 4000) -> np.ndarray:
    """A synthetic patch of skin: linear RGB around a light skin colour, scaled by `level`, with a
    +-30% spread of shading and an optional colour cast."""
    rng = np.random.default_rng(7)
    base = np.array([0.42, 0.27, 0.20]) * np.asarray(gains)
    return (base * rng.uniform(0.7, 1.3, size=(n, 1)) * level).astype(np.float32)


def _mean_lstar(skin: np.ndarray, corr) -> float:
    rgb = skin.astype(np.float64) * np.asarray(corr.gains) * corr.exposure
    return float(_lstar(rgb @ LUMA.astype(np.float64)).mean())


@pytest.mark.parametrize("level", [0.4, 1.0, 1.6])
@pytest.mark.parametrize("with_cast", [False, True], ids=["neutral", "cast"])
def test_team_correction_reaches_the_target_lightness(level: float, with_cast: bool) -> None:
    """keep_lightness=0: darker, normal and lighter skin patches (with or without a colour cast
    that the white balance removes) all end at the requested mean L*."""
    look = TeamLook(face_lightness=58.0, keep_lightness=0.0, max_exposure_ev=3.0)
    est = None
    gains = (1.0, 1.0, 1.0)
    if with_cast:
        est = ColourEstimate(cast=(0.25, -0.2), evidence={})
        gains = (math.exp(0.25), 1.0, math.exp(-0.2))
    skin = _skin(level, gains)
    corr, limited = team_correction(est, skin, Tone(), look)
    assert not limited
    assert abs(_mean_lstar(skin, corr) - 58.0) < 0.05, (_mean_lstar(skin, corr), corr)
    if with_cast:
        assert abs(corr.gains[0] / corr.gains[1] - math.exp(-0.25)) < 1e-6  # the cast is divided out


def test_team_correction_keep_half_keeps_half_the_difference() -> None:
    """keep_lightness=0.5 applies half the log-exposure change that keep_lightness=0 applies, so the
    result lies between the person's own level and the team's."""
    skin = _skin(0.5)
    full, _ = team_correction(None, skin, Tone(), TeamLook(face_lightness=62.0, keep_lightness=0.0, max_exposure_ev=3.0))
    half, _ = team_correction(None, skin, Tone(), TeamLook(face_lightness=62.0, keep_lightness=0.5, max_exposure_ev=3.0))
    assert math.log2(full.exposure) > 0.3  # the patch is clearly darker than the target
    assert math.log2(half.exposure) == pytest.approx(0.5 * math.log2(full.exposure), abs=1e-6)
    own = float(_lstar(skin.astype(np.float64) @ LUMA.astype(np.float64)).mean())
    assert own < _mean_lstar(skin, half) < 62.0


def test_team_correction_clamps_at_max_exposure_and_says_so() -> None:
    """A face further off than max_exposure_ev is corrected by exactly that much (either way) and
    reported as limited; one within reach is not."""
    look = TeamLook(face_lightness=62.0, keep_lightness=0.0, max_exposure_ev=0.5)
    dark, lim = team_correction(None, _skin(0.1), Tone(), look)
    assert lim and dark.exposure == pytest.approx(2**0.5)
    bright, lim = team_correction(None, _skin(2.2), Tone(), look)
    assert lim and bright.exposure == pytest.approx(2**-0.5)
    ok, lim = team_correction(None, _skin(0.85), Tone(), look)
    assert not lim and 2**-0.5 < ok.exposure < 2**0.5
    # The same rule when only the photo's median skin luminance is known (a face outside the frame).
    y = 0.1
    corr, lim = team_correction(None, y, Tone(), look)
    assert lim and corr.exposure == pytest.approx(2**0.5)
    corr, lim = team_correction(None, y, Tone(), TeamLook(face_lightness=62.0, max_exposure_ev=3.0))
    assert not lim and _lstar(np.array(y * corr.exposure)) == pytest.approx(62.0, abs=0.01)


# =====================================================================================================
# 10. The [team] table of a style file
# =====================================================================================================


def test_style_team_table_is_parsed(tmp_path: Path) -> None:
    """[team] in a style file sets the team look; a style without one has the defaults."""
    f = tmp_path / "brand.toml"
    f.write_text('name = "brand"\n[team]\nface_lightness = 55\nkeep_lightness = 0.25\nmax_exposure_ev = 1.0\n')
    assert load_style(f).team == TeamLook(face_lightness=55.0, keep_lightness=0.25, max_exposure_ev=1.0)
    assert load_style(STYLE).team == TeamLook()


@pytest.mark.parametrize("table, words", [
    ("[team]\nface_lightnes = 60\n", ["[team]", "face_lightnes", "unknown"]),
    ("[team]\nface_lightness = 95\n", ["[team]", "face_lightness", "95", "outside"]),
    ("[team]\nface_lightness = 'light'\n", ["[team]", "face_lightness", "float"]),
    ("[team]\nkeep_lightness = -0.1\n", ["[team]", "keep_lightness", "outside"]),
    ("[team]\nmax_exposure_ev = 5\n", ["[team]", "max_exposure_ev", "outside"]),
    ("team = 3\n", ["team", "dict"]),
], ids=["unknown", "too-light", "not-a-number", "keep-negative", "ev-too-large", "not-a-table"])
def test_style_bad_team_table_is_named(tmp_path: Path, table: str, words: list[str]) -> None:
    """An unknown key or a value out of range in [team] is a PresetError naming the file and key."""
    f = tmp_path / "bad.toml"
    f.write_text(f'name = "bad"\n{table}')
    with pytest.raises(PresetError) as e:
        load_style(f)
    msg = str(e.value)
    assert str(f) in msg, msg
    for w in words:
        assert w in msg, (w, msg)


# =====================================================================================================
# 11. Dev photos (shared tier)
# =====================================================================================================


@pytest.mark.shared
@needs_shared
def test_dev_photos_team_is_consistent(tmp_path: Path) -> None:
    """A team of four different people's dev photos (given as a CSV of absolute paths: nothing is
    copied) is rendered with the same eye line and head size for everybody."""
    chosen = dev_photos()[::5][:4]
    f = tmp_path / "team.csv"
    with f.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["person", "photo"]] + [[p.stem, str(p)] for p in chosen])
    run = do_run(f, tmp_path / "out", platforms=("linkedin",))
    assert run.result.failed == () and len(run.result.done) == len(chosen)
    checks = run.result.stats["checks"]
    assert checks["eye_line_std"]["met"] and checks["face_height_std"]["met"], checks
