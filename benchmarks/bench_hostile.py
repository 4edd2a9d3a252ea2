"""Hostile-file benchmark (issue 9): thousands of damaged, malicious and odd files through
``headshot.imageio.load``, and the decode time and memory of legitimately huge photos.

1. **Hostile set.** ``tests/hostile.py`` generates (deterministically) every seed kind and family
   at full scale with the large cases: more than 2,000 files (truncations at many offsets, bit
   flips, byte-range overwrites, insertions, deletions and splices, header edits, dimension and
   decompression bombs, chunk/segment/scan floods, other formats under a photo's name, polyglots,
   odd paths, small limits, and pictures at the pixel limit). When ``../shared/faces`` exists its
   photos are added as seeds (the intact file, 24 truncations, 12 bit flips and 10 overwrites
   each, judged against the loader's own decode of the intact file; never copied into the
   repository). Each file is loaded in one of two worker processes (``tests/isolated.py``, decoders
   on one thread) with a hard limit of 5 s of CPU time (and 30 s of wall time for a load that
   blocks): a worker over it is killed and the file counts as a hang; a worker that dies counts as
   a crash. CPU time, so that other work on the machine cannot turn a slow decode into a "hang";
   on an idle machine it is the wall time, which is reported too. The cases that decode close to
   the pixel limit run one at a time after the others (two at once on two cores measure the
   memory bus, not the decoder). Each outcome is judged by ``tests.hostile.judge``:
   a typed error (the exact class where the case says so) or the right picture.
2. **Large legitimate photos**, each in a fresh worker process (limit 60 s): an astronaut
   upscaled with row noise (so the files compress like photos) at 48 MP (8000x6000) and just under
   the pixel limit, as 8-bit PNG, RGBA PNG, 16-bit PNG, 16-bit RGBA PNG, baseline and progressive
   JPEG, a CMYK JPEG with a profile, and HEIF.

Memory: before each load the worker resets the kernel's peak-RSS counter (``/proc/self/clear_refs``)
and reads ``VmHWM`` after it; the decode memory is that peak minus the RSS just before the load
(workers pin glibc's mmap threshold, so freed buffers go back to the kernel and the baseline stays
flat; its drift is reported). Times are the load's own wall and CPU time in the worker.

Targets: at least 2,000 hostile files; 0 crashes (signals or exceptions outside
``HeadshotError``); 0 hangs (every load <= 5 s of CPU on one core); every file a typed error or the right picture
(every "ok" case right); nothing printed by the decoders; decode memory <= 1 GiB for every file,
hostile or legitimate.

Writes ``<out>/results.{md,json}`` (default ``bench-output/hostile/``) and
``bench-output/hostile.{md,json}``. About 5 minutes on 2 cores (``--quick``: the hostile set
without its large cases and without part 2, about 1 minute).

Run: ``python benchmarks/bench_hostile.py [--quick] [--out DIR] [--workers N] [--keep]``
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common as C

sys.path.insert(0, str(C.REPO))  # tests.hostile, tests.isolated

import cv2
import numpy as np
from PIL import Image

from headshot import imageio
from tests import hostile
from tests.badinput import cmyk_swap_profile
from tests.isolated import WorkerPool

NAME = "hostile"
DEFAULT_OUT = C.OUT_DIR / NAME
CMD = "`python benchmarks/bench_hostile.py`"
MIN_FILES = 2000
TIMEOUT_S = 5.0
LARGE_TIMEOUT_S = 60.0
MEMORY_LIMIT_MIB = 1024
WORKERS = 2


# ------------------------------------------------------------------------------------------
# inputs
# ------------------------------------------------------------------------------------------


def shared_cases() -> tuple[list[hostile.Case], str | None]:
    """Cases made from ``../shared/faces`` (empty, with a note, when absent)."""
    photos = C.dev_photos(include_group=True)
    if not photos:
        return [], f"{C.SHARED_FACES} is absent: no real photos among the seeds"
    cases: list[hostile.Case] = []
    for ref_photo in photos:
        assert ref_photo.path is not None
        data = ref_photo.path.read_bytes()
        photo = imageio.load(data)
        codes = np.round(hostile._oetf(photo.pixels) * 255).astype(np.uint8)
        alpha = None if photo.alpha is None else np.round(photo.alpha * 255).astype(np.uint8)
        ref = hostile.Reference(shape=codes.shape[:2], rgb=codes, alpha=alpha)
        stem, _, ext = ref_photo.path.name.rpartition(".")
        fmt = photo.source.format
        cases += hostile.cases_from_file(f"shared-{stem}", ext, f"shared-{fmt}", data, ref)
    return cases, None


def _big_picture(width: int, height: int) -> np.ndarray:
    """The astronaut upscaled, with per-row noise so the files compress like photos."""
    rng = np.random.default_rng(7)
    img = cv2.resize(hostile.astro(480, 360), (width, height), interpolation=cv2.INTER_LINEAR)
    noise = rng.integers(-3, 4, size=(height, 1, 3), dtype=np.int16)
    return np.clip(img.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def large_files(folder: Path) -> list[dict[str, Any]]:
    """Write the large legitimate photos; manifest entries for the worker pool."""
    import pillow_heif

    under = imageio.DEFAULT_MAX_PIXELS
    sizes = [(8000, 6000, "48MP")]
    # just under the limit, 4:3-ish
    w = int((under * 4 / 3) ** 0.5) // 16 * 16
    h = (under // w) // 16 * 16
    sizes.append((w, h, "limit"))
    entries: list[dict[str, Any]] = []
    for width, height, label in sizes:
        img = _big_picture(width, height)
        pil = Image.fromarray(img)
        files: dict[str, tuple[bytes, str]] = {}

        def enc(fmt: str, im: Image.Image, **params: Any) -> bytes:
            buf = io.BytesIO()
            im.save(buf, format=fmt, **params)
            return buf.getvalue()

        files[f"{label}-rgb8.png"] = (enc("PNG", pil, compress_level=1), "8-bit RGB PNG")
        alpha = np.tile(np.linspace(40, 255, width).astype(np.uint8), (height, 1))
        files[f"{label}-rgba8.png"] = (
            enc("PNG", Image.fromarray(np.dstack([img, alpha])), compress_level=1),
            "8-bit RGBA PNG",
        )
        deep = img.astype(np.uint16) * 257
        files[f"{label}-rgb16.png"] = (
            cv2.imencode(".png", deep[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes(),
            "16-bit RGB PNG",
        )
        deep_a = np.dstack([deep[..., ::-1], alpha.astype(np.uint16) * 257])
        files[f"{label}-rgba16.png"] = (
            cv2.imencode(".png", deep_a, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes(),
            "16-bit RGBA PNG",
        )
        del deep, deep_a, alpha
        files[f"{label}-baseline.jpg"] = (enc("JPEG", pil, quality=92), "JPEG q92 4:2:0")
        files[f"{label}-progressive444.jpg"] = (
            enc("JPEG", pil, quality=92, progressive=True, subsampling=0),
            "progressive JPEG q92 4:4:4",
        )
        files[f"{label}-cmyk-profile.jpg"] = (
            enc("JPEG", pil.convert("CMYK"), quality=90, icc_profile=cmyk_swap_profile()),
            "CMYK JPEG with a profile",
        )
        heif = pillow_heif.from_pillow(pil)
        buf = io.BytesIO()
        heif.save(buf, quality=80)
        files[f"{label}-photo.heic"] = (buf.getvalue(), "HEIF q80")
        for name, (data, desc) in files.items():
            path = folder / name
            path.write_bytes(data)
            entries.append(
                {
                    "name": name,
                    "path": str(path),
                    "expect": "ok",
                    "error": None,
                    "ref": None,
                    "kwargs": {},
                    "desc": desc,
                    "bytes": len(data),
                    "pixels": width * height,
                    "size": f"{width}x{height}",
                }
            )
    return entries


# ------------------------------------------------------------------------------------------
# the run
# ------------------------------------------------------------------------------------------


def run(
    quick: bool = False, out_dir: Path | None = DEFAULT_OUT, keep: bool = False, workers: int = WORKERS
) -> dict[str, Any]:
    t_all = time.perf_counter()
    m = C.machine()
    busy = C.cpu_busy(1.0)
    tmp = Path(tempfile.mkdtemp(prefix="headshot-bench-hostile-"))
    try:
        t = time.perf_counter()
        cases = hostile.generate(1.0, large=not quick)
        extra, shared_note = shared_cases()
        cases += extra
        manifest = hostile.write_cases(cases, tmp / "hostile")
        gen_s = time.perf_counter() - t
        print(f"generated {len(cases)} files in {gen_s:.0f} s; loading them with {workers} workers...", flush=True)
        t = time.perf_counter()
        # The heavy cases (legitimate decodes near the pixel limit) one at a time, after the rest:
        # two of them at once on two cores measure the memory bus, not the decoder.
        light = [i for i, e in enumerate(manifest) if not e["heavy"]]
        heavy = [i for i, e in enumerate(manifest) if e["heavy"]]
        done = WorkerPool(workers=workers, timeout=TIMEOUT_S).run([manifest[i] for i in light])
        done += WorkerPool(workers=1, timeout=TIMEOUT_S).run([manifest[i] for i in heavy])
        order = {i: k for k, i in enumerate(light + heavy)}
        results = [done[order[i]] for i in range(len(manifest))]
        run_s = time.perf_counter() - t
        large: list[tuple[dict[str, Any], Any]] = []
        if not quick:
            print("writing the large legitimate photos...", flush=True)
            (tmp / "large").mkdir()
            entries = large_files(tmp / "large")
            for entry in entries:  # one fresh worker per file: its own clean baseline
                r = WorkerPool(workers=1, timeout=LARGE_TIMEOUT_S).run([entry])[0]
                large.append((entry, r))
                print(
                    f"  {entry['name']}: {r.status} {r.seconds:.2f} s {(r.hwm_delta_kib or 0) / 1024:.0f} MiB",
                    flush=True,
                )
        if keep and out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(out_dir / "files", ignore_errors=True)
            shutil.copytree(tmp / "hostile", out_dir / "files", symlinks=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _report(
        cases,
        manifest,
        results,
        large,
        m,
        busy,
        shared_note,
        gen_s,
        run_s,
        time.perf_counter() - t_all,
        quick,
        out_dir,
        workers,
    )


def _mib(kib: int | None) -> float:
    return (kib or 0) / 1024


def _report(
    cases: list[hostile.Case],
    manifest: list[dict[str, Any]],
    results: list[Any],
    large: list[tuple[dict[str, Any], Any]],
    m: dict[str, Any],
    busy: float | None,
    shared_note: str | None,
    gen_s: float,
    run_s: float,
    elapsed: float,
    quick: bool,
    out_dir: Path | None,
    workers: int,
) -> dict[str, Any]:
    rows_by_cat: dict[str, dict[str, int]] = {}
    failures, hangs, crashes, untyped, noisy = [], [], [], [], []
    ok_cases = ok_right = 0
    for case, r in zip(cases, results, strict=True):
        row = rows_by_cat.setdefault(
            case.category, {"files": 0, "decoded": 0, "typed": 0, "failed": 0, "hang": 0, "crash": 0}
        )
        row["files"] += 1
        if r.status == "hang":
            row["hang"] += 1
            hangs.append(r)
        elif r.status == "crash":
            row["crash"] += 1
            crashes.append(r)
        else:
            if r.error_class is None and r.status == "pass":
                row["decoded"] += 1
            elif r.status == "pass":
                row["typed"] += 1
            if r.status == "fail":
                row["failed"] += 1
                failures.append((case, r))
                if r.outcome.startswith("UNTYPED"):
                    untyped.append(r)
        if case.expect == "ok":
            ok_cases += 1
            ok_right += r.status == "pass"
        if r.stderr:
            noisy.append(r)
    by_class: dict[str, int] = {}
    for r in results:
        if r.status == "pass" and r.error_class:
            by_class[r.error_class] = by_class.get(r.error_class, 0) + 1
    by_kind: dict[str, int] = {}
    for c in cases:
        by_kind[c.kind] = by_kind.get(c.kind, 0) + 1
    timed = [r for r in results if r.status in ("pass", "fail")]
    times = [r.seconds for r in timed]
    cpu_times = [r.cpu_seconds for r in timed]
    mems = [r.hwm_delta_kib or 0 for r in timed]
    slowest = sorted(timed, key=lambda r: -r.cpu_seconds)[:8]
    hungriest = sorted(timed, key=lambda r: -(r.hwm_delta_kib or 0))[:8]
    baselines = [r.rss_before_kib for r in timed if r.rss_before_kib]
    max_time = max(times, default=0.0)
    max_cpu = max(cpu_times, default=0.0)
    max_mem = _mib(max(mems, default=0))
    large_max_mem = max((_mib(r.hwm_delta_kib) for _, r in large), default=0.0)
    large_ok = all(r.status == "pass" for _, r in large)

    verdicts = [
        (f"at least {MIN_FILES:,} hostile files", len(cases) >= MIN_FILES, f"{len(cases):,}"),
        (
            "0 crashes (signals, or exceptions outside HeadshotError)",
            not crashes and not untyped,
            f"{len(crashes)} signals/deaths, {len(untyped)} untyped exceptions",
        ),
        (
            f"0 hangs (every load <= {TIMEOUT_S:g} s of CPU)",
            not hangs and max_cpu <= TIMEOUT_S,
            f"{len(hangs)} hangs; max {max_cpu:.2f} s CPU ({max_time:.2f} s wall), median {C.median(times) * 1000:.1f} ms",
        ),
        (
            "every file a typed error or the right picture",
            not failures and not hangs and not crashes,
            f"{len(failures)} failures; 'ok' cases right: {ok_right}/{ok_cases}",
        ),
        ("decoders print nothing", not noisy, f"{len(noisy)} files printed"),
        (f"decode memory <= {MEMORY_LIMIT_MIB} MiB (hostile)", max_mem <= MEMORY_LIMIT_MIB, f"max {max_mem:.0f} MiB"),
    ]
    if not quick:
        verdicts.append(
            (
                f"decode memory <= {MEMORY_LIMIT_MIB} MiB (large legitimate photos), each decoded right",
                large_ok and large_max_mem <= MEMORY_LIMIT_MIB,
                f"max {large_max_mem:.0f} MiB; {sum(r.status == 'pass' for _, r in large)}/{len(large)} decoded",
            )
        )
    passed = all(v for _, v, _ in verdicts)

    md = [
        f"## Hostile files (issue 9): {len(cases):,} files through `imageio.load`",
        "",
        f"{m['cpu_count']} cores (affinity {m['sched_affinity']}), Python {m['python']}; {workers} worker processes, "
        f"one thread each, a limit of {TIMEOUT_S:g} s of CPU per file (30 s wall); CPU busy before the run: {(busy or 0) * 100:.0f}%. "
        f"Generated in {gen_s:.0f} s, loaded in {run_s:.0f} s. Reproduce: {CMD}" + (" --quick" if quick else "") + ".",
        "",
    ]
    if shared_note:
        md += [f"Note: {shared_note}.", ""]
    md += [C.table(["figure", "target", "measured", "pass"], [[n, "", t, v] for n, v, t in verdicts]), ""]
    md += [
        "### By category",
        "",
        C.table(
            ["category", "files", "decoded (right picture)", "typed error", "failed", "hang", "crash"],
            [
                [c, r["files"], r["decoded"], r["typed"], r["failed"], r["hang"], r["crash"]]
                for c in hostile.CATEGORIES
                for r in [rows_by_cat.get(c)]
                if r
            ],
        ),
        "",
        "Typed errors by class: " + ", ".join(f"{k} {v}" for k, v in sorted(by_class.items())) + ".",
        "",
        "Files by seed kind: " + ", ".join(f"{k} {v}" for k, v in sorted(by_kind.items())) + ".",
        "",
        (
            f"Time per load: median {C.median(times) * 1000:.1f} ms, max {max_cpu:.2f} s CPU, {max_time:.2f} s wall. Decode "
            f"memory (peak RSS during the load minus RSS before it): median {_mib(int(C.median(mems))):.1f} MiB, max "
            f"{max_mem:.0f} MiB; workers' RSS before a load {_mib(min(baselines, default=0)):.0f}-"
            f"{_mib(max(baselines, default=0)):.0f} MiB."
        ),
        "",
        "Slowest (CPU): " + "; ".join(f"`{r.name}` {r.cpu_seconds:.2f} s" for r in slowest) + ".",
        "",
        "Most memory: " + "; ".join(f"`{r.name}` {_mib(r.hwm_delta_kib):.0f} MiB" for r in hungriest) + ".",
        "",
    ]
    if failures or hangs or crashes or noisy:
        md += ["### Problems", ""]
        md += [f"- `{c.name}` ({c.note}): {r.outcome}" for c, r in failures[:50]]
        md += [f"- `{r.name}`: hang ({r.outcome})" for r in hangs]
        md += [f"- `{r.name}`: crash ({r.outcome})" for r in crashes]
        md += [f"- `{r.name}`: printed {r.stderr[:100]!r}" for r in noisy[:20]]
        md += [""]
    if large:
        md += [
            "### Large legitimate photos (one fresh worker each)",
            "",
            C.table(
                ["file", "size", "bytes", "time (CPU)", "decode memory", "peak RSS", "outcome"],
                [
                    [
                        e["name"],
                        e["size"],
                        f"{e['bytes'] / 1e6:.1f} MB",
                        f"{r.seconds:.2f} s ({r.cpu_seconds:.2f} s)",
                        f"{_mib(r.hwm_delta_kib):.0f} MiB",
                        f"{_mib(r.hwm_kib):.0f} MiB",
                        r.outcome if r.status != "pass" else f"decoded ({r.notes})",
                    ]
                    for e, r in large
                ],
            ),
            "",
            (
                f"Pixel limit {imageio.DEFAULT_MAX_PIXELS:,}. Decode memory = peak RSS during the load minus RSS before "
                "it (the interpreter with numpy, OpenCV and Pillow loaded: the peak RSS column includes it)."
            ),
            "",
        ]
    md += ["### Verdicts", ""] + [f"- **{'PASS' if v else 'FAIL'}** {n}" for n, v, _ in verdicts]
    md += ["", f"{elapsed:.0f} s in all."]
    markdown = "\n".join(md)
    summary = {
        "files": len(cases),
        "crashes": len(crashes),
        "untyped": len(untyped),
        "hangs": len(hangs),
        "failures": len(failures),
        "ok_right": ok_right,
        "ok_cases": ok_cases,
        "printed": len(noisy),
        "max_s": max_time,
        "max_cpu_s": max_cpu,
        "median_s": C.median(times),
        "max_decode_mib": max_mem,
        "large_max_decode_mib": large_max_mem if large else None,
        "pass": passed,
    }
    data = {
        "benchmark": NAME,
        "machine": m,
        "cpu_busy_before": busy,
        "summary": summary,
        "by_category": rows_by_cat,
        "by_error_class": by_class,
        "by_kind": by_kind,
        "large": [
            {
                **{k: v for k, v in e.items() if k != "path"},
                "status": r.status,
                "outcome": r.outcome,
                "notes": r.notes,
                "seconds": r.seconds,
                "cpu_seconds": r.cpu_seconds,
                "decode_mib": _mib(r.hwm_delta_kib),
                "peak_rss_mib": _mib(r.hwm_kib),
            }
            for e, r in large
        ],
        "problems": [{"name": c.name, "note": c.note, "outcome": r.outcome} for c, r in failures]
        + [{"name": r.name, "outcome": r.outcome, "status": r.status} for r in hangs + crashes],
        "files_detail": [
            {
                "name": e["name"],
                "category": e["category"],
                "kind": e["kind"],
                "expect": e["expect"],
                "error": e["error"],
                "status": r.status,
                "outcome": r.outcome,
                "seconds": round(r.seconds, 4),
                "cpu_seconds": round(r.cpu_seconds, 4),
                "decode_kib": r.hwm_delta_kib,
            }
            for e, r in zip(manifest, results, strict=True)
        ],
    }
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    C.write_results(out_dir, NAME, markdown, data)
    return {"name": NAME, "markdown": markdown, "pass": passed, "summary": summary}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument(
        "--quick", action="store_true", help="no large cases and no large legitimate photos (about 1 minute)"
    )
    ap.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="folder for results.json/.md (default bench-output/hostile)"
    )
    ap.add_argument("--workers", type=int, default=WORKERS, help=f"worker processes (default {WORKERS})")
    ap.add_argument("--keep", action="store_true", help="keep the generated files in <out>/files")
    args = ap.parse_args(argv)
    print(f"# bench_{NAME}: {os.cpu_count()} cores, Python {sys.version.split()[0]}", flush=True)
    res = run(args.quick, args.out, args.keep, args.workers)
    print(res["markdown"])
    print(f"\nwrote {args.out / 'results.json'}")
    return 0 if res["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
