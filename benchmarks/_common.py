"""Shared helpers of the benchmark scripts: the photo set, markdown tables, output files.

The photo set is the astronaut (always: ``examples/astronaut.jpg``, or scikit-image's copy) plus
every single-person dev photo in ``../shared/faces`` when that folder exists (it is never copied
into the repository).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform as _platform
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED_FACES = REPO.parent / "shared" / "faces"
OUT_DIR = REPO / "bench-output"
ASTRONAUT_FILE = REPO / "examples" / "astronaut.jpg"

# Make ``import headshot`` work from a plain checkout (``python benchmarks/x.py``) too.
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))


@dataclass(frozen=True)
class PhotoRef:
    """One benchmark photo: a name for the tables and how to get its bytes."""

    name: str
    path: Path | None  # None: the astronaut from scikit-image, encoded in memory
    identity: str = ""
    notes: str = ""

    def data(self) -> bytes:
        if self.path is not None:
            return self.path.read_bytes()
        return astronaut_png()


def astronaut_png() -> bytes:
    """scikit-image's astronaut (public domain) as PNG bytes."""
    from PIL import Image
    from skimage import data as skdata

    buf = io.BytesIO()
    Image.fromarray(skdata.astronaut()).save(buf, format="PNG")
    return buf.getvalue()


def astronaut() -> PhotoRef:
    if ASTRONAUT_FILE.is_file():
        return PhotoRef("astronaut", ASTRONAUT_FILE, "astronaut", "examples/astronaut.jpg")
    return PhotoRef("astronaut", None, "astronaut", "skimage.data.astronaut()")


def dev_photos(*, include_group: bool = False) -> list[PhotoRef]:
    """The dev photos of ``../shared/faces`` (manifest order); empty when the folder is absent."""
    manifest = SHARED_FACES / "manifest.csv"
    if not manifest.is_file():
        return []
    out = []
    with manifest.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["identity"] == "group" and not include_group:
                continue
            p = SHARED_FACES / row["file"]
            if p.is_file():
                out.append(PhotoRef(row["file"], p, row["identity"], row["notes"]))
    return out


def photo_set() -> tuple[list[PhotoRef], str | None]:
    """Astronaut + single-person dev photos, and a note when the dev photos are absent."""
    devs = dev_photos()
    note = None
    if not devs:
        note = f"dev photos skipped: {SHARED_FACES} is absent (only the astronaut was measured)"
    return [astronaut(), *devs], note


def machine() -> dict[str, Any]:
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        affinity = os.cpu_count()
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "cpu_count": os.cpu_count(),
        "loadavg_1_5_15": load,
        "sched_affinity": affinity,
        "python": _platform.python_version(),
        "machine": _platform.machine(),
        "system": _platform.system(),
    }


def cpu_busy(seconds: float = 1.0) -> float | None:
    """Fraction (0-1) of all cores busy over the next `seconds`, from /proc/stat (None off Linux).

    Taken just before a timing run, it tells whether other processes were competing for the cores.
    """
    import time

    def sample() -> tuple[int, int] | None:
        try:
            with open("/proc/stat", encoding="ascii") as f:
                vals = [int(x) for x in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
        return sum(vals), idle

    a = sample()
    time.sleep(seconds)
    b = sample()
    if a is None or b is None or b[0] == a[0]:
        return None
    return 1.0 - (b[1] - a[1]) / (b[0] - a[0])


def fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "pass" if v else "FAIL"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table (cells already formatted or passed through :func:`fmt`)."""
    cells = [[fmt(c) if not isinstance(c, str) else c for c in r] for r in rows]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in cells]
    return "\n".join(lines)


def write_outputs(name: str, markdown: str, data: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``bench-output/<name>.md`` and ``<name>.json``; returns both paths."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    md = OUT_DIR / f"{name}.md"
    js = OUT_DIR / f"{name}.json"
    md.write_text(markdown.rstrip() + "\n", encoding="utf-8")
    js.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default) + "\n", encoding="utf-8")
    return md, js


def _json_default(o: Any) -> Any:
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:
        pass
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def quiet_native_logs() -> None:
    """Ask native libraries for less chatter on stderr. MediaPipe's own start-up notices ignore these
    variables (0.10.21: absl logging and TFLite's logger); headshot keeps those off stderr itself
    (``src/headshot/_native.py``)."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def median(xs: Sequence[float]) -> float:
    s = sorted(xs)
    n = len(s)
    if n == 0:
        return float("nan")
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def chunks(xs: Sequence[Any], n: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(xs), n):
        yield xs[i : i + n]


def pin(cores: int = 2) -> tuple[set[int] | None, int]:
    """Pin this process to `cores` cores where possible; returns (previous affinity, cores in use).
    Give the previous affinity back with ``os.sched_setaffinity(0, prev)`` when it is not None."""
    try:
        prev = os.sched_getaffinity(0)
    except AttributeError:
        return None, os.cpu_count() or 0
    want = set(sorted(prev)[:cores])
    try:
        os.sched_setaffinity(0, want)
    except OSError:
        return None, len(prev)
    return prev, len(os.sched_getaffinity(0))


def write_results(out_dir: Path | None, name: str, markdown: str, data: dict[str, Any]) -> None:
    """results.json/.md in the benchmark's own folder (when given), and bench-output/NAME.{md,json}."""
    if out_dir is not None:
        (out_dir / "results.json").write_text(json.dumps(data, indent=2, default=_json_default) + "\n", encoding="utf-8")
        (out_dir / "results.md").write_text(markdown + "\n", encoding="utf-8")
    write_outputs(name, markdown, data)


def bench_main(name: str, doc: str, run: Callable[[int | None, Path | None, bool], dict[str, Any]],
               default_out: Path, out_help: str, speed_help: str, argv: list[str] | None = None) -> int:
    """The command line shared by the per-issue benchmarks: --photos N, --out DIR, --no-speed."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--photos", type=int, default=None, help="measure only the first N photos (astronaut first)")
    ap.add_argument("--out", type=Path, default=default_out, help=out_help)
    ap.add_argument("--no-speed", action="store_true", help=speed_help)
    args = ap.parse_args(argv)
    m = machine()
    print(f"# bench_{name}: {m['cpu_count']} cores (affinity {m['sched_affinity']}), Python {m['python']}", flush=True)
    res = run(args.photos, args.out, not args.no_speed)
    print(res["markdown"])
    print(f"\nwrote {args.out / 'results.json'}")
    return 0 if res["pass"] else 1


def descendants(pid: int) -> list[int]:
    """Every descendant process of `pid` (Linux /proc; empty elsewhere)."""
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/children", encoding="ascii") as f:
                    kids = [int(x) for x in f.read().split()]
            except OSError:
                continue
            for k in kids:
                if k not in out:
                    out.append(k)
                    todo.append(k)
    return out
