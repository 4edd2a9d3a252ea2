"""Replay ``tests/fuzz_regressions/``: inputs that once made the loader hang, use too much memory,
print, or raise outside the error taxonomy (found by ``fuzz/fuzz_loader.py`` or the hostile set of
``tests/hostile.py``), each fixed in ``headshot.imageio``. ``regressions.json`` says, per file, what
was wrong, what fixed it, and what ``load`` must do now: ``expect`` ``"error"`` (with the exact
class in ``error`` when it is certain) or ``"either"`` (a typed error or a well-formed photo).

Each file is loaded in a worker process with a 5 s limit (a regression to a hang fails rather
than stalls the suite) and must print nothing. ``.gz`` files are decompressed first (floods of
identical chunks are megabytes raw, a few KB compressed).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.isolated import WorkerPool

FOLDER = Path(__file__).resolve().parent / "fuzz_regressions"
MANIFEST = json.loads((FOLDER / "regressions.json").read_text(encoding="utf-8"))
FILES = sorted(p.name for p in FOLDER.iterdir() if p.is_file() and p.name not in ("regressions.json", "README.md"))


def test_every_file_has_an_entry_and_every_entry_a_file():
    assert FILES, "the regression corpus is empty"
    assert set(FILES) == set(MANIFEST), set(FILES) ^ set(MANIFEST)
    for name, entry in MANIFEST.items():
        assert entry["expect"] in ("error", "either"), name
        assert entry.get("problem") and entry.get("fix") and entry.get("found_by"), name


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-regressions")
    jobs = []
    for name in FILES:
        data = (FOLDER / name).read_bytes()
        target = folder / name
        if name.endswith(".gz"):
            data = gzip.decompress(data)
            target = folder / name[: -len(".gz")]
        target.write_bytes(data)
        entry = MANIFEST[name]
        jobs.append(
            {
                "name": name,
                "path": str(target),
                "expect": entry["expect"],
                "error": entry.get("error") or None,
                "ref": None,
            }
        )
    return {r.name: r for r in WorkerPool(workers=2, timeout=5.0).run(jobs)}


@pytest.mark.parametrize("name", FILES)
def test_regression_input(name, results):
    r = results[name]
    entry = MANIFEST[name]
    assert r.status == "pass", f"{name} ({entry['problem']}): {r.status}: {r.outcome}"
    assert not r.stderr, f"{name}: the decoder printed {r.stderr!r}"
