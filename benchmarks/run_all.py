"""Run every benchmark, print its table, and exit non-zero if any target is missed.

Each benchmark also writes ``bench-output/<name>.{md,json}``; this script adds
``bench-output/summary.md`` (all tables together). ``make bench`` calls it.

Run: ``python benchmarks/run_all.py [framing identity speed light matte retouch web hostile]``
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

C.quiet_native_logs()

BENCHMARKS = ("framing", "identity", "speed", "light", "matte", "retouch", "web", "team", "provenance", "hostile")


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    sections: list[str] = []
    verdicts: dict[str, str] = {}
    for name in names:
        t = time.perf_counter()
        try:
            mod = __import__(f"bench_{name}")
            res = mod.run()
            md, ok = res["markdown"], res["pass"]
            verdicts[name] = "pass" if ok else "FAIL (target missed)"
        except Exception:  # noqa: BLE001 - report the crash, still run the others
            md = f"## {name}\n\n```\n{traceback.format_exc()}```"
            verdicts[name] = "ERROR (crashed)"
        sections.append(md)
        print(md, flush=True)
        print(f"\n[{name}: {verdicts[name]}, {time.perf_counter() - t:.0f} s]\n", flush=True)
    m = C.machine()
    head = [
        "# Benchmark summary",
        "",
        f"{m['cpu_count']} cores (affinity {m['sched_affinity']}), Python {m['python']}, {m['system']} {m['machine']}.",
        "",
        C.table(["benchmark", "verdict"], [[n, v] for n, v in verdicts.items()]),
    ]
    C.OUT_DIR.mkdir(parents=True, exist_ok=True)
    (C.OUT_DIR / "summary.md").write_text("\n".join(head) + "\n\n" + "\n\n".join(sections) + "\n", encoding="utf-8")
    print("\n".join(head))
    return 0 if all(v == "pass" for v in verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
