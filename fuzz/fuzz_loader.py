"""Coverage-guided fuzzing of ``headshot.imageio.load`` (issue 9): every exception that leaves the
loader must be a :class:`headshot.errors.HeadshotError`, and every photo it returns well-formed.

Run (one core, as long as you like)::

    python fuzz/fuzz_loader.py --seconds 300            # or: make fuzz FUZZ_SECONDS=300

Engines:

``atheris`` (default where it imports: CPython 3.11/3.12 on x86-64 Linux)
    libFuzzer through atheris, with the loader (``headshot``), Pillow's Python plugins and
    pillow-heif's Python layer instrumented for coverage (the C decoders are not: they would need
    a sanitizer build). libFuzzer flags: ``-max_total_time`` (``--seconds``), ``-timeout=5`` (a
    single input taking longer is a finding), ``-rss_limit_mb=1024``, ``-max_len=20000``,
    ``-dict=fuzz/loader.dict``; seeds from ``fuzz/seeds/``; the growing corpus in
    ``<out>/corpus``; findings as ``<out>/crashes/crash-*``, ``timeout-*``, ``oom-*``.
``hypothesis`` (the fallback, or ``--engine hypothesis``)
    Hypothesis draws a seed file and a list of byte mutations (bit flips, interesting bytes and
    32-bit values, inserted/deleted/duplicated ranges, dictionary tokens, truncation, splices of
    two seeds) until the time is up; no coverage feedback. An input taking more than 5 s ends
    the run (``faulthandler``) and is kept as ``<out>/crashes/timeout-*``; other findings are kept
    as ``crash-*`` and the run goes on.

Either way the fuzzing runs in a child process, on one core (one job, one worker, the decoders'
thread pools set to 1), and this script reports its executions, CPU time (from ``wait4``),
coverage (atheris) and findings, in ``<out>/summary.json`` and ``summary.md`` (default
``bench-output/fuzz/``). Exit status 1 when anything was found.

The target loads each input (and a PNG once more with its chunk CRCs recomputed, so that mutations
reach past the CRC check into Pillow, zlib and OpenCV) with ``max_pixels=4_000_000``: the
fuzzer's job is the error taxonomy;
the time and memory of big legitimate decodes are measured by ``benchmarks/bench_hostile.py``.
A finding is fixed in the loader and its input committed to ``tests/fuzz_regressions/``, which
``tests/test_fuzz_regressions.py`` replays in ``make test``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "fuzz" / "seeds"
DICT = REPO / "fuzz" / "loader.dict"
DEFAULT_OUT = REPO / "bench-output" / "fuzz"
#: The pixel limit the target loads with (see the module docstring).
FUZZ_MAX_PIXELS = 4_000_000
#: Longest input libFuzzer makes (the seeds are a few KB).
MAX_LEN = 20_000
#: Seconds one input may take before it counts as a hang.
TIMEOUT_S = 5
#: libFuzzer's RSS limit (MiB) for the whole fuzzing process.
RSS_LIMIT_MB = 1024


def _single_thread_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[var] = "1"
    return env


# ------------------------------------------------------------------------------------------
# The target (shared by both engines)
# ------------------------------------------------------------------------------------------


def _check_photo(photo: Any) -> None:
    """Raise AssertionError when a returned photo breaks the loader's contract."""
    import numpy as np

    px = photo.pixels
    assert px.dtype == np.float32 and px.ndim == 3 and px.shape[2] == 3, f"pixels {px.dtype} {px.shape}"
    assert px.shape[0] >= 1 and px.shape[1] >= 1, f"empty picture {px.shape}"
    assert px.shape[0] * px.shape[1] <= FUZZ_MAX_PIXELS, f"{px.shape} is over the pixel limit"
    assert px.flags.c_contiguous and not px.flags.writeable, "pixels not C-contiguous and read-only"
    assert bool(np.isfinite(px).all()), "non-finite pixels"
    assert float(px.min()) >= 0.0 and float(px.max()) <= 1.0, f"pixels outside [0, 1]: {px.min()}..{px.max()}"
    src = photo.source
    assert (src.height, src.width) == px.shape[:2], "source size disagrees with pixels"
    assert src.bit_depth in (8, 16) and 1 <= src.orientation <= 8, f"odd source info {src}"
    if photo.alpha is not None:
        a = photo.alpha
        assert a.dtype == np.float32 and a.shape == px.shape[:2] and not a.flags.writeable, "bad alpha array"
        assert bool(np.isfinite(a).all()) and float(a.min()) >= 0.0 and float(a.max()) <= 1.0, "alpha out of range"


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _with_png_crcs_fixed(data: bytes) -> bytes:
    """``data`` with the CRC of every whole PNG chunk recomputed.

    The loader refuses a PNG whose critical chunk fails its CRC, and almost every mutation of a
    PNG breaks one, so without this the fuzzer would rarely get past that check into Pillow, zlib
    and OpenCV.
    """
    out = bytearray(data)
    pos = 8
    while pos + 12 <= len(out):
        length = int.from_bytes(out[pos : pos + 4], "big")
        end = pos + 8 + length
        if end + 4 > len(out):
            break
        out[end : end + 4] = zlib.crc32(out[pos + 4 : end]).to_bytes(4, "big")
        pos = end + 4
    return bytes(out)


def _make_target() -> Any:
    from headshot import errors, imageio

    def load_and_check(data: bytes) -> None:
        try:
            photo = imageio.load(data, max_pixels=FUZZ_MAX_PIXELS)
        except errors.HeadshotError:
            return
        _check_photo(photo)

    def target(data: bytes) -> None:
        load_and_check(data)
        if data.startswith(_PNG_SIGNATURE):  # and once more with the chunk CRCs made right
            fixed = _with_png_crcs_fixed(data)
            if fixed != data:
                load_and_check(fixed)

    return target


def _set_threads() -> None:
    import cv2

    cv2.setNumThreads(1)
    try:
        import pillow_heif

        pillow_heif.options.DECODE_THREADS = 1
    except ImportError:  # pragma: no cover - a declared dependency
        pass


# ------------------------------------------------------------------------------------------
# atheris child
# ------------------------------------------------------------------------------------------


def _atheris_child(libfuzzer_args: list[str]) -> None:
    import atheris

    # Everything the loader runs in Python is imported here, inside the hook, so that it is
    # instrumented: Pillow imports its format plugins lazily, pillow-heif is imported by the loader
    # on the first HEIF file.
    with atheris.instrument_imports(include=["headshot", "PIL", "pillow_heif"]):
        import pillow_heif
        import pillow_heif.as_plugin
        from PIL import (
            ExifTags,
            Image,
            ImageCms,
            ImageFile,
            JpegImagePlugin,
            PngImagePlugin,
            TiffImagePlugin,
            WebPImagePlugin,
        )

        from headshot import errors, imageio  # noqa: F401

        _ = (
            pillow_heif,
            ExifTags,
            Image,
            ImageCms,
            ImageFile,
            JpegImagePlugin,
            PngImagePlugin,
            TiffImagePlugin,
            WebPImagePlugin,
        )
    _set_threads()
    target = _make_target()
    atheris.Setup([sys.argv[0], *libfuzzer_args], target)
    atheris.Fuzz()


# ------------------------------------------------------------------------------------------
# Hypothesis child
# ------------------------------------------------------------------------------------------

_INTERESTING_8 = (0x00, 0x01, 0x7F, 0x80, 0xFF)
_INTERESTING_32 = (0, 1, 0x7F, 0xFF, 0x100, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 65535, 100_000)


def _dictionary_tokens() -> list[bytes]:
    """The tokens of ``fuzz/loader.dict`` (libFuzzer's format: one ``"..."`` per line, ``\\xNN`` escapes)."""
    tokens = []
    for line in DICT.read_text(encoding="ascii").splitlines():
        m = re.match(r'^\s*(?:\w+\s*=\s*)?"(.*)"\s*$', line)
        if m:
            tokens.append(m.group(1).encode("latin-1").decode("unicode_escape").encode("latin-1"))
    return tokens


def _mutate(data: bytes, mutations: list[tuple[Any, ...]], seeds: list[bytes], tokens: list[bytes]) -> bytes:
    out = bytearray(data)
    for op, *args in mutations:
        n = len(out)
        if op == "truncate":
            del out[args[0] % (n + 1) :]
            continue
        if n == 0:
            continue
        pos = args[0] % n
        if op == "flip":
            out[pos] ^= 1 << args[1]
        elif op == "byte":
            out[pos] = args[1]
        elif op == "u32":
            value = args[1].to_bytes(4, "big" if args[2] else "little")
            out[pos : pos + 4] = value
        elif op == "insert":
            out[pos:pos] = args[1]
        elif op == "delete":
            del out[pos : pos + args[1]]
        elif op == "dup":
            src = args[1] % n
            out[pos:pos] = out[src : src + args[2]]
        elif op == "token":
            token = tokens[args[1] % len(tokens)] if tokens else b""
            if args[2]:
                out[pos:pos] = token
            else:
                out[pos : pos + len(token)] = token
        elif op == "splice":
            other = seeds[args[1] % len(seeds)]
            out = out[:pos] + other[args[2] % (len(other) + 1) :]
    return bytes(out[:MAX_LEN])


def _hypothesis_child(seconds: float, out: Path) -> None:
    import faulthandler

    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    _set_threads()
    target = _make_target()
    seeds = [p.read_bytes() for p in sorted(SEEDS.iterdir()) if p.is_file()]
    tokens = _dictionary_tokens()
    crashes = out / "crashes"
    crashes.mkdir(parents=True, exist_ok=True)
    current = out / "current-input"
    position = st.integers(0, 1 << 20)
    mutation = st.one_of(
        st.tuples(st.just("flip"), position, st.integers(0, 7)),
        st.tuples(st.just("byte"), position, st.sampled_from(_INTERESTING_8) | st.integers(0, 255)),
        st.tuples(st.just("u32"), position, st.sampled_from(_INTERESTING_32), st.booleans()),
        st.tuples(st.just("insert"), position, st.binary(min_size=1, max_size=64)),
        st.tuples(st.just("delete"), position, st.integers(1, 512)),
        st.tuples(st.just("dup"), position, position, st.integers(1, 512)),
        st.tuples(st.just("token"), position, st.integers(0, 10_000), st.booleans()),
        st.tuples(st.just("truncate"), position),
        st.tuples(st.just("splice"), position, st.integers(0, 10_000), position),
    )
    stats = {"executions": 0, "findings": 0}

    @settings(
        max_examples=500,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(seed=st.integers(0, len(seeds) - 1), mutations=st.lists(mutation, min_size=1, max_size=8))
    def one(seed: int, mutations: list[tuple[Any, ...]]) -> None:
        data = _mutate(seeds[seed], mutations, seeds, tokens)
        current.write_bytes(data)  # left behind if this input hangs (faulthandler ends the process)
        faulthandler.dump_traceback_later(TIMEOUT_S, exit=True)
        try:
            target(data)
        except Exception as exc:  # noqa: BLE001 - every escape is a finding, recorded and counted
            digest = hashlib.sha1(data).hexdigest()
            (crashes / f"crash-{digest}").write_bytes(data)
            (crashes / f"crash-{digest}.txt").write_text(f"{type(exc).__name__}: {exc}\n", encoding="utf-8")
            stats["findings"] += 1
        finally:
            faulthandler.cancel_dump_traceback_later()
        stats["executions"] += 1

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        one()
    current.unlink(missing_ok=True)
    print("HYPOTHESIS-STATS " + json.dumps(stats), flush=True)


# ------------------------------------------------------------------------------------------
# The driver
# ------------------------------------------------------------------------------------------


def _have_atheris() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


def _run_child(cmd: list[str], log_path: Path, echo: bool) -> tuple[int, float, float, str]:
    """Run the fuzzing child; tee its output to ``log_path``. Returns (status, CPU s, wall s, log)."""
    start = time.monotonic()
    lines: list[str] = []
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=_single_thread_env(),
            cwd=str(REPO),
            text=True,
            errors="replace",
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            lines.append(line)
            if echo and (
                " pulse " in line or "DONE" in line or "ERROR" in line or "crash" in line.lower() or "Test unit" in line
            ):
                print(line.rstrip(), flush=True)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return proc.returncode, cpu, time.monotonic() - start, "".join(lines)


def _parse_libfuzzer(log: str) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    for key in (
        "number_of_executed_units",
        "average_exec_per_sec",
        "new_units_added",
        "slowest_unit_time_sec",
        "peak_rss_mb",
    ):
        m = re.search(rf"stat::{key}:\s*(\d+)", log)
        if m:
            stats[key] = int(m.group(1))
    progress = re.findall(r"#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/(\S+)", log)
    if progress:
        last = progress[-1]
        stats["coverage_edges"] = int(last[1])
        stats["features"] = int(last[2])
        stats["corpus_units"] = int(last[3])
        stats["corpus_size"] = last[4]
    initial = re.search(r"INITED cov: (\d+) ft: (\d+)", log)
    if initial:
        stats["coverage_edges_at_start"] = int(initial.group(1))
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument("--seconds", type=float, default=300, help="how long to fuzz (default 300)")
    ap.add_argument("--engine", choices=("auto", "atheris", "hypothesis"), default="auto")
    ap.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="corpus, findings, log and summary (default bench-output/fuzz)"
    )
    ap.add_argument("--quiet", action="store_true", help="do not echo the fuzzer's progress lines")
    ap.add_argument("--child-atheris", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    ap.add_argument("--child-hypothesis", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child_atheris is not None:
        _atheris_child(args.child_atheris)
        return 0
    if args.child_hypothesis:
        _hypothesis_child(args.seconds, args.out)
        return 0

    engine = args.engine
    if engine == "auto":
        engine = "atheris" if _have_atheris() else "hypothesis"
    if engine == "atheris" and not _have_atheris():
        print("atheris is not importable here; use --engine hypothesis", file=sys.stderr)
        return 2
    out: Path = args.out.resolve()
    crashes = out / "crashes"
    corpus = out / "corpus"
    crashes.mkdir(parents=True, exist_ok=True)
    corpus.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in crashes.iterdir()}
    seconds = round(args.seconds)
    print(f"# fuzz_loader: engine {engine}, {seconds} s on one core, out {out}", flush=True)
    script = str(Path(__file__).resolve())
    if engine == "atheris":
        libfuzzer = [
            f"-max_total_time={seconds}",
            f"-timeout={TIMEOUT_S}",
            f"-rss_limit_mb={RSS_LIMIT_MB}",
            f"-max_len={MAX_LEN}",
            f"-dict={DICT}",
            f"-artifact_prefix={crashes}/",
            "-print_final_stats=1",
            str(corpus),
            str(SEEDS),
        ]
        cmd = [sys.executable, script, "--child-atheris", *libfuzzer]
    else:
        cmd = [sys.executable, script, "--child-hypothesis", "--seconds", str(seconds), "--out", str(out)]
    status, cpu, wall, log = _run_child(cmd, out / "fuzz.log", echo=not args.quiet)

    found = sorted(p.name for p in crashes.iterdir() if p.name not in before and not p.name.endswith(".txt"))
    if engine == "hypothesis":
        m = re.search(r"HYPOTHESIS-STATS (\{.*\})", log)
        stats: dict[str, Any] = json.loads(m.group(1)) if m else {}
        current = out / "current-input"
        if status != 0 and current.exists():  # a hang ended the child: keep the input
            data = current.read_bytes()
            name = f"timeout-{hashlib.sha1(data).hexdigest()}"
            (crashes / name).write_bytes(data)
            found.append(name)
        executions = stats.get("executions")
    else:
        stats = _parse_libfuzzer(log)
        executions = stats.get("number_of_executed_units")
    summary = {
        "engine": engine,
        "seconds_requested": seconds,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "executions": executions,
        "execs_per_cpu_s": round(executions / cpu, 1) if executions and cpu else None,
        "exit_status": status,
        "findings": found,
        "stats": stats,
        "command": " ".join(["python", "fuzz/fuzz_loader.py", "--seconds", str(seconds), "--engine", engine]),
        "max_pixels": FUZZ_MAX_PIXELS,
        "timeout_s": TIMEOUT_S,
        "rss_limit_mb": RSS_LIMIT_MB,
        "seeds": len([p for p in SEEDS.iterdir() if p.is_file()]),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    md = [
        "## Fuzzing the loader",
        "",
        f"Engine {engine}; {summary['seeds']} seeds; {wall:.0f} s wall, {cpu:.0f} s CPU (one core); "
        f"{executions if executions is not None else '?'} executions"
        + (f" ({summary['execs_per_cpu_s']}/CPU-s)" if summary["execs_per_cpu_s"] else "")
        + (
            f"; coverage {stats.get('coverage_edges')} edges, {stats.get('features')} features, corpus {stats.get('corpus_units')} inputs"
            if engine == "atheris"
            else ""
        )
        + f"; findings: {len(found)}.",
    ]
    md += [f"- `{crashes / f}`" for f in found]
    (out / "summary.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    print("\n".join(md))
    # A run that ended early without a finding (e.g. a crash of the fuzzer itself) is a failure too.
    ended_badly = status != 0 and not found
    if ended_badly:
        print(f"the fuzzer exited with status {status}; see {out / 'fuzz.log'}", file=sys.stderr)
    return 1 if found or ended_badly else 0


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    sys.exit(main())
