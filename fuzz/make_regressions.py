"""Write the synthetic members of ``tests/fuzz_regressions/``: small versions of the hostile
files that made the loader hang or misbehave before it was fixed (issue 9). Large floods are
stored gzip-compressed (``.gz``; the replay test decompresses them). Inputs found by the fuzzer are
copied there by hand, with their entry in ``regressions.json``.

Run: ``python fuzz/make_regressions.py`` (deterministic; it rewrites only the files it makes).
"""

from __future__ import annotations

import gzip
import json
import struct
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "src")]

import numpy as np
from PIL import Image

from tests.hostile import _encode, _png16_with_filter_byte, _scan_bomb, astro, png_chunk

FOLDER = REPO / "tests" / "fuzz_regressions"
MANIFEST = FOLDER / "regressions.json"


def _files() -> dict[str, tuple[bytes, dict[str, str]]]:
    jpeg = _encode(Image.fromarray(astro(32, 40)), "JPEG", quality=85)
    png = _encode(Image.fromarray(astro(32, 40)), "PNG")
    app0_end = 4 + struct.unpack(">H", jpeg[4:6])[0]
    corrupt = {"expect": "error", "error": "CorruptImageError", "found_by": "hostile set"}
    rows = (np.arange(8 * 16 * 3, dtype=np.uint32) * 97 % 65536).astype(np.uint16).reshape(8, 16, 3)
    return {
        "jpeg-100-extra-scans.jpg": (
            _scan_bomb(512, 512, 100),
            dict(
                corrupt,
                problem="libjpeg visits every block once per scan: 5,000 tiny scans took 2.4 s at 4 MP "
                "(2048x2048); a tiny scan costs about 40 ms at 48 MP",
                fix="more than 32 scans are refused (imageio._check_jpeg_scans)",
            ),
        ),
        "jpeg-20000-app-segments.jpg.gz": (
            jpeg[:app0_end] + b"\xff\xe5\x00\x02" * 20_000 + jpeg[app0_end:],
            dict(
                corrupt,
                problem="Pillow reads header segments one by one in Python: a million empty segments "
                "(4 MB) took 1.4 s, and a file may be 64 MiB",
                fix="more than 10,000 segments before the first scan are refused (imageio._jpeg_size)",
            ),
        ),
        "jpeg-100KiB-fill-bytes.jpg.gz": (
            jpeg[:app0_end] + b"\xff" * 100_000 + jpeg[app0_end:],
            dict(
                corrupt,
                problem="Pillow skips 0xFF fill one byte at a time in Python, and so did the loader's own "
                "header walk: 4 MB took 1.8 s, and a file may be 64 MiB",
                fix="more than 64 KiB of fill/junk bytes before the first scan is "
                "refused; the walk skips runs with bytes.find and a regular expression",
            ),
        ),
        "jpeg-100KiB-junk.jpg.gz": (
            jpeg[:app0_end] + b"\x00\x11" * 50_000 + jpeg[app0_end:],
            dict(corrupt, problem="as the fill bytes, for junk between segments", fix="as for fill bytes"),
        ),
        "png-100001-chunks.png.gz": (
            png[:33] + png_chunk(b"zzZz", b"") * 100_001 + png[33:],
            dict(
                corrupt,
                problem="Pillow handles each chunk in Python and the loader listed them all: a million empty "
                "chunks (12 MB) took 3.8 s, and a file may be 64 MiB",
                fix="more than 100,000 chunks are refused (imageio._png_chunks)",
            ),
        ),
        "png16-bad-filter-type.png": (
            _png16_with_filter_byte(rows, 7),
            {
                "expect": "error",
                "error": "",
                "found_by": "review of the 16-bit path",
                "problem": "a valid zlib stream with an invalid row filter type: once the 16-bit path stopped decoding "
                "with Pillow first, libpng (inside OpenCV) would print 'bad adaptive filter value' to stderr",
                "fix": "filter types are checked on the stream before OpenCV sees it (imageio._png_stream_complete)",
            },
        ),
    }


def main() -> int:
    FOLDER.mkdir(parents=True, exist_ok=True)
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8")) if MANIFEST.exists() else {}
    for name, (data, entry) in _files().items():
        path = FOLDER / name
        if name.endswith(".gz"):
            path.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
        else:
            path.write_bytes(data)
        manifest[name] = entry
        print(f"{name}: {path.stat().st_size} bytes ({len(data)} uncompressed)")
    MANIFEST.write_text(json.dumps(dict(sorted(manifest.items())), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
