"""Hostile files against ``headshot.imageio.load`` (issue 9): a sample of the generated set of
``tests/hostile.py`` (every structured family whole, at least one truncation, bit flip and
overwrite of every seed), each a typed error or the right picture.

Cases that could hang or take much memory if the loader regressed (bombs, floods, header edits)
run in a worker process with a 5 s limit (``tests/isolated.py``); the others run here. The full
set (more than 2,000 files, with decode time and memory) is ``benchmarks/bench_hostile.py``.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from headshot import errors
from headshot.imageio import Photo, SourceInfo, from_srgb8, load
from tests import hostile
from tests.isolated import WorkerPool, worker_env

ROOT = Path(__file__).resolve().parents[1]
#: Share of the per-seed families (truncations, bit flips, overwrites) in this sample.
SCALE = 0.15
TIMEOUT_S = 5.0

CASES = hostile.generate(SCALE)
BY_NAME = {c.name: c for c in CASES}
SAFE = sorted(c.name for c in CASES if not c.risky)
RISKY = [c for c in CASES if c.risky]

_DIR = Path(tempfile.mkdtemp(prefix="headshot-hostile-"))
MANIFEST = {m["name"]: m for m in hostile.write_cases(CASES, _DIR)}


@pytest.fixture(scope="module", autouse=True)
def _remove_files():
    yield
    shutil.rmtree(_DIR, ignore_errors=True)


@pytest.fixture(scope="module")
def risky_results():
    """Every risky case, loaded in two worker processes with a hard time limit."""
    pool = WorkerPool(workers=2, timeout=TIMEOUT_S)
    jobs = [MANIFEST[c.name] for c in RISKY]
    return {r.name: r for r in pool.run(jobs)}


def test_sample_covers_every_category_and_kind():
    counts = hostile.summarize(CASES)
    assert all(counts[c] > 0 for c in hostile.CATEGORIES if c != "large"), counts
    kinds = {c.kind for c in CASES}
    for kind in (
        "jpeg-cmyk",
        "jpeg-progressive",
        "jpeg-icc",
        "jpeg-exif",
        "png-16",
        "png-palette",
        "png-alpha",
        "png-animated",
        "png-interlaced",
        "webp-lossy",
        "webp-lossless",
        "webp-alpha",
        "webp-animated",
        "heif",
    ):
        assert kind in kinds, kind
    assert {c.expect for c in CASES} == {"ok", "error", "either"}
    assert 400 <= len(CASES) <= 800, len(CASES)


@pytest.mark.parametrize("name", SAFE)
def test_case(name):
    case = BY_NAME[name]
    entry = MANIFEST[name]
    try:
        outcome: object = load(entry["path"], **case.kwargs)
    except Exception as exc:  # noqa: BLE001 - judged below: only HeadshotError subclasses may pass
        outcome = exc
    ok, text = hostile.judge(case.expect, case.error, case.reference, outcome)
    assert ok, f"{name} ({case.note}): {text}"
    if isinstance(outcome, errors.HeadshotError) and case.special is None:
        assert str(outcome).startswith(name), f"the message should name the file: {outcome}"


def test_risky_cases_in_worker_processes(risky_results):
    failures = []
    for case in RISKY:
        r = risky_results[case.name]
        if r.status != "pass":
            failures.append(f"{case.name} ({case.note}): {r.status}: {r.outcome}")
        elif r.stderr:
            failures.append(f"{case.name}: the decoder printed {r.stderr!r}")
    assert not failures, "\n".join(failures)
    assert max(r.cpu_seconds for r in risky_results.values()) < TIMEOUT_S


def test_full_set_is_over_2000_files_and_deterministic():
    # The same bytes in another process (the benchmark and the tests generate separately).
    code = (
        "import hashlib; from tests import hostile; h = hashlib.sha256()\n"
        "for c in hostile.generate(0.15): h.update(c.name.encode() + c.data)\n"
        "print(hashlib.sha256(h.digest()).hexdigest())"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=worker_env(), cwd=ROOT, check=True
    )
    h = hashlib.sha256()
    for c in CASES:
        h.update(c.name.encode() + c.data)
    assert other.stdout.strip() == hashlib.sha256(h.digest()).hexdigest()
    assert len(hostile.generate(1.0)) >= 2000


# ------------------------------------------------------------------------------------------
# the machinery itself: the judge and the worker pool must catch what they are for
# ------------------------------------------------------------------------------------------


def _photo(rgb8: np.ndarray, alpha: np.ndarray | None = None) -> Photo:
    px = from_srgb8(np.ascontiguousarray(rgb8))
    px.flags.writeable = False
    h, w = px.shape[:2]
    src = SourceInfo("x", "png", w, h, 1, 8, "RGB", 1, "sRGB")
    if alpha is not None:
        alpha = np.ascontiguousarray(alpha, dtype=np.float32)
        alpha.flags.writeable = False
    return Photo(px, alpha, src)


def test_judge_rejects_wrong_pictures():
    seed = BY_NAME["jpeg-exif-orientation6.jpg"]
    ref = seed.reference
    assert ref is not None and ref.rgb is not None
    assert hostile.judge("ok", None, ref, _photo(ref.rgb))[0]
    flipped = _photo(ref.rgb[:, ::-1])
    assert not hostile.judge("ok", None, ref, flipped)[0]
    assert not hostile.judge("either", None, ref, flipped)[0]
    swapped = BY_NAME["png-rgb.png"].reference
    assert swapped is not None and swapped.rgb is not None
    assert not hostile.judge("ok", None, swapped, _photo(swapped.rgb[..., ::-1]))[0]
    assert not hostile.judge("ok", None, swapped, _photo(swapped.rgb[:-1]))[0]  # wrong size
    transparent = BY_NAME["png-rgba.png"].reference
    assert transparent is not None and transparent.rgb is not None
    assert not hostile.judge("ok", None, transparent, _photo(transparent.rgb))[0]  # alpha lost


def test_judge_rejects_untyped_errors_and_wrong_classes():
    assert not hostile.judge("either", None, None, ValueError("boom"))[0]
    assert not hostile.judge("error", None, None, OSError("boom"))[0]
    assert not hostile.judge("error", "ImageTooLargeError", None, errors.CorruptImageError("x"))[0]
    assert hostile.judge("error", None, None, errors.CorruptImageError("x"))[0]
    assert not hostile.judge("ok", None, BY_NAME["png-rgb.png"].reference, errors.CorruptImageError("x"))[0]


def test_judge_rejects_malformed_photos():
    good = _photo(np.full((4, 4, 3), 100, np.uint8))
    assert hostile.judge("either", None, None, good)[0]
    nan = np.array(good.pixels)
    nan[0, 0, 0] = np.nan
    nan.flags.writeable = False
    bad = Photo(nan, None, good.source)
    assert not hostile.judge("either", None, None, bad)[0]
    assert not hostile.judge("error", None, None, good)[0]


def test_pool_counts_hangs_and_crashes():
    entry = MANIFEST["png-rgb.png"]
    jobs = [dict(entry, test_hook="spin"), dict(entry, test_hook="sleep"), dict(entry, test_hook="segfault"), entry]
    results = WorkerPool(workers=2, timeout=1.0, backstop=2.0).run(jobs)
    assert [r.status for r in results] == ["hang", "hang", "crash", "pass"], [r.outcome for r in results]
    assert "CPU" in results[0].outcome and "wall" in results[1].outcome
    assert "SIGSEGV" in results[2].outcome
    assert results[3].hwm_delta_kib is not None
