"""Hostile photo files for ``headshot.imageio.load``, generated deterministically (issue 9).

:func:`generate` builds a list of :class:`Case` objects: valid seed files of every accepted kind
(JPEG baseline/progressive/restart/grey/CMYK with and without a profile, odd ICC and EXIF, PNG
8/16-bit, grey, palette, alpha, interlaced, APNG, WebP lossy/lossless/alpha/animated, HEIF 8/10-bit
and with alpha) and, made from them, truncations at many offsets, bit flips, byte-range overwrites,
insertions, deletions and splices, header edits (PNG IHDR with its CRC fixed, JPEG SOF, WebP
VP8/VP8L/VP8X, HEIF ``ispe``), dimension and decompression bombs, chunk/segment/scan floods, other
formats under a photo's name, polyglots and odd paths. Everything comes from synthetic pictures and
scikit-image's ``astronaut`` (public domain), so no file from outside the repository is needed.
The same ``seed`` and library versions give the same bytes.

Each case says what ``load`` must do with it (:attr:`Case.expect`):

``"ok"``
    decode, and match :attr:`Case.reference` (see below);
``"error"``
    raise a :class:`headshot.errors.HeadshotError` subclass; exactly :attr:`Case.error` when that is
    set (the class is certain), any subclass when it is ``None``;
``"either"``
    raise a ``HeadshotError`` subclass, or give a well-formed photo (float32 (H, W, 3), finite, in
    [0, 1], C-contiguous, read-only, alpha of the same H x W) that, when the case has a reference,
    also matches it. Truncations carry the intact file's reference: a truncated file either fails
    or gives the whole, right picture, never a silently damaged one.

Comparisons (:func:`compare`) are made in sRGB codes with the exact sRGB transfer function. The
tolerance is the mean absolute difference over the picture, in 8-bit codes; 0 means bit-exact (every
code equal, at 16 bits for 16-bit references). The tolerances (``TOLERANCE``) are about twice what
the codecs give on these small, detailed seed pictures: lossless PNG/WebP 0; JPEG quality 92-95
4:4:4 6, quality 85-90 4:2:0 10; lossy WebP 8 (13 for noisy animation frames); HEIF 6; CMYK through
Pillow's naive conversion 3; colour through an ICC profile 1 (lossless carrier) or 5 (JPEG). An
orientation, channel-order or colour-space mistake costs 20 or more (measured on the seeds). Where
a reference has transparency, colour is compared only where the reference is not fully
transparent (lossy and lossless WebP may change the colour of invisible pixels), and alpha is
compared with its own tolerance (0: exact).

:func:`write_cases` puts the cases in a folder with a ``manifest.json`` and the references as
``.npz`` files, for :mod:`tests.isolated` (worker processes with a time limit) and
``benchmarks/bench_hostile.py``. :func:`judge` says whether an outcome meets a case's expectation.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import pathlib
import struct
import time
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, cast

import cv2
import numpy as np
from PIL import Image, ImageCms
from skimage import data as skdata

from tests.badinput import (
    ADOBE_LIKE_GAMMA,
    ADOBE_LIKE_PRIMARIES,
    SRGB_D50,
    cmyk_swap_profile,
    orientation_test_image,
    rgb_matrix_profile,
    stored_for_orientation,
    write_png16,
)

__all__ = [
    "CATEGORIES",
    "TOLERANCE",
    "Case",
    "Reference",
    "cases_from_file",
    "compare",
    "generate",
    "judge",
    "load_manifest",
    "photo_problems",
    "read_reference",
    "summarize",
    "write_cases",
]

Expect = Literal["ok", "error", "either"]

#: Mean absolute difference (8-bit sRGB codes) allowed between a decode and what was encoded.
TOLERANCE: Final[dict[str, float]] = {
    "lossless": 0.0,
    "jpeg-444": 6.0,  # quality 92-95, 4:4:4 (measured 0.1-2.9 on the seeds)
    "jpeg-420": 10.0,  # quality 85-90, 4:2:0 (measured 3.9-4.8)
    "webp-lossy": 8.0,  # quality 90 (measured 3.6-3.7)
    "webp-lossy-noisy": 13.0,  # quality 90 animation frames of a noisy synthetic picture (measured 6.5)
    "heif": 6.0,  # quality 90, 8 and 10 bits (measured 0.1-2.7)
    "cmyk": 3.0,  # Pillow's naive CMYK round trip at quality 95 (measured 1.3)
    "icc-lossless": 1.0,  # littleCMS vs the exact matrix/gamma formula (measured 0.02)
    "icc-jpeg": 5.0,  # the same through a quality-95 JPEG (measured 1.5-2.3)
    "alpha-lossy": 1.0,  # WebP/HEIF alpha planes (measured 0.001)
}

#: The case categories, in report order.
CATEGORIES: Final[tuple[str, ...]] = (
    "valid",
    "truncation",
    "bitflip",
    "overwrite",
    "header",
    "bomb",
    "flood",
    "wrong-format",
    "polyglot",
    "path",
    "limits",
    "large",
)


# ------------------------------------------------------------------------------------------
# Cases
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Reference:
    """What a right decode of a case gives.

    Attributes
    ----------
    shape : tuple of int
        (H, W) after orientation.
    rgb : numpy.ndarray or None
        uint8 or uint16 (H, W, 3) sRGB codes, upright; None when only the shape (and ``fill``) is known.
    fill : tuple of int or None
        8-bit sRGB codes of a picture of one colour (used instead of ``rgb`` for huge pictures).
    alpha : numpy.ndarray or None
        uint8 or uint16 (H, W) expected coverage; None: the photo must have no alpha (opaque).
    tolerance : float
        Largest mean |decoded - rgb| in 8-bit codes; 0 = bit-exact.
    alpha_tolerance : float
        The same for alpha (in 8-bit units).
    """

    shape: tuple[int, int]
    rgb: np.ndarray | None = None
    fill: tuple[int, int, int] | None = None
    alpha: np.ndarray | None = None
    tolerance: float = 0.0
    alpha_tolerance: float = 0.0


@dataclass(frozen=True, eq=False)
class Case:
    """One hostile (or odd but valid) input and what ``load`` must do with it.

    Attributes
    ----------
    name : str
        Unique file name; its extension may lie on purpose.
    category : str
        One of :data:`CATEGORIES`.
    kind : str
        What it was made from, e.g. ``"jpeg-cmyk"``, ``"png-16"``, ``"webp-animated"``.
    data : bytes
        The file's content (empty for ``special`` paths).
    expect : {"ok", "error", "either"}
        See the module docstring.
    error : str or None
        The exact :mod:`headshot.errors` class name when ``expect == "error"`` and it is certain.
    reference : Reference or None
        The right picture, for ``"ok"`` (required) and ``"either"`` (optional).
    special : str or None
        A path that is not a plain file: ``"dir"``, ``"fifo"``, ``"dangling"``, ``"loop"``,
        ``"devzero"`` or ``"symlink"`` (to the file holding ``data``).
    kwargs : dict
        Extra keyword arguments for ``load`` (smaller limits).
    risky : bool
        Would hang or use much memory if the loader regressed: tests run it in a worker process
        with a time limit.
    heavy : bool
        A legitimate decode near the pixel limit (most of the memory budget, seconds of CPU): the
        benchmark runs these one at a time, so that two of them do not slow each other down.
    note : str
        What was done, for reports.
    """

    name: str
    category: str
    kind: str
    data: bytes
    expect: Expect
    error: str | None = None
    reference: Reference | None = None
    special: str | None = None
    kwargs: dict[str, int] = field(default_factory=dict)
    risky: bool = False
    heavy: bool = False
    note: str = ""

    def __post_init__(self) -> None:
        if "/" in self.name or "\0" in self.name or self.name.startswith("."):
            raise ValueError(f"{self.name!r} is not a plain file name")
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown category {self.category!r}")
        if self.expect == "ok" and self.reference is None:
            raise ValueError(f"{self.name}: an 'ok' case needs a reference")
        if self.error is not None and self.expect != "error":
            raise ValueError(f"{self.name}: an exact error class only goes with expect='error'")


@dataclass(frozen=True, eq=False)
class _Seed:
    """A valid file the families mutate."""

    name: str
    ext: str
    kind: str
    data: bytes
    reference: Reference
    mutate: bool = True


# ------------------------------------------------------------------------------------------
# Pictures
# ------------------------------------------------------------------------------------------


def astro(width: int, height: int) -> np.ndarray:
    """A portrait crop of scikit-image's astronaut resized to width x height, uint8 (H, W, 3)."""
    img = skdata.astronaut()[0:480, 60:420]
    return np.ascontiguousarray(cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA))


def synthetic(width: int, height: int, seed: int) -> np.ndarray:
    """Gradients, a few flat rectangles and mild noise, uint8 (H, W, 3), from ``seed``."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    img = np.stack([x / max(width - 1, 1), y / max(height - 1, 1), 0.5 + 0.5 * np.sin(x / 7 + y / 11)], -1) * 255
    for _ in range(4):
        x0, y0 = rng.integers(0, width // 2), rng.integers(0, height // 2)
        img[y0 : y0 + height // 3, x0 : x0 + width // 3] = rng.integers(0, 256, 3)
    img += rng.normal(0, 3, img.shape)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def _grey3(grey: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))


def _icc_expected(codes: np.ndarray) -> np.ndarray:
    """8-bit sRGB codes that a conversion from the Adobe-like test profile to sRGB gives."""
    c = codes.astype(np.float64) / 255
    xyz = (c**ADOBE_LIKE_GAMMA) @ ADOBE_LIKE_PRIMARIES.T
    lin = np.clip(xyz @ np.linalg.inv(SRGB_D50).T, 0, 1)
    return np.round(_oetf(lin) * 255).astype(np.uint8)


# ------------------------------------------------------------------------------------------
# Format helpers (hand-written: the point is to make files no encoder would write)
# ------------------------------------------------------------------------------------------


def png_chunk(ctype: bytes, payload: bytes) -> bytes:
    """One PNG chunk with a right CRC."""
    return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(">I", zlib.crc32(ctype + payload))


def png_chunk_spans(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, start of the length field, end after the CRC) of each whole chunk of a PNG."""
    out, pos = [], 8
    while pos + 12 <= len(data):
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if end > len(data):
            break
        out.append((ctype, pos, end))
        pos = end
        if ctype == b"IEND":
            break
    return out


def png_replace_ihdr(png: bytes, **fields: int) -> bytes:
    """The PNG with IHDR fields rewritten (width, height, depth, colour, compression, filter,
    interlace) and the CRC fixed, so only the new values are wrong."""
    names = ("width", "height", "depth", "colour", "compression", "filter", "interlace")
    values = dict(zip(names, struct.unpack(">IIBBBBB", png[16:29]), strict=True))
    values.update(fields)
    ihdr = struct.pack(">IIBBBBB", *(values[n] for n in names))
    return png[:8] + png_chunk(b"IHDR", ihdr) + png[33:]


def png_write(
    samples: np.ndarray,
    colour_type: int,
    *,
    depth: int = 8,
    interlaced: bool = False,
    before_idat: Sequence[bytes] = (),
    after_idat: Sequence[bytes] = (),
    idat_size: int | None = None,
) -> bytes:
    """A PNG of ``samples`` (H, W, C) uint8/uint16 written by hand with filter 0 (any colour type,
    depth 8 or 16, Adam7 if asked), with extra chunks and IDAT split in ``idat_size`` pieces."""
    h, w = samples.shape[:2]
    arr = samples.reshape(h, w, -1).astype(">u2" if depth == 16 else np.uint8)
    passes = _adam7_passes() if interlaced else ((0, 0, 1, 1),)
    raw = bytearray()
    for x0, y0, dx, dy in passes:
        sub = arr[y0::dy, x0::dx]
        if sub.size:
            for row in sub:
                raw += b"\0" + row.tobytes()
    stream = zlib.compress(bytes(raw), 9)
    size = idat_size or max(len(stream), 1)
    idats = b"".join(png_chunk(b"IDAT", stream[i : i + size]) for i in range(0, max(len(stream), 1), size))
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour_type, 0, 0, 1 if interlaced else 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + b"".join(before_idat)
        + idats
        + b"".join(after_idat)
        + png_chunk(b"IEND", b"")
    )


def _adam7_passes() -> tuple[tuple[int, int, int, int], ...]:
    """The seven Adam7 passes as (x0, y0, dx, dy)."""
    return ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of each JPEG segment after SOI; an SOS segment includes its entropy-coded
    data (which ends at the first 0xFF not followed by 0x00 or RSTn). Stops at EOI or damage."""
    out: list[tuple[int, int, int]] = []
    i, n = 2, len(data)
    while i + 4 <= n and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xD9:
            out.append((marker, i, i + 2))
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out.append((marker, i, i + 2))
            i += 2
            continue
        end = i + 2 + struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker == 0xDA:
            k = end
            while True:
                k = data.find(b"\xff", k)
                if k < 0 or k + 1 >= n:
                    k = n
                    break
                if data[k + 1] == 0 or 0xD0 <= data[k + 1] <= 0xD7:
                    k += 2
                    continue
                break
            end = k
        out.append((marker, i, min(end, n)))
        i = end
    return out


def jpeg_sof(data: bytes) -> int:
    """Offset of the first SOFn marker (0xFF byte) of a JPEG."""
    for marker, start, _ in jpeg_segments(data):
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC9, 0xCA, 0xCB):
            return start
    raise ValueError("no SOF")


def jpeg_with_segment(jpeg: bytes, marker: int, payload: bytes) -> bytes:
    """The JPEG with one more segment right after SOI."""
    return jpeg[:2] + bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def riff_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """(fourcc, start of the header, end after padding) of each top-level chunk of a RIFF WebP."""
    out, pos = [], 12
    while pos + 8 <= len(data):
        fourcc, size = struct.unpack("<4sI", data[pos : pos + 8])
        end = pos + 8 + size + (size & 1)
        out.append((fourcc, pos, min(end, len(data))))
        pos = end
    return out


def srgb_profile() -> bytes:
    """littleCMS's sRGB profile with its creation date fixed (littleCMS writes "now" there)."""
    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    icc[24:36] = struct.pack(">6H", 2000, 1, 1, 0, 0, 0)
    return bytes(icc)


def _zip(files: dict[str, bytes]) -> bytes:
    """A ZIP archive with fixed timestamps (``writestr`` with a name stamps "now")."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, content in files.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0)), content)
    return buf.getvalue()


def _encode(img: Image.Image, fmt: str, **params: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


def _heif(img: Image.Image | Any, **params: Any) -> bytes:
    import pillow_heif  # a project dependency; imported here so importing this module stays cheap

    heif = img if not isinstance(img, Image.Image) else pillow_heif.from_pillow(img)
    buf = io.BytesIO()
    heif.save(buf, **params)
    return buf.getvalue()


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def _flat_png(width: int, height: int, colour: tuple[int, ...], *, depth: int = 8) -> bytes:
    """A PNG of one colour of any size, streamed (first row raw, then 'Up' rows of zeros), so a
    48-megapixel file is made without holding its pixels."""
    channels = len(colour)
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    sample = np.array(colour, ">u2" if depth == 16 else np.uint8)
    first = b"\0" + np.tile(sample, width).tobytes()
    rest = b"\x02" + b"\0" * (len(first) - 1)
    comp = zlib.compressobj(9)
    parts = [comp.compress(first)]
    for _ in range(height - 1):
        parts.append(comp.compress(rest))
    parts.append(comp.flush())
    stream = b"".join(parts)
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    idats = b"".join(png_chunk(b"IDAT", stream[i : i + (1 << 20)]) for i in range(0, len(stream), 1 << 20))
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + idats + png_chunk(b"IEND", b"")


# ------------------------------------------------------------------------------------------
# Seeds: valid files of every kind, each with its reference
# ------------------------------------------------------------------------------------------


def _ref(rgb: np.ndarray, tol: float = 0.0, alpha: np.ndarray | None = None, alpha_tol: float = 0.0) -> Reference:
    return Reference(shape=(rgb.shape[0], rgb.shape[1]), rgb=rgb, alpha=alpha, tolerance=tol, alpha_tolerance=alpha_tol)


def _seeds() -> list[_Seed]:
    import pillow_heif

    seeds: list[_Seed] = []

    def add(name: str, ext: str, kind: str, data: bytes, ref: Reference, mutate: bool = True) -> None:
        seeds.append(_Seed(name, ext, kind, data, ref, mutate))

    t = TOLERANCE
    a96 = astro(96, 128)
    a128 = astro(128, 96)
    s120 = synthetic(120, 80, 1)
    s64 = synthetic(64, 48, 2)
    up = orientation_test_image()

    # --- JPEG ---------------------------------------------------------------------------------
    add(
        "jpeg-q92-444",
        "jpg",
        "jpeg",
        _encode(Image.fromarray(a96), "JPEG", quality=92, subsampling=0),
        _ref(a96, t["jpeg-444"]),
    )
    add(
        "jpeg-q85-420",
        "jpg",
        "jpeg",
        _encode(Image.fromarray(s120), "JPEG", quality=85, subsampling=2),
        _ref(s120, t["jpeg-420"]),
    )
    add(
        "jpeg-progressive",
        "jpg",
        "jpeg-progressive",
        _encode(Image.fromarray(a128), "JPEG", quality=90, progressive=True, subsampling=2),
        _ref(a128, t["jpeg-420"]),
    )
    add(
        "jpeg-restart",
        "jpg",
        "jpeg",
        _encode(Image.fromarray(s64), "JPEG", quality=92, subsampling=0, restart_marker_blocks=2),
        _ref(s64, t["jpeg-444"]),
    )
    a72 = astro(72, 96)
    add(
        "jpeg-optimized",
        "jpeg",
        "jpeg",
        _encode(Image.fromarray(a72), "JPEG", quality=92, subsampling=0, optimize=True),
        _ref(a72, t["jpeg-444"]),
    )
    grey = cv2.cvtColor(astro(80, 64), cv2.COLOR_RGB2GRAY)
    add(
        "jpeg-grey",
        "jpg",
        "jpeg-grey",
        _encode(Image.fromarray(grey), "JPEG", quality=92),
        _ref(_grey3(grey), t["jpeg-444"]),
    )
    a64 = astro(64, 80)
    cmyk = Image.fromarray(a64).convert("CMYK")
    add("jpeg-cmyk-adobe", "jpg", "jpeg-cmyk", _encode(cmyk, "JPEG", quality=95), _ref(a64, t["cmyk"]))
    add(
        "jpeg-cmyk-profile",
        "jpg",
        "jpeg-cmyk",
        _encode(cmyk, "JPEG", quality=95, icc_profile=cmyk_swap_profile()),
        _ref(np.ascontiguousarray(a64[..., ::-1]), t["icc-jpeg"]),
    )
    add(
        "jpeg-cmyk-bad-profile",
        "jpg",
        "jpeg-cmyk",
        _encode(cmyk, "JPEG", quality=95, icc_profile=b"\0not a profile" * 30),
        _ref(a64, t["cmyk"]),
    )
    a60 = astro(60, 60)
    jpeg_adobe = _encode(Image.fromarray(a60), "JPEG", quality=95, subsampling=0, icc_profile=rgb_matrix_profile())
    add("jpeg-icc-adobe-like", "jpg", "jpeg-icc", jpeg_adobe, _ref(_icc_expected(a60), t["icc-jpeg"]))
    add(
        "jpeg-icc-broken",
        "jpg",
        "jpeg-icc",
        _encode(Image.fromarray(a60), "JPEG", quality=95, subsampling=0, icc_profile=b"garbage " * 40),
        _ref(a60, t["jpeg-444"]),
    )
    add(
        "jpeg-icc-truncated",
        "jpg",
        "jpeg-icc",
        _encode(Image.fromarray(a60), "JPEG", quality=95, subsampling=0, icc_profile=rgb_matrix_profile()[:300]),
        _ref(a60, t["jpeg-444"]),
    )
    add(
        "jpeg-icc-cmyk-on-rgb",
        "jpg",
        "jpeg-icc",
        _encode(Image.fromarray(a60), "JPEG", quality=95, subsampling=0, icc_profile=cmyk_swap_profile(3)),
        _ref(a60, t["jpeg-444"]),
    )
    for o in range(1, 9):
        stored = stored_for_orientation(Image.fromarray(up), o)
        data = _encode(stored, "JPEG", quality=95, subsampling=0, exif=_exif(o))
        add(f"jpeg-exif-orientation{o}", "jpg", "jpeg-exif", data, _ref(up, t["jpeg-444"]), mutate=o in (1, 6))
    for bad in (0, 9, 65535):
        data = _encode(Image.fromarray(up), "JPEG", quality=95, subsampling=0, exif=_exif(bad))
        add(f"jpeg-exif-orientation-invalid{bad}", "jpg", "jpeg-exif", data, _ref(up, t["jpeg-444"]), mutate=False)
    damaged_exif = b"Exif\0\0MM\0*\0\0\0\x08\xff\xff" + b"\x01" * 40
    add(
        "jpeg-exif-damaged",
        "jpg",
        "jpeg-exif",
        _encode(Image.fromarray(a60), "JPEG", quality=95, subsampling=0, exif=damaged_exif),
        _ref(a60, t["jpeg-444"]),
    )

    # --- PNG ----------------------------------------------------------------------------------
    a_png = astro(96, 72)
    add("png-rgb", "png", "png", _encode(Image.fromarray(a_png), "PNG"), _ref(a_png))
    g = cv2.cvtColor(a_png, cv2.COLOR_RGB2GRAY)
    add("png-grey", "png", "png-grey", _encode(Image.fromarray(g), "PNG"), _ref(_grey3(g)))
    ramp8 = np.tile(np.linspace(0, 255, 96).astype(np.uint8), (72, 1))
    add("png-grey-alpha", "png", "png-alpha", png_write(np.dstack([g, ramp8]), 4), _ref(_grey3(g), alpha=ramp8))
    alpha = ramp8.copy()
    alpha[:, :10] = 0
    add(
        "png-rgba",
        "png",
        "png-alpha",
        _encode(Image.fromarray(np.dstack([a_png, alpha])), "PNG"),
        _ref(a_png, alpha=alpha),
    )
    pal = Image.fromarray(a_png).quantize(64)
    add("png-palette", "png", "png-palette", _encode(pal, "PNG"), _ref(np.asarray(pal.convert("RGB"))))
    pal16 = Image.fromarray(a_png).quantize(16)
    add("png-palette-4bit", "png", "png-palette", _encode(pal16, "PNG", bits=4), _ref(np.asarray(pal16.convert("RGB"))))
    idx = np.asarray(pal16)
    transparent_index = int(idx[0, 0])
    trns_alpha = np.where(idx == transparent_index, 0, 255).astype(np.uint8)
    add(
        "png-palette-trns",
        "png",
        "png-palette",
        _encode(pal16, "PNG", transparency=transparent_index),
        _ref(np.asarray(pal16.convert("RGB")), alpha=trns_alpha),
    )
    bilevel = Image.fromarray(g).convert("1")
    add("png-bilevel", "png", "png-palette", _encode(bilevel, "PNG"), _ref(_grey3(np.asarray(bilevel.convert("L")))))
    add("png-interlaced", "png", "png-interlaced", png_write(s64, 2, interlaced=True), _ref(s64))
    ramp = (np.arange(48 * 64, dtype=np.uint32) * 37 % 65536).astype(np.uint16).reshape(48, 64)
    rgb16 = np.dstack([ramp, ramp[::-1], 65535 - ramp])
    add("png-rgb16", "png", "png-16", cv2.imencode(".png", rgb16[..., ::-1])[1].tobytes(), _ref(rgb16))
    alpha16 = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (48, 1))
    add(
        "png-rgba16",
        "png",
        "png-16",
        cv2.imencode(".png", np.dstack([rgb16[..., ::-1], alpha16]))[1].tobytes(),
        _ref(rgb16, alpha=alpha16),
    )
    add("png-grey16", "png", "png-16", _encode(Image.fromarray(ramp), "PNG"), _ref(_grey3(ramp)))
    add("png-rgb16-interlaced", "png", "png-16", write_png16(rgb16, interlaced=True), _ref(rgb16))
    frames = [Image.fromarray(s64), Image.fromarray(255 - s64), Image.fromarray(s64[::-1].copy())]
    add(
        "png-apng",
        "png",
        "png-animated",
        _encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100, loop=0),
        _ref(s64),
    )
    stored6 = np.asarray(stored_for_orientation(Image.fromarray(up), 6))
    exif_chunk = png_chunk(b"eXIf", _exif(6)[6:])
    add("png-exif-orientation6", "png", "png-exif", png_write(stored6, 2, before_idat=[exif_chunk]), _ref(up))
    srgb_icc = srgb_profile()
    add("png-icc-srgb", "png", "png-icc", _encode(Image.fromarray(a60), "PNG", icc_profile=srgb_icc), _ref(a60))
    add(
        "png-icc-adobe-like",
        "png",
        "png-icc",
        _encode(Image.fromarray(a60), "PNG", icc_profile=rgb_matrix_profile()),
        _ref(_icc_expected(a60), t["icc-lossless"]),
    )
    text_chunks = [
        png_chunk(b"tEXt", b"Comment\0hello"),
        png_chunk(b"zTXt", b"Title\0\0" + zlib.compress(b"x" * 1000)),
        png_chunk(b"iTXt", b"Author\0\0\0\0\0" + "\u00e9t\u00e9".encode()),
        png_chunk(b"gAMA", struct.pack(">I", 100000)),
        png_chunk(b"cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000)),
        png_chunk(b"prVt", b"\0" * 50),
    ]
    add(
        "png-ancillary",
        "png",
        "png",
        png_write(s64, 2, before_idat=text_chunks[:4], after_idat=text_chunks[4:]),
        _ref(s64),
    )
    add("png-idat-split", "png", "png", png_write(s64, 2, idat_size=97), _ref(s64))

    # --- WebP ---------------------------------------------------------------------------------
    add(
        "webp-lossy",
        "webp",
        "webp-lossy",
        _encode(Image.fromarray(a_png), "WEBP", quality=90),
        _ref(a_png, t["webp-lossy"]),
    )
    add("webp-lossless", "webp", "webp-lossless", _encode(Image.fromarray(s64), "WEBP", lossless=True), _ref(s64))
    rgba = np.dstack([a_png, alpha])
    add(
        "webp-lossless-alpha",
        "webp",
        "webp-alpha",
        _encode(Image.fromarray(rgba), "WEBP", lossless=True),
        _ref(a_png, alpha=alpha),
    )
    add(
        "webp-lossy-alpha",
        "webp",
        "webp-alpha",
        _encode(Image.fromarray(rgba), "WEBP", quality=90),
        _ref(a_png, t["webp-lossy"], alpha=alpha, alpha_tol=t["alpha-lossy"]),
    )
    add(
        "webp-animated",
        "webp",
        "webp-animated",
        _encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True, duration=100),
        _ref(s64),
    )
    add(
        "webp-animated-lossy",
        "webp",
        "webp-animated",
        _encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], quality=90, duration=100),
        _ref(s64, t["webp-lossy-noisy"]),
    )
    add(
        "webp-exif-orientation6",
        "webp",
        "webp-exif",
        _encode(Image.fromarray(stored6), "WEBP", lossless=True, exif=_exif(6)),
        _ref(up),
    )
    add(
        "webp-icc-adobe-like",
        "webp",
        "webp-icc",
        _encode(Image.fromarray(a60), "WEBP", lossless=True, icc_profile=rgb_matrix_profile()),
        _ref(_icc_expected(a60), t["icc-lossless"]),
    )

    # --- HEIF (pillow-heif's x265 encoder) ------------------------------------------------------
    a80 = astro(80, 64)
    add("heif", "heic", "heif", _heif(Image.fromarray(a80), quality=90), _ref(a80, t["heif"]))
    rgba80 = np.dstack([a80, np.tile(np.linspace(0, 255, 80).astype(np.uint8), (64, 1))])
    add(
        "heif-alpha",
        "heic",
        "heif",
        _heif(Image.fromarray(rgba80), quality=90),
        _ref(a80, t["heif"], alpha=np.ascontiguousarray(rgba80[..., 3]), alpha_tol=t["alpha-lossy"]),
        mutate=False,
    )
    deep = pillow_heif.from_bytes(mode="RGB;16", size=(80, 64), data=(a80.astype(np.uint16) * 257).tobytes())
    add("heif-10bit", "heic", "heif", _heif(deep, quality=90), _ref(a80, t["heif"]))
    heif6 = pillow_heif.from_pillow(Image.fromarray(stored6))
    heif6.info["exif"] = _exif(6)
    add("heif-orientation6", "heif", "heif", _heif(heif6, quality=92), _ref(up, t["heif"]), mutate=False)
    return seeds


# ------------------------------------------------------------------------------------------
# Families
# ------------------------------------------------------------------------------------------


def _rng(seed: int, *names: str) -> np.random.Generator:
    return np.random.default_rng([seed, *(zlib.crc32(n.encode()) for n in names)])


def _count(base: int, scale: float) -> int:
    return max(1, round(base * scale))


def _structure_offsets(seed: _Seed) -> list[int]:
    """Byte offsets where the file's structure changes (segment/chunk/box starts)."""
    d = seed.data
    if seed.ext in ("jpg", "jpeg"):
        offs = [s for _, s, _ in jpeg_segments(d)]
    elif seed.ext == "png":
        offs = [s for _, s, _ in png_chunk_spans(d)] + [s + 8 for _, s, _ in png_chunk_spans(d)]
    elif seed.ext == "webp":
        offs = [s for _, s, _ in riff_chunks(d)] + [s + 8 for _, s, _ in riff_chunks(d)]
    else:
        offs = [
            i - 4
            for i in _find_all(d, (b"ftyp", b"meta", b"iinf", b"iloc", b"iprp", b"ipco", b"mdat", b"ispe", b"hvcC"))
        ]
    return sorted({o for o in offs if 0 < o < len(d)})


def _find_all(data: bytes, needles: Iterable[bytes]) -> list[int]:
    out = []
    for needle in needles:
        at = data.find(needle)
        while at >= 0:
            out.append(at)
            at = data.find(needle, at + 1)
    return out


def _truncations(seed: _Seed, n: int, rng: np.random.Generator) -> list[int]:
    """Up to ``n`` cut points: the last bytes, the first bytes, structure boundaries (+-1), even
    fractions of the file and random offsets, in that priority, deduplicated."""
    size = len(seed.data)
    tail = [size - k for k in (1, 2, 3, 4, 8, 12, 13, 16)]
    head = [1, 2, 3, 4, 8, 12, 16, 24, 30, 33, 64, 128]
    structure = [o + d for o in _structure_offsets(seed) for d in (0, 1, -1)]
    fractions = [size * k // 20 for k in range(1, 20)]
    randoms = sorted(int(x) for x in rng.integers(1, size, 40))
    ordered: list[int] = []
    pools = [tail, head, structure, fractions, randoms]
    # Round-robin over the pools so a small n still gets some of each.
    while any(pools) and len(ordered) < n:
        for pool in pools:
            while pool:
                cut = pool.pop(0)
                if 0 < cut < size and cut not in ordered:
                    ordered.append(cut)
                    break
            if len(ordered) >= n:
                break
    return sorted(ordered)


def _bitflip(data: bytes, rng: np.random.Generator, head_only: bool) -> tuple[bytes, str]:
    out = bytearray(data)
    flips = int(rng.integers(1, 9))
    limit = max(16, len(out) // 10) if head_only else len(out)
    positions = rng.integers(0, min(limit, len(out)), flips)
    for pos in positions:
        out[int(pos)] ^= 1 << int(rng.integers(0, 8))
    return bytes(out), f"{flips} bit flip(s) in the {'first tenth' if head_only else 'whole file'}"


def _overwrite(data: bytes, rng: np.random.Generator, mode: int, other: bytes) -> tuple[bytes, str]:
    size = len(data)
    start = int(rng.integers(0, size))
    length = int(rng.integers(1, 65))
    end = min(size, start + length)
    if mode == 0:
        return data[:start] + b"\0" * (end - start) + data[end:], f"zeros over {start}..{end}"
    if mode == 1:
        return data[:start] + b"\xff" * (end - start) + data[end:], f"0xFF over {start}..{end}"
    if mode == 2:
        return data[:start] + rng.bytes(end - start) + data[end:], f"random bytes over {start}..{end}"
    if mode == 3:
        return data[:start] + rng.bytes(length) + data[start:], f"{length} random bytes inserted at {start}"
    if mode == 4:
        return data[:start] + data[end:], f"bytes {start}..{end} deleted"
    if mode == 5:
        src = int(rng.integers(0, size))
        return data[:start] + data[src : src + length] + data[
            start:
        ], f"{length} bytes from {src} duplicated at {start}"
    cut_a, cut_b = int(rng.integers(1, size)), int(rng.integers(1, len(other)))
    return data[:cut_a] + other[cut_b:], f"spliced with another file at {cut_a}/{cut_b}"


_OVERWRITE_MODES = 7


def _mutation_families(seeds: list[_Seed], scale: float, seed: int) -> Iterator[Case]:
    by_ext: dict[str, list[_Seed]] = {}
    for s in seeds:
        by_ext.setdefault(s.ext, []).append(s)
    for s in seeds:
        if not s.mutate:
            continue
        rng = _rng(seed, "truncation", s.name)
        for cut in _truncations(s, _count(24, scale), rng):
            yield Case(
                f"trunc-{s.name}-{cut}.{s.ext}",
                "truncation",
                s.kind,
                s.data[:cut],
                "either",
                reference=s.reference,
                note=f"{s.name} cut to {cut} of {len(s.data)} bytes",
            )
        rng = _rng(seed, "bitflip", s.name)
        for k in range(_count(12, scale)):
            data, note = _bitflip(s.data, rng, head_only=k % 2 == 0)
            yield Case(f"flip-{s.name}-{k}.{s.ext}", "bitflip", s.kind, data, "either", note=f"{s.name}: {note}")
        rng = _rng(seed, "overwrite", s.name)
        partners = [p for p in by_ext[s.ext] if p is not s] or [s]
        for k in range(_count(10, scale)):
            other = partners[int(rng.integers(0, len(partners)))].data
            data, note = _overwrite(s.data, rng, (k + zlib.crc32(s.name.encode())) % _OVERWRITE_MODES, other)
            yield Case(f"over-{s.name}-{k}.{s.ext}", "overwrite", s.kind, data, "either", note=f"{s.name}: {note}")


def _seed_by_name(seeds: list[_Seed], name: str) -> _Seed:
    for s in seeds:
        if s.name == name:
            return s
    raise KeyError(name)


def _header_edits(seeds: list[_Seed]) -> Iterator[Case]:
    png = _seed_by_name(seeds, "png-rgb")
    w, h = struct.unpack(">II", png.data[16:24])

    def hdr(
        name: str, kind: str, data: bytes, expect: str, error: str | None = None, note: str = "", ext: str = "png"
    ) -> Case:
        return Case(
            f"header-{name}.{ext}", "header", kind, data, cast(Expect, expect), error=error, note=note, risky=True
        )

    # PNG IHDR, CRC fixed so that only the value is wrong.
    for label, fields, expect, error in (
        ("png-width0", {"width": 0}, "error", None),
        ("png-height0", {"height": 0}, "error", None),
        ("png-width1", {"width": 1}, "either", None),
        ("png-width+1", {"width": w + 1}, "either", None),
        ("png-height+1", {"height": h + 1}, "either", None),
        ("png-width-double", {"width": w * 2}, "either", None),
        ("png-height-half", {"height": h // 2}, "either", None),
        ("png-100k-square", {"width": 100_000, "height": 100_000}, "error", "ImageTooLargeError"),
        ("png-2pow31", {"width": 2**31, "height": 2**31}, "error", "ImageTooLargeError"),
        ("png-max-u32", {"width": 2**32 - 1, "height": 2**32 - 1}, "error", "ImageTooLargeError"),
        ("png-1x100M", {"width": 1, "height": 100_000_000}, "error", "ImageTooLargeError"),
        ("png-wide-strip", {"width": 4_000_000, "height": 1}, "either", None),
        ("png-depth16", {"depth": 16}, "either", None),
        ("png-depth3", {"depth": 3}, "error", None),
        ("png-depth32", {"depth": 32}, "error", None),
        ("png-colour1", {"colour": 1}, "error", None),
        ("png-colour5", {"colour": 5}, "error", None),
        ("png-colour6", {"colour": 6}, "either", None),
        ("png-colour3-no-plte", {"colour": 3}, "either", None),
        ("png-compression1", {"compression": 1}, "either", None),
        ("png-filter1", {"filter": 1}, "either", None),
        ("png-interlace1", {"interlace": 1}, "either", None),
        ("png-interlace2", {"interlace": 2}, "either", None),
    ):
        yield hdr(label, "png", png_replace_ihdr(png.data, **fields), expect, error, f"IHDR {fields}")
    unfixed = bytearray(png.data)
    unfixed[16:20] = struct.pack(">I", w + 1)
    yield hdr(
        "png-width+1-crc-kept", "png", bytes(unfixed), "error", "CorruptImageError", "IHDR changed, CRC not fixed"
    )
    spans = png_chunk_spans(png.data)
    no_iend = b"".join(png.data[s:e] for t, s, e in spans if t != b"IEND")
    yield hdr("png-no-iend", "png", b"\x89PNG\r\n\x1a\n" + no_iend[8:], "error", "CorruptImageError", "IEND removed")
    no_idat = png.data[:8] + b"".join(png.data[s:e] for t, s, e in spans if t != b"IDAT")
    yield hdr("png-no-idat", "png", no_idat, "error", None, "IDAT removed")
    two_ihdr = png.data[:33] + png.data[8:33] + png.data[33:]
    yield hdr("png-two-ihdr", "png", two_ihdr, "either", None, "IHDR twice")
    ascii_mangled = b"\x89PNG\n\x1a\n" + png.data[8:]
    yield hdr(
        "png-ftp-ascii-signature",
        "png",
        ascii_mangled,
        "error",
        "UnsupportedFormatError",
        "CRLF in signature became LF",
    )
    pal = _seed_by_name(seeds, "png-palette")
    pspans = png_chunk_spans(pal.data)
    no_plte = pal.data[:8] + b"".join(pal.data[s:e] for t, s, e in pspans if t != b"PLTE")
    yield hdr("png-palette-no-plte", "png-palette", no_plte, "either", None, "PLTE removed")
    big_plte = pal.data[:33] + png_chunk(b"PLTE", bytes(range(256)) * 3 + b"\0" * 300) + pal.data[33:]
    yield hdr("png-palette-two-plte", "png-palette", big_plte, "either", None, "a second, oversized PLTE")
    long_trns = pal.data[:-12] + png_chunk(b"tRNS", b"\0" * 300) + pal.data[-12:]
    yield hdr(
        "png-palette-long-trns-after-idat",
        "png-palette",
        long_trns,
        "either",
        None,
        "tRNS longer than PLTE, after IDAT",
    )
    p16 = _seed_by_name(seeds, "png-rgb16")
    for label, fields in (
        ("png16-depth8", {"depth": 8}),
        ("png16-width+1", {"width": 65}),
        ("png16-colour6", {"colour": 6}),
    ):
        yield hdr(label, "png-16", png_replace_ihdr(p16.data, **fields), "either", None, f"IHDR {fields}")
    yield hdr(
        "png16-100k-square",
        "png-16",
        png_replace_ihdr(p16.data, width=100_000, height=100_000),
        "error",
        "ImageTooLargeError",
        "IHDR 100000x100000",
    )
    rows = (np.arange(48 * 64 * 3, dtype=np.uint32) % 65536).astype(np.uint16).reshape(48, 64, 3)
    bad_filter = _png16_with_filter_byte(rows, 7)
    yield hdr("png16-bad-filter-type", "png-16", bad_filter, "error", None, "filter type 7 in a valid zlib stream")

    # JPEG SOF
    for base in ("jpeg-q92-444", "jpeg-progressive"):
        j = _seed_by_name(seeds, base)
        sof = jpeg_sof(j.data)
        jh, jw = struct.unpack(">HH", j.data[sof + 5 : sof + 9])

        def sof_edit(data: bytes, offset: int, fmt: str, *values: int) -> bytes:
            out = bytearray(data)
            struct.pack_into(fmt, out, offset, *values)
            return bytes(out)

        for label, offset, fmt, values, expect, error in (
            ("width0", sof + 7, ">H", (0,), "error", None),
            ("height0", sof + 5, ">H", (0,), "either", None),
            ("65535-square", sof + 5, ">HH", (65535, 65535), "error", "ImageTooLargeError"),
            ("width65535", sof + 7, ">H", (65535,), "either", None),
            ("height+8", sof + 5, ">H", (jh + 8,), "either", None),
            ("width-double", sof + 7, ">H", (jw * 2,), "either", None),
            ("height-half", sof + 5, ">H", (jh // 2,), "either", None),
            ("precision12", sof + 4, ">B", (12,), "either", None),
            ("precision16", sof + 4, ">B", (16,), "either", None),
            ("components0", sof + 9, ">B", (0,), "error", None),
            ("components1", sof + 9, ">B", (1,), "either", None),
            ("components4", sof + 9, ">B", (4,), "either", None),
            ("sampling0", sof + 11, ">B", (0,), "either", None),
            ("sampling5x5", sof + 11, ">B", (0x55,), "either", None),
            ("quant-table3", sof + 12, ">B", (3,), "either", None),
            ("marker-sof15", sof + 1, ">B", (0xCF,), "either", None),
        ):
            data = sof_edit(j.data, offset, fmt, *values)
            yield hdr(f"{base}-sof-{label}", j.kind, data, expect, error, f"SOF {label}", ext="jpg")
        segs = jpeg_segments(j.data)
        for drop, label in ((0xDB, "no-dqt"), (0xC4, "no-dht")):
            kept = j.data[:2] + b"".join(j.data[s:e] for m, s, e in segs if m != drop)
            yield hdr(f"{base}-{label}", j.kind, kept, "either", None, f"{label}", ext="jpg")
        sos = next(s for m, s, _ in segs if m == 0xDA)
        bad_sos = bytearray(j.data)
        bad_sos[sos + 5] = 0x09  # component selector that names no component
        yield hdr(
            f"{base}-sos-bad-component", j.kind, bytes(bad_sos), "either", None, "SOS names no component", ext="jpg"
        )
        yield hdr(
            f"{base}-soi-eoi", j.kind, b"\xff\xd8\xff\xd9", "error", "CorruptImageError", "SOI EOI only", ext="jpg"
        )
        app0_len0 = bytearray(j.data)
        app0_len0[4:6] = b"\x00\x01"
        yield hdr(f"{base}-app0-length1", j.kind, bytes(app0_len0), "either", None, "APP0 length 1", ext="jpg")
        dri = j.data[:2] + b"\xff\xdd\x00\x04\x00\x00" + j.data[2:]
        yield hdr(f"{base}-dri0", j.kind, dri, "either", None, "DRI 0", ext="jpg")
        dri_big = j.data[:2] + b"\xff\xdd\x00\x04\xff\xff" + j.data[2:]
        yield hdr(f"{base}-dri65535", j.kind, dri_big, "either", None, "DRI 65535", ext="jpg")
    cm = _seed_by_name(seeds, "jpeg-cmyk-adobe")
    at = cm.data.find(b"Adobe")
    for transform in (0, 1, 2, 255):
        edited = bytearray(cm.data)
        edited[at + 11] = transform
        yield hdr(
            f"jpeg-cmyk-adobe-transform{transform}",
            "jpeg-cmyk",
            bytes(edited),
            "either",
            None,
            "APP14 transform",
            ext="jpg",
        )
    ex = _seed_by_name(seeds, "jpeg-exif-orientation6")
    ex_at = ex.data.find(b"\x01\x12\x00\x03")  # the orientation entry (big-endian TIFF from Pillow)
    if ex_at > 0:
        for value in (0, 9, 255):
            edited = bytearray(ex.data)
            struct.pack_into(">H", edited, ex_at + 8, value)
            stored = np.asarray(stored_for_orientation(Image.fromarray(orientation_test_image()), 6))
            ref = Reference(shape=(stored.shape[0], stored.shape[1]), rgb=stored, tolerance=TOLERANCE["jpeg-444"])
            yield Case(
                f"header-jpeg-exif-orientation-set-{value}.jpg",
                "header",
                "jpeg-exif",
                bytes(edited),
                "ok",
                reference=ref,
                note="EXIF orientation rewritten to an invalid value: ignored",
            )
        edited = bytearray(ex.data)
        struct.pack_into(">I", edited, ex_at + 4, 0x7FFFFFFF)  # count
        yield hdr(
            "jpeg-exif-orientation-count-huge", "jpeg-exif", bytes(edited), "either", None, "EXIF count", ext="jpg"
        )

    # WebP
    for base in ("webp-lossy", "webp-lossless", "webp-lossless-alpha", "webp-animated"):
        wb = _seed_by_name(seeds, base)
        d = wb.data
        for label, data, expect, error in _webp_edits(d):
            yield hdr(f"{base}-{label}", wb.kind, data, expect, error, label, ext="webp")

    # HEIF ispe
    he = _seed_by_name(seeds, "heif")
    at = he.data.find(b"ispe")
    for label, values, expect, error in (
        ("ispe-100k-square", (100_000, 100_000), "error", None),
        ("ispe-zero", (0, 0), "error", None),
        ("ispe-plus8", (88, 72), "either", None),
        ("ispe-max", (2**32 - 1, 2**32 - 1), "error", None),
    ):
        edited = bytearray(he.data)
        struct.pack_into(">II", edited, at + 8, *values)
        yield hdr(f"heif-{label}", "heif", bytes(edited), expect, error, f"ispe {values}", ext="heic")
    for label, brand, error in (("ftyp-avif", b"avif", "UnsupportedFormatError"), ("ftyp-mp42", b"mp42", None)):
        edited = bytearray(he.data)
        edited[8:12] = brand
        yield hdr(
            f"heif-{label}",
            "heif",
            bytes(edited),
            "error" if error else "either",
            error,
            f"major brand {brand!r}",
            ext="heic",
        )
    only_iso = bytearray(he.data)
    size = struct.unpack(">I", only_iso[:4])[0]
    for i in range(8, size, 4):
        if i != 12:
            only_iso[i : i + 4] = b"isom"
    yield hdr(
        "heif-ftyp-isom-only",
        "heif",
        bytes(only_iso),
        "error",
        "UnsupportedFormatError",
        "brands: isom only",
        ext="heic",
    )
    hv = he.data.find(b"hvcC")
    edited = bytearray(he.data)
    edited[hv + 4 : hv + 24] = b"\xff" * 20
    yield hdr("heif-hvcc-garbage", "heif", bytes(edited), "either", None, "hvcC overwritten", ext="heic")


def _png16_with_filter_byte(rows: np.ndarray, filter_byte: int) -> bytes:
    """A 16-bit RGB PNG whose zlib stream is valid and the right length, but whose second row has
    an invalid filter type: only the unfiltering step can notice."""
    h, w, _ = rows.shape
    raw = bytearray()
    for y, row in enumerate(rows.astype(">u2")):
        raw += bytes([filter_byte if y == 1 else 0]) + row.tobytes()
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(bytes(raw)))
        + png_chunk(b"IEND", b"")
    )


def _webp_edits(d: bytes) -> Iterator[tuple[str, bytes, Expect, str | None]]:
    def at(offset: int, fmt: str, *values: int) -> bytes:
        out = bytearray(d)
        struct.pack_into(fmt, out, offset, *values)
        return bytes(out)

    yield "riff-size0", at(4, "<I", 0), "either", None
    yield "riff-size-huge", at(4, "<I", 0xFFFFFFF0), "either", None
    yield "riff-size-odd", at(4, "<I", len(d) - 7), "either", None
    chunks = riff_chunks(d)
    first, start, _ = chunks[0]
    yield "first-chunk-size-huge", at(start + 4, "<I", 0x7FFFFFF0), "either", None
    yield "first-chunk-fourcc-vp9", d[:start] + b"VP9 " + d[start + 4 :], "error", None
    if first == b"VP8X":
        canvas = (0xFFFFFF).to_bytes(3, "little") * 2  # width - 1 and height - 1, 24 bits each
        yield "vp8x-canvas-16M-square", d[: start + 12] + canvas + d[start + 18 :], "error", "ImageTooLargeError"
        yield "vp8x-canvas-1x1", d[: start + 12] + b"\0\0\0\0\0\0" + d[start + 18 :], "either", None
        yield "vp8x-flags-all", at(start + 8, "<B", 0xFF), "either", None
    elif first == b"VP8 ":
        yield "vp8-16383-square", at(start + 14, "<HH", 0x3FFF, 0x3FFF), "error", "ImageTooLargeError"
        yield "vp8-zero", at(start + 14, "<HH", 0, 0), "error", None
        yield "vp8-scale-bits", at(start + 14, "<HH", 0xC000 | 64, 0xC000 | 48), "either", None
        yield (
            "vp8-width+1",
            at(start + 14, "<H", (struct.unpack("<H", d[start + 14 : start + 16])[0] & 0x3FFF) + 1),
            "either",
            None,
        )
    elif first == b"VP8L":
        bits = struct.unpack("<I", d[start + 9 : start + 13])[0]
        huge = (bits & ~0x0FFFFFFF) | 0x3FFF | (0x3FFF << 14)
        yield "vp8l-16384-square", at(start + 9, "<I", huge), "error", "ImageTooLargeError"
        yield "vp8l-1x1", at(start + 9, "<I", bits & ~0x0FFFFFFF), "either", None
        yield "vp8l-version7", at(start + 9, "<I", bits | (7 << 29)), "either", None
        yield "vp8l-signature", at(start + 8, "<B", 0x2E), "either", None
    for fourcc, s, _ in chunks:
        if fourcc == b"ANMF":
            # ANMF payload: X, Y offsets, width - 1, height - 1 (24 bits each), duration, flags
            yield "anmf-huge-frame", d[: s + 14] + b"\xff" * 6 + d[s + 20 :], "either", None
            yield "anmf-offset-outside", d[: s + 8] + b"\xff\xff\x7f" * 2 + d[s + 14 :], "either", None
            break


def _flood_and_bombs(seeds: list[_Seed], large: bool) -> Iterator[Case]:
    """Dimension bombs, decompression bombs and floods of chunks, segments and scans."""
    png = _seed_by_name(seeds, "png-rgb")
    jpeg = _seed_by_name(seeds, "jpeg-q92-444")

    def bomb(
        name: str,
        kind: str,
        data: bytes,
        expect: str,
        error: str | None,
        note: str,
        ref: Reference | None = None,
        category: str = "bomb",
    ) -> Case:
        return Case(name, category, kind, data, cast(Expect, expect), error=error, reference=ref, note=note, risky=True)

    tiny_idat = png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
    iend = png_chunk(b"IEND", b"")
    for w, h in ((100_000, 100_000), (65_536, 65_536), (20_000, 20_000)):
        ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
        yield bomb(
            f"bomb-png-claims-{w}x{h}.png",
            "png",
            b"\x89PNG\r\n\x1a\n" + ihdr + tiny_idat + iend,
            "error",
            "ImageTooLargeError",
            f"{len(tiny_idat)} bytes of data claiming {w}x{h}",
        )
    sof = jpeg_sof(jpeg.data)
    j = bytearray(jpeg.data)
    struct.pack_into(">HH", j, sof + 5, 65_000, 65_000)
    yield bomb(
        "bomb-jpeg-claims-65000x65000.jpg", "jpeg", bytes(j), "error", "ImageTooLargeError", "SOF claims 65000x65000"
    )
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\0\0\0\0" + (99_999).to_bytes(3, "little") * 2
    yield bomb(
        "bomb-webp-claims-100000x100000.webp",
        "webp",
        b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x,
        "error",
        "ImageTooLargeError",
        "VP8X canvas 100000x100000 and nothing else",
    )
    he = _seed_by_name(seeds, "heif")
    at = he.data.find(b"ispe")
    hb = bytearray(he.data)
    struct.pack_into(">II", hb, at + 8, 60_000, 60_000)
    yield bomb("bomb-heif-claims-60000x60000.heic", "heif", bytes(hb), "error", None, "ispe claims 60000x60000")

    # Decompression bombs: a small zlib stream that inflates to far more than the header needs.
    big_zero = zlib.compress(b"\0" * (256 << 20), 9)  # 256 MiB of zeros -> about 256 KB
    ihdr64 = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0))
    yield bomb(
        "bomb-png-idat-inflates-256MiB.png",
        "png",
        b"\x89PNG\r\n\x1a\n" + ihdr64 + png_chunk(b"IDAT", big_zero) + iend,
        "either",
        None,
        "64x64 header, IDAT inflating to 256 MiB",
    )
    ihdr64_16 = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 16, 2, 0, 0, 0))
    yield bomb(
        "bomb-png16-idat-inflates-256MiB.png",
        "png-16",
        b"\x89PNG\r\n\x1a\n" + ihdr64_16 + png_chunk(b"IDAT", big_zero) + iend,
        "either",
        None,
        "16-bit 64x64 header, IDAT inflating to 256 MiB",
    )
    meg = zlib.compress(b"A" * (64 << 20), 9)
    for ctype, payload, label in (
        (b"zTXt", b"Comment\0\0" + meg, "ztxt"),
        (b"iTXt", b"Comment\0\x01\0\0\0" + meg, "itxt"),
        (b"iCCP", b"icc\0\0" + meg, "iccp"),
    ):
        yield bomb(
            f"bomb-png-{label}-inflates-64MiB.png",
            "png",
            png.data[:33] + png_chunk(ctype, payload) + png.data[33:],
            "either",
            None,
            f"{label} chunk inflating to 64 MiB",
            ref=png.reference,
        )
    many_ztxt = b"".join(png_chunk(b"zTXt", b"k%d\0\0" % i + zlib.compress(b"B" * (1 << 20), 9)) for i in range(80))
    yield bomb(
        "bomb-png-80-ztxt-1MiB-each.png",
        "png",
        png.data[:33] + many_ztxt + png.data[33:],
        "either",
        None,
        "80 zTXt chunks of 1 MiB each",
        ref=png.reference,
    )
    actl = png_chunk(b"acTL", struct.pack(">II", 2**31 - 1, 0))
    apng = _seed_by_name(seeds, "png-apng")
    spans = png_chunk_spans(apng.data)
    actl_at = next(s for t, s, _ in spans if t == b"acTL")
    actl_end = next(e for t, _, e in spans if t == b"acTL")
    yield bomb(
        "bomb-apng-claims-2pow31-frames.png",
        "png-animated",
        apng.data[:actl_at] + actl + apng.data[actl_end:],
        "either",
        None,
        "acTL claims 2^31-1 frames",
        ref=apng.reference,
    )
    fctl_at = next(s for t, s, _ in spans if t == b"fcTL")
    fctl = bytearray(apng.data[fctl_at + 8 : fctl_at + 8 + 26])
    struct.pack_into(">II", fctl, 4, 50_000, 50_000)
    yield bomb(
        "bomb-apng-frame-50000-square.png",
        "png-animated",
        apng.data[:fctl_at] + png_chunk(b"fcTL", bytes(fctl)) + apng.data[fctl_at + 38 :],
        "either",
        None,
        "first fcTL claims 50000x50000",
    )
    frames = [Image.new("RGB", (16, 16), (i % 256, 80, 160)) for i in range(600)]
    many = _encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True, duration=10)
    yield bomb(
        "bomb-webp-600-frames.webp",
        "webp-animated",
        many,
        "ok",
        None,
        "600 animation frames",
        ref=Reference(shape=(16, 16), fill=(0, 80, 160)),
    )

    # Floods: far more chunks, segments, fill bytes or scans than any real file.
    empty = png_chunk(b"zzZz", b"")
    yield bomb(
        "flood-png-300k-ancillary-chunks.png",
        "png",
        png.data[:33] + empty * 300_000 + png.data[33:],
        "error",
        "CorruptImageError",
        "300,000 empty ancillary chunks",
        category="flood",
    )
    idat_at = next(s for t, s, _ in png_chunk_spans(png.data) if t == b"IDAT")
    yield bomb(
        "flood-png-300k-empty-idat.png",
        "png",
        png.data[:idat_at] + png_chunk(b"IDAT", b"") * 300_000 + png.data[idat_at:],
        "error",
        "CorruptImageError",
        "300,000 empty IDAT chunks",
        category="flood",
    )
    app0_end = 4 + struct.unpack(">H", jpeg.data[4:6])[0]
    yield bomb(
        "flood-jpeg-500k-app-segments.jpg",
        "jpeg",
        jpeg.data[:app0_end] + b"\xff\xe5\x00\x02" * 500_000 + jpeg.data[app0_end:],
        "error",
        "CorruptImageError",
        "500,000 empty APP5 segments",
        category="flood",
    )
    yield bomb(
        "flood-jpeg-4MiB-fill-bytes.jpg",
        "jpeg",
        jpeg.data[:app0_end] + b"\xff" * (4 << 20) + jpeg.data[app0_end:],
        "error",
        "CorruptImageError",
        "4 MiB of 0xFF fill before a marker",
        category="flood",
    )
    yield bomb(
        "flood-jpeg-4MiB-junk.jpg",
        "jpeg",
        jpeg.data[:app0_end] + b"\x00\x11" * (2 << 20) + jpeg.data[app0_end:],
        "error",
        "CorruptImageError",
        "4 MiB of junk between segments",
        category="flood",
    )
    yield bomb(
        "flood-jpeg-few-junk-bytes.jpg",
        "jpeg",
        jpeg.data[:app0_end] + b"\x00\x00\x00" + jpeg.data[app0_end:],
        "ok",
        None,
        "3 junk bytes between segments (libjpeg skips them)",
        ref=jpeg.reference,
        category="flood",
    )
    for side, scans, expect, error in (
        (2048, 5000, "error", "CorruptImageError"),
        (1024, 22, "ok", None),
        (512, 23, "error", "CorruptImageError"),
    ):
        data = _scan_bomb(side, side, scans)
        ref = Reference(shape=(side, side), fill=(128, 128, 128), tolerance=1.0)
        yield bomb(
            f"flood-jpeg-{scans}-scans-{side}px.jpg",
            "jpeg-progressive",
            data,
            expect,
            error,
            f"progressive {side}x{side} with {scans} extra scans",
            ref=ref,
            category="flood",
        )
    if large:
        # 48 MP with 22 extra copies of the costliest small scan: 32 scans in all, the most allowed.
        data = _scan_bomb(8000, 6000, 22)
        ref = Reference(shape=(6000, 8000), fill=(128, 128, 128), tolerance=1.0)
        yield Case(
            "flood-jpeg-22-scans-48MP.jpg",
            "flood",
            "jpeg-progressive",
            data,
            "ok",
            reference=ref,
            risky=True,
            heavy=True,
            note="progressive 8000x6000 with 32 scans (the limit)",
        )
        yield bomb(
            "flood-png-5M-ancillary-chunks-60MiB.png",
            "png",
            png.data[:33] + empty * 5_000_000 + png.data[33:],
            "error",
            "CorruptImageError",
            "5,000,000 empty chunks (60 MiB)",
            category="flood",
        )
        yield bomb(
            "flood-jpeg-15M-app-segments-60MiB.jpg",
            "jpeg",
            jpeg.data[:app0_end] + b"\xff\xe5\x00\x02" * 15_000_000 + jpeg.data[app0_end:],
            "error",
            "CorruptImageError",
            "15,000,000 empty APP5 segments (60 MiB)",
            category="flood",
        )
        yield bomb(
            "flood-jpeg-60MiB-fill-bytes.jpg",
            "jpeg",
            jpeg.data[:app0_end] + b"\xff" * (60 << 20) + jpeg.data[app0_end:],
            "error",
            "CorruptImageError",
            "60 MiB of 0xFF fill",
            category="flood",
        )
        yield bomb(
            "flood-jpeg-60MiB-junk.jpg",
            "jpeg",
            jpeg.data[:app0_end] + b"\x00" * (60 << 20) + jpeg.data[app0_end:],
            "error",
            "CorruptImageError",
            "60 MiB of zeros between segments",
            category="flood",
        )


def _scan_bomb(width: int, height: int, extra_scans: int) -> bytes:
    """A flat grey 4:2:0 progressive JPEG with its last scan (a tiny luma AC refinement scan, the
    costliest per byte) repeated ``extra_scans`` times: every scan makes libjpeg visit every block
    of the picture, so the file is small and the work is large."""
    jpeg = _encode(Image.new("RGB", (width, height), (128, 128, 128)), "JPEG", quality=90, progressive=True)
    segs = jpeg_segments(jpeg)
    scans = [(i, s, e) for i, (m, s, e) in enumerate(segs) if m == 0xDA]
    i, s, e = scans[-1]
    start = segs[i - 1][1] if segs[i - 1][0] == 0xC4 else s  # keep the DHT that goes with it
    eoi = segs[-1][1]
    return jpeg[:eoi] + jpeg[start:e] * extra_scans + jpeg[eoi:]


def _large(max_pixels: int) -> Iterator[Case]:
    """Legitimate but huge pictures that compress to little: decode time and memory at the limit."""
    side_w = 8000
    near = (max_pixels // side_w) * side_w
    for w, h, colour, depth, label in (
        (8000, 6000, (90, 120, 200), 8, "48MP-rgb"),
        (side_w, near // side_w, (90, 120, 200), 8, "at-limit-rgb"),
        (8000, 6000, (90, 120, 200, 128), 8, "48MP-rgba"),
        (8000, 6000, (23130, 30840, 51400), 16, "48MP-rgb16"),
    ):
        data = _flat_png(w, h, colour, depth=depth)
        fill = tuple(round(c / 257) if depth == 16 else int(c) for c in colour[:3])
        alpha = None
        if len(colour) == 4:
            alpha = np.full((1, 1), colour[3], np.uint8)  # one value: judged as a constant
        ref = Reference(shape=(h, w), fill=fill, alpha=alpha, tolerance=0.5 if depth == 16 else 0.0)  # type: ignore[arg-type]
        yield Case(
            f"large-png-{label}-{w}x{h}.png",
            "large",
            "png-16" if depth == 16 else "png",
            data,
            "ok",
            reference=ref,
            risky=True,
            heavy=True,
            note=f"{w}x{h} one colour, {len(data)} bytes",
        )
    over = _flat_png(8000, max_pixels // 8000 + 1, (1, 2, 3))
    yield Case(
        "large-png-just-over-limit.png",
        "large",
        "png",
        over,
        "error",
        error="ImageTooLargeError",
        risky=True,
        note="one row more than the limit allows",
    )
    img = Image.new("RGB", (8000, 6000), (90, 120, 200))
    data = _encode(img, "JPEG", quality=90)
    yield Case(
        "large-jpeg-48MP-8000x6000.jpg",
        "large",
        "jpeg",
        data,
        "ok",
        reference=Reference(shape=(6000, 8000), fill=(90, 120, 200), tolerance=1.0),
        risky=True,
        heavy=True,
        note="8000x6000 one colour",
    )
    padded = _flat_png(64, 64, (1, 2, 3)) + b"\0" * (64 * 1024 * 1024)
    yield Case(
        "large-file-over-64MiB.png",
        "large",
        "png",
        padded,
        "error",
        error="FileTooLargeError",
        risky=True,
        note="64 MiB of trailing zeros after IEND",
    )


# ------------------------------------------------------------------------------------------
# Other formats, polyglots, paths, limits
# ------------------------------------------------------------------------------------------


def _wrong_formats(seed: int) -> Iterator[Case]:
    small = Image.fromarray(astro(48, 64))
    rng = _rng(seed, "wrong")

    def wrong(name: str, data: bytes, error: str = "UnsupportedFormatError", note: str = "") -> Case:
        return Case(name, "wrong-format", "other", data, "error", error=error, note=note)

    yield wrong("gif.jpg", _encode(small, "GIF"))
    frames = [small, small.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    yield wrong("gif-animated.png", _encode(frames[0], "GIF", save_all=True, append_images=frames[1:]))
    yield wrong("bmp.jpg", _encode(small, "BMP"))
    yield wrong("tiff.jpg", _encode(small, "TIFF"))
    yield wrong("tiff-bigendian-lzw.jpeg", b"MM\0*" + _encode(small, "TIFF", compression="tiff_lzw")[4:])
    yield wrong("bigtiff.jpg", b"II+\0\x08\0\0\0" + rng.bytes(200))
    yield wrong("avif.heic", _encode(small, "AVIF"), note="a real AVIF (Pillow's encoder)")
    yield wrong("avif-as-heic-compatible.heic", b"\0\0\0\x20ftypavif\0\0\0\0avifmif1miafheic" + rng.bytes(300))
    fixed = time.gmtime(946_684_800)  # 2000-01-01: Pillow stamps "now" by default
    yield wrong("pdf.jpg", _encode(small, "PDF", creationDate=fixed, modDate=fixed))
    yield wrong("svg.jpg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>')
    yield wrong("svg-bom.png", b"\xef\xbb\xbf<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>")
    yield wrong("zip.jpg", _zip({"photo.jpg": _encode(small, "JPEG")}))
    yield wrong("gzip-of-jpeg.jpg", gzip.compress(_encode(small, "JPEG"), mtime=0))
    yield wrong("text.jpg", b"This is not a photo.\n" * 20)
    yield wrong("html.png", b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>")
    yield wrong("json.heic", b'{"image": "none"}')
    yield wrong("jpeg2000.jpg", _encode(small, "JPEG2000"))
    yield wrong("j2k-codestream.jpg", b"\xff\x4f\xff\x51" + rng.bytes(100))
    yield wrong("jxl.jpg", b"\xff\x0a" + rng.bytes(200))
    yield wrong("jxl-container.jpg", b"\0\0\0\x0cJXL \r\n\x87\n" + rng.bytes(200))
    yield wrong("ico.png", _encode(small, "ICO"))
    yield wrong("psd.jpg", b"8BPS\0\x01" + rng.bytes(200))
    yield wrong("ppm.jpg", _encode(small, "PPM"))
    yield wrong("tga.jpg", _encode(small, "TGA"))
    yield wrong("qoi.png", _encode(small, "QOI"))
    yield wrong("dds.jpg", _encode(small, "DDS"))
    yield wrong("mp4.heic", b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2" + rng.bytes(400))
    yield wrong("mov.heic", b"\0\0\0\x14ftypqt  \0\0\0\0qt  " + rng.bytes(400))
    yield wrong("cr3.jpg", b"\0\0\0\x18ftypcrx \0\0\0\x01crx isom" + rng.bytes(400))
    yield wrong("wav.webp", b"RIFF\x24\0\0\0WAVEfmt " + rng.bytes(100))
    yield wrong("elf.jpg", b"\x7fELF\x02\x01\x01" + rng.bytes(100))
    random = rng.bytes(4096)
    while random[:3] == b"\xff\xd8\xff" or random[:4] in (b"\x89PNG", b"RIFF"):
        random = rng.bytes(4096)
    yield wrong("random.jpg", random)
    yield wrong("zeros.jpg", b"\0" * 4096)
    yield wrong("one-byte.jpg", b"\xff")
    yield wrong("ff-d8-only.jpg", b"\xff\xd8")
    yield wrong("png-signature-prefix.png", b"\x89PN")
    yield wrong("riff-webp-too-short.webp", b"RIFF\0\0\0\0WEB")
    yield wrong(
        "base64-png.png",
        b"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
    )
    yield wrong("data-uri.jpg", b"data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ==")
    yield Case("empty.jpg", "wrong-format", "other", b"", "error", error="CorruptImageError", note="0 bytes")


def _polyglots(seeds: list[_Seed]) -> Iterator[Case]:
    jpeg = _seed_by_name(seeds, "jpeg-q92-444")
    png = _seed_by_name(seeds, "png-rgb")
    webp = _seed_by_name(seeds, "webp-lossless")
    heif = _seed_by_name(seeds, "heif")
    other_jpeg = _seed_by_name(seeds, "jpeg-q85-420").data
    zip_bytes = _zip({"payload.txt": b"hello " * 100, "a.jpg": other_jpeg})
    html = b"<html><body><script>alert('x')</script></body></html>"
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

    def poly(
        name: str, base: _Seed, data: bytes, expect: Expect = "ok", error: str | None = None, note: str = ""
    ) -> Case:
        ref = base.reference if expect != "error" else None
        return Case(name, "polyglot", base.kind, data, expect, error=error, reference=ref, note=note)

    yield poly("poly-jpeg+zip.jpg", jpeg, jpeg.data + zip_bytes, note="a ZIP archive after EOI")
    yield poly("poly-jpeg+html.jpg", jpeg, jpeg.data + html, note="HTML after EOI")
    yield poly("poly-jpeg+pdf.jpg", jpeg, jpeg.data + pdf, note="a PDF after EOI")
    yield poly(
        "poly-jpeg-html-in-com.jpg", jpeg, jpeg_with_segment(jpeg.data, 0xFE, html), note="HTML in a COM segment"
    )
    yield poly(
        "poly-jpeg-zip-in-app15.jpg",
        jpeg,
        jpeg_with_segment(jpeg.data, 0xEF, zip_bytes[:60000]),
        note="a ZIP inside APP15",
    )
    yield poly(
        "poly-jpeg-jpeg-in-app2.jpg",
        jpeg,
        jpeg_with_segment(jpeg.data, 0xE2, other_jpeg),
        note="another JPEG inside APP2",
    )
    yield poly("poly-jpeg-twice.jpg", jpeg, jpeg.data + other_jpeg, note="a second JPEG after EOI")
    exif_html = Image.Exif()
    exif_html[0x010E] = "<script>alert(1)</script>"
    exif_jpeg = _encode(
        Image.fromarray(jpeg.reference.rgb), "JPEG", quality=92, subsampling=0, exif=exif_html.tobytes()
    )  # type: ignore[arg-type]
    yield poly("poly-jpeg-script-in-exif.jpg", jpeg, exif_jpeg, note="<script> in EXIF ImageDescription")
    yield poly("poly-png+jpeg.png", png, png.data + jpeg.data, note="a JPEG after IEND")
    yield poly("poly-png+zip.png", png, png.data + zip_bytes, note="a ZIP after IEND")
    yield poly(
        "poly-png-html-in-text.png",
        png,
        png.data[:33] + png_chunk(b"tEXt", b"Comment\0" + html) + png.data[33:],
        note="HTML in tEXt",
    )
    yield poly(
        "poly-png-html-chunk.png",
        png,
        png.data[:33] + png_chunk(b"htMl", html) + png.data[33:],
        note="HTML in a private chunk",
    )
    yield poly(
        "poly-png-jpeg-chunk.png",
        png,
        png.data[:33] + png_chunk(b"jpEg", jpeg.data) + png.data[33:],
        note="a JPEG in a private chunk",
    )
    yield poly("poly-png-twice.png", png, png.data + png.data, note="a second PNG after IEND")
    yield poly("poly-webp+zip.webp", webp, webp.data + zip_bytes, "either", note="a ZIP after the RIFF")
    yield poly("poly-heif+zip.heic", heif, heif.data + zip_bytes, "either", note="a ZIP after the boxes")
    yield poly("poly-zip+jpeg.jpg", jpeg, zip_bytes + jpeg.data, "error", "UnsupportedFormatError", "a ZIP first")
    yield poly("poly-pdf+jpeg.jpg", jpeg, pdf + jpeg.data, "error", "UnsupportedFormatError", "a PDF first")
    yield poly("poly-html+png.png", png, html + png.data, "error", "UnsupportedFormatError", "HTML first")
    gif = _encode(Image.new("P", (4, 4)), "GIF")
    yield poly("poly-gifar.jpg", jpeg, gif + zip_bytes, "error", "UnsupportedFormatError", "GIF + JAR")
    yield poly(
        "poly-png-signature-then-jpeg.png",
        png,
        png.data[:8] + jpeg.data,
        "error",
        "CorruptImageError",
        "PNG signature, JPEG body",
    )
    yield poly("poly-jpeg-soi-then-png.jpg", jpeg, b"\xff\xd8\xff" + png.data, "error", None, "JPEG SOI, PNG body")
    yield poly(
        "poly-riff-webp-png-body.webp",
        webp,
        b"RIFF" + struct.pack("<I", len(png.data) + 4) + b"WEBP" + png.data,
        "error",
        None,
        "RIFF/WEBP header, PNG body",
    )


def _paths(seeds: list[_Seed]) -> Iterator[Case]:
    jpeg = _seed_by_name(seeds, "jpeg-q92-444")
    for special in ("dir", "fifo", "dangling", "loop", "devzero"):
        yield Case(
            f"path-{special}.jpg", "path", "path", b"", "error", error="InputError", special=special, note=special
        )
    yield Case(
        "path-symlink.jpg",
        "path",
        "path",
        jpeg.data,
        "ok",
        reference=jpeg.reference,
        special="symlink",
        note="a symlink to a JPEG",
    )
    yield Case(
        "path-unicode-\u00e9\u6f22\u5b57.jpg",
        "path",
        "path",
        jpeg.data,
        "ok",
        reference=jpeg.reference,
        note="a non-ASCII name",
    )


def _limits(seeds: list[_Seed]) -> Iterator[Case]:
    jpeg = _seed_by_name(seeds, "jpeg-q92-444")
    heif = _seed_by_name(seeds, "heif")
    yield Case(
        "limit-bytes.jpg", "limits", "jpeg", jpeg.data, "error", error="FileTooLargeError", kwargs={"max_bytes": 1000}
    )
    yield Case(
        "limit-pixels.jpg",
        "limits",
        "jpeg",
        jpeg.data,
        "error",
        error="ImageTooLargeError",
        kwargs={"max_pixels": 1000},
    )
    yield Case(
        "limit-pixels.heic",
        "limits",
        "heif",
        heif.data,
        "error",
        error="ImageTooLargeError",
        kwargs={"max_pixels": 1000},
    )
    yield Case(
        "limit-pixels-exact.jpg",
        "limits",
        "jpeg",
        jpeg.data,
        "ok",
        reference=jpeg.reference,
        kwargs={"max_pixels": 96 * 128},
    )


# ------------------------------------------------------------------------------------------
# generate
# ------------------------------------------------------------------------------------------


def generate(scale: float = 1.0, *, large: bool = False, seed: int = 0, max_pixels: int | None = None) -> list[Case]:
    """Build the hostile set.

    Parameters
    ----------
    scale : float
        1.0 gives the full set (more than 2,000 cases); smaller values take fewer truncations, bit
        flips and overwrites per seed (at least one each); the structured families are always whole.
    large : bool
        Add the big cases: pictures at and just over the pixel limit, 60 MiB floods, a file over
        the byte limit (minutes of decoding and about 1 GiB of memory per worker; the benchmark
        sets it, tests do not).
    seed : int
        Seed of every random choice.
    max_pixels : int, optional
        The limit the large cases are built around (default: ``imageio.DEFAULT_MAX_PIXELS``).

    Returns
    -------
    list of Case
        Unique names, in a fixed order.
    """
    seeds = _seeds()
    cases: list[Case] = [Case(f"{s.name}.{s.ext}", "valid", s.kind, s.data, "ok", reference=s.reference) for s in seeds]
    cases += _mutation_families(seeds, scale, seed)
    cases += _header_edits(seeds)
    cases += _flood_and_bombs(seeds, large)
    cases += _wrong_formats(seed)
    cases += _polyglots(seeds)
    cases += _paths(seeds)
    cases += _limits(seeds)
    if large:
        if max_pixels is None:
            from headshot.imageio import DEFAULT_MAX_PIXELS

            max_pixels = DEFAULT_MAX_PIXELS
        cases += _large(max_pixels)
    names = [c.name for c in cases]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise AssertionError(f"duplicate case names: {dupes[:5]}")
    return cases


def cases_from_file(
    name: str, ext: str, kind: str, data: bytes, reference: Reference, *, scale: float = 1.0, seed: int = 0
) -> list[Case]:
    """The valid case and the mutation families (truncations, bit flips, overwrites) of one more
    seed file, e.g. a real photo (the benchmark adds ``../shared/faces`` this way, its reference
    being the loader's own decode of the intact file)."""
    extra = _Seed(name, ext, kind, data, reference)
    out = [Case(f"{name}.{ext}", "valid", kind, data, "ok", reference=reference)]
    out += _mutation_families([extra], scale, seed)
    return out


# ------------------------------------------------------------------------------------------
# Judging
# ------------------------------------------------------------------------------------------


def _eotf(codes: np.ndarray) -> np.ndarray:
    """Exact sRGB EOTF in float64 of values in [0, 1] (clipped)."""
    c = np.clip(np.asarray(codes, np.float64), 0.0, 1.0)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _oetf(lin: np.ndarray) -> np.ndarray:
    """Exact inverse sRGB EOTF in float64 (written out here so the check does not trust the loader)."""
    c = np.clip(np.asarray(lin, np.float64), 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)


def photo_problems(photo: Any) -> list[str]:
    """What is wrong with a decoded photo's form (empty list: nothing)."""
    from headshot.imageio import Photo

    if not isinstance(photo, Photo):
        return [f"load returned {type(photo).__name__}, not a Photo"]
    px = photo.pixels
    problems = []
    if px.dtype != np.float32 or px.ndim != 3 or px.shape[2] != 3:
        problems.append(f"pixels are {px.dtype} {px.shape}, not float32 (H, W, 3)")
    if not px.flags.c_contiguous or px.flags.writeable:
        problems.append("pixels are not C-contiguous and read-only")
    h, w = px.shape[:2]
    for y0 in range(0, h, 1024):  # in bands: a 48 MP check must not double the memory
        band = px[y0 : y0 + 1024]
        # a sum of values in [0, 1] is finite exactly when every value is
        if not (np.isfinite(band.sum(dtype=np.float64)) and band.min() >= 0 and band.max() <= 1):
            problems.append(f"pixel values not finite or outside [0, 1] in rows {y0}..{y0 + len(band)}")
            break
    src = photo.source
    if (src.height, src.width) != (h, w):
        problems.append(f"source says {src.width}x{src.height}, pixels are {w}x{h}")
    if (
        src.bit_depth not in (8, 16)
        or not 1 <= src.orientation <= 8
        or src.format not in ("jpeg", "png", "webp", "heif")
    ):
        problems.append(f"odd source info {src}")
    if photo.alpha is not None:
        a = photo.alpha
        if a.dtype != np.float32 or a.shape != (h, w) or a.flags.writeable:
            problems.append(f"alpha is {a.dtype} {a.shape} writeable={a.flags.writeable}")
        elif not (np.isfinite(a).all() and a.min() >= 0 and a.max() <= 1 and a.min() < 1):
            problems.append("alpha not finite, outside [0, 1], or all opaque")
    return problems


def compare(photo: Any, ref: Reference) -> str | None:
    """None when the photo is the reference's picture within its tolerance, else why not."""
    px = photo.pixels
    if tuple(px.shape[:2]) != tuple(ref.shape):
        return f"size {px.shape[1]}x{px.shape[0]}, expected {ref.shape[1]}x{ref.shape[0]}"
    if ref.fill is not None:
        # One colour: every value must round to a code within the tolerance, i.e. lie in a range
        # of linear values, checked with each channel's minimum and maximum (48 MP pictures).
        lo = _eotf((np.array(ref.fill) - ref.tolerance - 0.5) / 255)
        hi = _eotf((np.array(ref.fill) + ref.tolerance + 0.5) / 255)
        flat = px.reshape(-1, 3)
        low, high = flat.min(axis=0), flat.max(axis=0)
        if (low < lo).any() or (high >= hi).any():
            got = np.round(_oetf(np.stack([low, high])) * 255).astype(int).tolist()
            return f"one-colour picture ranges over codes {got[0]}..{got[1]}, expected {list(ref.fill)} +- {ref.tolerance:g}"
    if ref.rgb is not None:
        deep = ref.rgb.dtype == np.uint16
        scale = 65535.0 if deep else 255.0
        got = np.round(_oetf(px) * scale)
        want = ref.rgb.astype(np.float64)
        mask = None
        if ref.alpha is not None and ref.alpha.shape == ref.shape:
            mask = ref.alpha > 0
        diff = np.abs(got - want)
        if mask is not None:
            diff = diff[mask]
        if ref.tolerance == 0:
            if diff.size and diff.max() > 0:
                return f"not bit-exact: {int(np.count_nonzero(diff))} codes differ, up to {diff.max():.0f}"
        else:
            mean = float(diff.mean()) * 255.0 / scale if diff.size else 0.0
            if mean > ref.tolerance:
                return f"mean difference {mean:.2f} codes > tolerance {ref.tolerance}"
    if ref.alpha is None:
        if photo.alpha is not None:
            return "has alpha, expected an opaque picture"
    else:
        if photo.alpha is None:
            return "no alpha, expected transparency"
        scale = 65535.0 if ref.alpha.dtype == np.uint16 else 255.0
        total, worst, count = 0.0, 0.0, 0
        for y0 in range(0, photo.alpha.shape[0], 512):  # in bands, and a (1, 1) reference is a constant
            band = photo.alpha[y0 : y0 + 512].astype(np.float64)
            want_a = ref.alpha[y0 : y0 + 512] if ref.alpha.shape == ref.shape else ref.alpha
            diff_a = np.abs(band * scale - want_a) * (255.0 / scale)
            total, worst, count = total + float(diff_a.sum()), max(worst, float(diff_a.max())), count + diff_a.size
        if ref.alpha_tolerance == 0:
            if worst > 0.5 * 255.0 / scale:  # bit-exact: within half a code of the file's own depth
                return f"alpha not exact: off by up to {worst:.3f} (8-bit units)"
        elif total / max(count, 1) > ref.alpha_tolerance:
            return f"alpha mean difference {total / max(count, 1):.2f} > tolerance {ref.alpha_tolerance}"
    return None


def judge(expect: str, error: str | None, reference: Reference | None, outcome: Any) -> tuple[bool, str]:
    """Whether ``outcome`` (a Photo or the exception ``load`` raised) meets the expectation.

    Returns
    -------
    (bool, str)
        Pass or fail, and a one-line description of the outcome (and of the failure).
    """
    from headshot.errors import HeadshotError

    if isinstance(outcome, BaseException):
        cls = type(outcome).__name__
        if not isinstance(outcome, HeadshotError):
            return False, f"UNTYPED {cls}: {outcome}"
        if expect == "ok":
            return False, f"expected a photo, got {cls}: {outcome}"
        if error is not None and cls != error:
            return False, f"expected {error}, got {cls}: {outcome}"
        return True, f"{cls}"
    problems = photo_problems(outcome)
    if problems:
        return False, "malformed photo: " + "; ".join(problems)
    if expect == "error":
        return False, f"expected {error or 'a typed error'}, got a {outcome.width}x{outcome.height} photo"
    if reference is not None:
        why = compare(outcome, reference)
        if why is not None:
            return False, f"wrong picture: {why}"
    return True, "decoded"


# ------------------------------------------------------------------------------------------
# Writing a set to disk (for worker processes and the benchmark)
# ------------------------------------------------------------------------------------------


def write_cases(cases: Sequence[Case], folder: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Write each case's file (or special path) and its reference into ``folder``.

    Returns the manifest (also written as ``folder/manifest.json``): one dict per case with
    ``name``, ``path``, ``category``, ``kind``, ``expect``, ``error``, ``ref`` (an ``.npz`` path or
    None), ``kwargs``, ``risky``, ``heavy``, ``note`` and ``bytes``.
    """
    root = pathlib.Path(folder)
    files = root / "files"
    refs = root / "refs"
    files.mkdir(parents=True, exist_ok=True)
    refs.mkdir(exist_ok=True)
    ref_paths: dict[int, str] = {}
    manifest = []
    for case in cases:
        path = files / case.name
        _materialise(case, path, files)
        ref_path = None
        if case.reference is not None:
            key = id(case.reference)
            if key not in ref_paths:
                ref_paths[key] = str(refs / f"ref{len(ref_paths):05d}.npz")
                _save_reference(case.reference, ref_paths[key])
            ref_path = ref_paths[key]
        manifest.append(
            {
                "name": case.name,
                "path": str(path),
                "category": case.category,
                "kind": case.kind,
                "expect": case.expect,
                "error": case.error,
                "ref": ref_path,
                "kwargs": case.kwargs,
                "risky": case.risky,
                "heavy": case.heavy,
                "note": case.note,
                "bytes": len(case.data),
            }
        )
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


def load_manifest(folder: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The manifest written by :func:`write_cases`."""
    return json.loads((pathlib.Path(folder) / "manifest.json").read_text(encoding="utf-8"))


def _materialise(case: Case, path: pathlib.Path, files: pathlib.Path) -> None:
    if path.is_symlink() or path.exists():
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink()
    special = case.special
    if special is None:
        path.write_bytes(case.data)
    elif special == "dir":
        path.mkdir()
    elif special == "fifo":
        os.mkfifo(path)
    elif special == "dangling":
        path.symlink_to(files / "does-not-exist.jpg")
    elif special == "loop":
        path.symlink_to(path.name)
    elif special == "devzero":
        path.symlink_to("/dev/zero")
    elif special == "symlink":
        target = files / f".target-{case.name}"
        target.write_bytes(case.data)
        path.symlink_to(target.name)
    else:
        raise ValueError(f"unknown special path {special!r}")


def _save_reference(ref: Reference, path: str) -> None:
    arrays: dict[str, Any] = {
        "shape": np.array(ref.shape),
        "tolerance": np.array(ref.tolerance),
        "alpha_tolerance": np.array(ref.alpha_tolerance),
    }
    if ref.rgb is not None:
        arrays["rgb"] = ref.rgb
    if ref.fill is not None:
        arrays["fill"] = np.array(ref.fill)
    if ref.alpha is not None:
        arrays["alpha"] = ref.alpha
    np.savez(path, **arrays)


def read_reference(path: str) -> Reference:
    """A reference saved by :func:`write_cases`."""
    with np.load(path) as z:
        return Reference(
            shape=(int(z["shape"][0]), int(z["shape"][1])),
            rgb=z.get("rgb"),
            fill=tuple(int(v) for v in z["fill"]) if "fill" in z else None,  # type: ignore[arg-type]
            alpha=z.get("alpha"),
            tolerance=float(z["tolerance"]),
            alpha_tolerance=float(z["alpha_tolerance"]),
        )


def summarize(cases: Iterable[Case]) -> dict[str, int]:
    """Number of cases per category."""
    counts: dict[str, int] = dict.fromkeys(CATEGORIES, 0)
    for c in cases:
        counts[c.category] += 1
    return counts
