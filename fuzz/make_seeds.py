"""Write the fuzzer's seed corpus, ``fuzz/seeds/``: small valid files of every kind the loader
accepts (a few KB each), made from synthetic pictures and scikit-image's astronaut with the same
builders as the hostile set (``tests/hostile.py``). Deterministic: run it again after changing it
and commit the result.

Run: ``python fuzz/make_seeds.py``
"""

from __future__ import annotations

import shutil
import struct
import sys
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "src")]

import cv2
import numpy as np
from PIL import Image

from tests.badinput import (
    cmyk_swap_profile,
    rgb_matrix_profile,
    stored_for_orientation,
    write_png16,
)
from tests.hostile import (
    _encode,
    _exif,
    _heif,
    astro,
    png_chunk,
    png_write,
    srgb_profile,
    synthetic,
)

SEEDS = REPO / "fuzz" / "seeds"


def seeds() -> dict[str, bytes]:
    """File name -> content."""
    import pillow_heif

    a = astro(32, 40)
    s = synthetic(24, 16, 3)
    grey = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY)
    alpha = np.tile(np.linspace(0, 255, a.shape[1]).astype(np.uint8), (a.shape[0], 1))
    rgba = np.dstack([a, alpha])
    out: dict[str, bytes] = {}
    im = Image.fromarray(a)
    out["baseline.jpg"] = _encode(im, "JPEG", quality=85, subsampling=0)
    out["420.jpg"] = _encode(Image.fromarray(s), "JPEG", quality=80, subsampling=2)
    out["progressive.jpg"] = _encode(im, "JPEG", quality=80, progressive=True)
    out["restart.jpg"] = _encode(Image.fromarray(s), "JPEG", quality=80, restart_marker_blocks=1)
    out["grey.jpg"] = _encode(Image.fromarray(grey), "JPEG", quality=80)
    out["cmyk-adobe.jpg"] = _encode(Image.fromarray(s).convert("CMYK"), "JPEG", quality=80)
    out["cmyk-profile.jpg"] = _encode(
        Image.fromarray(s).convert("CMYK"), "JPEG", quality=80, icc_profile=cmyk_swap_profile(3)
    )
    out["icc-rgb.jpg"] = _encode(Image.fromarray(s), "JPEG", quality=80, icc_profile=rgb_matrix_profile())
    stored = stored_for_orientation(Image.fromarray(s), 6)
    out["exif-orientation6.jpg"] = _encode(stored, "JPEG", quality=80, exif=_exif(6))
    out["rgb.png"] = _encode(Image.fromarray(s), "PNG")
    out["grey.png"] = _encode(Image.fromarray(grey[:16, :16]), "PNG")
    out["grey-alpha.png"] = png_write(np.dstack([grey[:16, :16], alpha[:16, :16]]), 4)
    out["rgba.png"] = _encode(Image.fromarray(rgba[:16, :16]), "PNG")
    pal = Image.fromarray(s).quantize(8)
    out["palette.png"] = _encode(pal, "PNG", bits=4)
    out["palette-trns.png"] = _encode(pal, "PNG", transparency=0)
    out["bilevel.png"] = _encode(Image.fromarray(grey).convert("1"), "PNG")
    out["interlaced.png"] = png_write(s[:12, :12], 2, interlaced=True)
    ramp = (np.arange(12 * 16, dtype=np.uint32) * 331 % 65536).astype(np.uint16).reshape(12, 16)
    rgb16 = np.dstack([ramp, ramp[::-1], 65535 - ramp])
    out["rgb16.png"] = cv2.imencode(".png", rgb16[..., ::-1])[1].tobytes()
    out["rgba16.png"] = cv2.imencode(".png", np.dstack([rgb16[..., ::-1], ramp]))[1].tobytes()
    out["grey16.png"] = _encode(Image.fromarray(ramp), "PNG")
    out["rgb16-interlaced.png"] = write_png16(rgb16[:8, :8], interlaced=True)
    frames = [Image.fromarray(s[:8, :8]), Image.fromarray(255 - s[:8, :8])]
    out["apng.png"] = _encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=50)
    exif6 = png_chunk(b"eXIf", _exif(6)[6:])
    out["exif-orientation6.png"] = png_write(s[:8, :12], 2, before_idat=[exif6])
    out["icc-srgb.png"] = _encode(Image.fromarray(s[:8, :8]), "PNG", icc_profile=srgb_profile())
    out["icc-rgb.png"] = _encode(Image.fromarray(s[:8, :8]), "PNG", icc_profile=rgb_matrix_profile())
    text = [
        png_chunk(b"tEXt", b"k\0v"),
        png_chunk(b"zTXt", b"k\0\0" + zlib.compress(b"v" * 50)),
        png_chunk(b"gAMA", struct.pack(">I", 45455)),
    ]
    out["text.png"] = png_write(s[:8, :8], 2, before_idat=text, idat_size=40)
    out["lossy.webp"] = _encode(im, "WEBP", quality=70)
    out["lossless.webp"] = _encode(Image.fromarray(s), "WEBP", lossless=True)
    out["alpha.webp"] = _encode(Image.fromarray(rgba), "WEBP", quality=70)
    out["lossless-alpha.webp"] = _encode(Image.fromarray(rgba[:16, :16]), "WEBP", lossless=True)
    out["animated.webp"] = _encode(
        frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True, duration=50
    )
    out["exif.webp"] = _encode(Image.fromarray(s), "WEBP", lossless=True, exif=_exif(3))
    out["icc.webp"] = _encode(Image.fromarray(s[:8, :8]), "WEBP", lossless=True, icc_profile=rgb_matrix_profile())
    out["photo.heic"] = _heif(Image.fromarray(s), quality=50)
    out["alpha.heic"] = _heif(Image.fromarray(rgba[:16, :16]), quality=50)
    deep = pillow_heif.from_bytes(mode="RGB;16", size=(16, 12), data=(s[:12, :16].astype(np.uint16) * 257).tobytes())
    out["10bit.heic"] = _heif(deep, quality=50)
    return out


def main() -> int:
    if SEEDS.exists():
        shutil.rmtree(SEEDS)
    SEEDS.mkdir(parents=True)
    total = 0
    for name, data in seeds().items():
        (SEEDS / name).write_bytes(data)
        total += len(data)
    largest = max((p.stat().st_size, p.name) for p in SEEDS.iterdir())
    print(f"wrote {len(list(SEEDS.iterdir()))} seeds, {total / 1024:.0f} KiB, largest {largest[1]} {largest[0]} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
