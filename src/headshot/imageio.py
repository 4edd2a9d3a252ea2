"""Decoding and encoding of photo files: the only place where sRGB meets linear light.

Everything the rest of Headshot Studio sees is a :class:`Photo`: float32 H×W×3 **linear-light**
RGB in [0, 1] (and an optional H×W float32 alpha), already turned upright (EXIF orientation) and
converted to sRGB primaries (embedded ICC profiles, CMYK). Going the other way, :func:`encode` and
:func:`save` turn a linear image back into an sRGB-encoded JPEG, PNG or WebP with an embedded sRGB
profile and no other metadata.

Input is treated as untrusted: the format is decided by the file's content (never its name), the
file size is checked before reading, the pixel count is checked from the header before decoding,
and every decoder failure becomes one of the :mod:`headshot.errors` types.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import pathlib
import re
import secrets
import stat
import struct
import threading
import warnings
import zlib
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
from PIL import Image, ImageCms, PngImagePlugin, UnidentifiedImageError

from headshot.errors import (
    CorruptImageError,
    FileTooLargeError,
    HeadshotError,
    ImageTooLargeError,
    InputError,
    OutputError,
    UnsupportedFormatError,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "FORMATS",
    "Photo",
    "SourceInfo",
    "encode",
    "from_srgb8",
    "linear_to_srgb",
    "load",
    "save",
    "sniff_format",
    "write_atomic",
    "srgb_to_linear",
    "to_srgb8",
]

#: 50 MP: a 48 MP (8000x6000 or 8064x6048) full-frame photo fits, and the decode stays within
#: 1 GiB. The float32 RGB result alone is 12 bytes per pixel (at 80 MP 0.9 GiB, plus the decoded
#: picture): see _decode and docs/decoder.md.
DEFAULT_MAX_PIXELS: Final[int] = 50_000_000
DEFAULT_MAX_BYTES: Final[int] = 64 * 1024 * 1024
FORMATS: Final[tuple[str, ...]] = ("jpg", "png", "webp")

_ACCEPTED = "JPEG, PNG, WebP and HEIC/HEIF"
_PIL_FORMAT: Final[dict[str, str]] = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "heif": "HEIF"}
_LABEL: Final[dict[str, str]] = {"jpeg": "JPEG", "png": "PNG", "webp": "WebP", "heif": "HEIF"}
_HEIF_BRANDS: Final[frozenset[bytes]] = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
)
_HEIF_SPECIFIC_BRANDS: Final[frozenset[bytes]] = _HEIF_BRANDS - {b"mif1", b"msf1"}
_MIB = 1024 * 1024
_REDO = "re-export or re-download the photo"


# --------------------------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceInfo:
    """What was read, and what was done to it on the way in.

    Attributes
    ----------
    name : str
        File name without directories, or ``"<bytes>"`` when loaded from memory.
    format : str
        ``"jpeg"``, ``"png"``, ``"webp"`` or ``"heif"`` (decided by content).
    width, height : int
        Size in pixels after EXIF orientation was applied.
    file_bytes : int
        Size of the encoded file in bytes.
    bit_depth : int
        8 or 16: bits per channel of the decoded source.
    mode : str
        Pillow mode of the source as decoded, e.g. ``"RGB"``, ``"CMYK"``, ``"I;16"``, ``"P"``.
    orientation : int
        EXIF orientation value that was applied (1 = none), 1..8. Always 1 for HEIF, whose
        rotation is stored in the container and applied by the decoder itself.
    colour : str
        How colour was interpreted, e.g. ``"sRGB (assumed, no profile)"`` or
        ``"converted to sRGB from 'Display P3'"``.
    notes : tuple of str
        Things a user should know, e.g. ``"animated WebP: first frame used"``.
    sha256 : str
        Hex SHA-256 of the file's bytes: names the input in content credentials without carrying
        any of it (see :mod:`headshot.provenance`). Empty when unknown.
    """

    name: str
    format: str
    width: int
    height: int
    file_bytes: int
    bit_depth: int
    mode: str
    orientation: int
    colour: str
    notes: tuple[str, ...] = ()
    sha256: str = ""


@dataclass(frozen=True)
class Photo:
    """A decoded photo in the house format.

    Attributes
    ----------
    pixels : numpy.ndarray
        float32, shape (H, W, 3), linear-light RGB (sRGB primaries) in [0, 1], C-contiguous.
        Arrays made by :func:`load` are read-only. Colour is straight (not premultiplied by alpha).
    alpha : numpy.ndarray or None
        float32, shape (H, W), coverage in [0, 1] when the file had real transparency (some pixel
        below 1), else ``None``. Read-only when made by :func:`load`.
    source : SourceInfo
        Where the pixels came from.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None
    source: SourceInfo

    def __post_init__(self) -> None:
        _check_image(self.pixels, "pixels")
        if self.alpha is not None:
            _check_alpha(self.alpha, self.pixels.shape[:2], "alpha")

    @property
    def width(self) -> int:
        """Width in pixels (W)."""
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels (H)."""
        return int(self.pixels.shape[0])


# --------------------------------------------------------------------------------------------
# sRGB <-> linear
# --------------------------------------------------------------------------------------------


def _eotf(c: np.ndarray) -> np.ndarray:
    """Exact sRGB EOTF (IEC 61966-2-1) on already-clipped values, in the input's float dtype."""
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _oetf(c: np.ndarray) -> np.ndarray:
    """Exact inverse sRGB EOTF on already-clipped linear values, in the input's float dtype."""
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1.0 / 2.4) - 0.055)


def _float_input(x: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if not np.issubdtype(arr.dtype, np.floating):
        hint = " (for uint8 sRGB codes use from_srgb8)" if arr.dtype == np.uint8 else ""
        raise ValueError(f"{name} must be a float array, got dtype {arr.dtype}{hint}")
    return arr


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """Decode sRGB-encoded values to linear light with the exact sRGB EOTF.

    Parameters
    ----------
    x : numpy.ndarray
        Float array of any shape, sRGB-encoded values in [0, 1]. Values outside are clipped
        (NaN stays NaN).

    Returns
    -------
    numpy.ndarray
        float32, same shape, linear light in [0, 1].
    """
    arr = _float_input(x, "x")
    work = arr.astype(np.float64 if arr.dtype == np.float64 else np.float32, copy=False)
    return _eotf(np.clip(work, 0.0, 1.0)).astype(np.float32, copy=False)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """Encode linear-light values as sRGB with the exact inverse EOTF.

    Parameters
    ----------
    x : numpy.ndarray
        Float array of any shape, linear light; values are clipped to [0, 1] first
        (NaN stays NaN).

    Returns
    -------
    numpy.ndarray
        float32, same shape, sRGB-encoded values in [0, 1].
    """
    arr = _float_input(x, "x")
    work = arr.astype(np.float64 if arr.dtype == np.float64 else np.float32, copy=False)
    return _oetf(np.clip(work, 0.0, 1.0)).astype(np.float32, copy=False)


@functools.cache
def _lut8_to_linear() -> np.ndarray:
    """(256,) float32: sRGB code -> linear light, computed in float64."""
    lut = _eotf(np.arange(256, dtype=np.float64) / 255.0).astype(np.float32)
    lut.flags.writeable = False
    return lut


@functools.cache
def _lut16_to_linear() -> np.ndarray:
    """(65536,) float32: 16-bit sRGB code -> linear light, computed in float64."""
    lut = _eotf(np.arange(65536, dtype=np.float64) / 65535.0).astype(np.float32)
    lut.flags.writeable = False
    return lut


@functools.cache
def _lut16_linear_to_srgb8() -> np.ndarray:
    """(65536,) uint8: 16-bit quantised linear value -> nearest sRGB code."""
    enc = _oetf(np.arange(65536, dtype=np.float64) / 65535.0)
    lut = np.floor(enc * 255.0 + 0.5).astype(np.uint8)
    lut.flags.writeable = False
    return lut


def to_srgb8(x: np.ndarray) -> np.ndarray:
    """Encode linear light as 8-bit sRGB codes, fast and deterministic.

    The clipped linear value is quantised to 16 bits (round to nearest) and mapped through a
    65536-entry table, which is within one code of the exact conversion and much faster than
    evaluating the power function per pixel.

    Parameters
    ----------
    x : numpy.ndarray
        Float array of any shape, linear light; values outside [0, 1] are clipped and NaN
        becomes 0.

    Returns
    -------
    numpy.ndarray
        uint8, same shape, sRGB codes in [0, 255].
    """
    arr = _float_input(x, "x")
    buf = np.multiply(arr, 65535.0, dtype=np.float32)
    np.add(buf, 0.5, out=buf)
    # fmax/fmin (not clip) so NaN becomes 0 instead of an undefined integer cast.
    np.fmax(buf, 0.0, out=buf)
    np.fmin(buf, 65535.0, out=buf)
    index = buf.astype(np.uint16)  # truncation of value + 0.5 == round half up
    del buf
    return np.take(_lut16_linear_to_srgb8(), index)


def from_srgb8(x: np.ndarray) -> np.ndarray:
    """Decode 8-bit sRGB codes to linear light through a 256-entry table.

    Parameters
    ----------
    x : numpy.ndarray
        uint8 array of any shape, sRGB codes in [0, 255].

    Returns
    -------
    numpy.ndarray
        float32, same shape, linear light in [0, 1], C-contiguous.
    """
    arr = np.asarray(x)
    if arr.dtype != np.uint8:
        raise ValueError(f"x must be a uint8 array, got dtype {arr.dtype}")
    return _apply_lut8(arr)


def _apply_lut8(arr: np.ndarray) -> np.ndarray:
    """uint8 array (any shape) -> float32 linear, same shape, through the 256-entry table."""
    if arr.size == 0:
        return np.zeros(arr.shape, np.float32)
    flat = np.ascontiguousarray(arr).reshape(-1, 1)
    # cv2.LUT is multi-threaded and about twice as fast as numpy fancy indexing here.
    out = cv2.LUT(flat, _lut8_to_linear())
    return out.reshape(arr.shape)


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _check_image(image: object, name: str) -> None:
    if not isinstance(image, np.ndarray):
        raise ValueError(f"{name} must be a numpy array of shape (H, W, 3), got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"{name} must have shape (H, W, 3) with H, W >= 1, got shape {image.shape}")
    if image.dtype != np.float32:
        raise ValueError(f"{name} must be float32 linear RGB in [0, 1], got dtype {image.dtype}")


def _check_alpha(alpha: object, hw: tuple[int, ...], name: str) -> None:
    if not isinstance(alpha, np.ndarray):
        raise ValueError(f"{name} must be a numpy array of shape {tuple(hw)}, got {type(alpha).__name__}")
    if alpha.shape != tuple(hw):
        raise ValueError(f"{name} must have shape (H, W) = {tuple(hw)}, got shape {alpha.shape}")
    if alpha.dtype != np.float32:
        raise ValueError(f"{name} must be float32 in [0, 1], got dtype {alpha.dtype}")


def _check_limit(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------------------------
# Reading and sniffing
# --------------------------------------------------------------------------------------------


def _read_source(source: object, max_bytes: int, name: str | None = None) -> tuple[str, bytes]:
    """Return (display name, file content), enforcing the byte limit before reading."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        shown = name or "<bytes>"
        _check_bytes(len(data), max_bytes, shown)
        return shown, data
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"source must be a path or bytes, got {type(source).__name__}")
    raw = os.fspath(source)
    if isinstance(raw, bytes):
        raise TypeError("source must be a str path, os.PathLike[str] or bytes content, got a bytes path")
    if not raw:
        raise InputError("source is an empty path; give the photo's file name")
    path = pathlib.Path(raw)
    name = path.name or raw
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{raw}: no such file; check the path") from None
    except NotADirectoryError:
        raise InputError(f"{raw}: no such file (a part of the path is not a folder)") from None
    except PermissionError:
        raise InputError(f"{raw}: permission denied; cannot read this file") from None
    except OSError as exc:
        raise InputError(f"{raw}: cannot access this file ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{raw}: is a folder, not a photo file; give the path of an image file")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{raw}: is not a regular file; give the path of an image file")
    _check_bytes(st.st_size, max_bytes, name)
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except PermissionError:
        raise InputError(f"{raw}: permission denied; cannot read this file") from None
    except OSError as exc:
        raise InputError(f"{raw}: cannot read this file ({exc.strerror or exc})") from None
    _check_bytes(len(data), max_bytes, name)  # the file may have grown since stat()
    return name, data


def _check_bytes(size: int, max_bytes: int, name: str) -> None:
    if size > max_bytes:
        raise FileTooLargeError(
            f"{name}: the file is {_bytes_text(size)}, more than the limit of "
            f"{_bytes_text(max_bytes)}; save a smaller copy (e.g. JPEG quality 90, or downscaled) "
            "and try again"
        )


def _bytes_text(size: int) -> str:
    """A size in MiB for messages: one decimal from 1 MiB up, three significant digits below (a
    small limit would otherwise read "0.0 MiB")."""
    mib = size / _MIB
    return f"{mib:.1f} MiB" if mib >= 1 else f"{mib:.3g} MiB"


def _iso_brands(data: bytes) -> list[bytes]:
    """Major and compatible brands of an ISO-BMFF ``ftyp`` box at offset 0 (empty if none)."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return []
    size = struct.unpack(">I", data[:4])[0]
    end = min(max(size, 16), len(data), 4096)
    brands = [data[8:12]]
    brands += [data[i : i + 4] for i in range(16, end - 3, 4)]
    return brands


def _sniff(data: bytes, name: str) -> str:
    """Decide the format by magic bytes; raise for empty or unsupported content."""
    if not data:
        raise CorruptImageError(f"{name}: the file is empty (0 bytes)")
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    brands = _iso_brands(data)
    if brands:
        has_avif = any(b in (b"avif", b"avis") for b in brands)
        if brands[0] in (b"avif", b"avis") or (has_avif and not any(b in _HEIF_SPECIFIC_BRANDS for b in brands)):
            raise UnsupportedFormatError(_unsupported_message(name, "an AVIF image"))
        if any(b in _HEIF_BRANDS for b in brands):
            return "heif"
    raise UnsupportedFormatError(_unsupported_message(name, _describe(data, brands)))


def sniff_format(head: bytes, name: str = "<upload>") -> str:
    """The format of a file from its first bytes (4096 are enough): ``jpeg``, ``png``, ``webp`` or ``heif``.

    Raises
    ------
    CorruptImageError
        `head` is empty.
    UnsupportedFormatError
        Not an accepted format (the message names what it looks like).
    """
    return _sniff(head[:4096], name)


def _unsupported_message(name: str, what: str | None) -> str:
    looks = f"looks like {what}, which is not supported" if what else "is not a recognised image"
    return f"{name}: this file {looks}. Accepted formats: {_ACCEPTED}; convert it to JPEG or PNG first"


def _describe(data: bytes, brands: list[bytes]) -> str | None:
    """A human name for common non-accepted contents, or None."""
    head = data[:64]
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "a TIFF image (or a camera RAW file)"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "a GIF image"
    if head[:2] == b"BM":
        return "a BMP image"
    if head[:4] == b"8BPS":
        return "a Photoshop (PSD) file"
    if head[:4] == b"\x00\x00\x01\x00":
        return "an ICO icon"
    if head[:4] == b"PK\x03\x04":
        return "a ZIP archive (or an Office document)"
    if head[:2] == b"\xff\x0a" or head[:12] == b"\x00\x00\x00\x0cJXL \r\n\x87\n":
        return "a JPEG XL image"
    if head[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n" or head[:4] == b"\xff\x4f\xff\x51":
        return "a JPEG 2000 image"
    if head[:4] == b"RIFF":
        return "a RIFF file (e.g. WAV or AVI), not WebP"
    if brands:
        if b"crx " in brands:
            return "a Canon CR3 RAW file"
        return "a video or other ISO media file (MP4/MOV/3GP)"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip().lower()
    if text.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in data[:1024].lower():
        return "an SVG/XML file"
    if text.startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    sample = data[:512]
    if sample and all(32 <= b < 127 or b in (9, 10, 13) for b in sample):
        return "a text file"
    return None


def _peek_size(data: bytes, fmt: str, name: str) -> tuple[int, int] | None:
    """Width and height from the header bytes, without Pillow, or None if not found.

    Hand-written because Pillow applies its own global decompression-bomb limit inside
    ``Image.open`` (and the WebP plugin allocates its canvas while opening); reading the few
    header bytes ourselves lets our own limit, with a useful message, come first. For JPEG the
    walk also refuses floods of segments, stray bytes and scans (:func:`_jpeg_size`).
    """
    try:
        if fmt == "png":
            if data[12:16] == b"IHDR":
                return struct.unpack(">II", data[16:24])
        elif fmt == "webp":
            chunk = data[12:16]
            if chunk == b"VP8X":
                w = int.from_bytes(data[24:27], "little") + 1
                h = int.from_bytes(data[27:30], "little") + 1
                return w, h
            if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
                w, h = struct.unpack("<HH", data[26:30])
                return w & 0x3FFF, h & 0x3FFF
            if chunk == b"VP8L" and data[20] == 0x2F:
                bits = struct.unpack("<I", data[21:25])[0]
                return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        elif fmt == "jpeg":
            return _jpeg_size(data, name)
    except (struct.error, IndexError):
        return None
    return None


_SOF_MARKERS: Final[frozenset[int]] = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)
#: Limits on a JPEG's structure that no camera or editor comes near (a few dozen segments before
#: the first scan, rarely a stray byte, about 10 scans in a progressive file, rarely more than 20).
#: Past them the file is refused before the decoders see it: Pillow reads the segments before the
#: first scan, and any fill (0xFF) or junk bytes between them, one at a time in Python (4 MB of
#: empty segments took 1.4 s, 4 MB of fill 1.8 s, and a file may have 64 MiB of them; this
#: module's own walk was as slow before it used bytes.find), and libjpeg visits every block of the picture
#: once per scan: a 95-byte refinement scan costs it about 40 ms at 48 MP, so a small file with
#: thousands of them keeps it busy for minutes (djpeg has ``-maxscans`` for this). 32 scans keep
#: the worst case at 50 MP about 1 s above the ordinary decode.
_MAX_JPEG_SEGMENTS: Final[int] = 10_000
_MAX_JPEG_STRAY_BYTES: Final[int] = 64 * 1024
_MAX_JPEG_SCANS: Final[int] = 32
_NOT_FF = re.compile(rb"[^\xff]")
#: A marker after entropy-coded data: 0xFF followed by anything but a stuffed 0x00, RSTn or fill.
_MARKER_AFTER_DATA = re.compile(rb"\xff[\x01-\xcf\xd8-\xfe]")


def _jpeg_size(data: bytes, name: str) -> tuple[int, int] | None:
    """Walk the JPEG's marker segments up to the first scan and return the largest SOFn's
    (width, height), or None when there is none (or it says 0: the decoder then refuses the file).

    Raises CorruptImageError for more than ``_MAX_JPEG_SEGMENTS`` segments or
    ``_MAX_JPEG_STRAY_BYTES`` fill/junk bytes before the first scan, or more than
    ``_MAX_JPEG_SCANS`` scans. Runs of bytes are skipped with ``bytes.find`` and a regular
    expression, so even a 64 MiB file is walked in milliseconds.
    """
    n = len(data)
    i = 2
    size: tuple[int, int] | None = None
    segments = stray = 0
    while True:
        ff = data.find(b"\xff", i)
        if ff < 0:
            return size
        found = _NOT_FF.search(data, ff)
        if found is None:
            return size
        k = found.start()  # the marker byte, after any 0xFF fill
        stray += (ff - i) + (k - ff - 1)
        if stray > _MAX_JPEG_STRAY_BYTES:
            raise CorruptImageError(
                f"{name}: the JPEG file is damaged (more than {_MAX_JPEG_STRAY_BYTES // 1024} KiB of stray bytes "
                f"between its header segments); {_REDO}"
            )
        marker = data[k]
        if marker == 0xD9:
            return size  # EOI before any scan: the decoder reports it
        segments += 1
        if segments > _MAX_JPEG_SEGMENTS:
            raise CorruptImageError(
                f"{name}: the JPEG file is damaged (more than {_MAX_JPEG_SEGMENTS:,} header segments, "
                f"far more than any photo has); {_REDO}"
            )
        if marker in (0x00, 0x01) or 0xD0 <= marker <= 0xD8:
            i = k + 1  # a stuffed zero, TEM, RSTn or SOI: no length field
            continue
        if k + 3 > n:
            return size
        length = (data[k + 1] << 8) | data[k + 2]
        if marker in _SOF_MARKERS and k + 8 <= n:
            height, width = struct.unpack(">HH", data[k + 4 : k + 8])
            if width and height and (size is None or width * height > size[0] * size[1]):
                size = (width, height)
        if marker == 0xDA:
            _check_jpeg_scans(data, k, name)
            return size
        i = k + 1 + length


def _check_jpeg_scans(data: bytes, first_sos: int, name: str) -> None:
    """Refuse more than ``_MAX_JPEG_SCANS`` scans (SOS segments before EOI).

    ``0xFF 0xDA`` cannot occur inside entropy-coded data (a 0xFF there is followed by 0x00 or
    RSTn), so counting it is an upper bound found at C speed; only a file over the limit by that
    count (a scan flood, or bytes after EOI such as an appended archive) is walked marker by
    marker to count exactly.
    """
    if data.count(b"\xff\xda", first_sos - 1) <= _MAX_JPEG_SCANS:
        return
    n = len(data)
    scans = 0
    i = first_sos - 1  # the 0xFF of the first SOS
    for _ in range(_MAX_JPEG_SEGMENTS + _MAX_JPEG_SCANS):
        marker = data[i + 1]
        if marker == 0xD9:
            return
        length = (data[i + 2] << 8) | data[i + 3] if i + 4 <= n else 0
        if marker == 0xDA:
            scans += 1
            if scans > _MAX_JPEG_SCANS:
                raise CorruptImageError(
                    f"{name}: the JPEG file has more than {_MAX_JPEG_SCANS} scans, far more than any photo "
                    f"(progressive JPEGs have about 10); {_REDO}"
                )
        found = _MARKER_AFTER_DATA.search(data, i + 2 + length)
        if found is None:
            return
        i = found.start()
    raise CorruptImageError(
        f"{name}: the JPEG file is damaged (more than {_MAX_JPEG_SEGMENTS:,} segments after its first scan); {_REDO}"
    )


def _check_pixels(size: tuple[int, int], max_pixels: int, name: str) -> None:
    width, height = size
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"{name}: the image is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels), "
            f"more than the limit of {max_pixels / 1e6:.1f} megapixels; downscale it "
            "(e.g. to 4000x3000) and try again"
        )


_MAX_PNG_CHUNKS: Final[int] = 100_000


def _png_chunks(data: bytes, name: str) -> list[tuple[bytes, int, int]]:
    """Walk a PNG's chunks, checking lengths, critical-chunk CRCs and the IEND terminator.

    Returns (type, start of payload, payload length) per chunk. Hand-written (zlib does the CRC)
    because Pillow skips the IDAT checksums and tolerates a missing IEND, while libpng (used by
    OpenCV for the 16-bit path) reports such damage by printing to stderr. More than
    ``_MAX_PNG_CHUNKS`` chunks is refused: Pillow handles each chunk in Python (a million empty
    chunks, 12 MB, took 3.8 s, and a file may have five times as many), and an ordinary PNG has a few dozen (a 64 MiB file
    written in libpng's default 8 KiB IDAT pieces has about 8,000).
    """
    chunks: list[tuple[bytes, int, int]] = []
    pos, n = 8, len(data)
    while True:
        if pos + 12 > n:
            raise CorruptImageError(f"{name}: the PNG file is truncated (its end marker is missing); {_REDO}")
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 8 + length
        if end + 4 > n:
            raise CorruptImageError(f"{name}: the PNG file is truncated (a chunk is cut short); {_REDO}")
        if ctype[:1].isupper():  # critical chunk: damage here means the picture is damaged
            crc = struct.unpack(">I", data[end : end + 4])[0]
            if zlib.crc32(data[pos + 4 : end]) != crc:
                raise CorruptImageError(
                    f"{name}: the PNG file is damaged (checksum error in its {ctype.decode('latin-1')} chunk); {_REDO}"
                )
        chunks.append((ctype, pos + 8, length))
        if len(chunks) > _MAX_PNG_CHUNKS:
            raise CorruptImageError(
                f"{name}: the PNG file is damaged (more than {_MAX_PNG_CHUNKS:,} chunks, far more than any "
                f"image has); {_REDO}"
            )
        pos = end + 4
        if ctype == b"IEND":
            return chunks


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------

_heif_lock = threading.Lock()
_heif_registered = False


class _QuietWarnings:
    """Silence warnings (Pillow's DecompressionBombWarning, EXIF and palette warnings...) while
    any thread is decoding.

    ``warnings.catch_warnings`` swaps process-wide state and, entered by overlapping threads,
    can restore the wrong filter list and leave warnings switched off for good. Here the first
    thread in installs the filter and the last one out restores the saved state, so overlapping
    loads are safe; other code's warnings are also hidden while a load runs (Python 3.11 has no
    per-thread warning filters).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._saved: warnings.catch_warnings | None = None

    def __enter__(self) -> None:
        with self._lock:
            if self._depth == 0:
                saved = warnings.catch_warnings()
                saved.__enter__()
                warnings.simplefilter("ignore")
                self._saved = saved
            self._depth += 1

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0 and self._saved is not None:
                self._saved.__exit__(None, None, None)
                self._saved = None


_quiet_warnings = _QuietWarnings()


def _ensure_heif_opener() -> None:
    """Register pillow-heif's Pillow plugin, once, on the first HEIF file."""
    global _heif_registered
    with _heif_lock:
        if _heif_registered:
            return
        try:
            import pillow_heif
        except ImportError:  # pragma: no cover - a declared dependency
            raise UnsupportedFormatError(
                "HEIC/HEIF files need the pillow-heif package, which is not installed; convert the photo to JPEG first"
            ) from None
        pillow_heif.register_heif_opener()
        _heif_registered = True


def load(
    source: str | os.PathLike[str] | bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    name: str | None = None,
) -> Photo:
    """Decode a photo into the house format.

    Parameters
    ----------
    source : str, os.PathLike or bytes
        Path of a JPEG, PNG, WebP or HEIC/HEIF file, or the file's content. The format is
        decided by the content, never the file name.
    max_pixels : int, optional
        Largest accepted width x height, checked from the header before decoding.
    max_bytes : int, optional
        Largest accepted file size, checked before reading.
    name : str, optional
        The file name to use in messages and reports when `source` is bytes (default ``<bytes>``).

    Returns
    -------
    Photo
        ``pixels`` float32 (H, W, 3) linear sRGB-primaries RGB in [0, 1], upright (EXIF
        orientation applied); ``alpha`` float32 (H, W) in [0, 1] or None. Both read-only.

    Raises
    ------
    InputError
        Missing file, a folder, unreadable file.
    UnsupportedFormatError
        Content is not JPEG, PNG, WebP or HEIC/HEIF (AVIF is refused).
    FileTooLargeError, ImageTooLargeError
        Over ``max_bytes`` / ``max_pixels``.
    CorruptImageError
        Empty, truncated or damaged file.

    Notes
    -----
    Decoder warnings are silenced while decoding. Python 3.11 keeps warning filters per
    process, so a warning raised by other code in another thread during a load goes unseen.
    Loads may run in several threads at once.
    """
    max_pixels = _check_limit(max_pixels, "max_pixels")
    max_bytes = _check_limit(max_bytes, "max_bytes")
    name, data = _read_source(source, max_bytes, name)
    fmt = _sniff(data, name)
    peek = _peek_size(data, fmt, name)
    if peek is not None:
        _check_pixels(peek, max_pixels, name)
    label = _LABEL[fmt]
    try:
        with _quiet_warnings:  # e.g. DecompressionBombWarning: the library never prints
            return _decode(data, fmt, name, max_pixels)
    except HeadshotError:
        raise
    except Image.DecompressionBombError as exc:
        # Pillow's own bomb check (in Image.open, e.g. for a HEIF file whose header this module does
        # not read) says "Image size (N pixels) exceeds limit of ...": say it in this module's words.
        found = re.search(r"\((\d+) pixels\)", str(exc))
        what = f"{int(found.group(1)) / 1e6:,.1f} megapixels" if found else "too large to decode safely"
        raise ImageTooLargeError(
            f"{name}: the image is {what}, more than the limit of {max_pixels / 1e6:.1f} megapixels; downscale it "
            "(e.g. to 4000x3000) and try again"
        ) from exc
    except MemoryError as exc:
        raise ImageTooLargeError(f"{name}: not enough memory to decode this image; downscale it and try again") from exc
    except Exception as exc:  # decoders (C libraries) raise many types: map them all, keep the cause
        if isinstance(exc, UnidentifiedImageError):
            reason = "its header is damaged or missing"
        else:
            reason = str(exc).strip() or type(exc).__name__
        if "security limit" in reason.lower():
            raise ImageTooLargeError(
                f"{name}: the {label} image exceeds the decoder's safety limits ({reason}); downscale it and try again"
            ) from exc
        raise CorruptImageError(
            f"{name}: the {label} file is damaged or incomplete and cannot be decoded ({reason}); {_REDO}"
        ) from exc


def _decode(data: bytes, fmt: str, name: str, max_pixels: int) -> Photo:
    """Decode ``data`` already known to be ``fmt``; any decoder exception propagates.

    Memory: every intermediate picture is closed as soon as the next one exists, and the float32
    result is filled in row strips straight from the last one, so the peak is the result (12 bytes
    per pixel) plus one decoded picture (Pillow keeps RGB at 4 bytes per pixel) plus the file:
    about 16 bytes per pixel, 17 with alpha. 16-bit colour PNGs take 18 (RGB) to 24 (RGBA) at
    full precision and are decoded at 8 bits instead when that would pass ``_DECODE_BUDGET``.
    """
    if fmt == "heif":
        _ensure_heif_opener()
    notes: list[str] = []
    png_chunks = _png_chunks(data, name) if fmt == "png" else None
    with Image.open(io.BytesIO(data), formats=[_PIL_FORMAT[fmt]]) as im:
        _check_pixels(im.size, max_pixels, name)
        src_mode = im.mode
        n_frames = int(getattr(im, "n_frames", 1) or 1)
        if n_frames > 1 and fmt in ("png", "webp"):
            notes.append(f"animated {_LABEL[fmt]} ({n_frames} frames): first frame used")
        bit_depth = 16 if (fmt == "png" and data[24] == 16) or src_mode.startswith("I;16") else 8
        deep_colour = (
            png_chunks is not None and bit_depth == 16 and not (src_mode.startswith("I;16") or src_mode == "I")
        )
        # A 16-bit colour PNG with all its chunks before its image data: Pillow has read all the
        # metadata while opening, so its 8-bit decode (a second decode of 4 bytes per pixel) is
        # skipped; the checks that decode stood for are made on the stream (_png_stream_complete).
        early = deep_colour and png_chunks is not None and _metadata_first(png_chunks)
        if not early:
            im.load()  # the actual decode; raises on truncated or damaged data
            _check_pixels(im.size, max_pixels, name)  # HEIF: the decoded size can differ from the header's
        orientation = _orientation(im, fmt, notes, info_complete=early)
        icc = im.info.get("icc_profile") or None

        pixels: np.ndarray | None = None  # float32 (H, W, 3) linear, upright
        alpha: np.ndarray | None = None  # uint8 or uint16 (H, W), upright (possibly a view)
        colour = "sRGB (assumed, no profile)"
        if png_chunks is not None and bit_depth == 16:
            if icc is not None and not _is_srgb_profile(icc):
                notes.append("16-bit PNG with a colour profile: converted at 8-bit precision")
            elif not deep_colour:
                grey = _grey16(im)
                im.close()  # Pillow's copy is no longer needed
                pixels = _linear_from_array(_orient_array(grey, orientation))
                del grey
                if icc is not None:
                    colour = f"sRGB (embedded profile '{_profile_name(icc)}')"
            elif _deep_png_fits(im.size, data, notes):
                im.close()  # an 8-bit decode, if made, served as the check: free it before OpenCV decodes
                deep, alpha = _png16_with_opencv(data, png_chunks, im.size, name, notes)
                pixels = _linear_from_array(_orient_array(deep, orientation), bgr=deep.ndim == 3)
                del deep
                alpha = None if alpha is None else _orient_array(alpha, orientation)
                if icc is not None:
                    colour = f"sRGB (embedded profile '{_profile_name(icc)}')"

        if pixels is None:
            im.load()  # a no-op unless the 16-bit decode above was planned and then not made
            work = _replaced(im, _to_basic_mode(im, notes))
            if orientation != 1:
                work = _replaced(work, work.transpose(_TRANSPOSE[orientation]))
            if work.mode in ("RGBA", "LA"):
                alpha = np.asarray(work.getchannel("A"))
                work = _replaced(work, work.convert("RGB" if work.mode == "RGBA" else "L"))
            work, colour = _to_srgb_image(work, icc, notes)
            pixels = _linear_from_pil(work)
            work.close()

    alpha_f = _alpha_to_float(alpha)
    del alpha
    pixels.flags.writeable = False
    if alpha_f is not None:
        alpha_f.flags.writeable = False
    height, width = pixels.shape[:2]
    info = SourceInfo(
        name=name,
        format=fmt,
        width=int(width),
        height=int(height),
        file_bytes=len(data),
        bit_depth=bit_depth,
        mode=src_mode,
        orientation=orientation,
        colour=colour,
        notes=tuple(notes),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    return Photo(pixels=pixels, alpha=alpha_f, source=info)


_TRANSPOSE: Final[dict[int, Image.Transpose]] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _orientation(im: Image.Image, fmt: str, notes: list[str], *, info_complete: bool = False) -> int:
    """EXIF orientation to apply (1..8); always 1 for HEIF, whose decoder rotates by itself.

    ``info_complete``: the (PNG) image is not decoded but all its metadata came before its image
    data, so Pillow has already read it; the base class's ``getexif`` is then used, since the
    PNG plugin's own decodes the whole picture first when the file has no ``eXIf`` chunk.
    """
    if fmt == "heif":
        # HEIF carries rotation/mirroring as container properties (irot/imir), which libheif
        # applies while decoding; the standard says EXIF orientation must then be ignored, and
        # pillow-heif resets it to 1. Nothing is applied here, so 1 is reported.
        return 1
    try:
        exif = Image.Image.getexif(im) if info_complete else im.getexif()
        value = exif.get(0x0112, 1)
    except Exception:  # noqa: BLE001 - damaged EXIF blocks raise assorted parser errors
        notes.append("EXIF metadata is damaged: orientation not applied")
        return 1
    if isinstance(value, int) and 1 <= value <= 8:
        return value
    notes.append(f"EXIF orientation value {value!r} is invalid: ignored")
    return 1


def _orient_array(a: np.ndarray, orientation: int) -> np.ndarray:
    """View of ``a`` (H, W, ...) turned upright; same meaning as :data:`_TRANSPOSE`."""
    if orientation in (5, 6, 7, 8):
        a = a.swapaxes(0, 1)
    if orientation in (2, 3, 6, 7):
        a = a[:, ::-1]
    if orientation in (3, 4, 7, 8):
        a = a[::-1]
    return a


def _replaced(old: Image.Image, new: Image.Image) -> Image.Image:
    """``new``, after closing ``old`` (freeing its pixels) when ``new`` is another image."""
    if new is not old:
        old.close()
    return new


def _to_basic_mode(im: Image.Image, notes: list[str]) -> Image.Image:
    """Convert any decoded Pillow image to one of L, LA, RGB, RGBA, CMYK (8 bits)."""
    mode = im.mode
    transparent = "transparency" in im.info
    if mode in ("L", "RGB") and transparent:
        return im.convert("RGBA")
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return im
    if mode in ("P", "PA"):
        return im.convert("RGBA" if mode == "PA" or transparent else "RGB")
    if mode == "1":
        return im.convert("L")
    if mode == "La":
        return im.convert("LA")
    if mode == "RGBa":
        return im.convert("RGBA")
    if mode == "LAB":
        lab = ImageCms.createProfile("LAB")
        return ImageCms.profileToProfile(im, lab, _srgb_profile(), outputMode="RGB") or im
    if mode.startswith("I") or mode == "F":
        notes.append(f"{mode} image reduced to 8-bit greyscale")
        arr = np.asarray(im)
        if mode == "F":  # float greys: [0, 1] if they fit there, else Pillow's 0..255 convention
            scale = 1.0 if arr.max(initial=0.0) <= 1.0 else 255.0
        else:
            scale = 65535.0
        arr8 = np.empty(arr.shape, np.uint8)
        rows = max(1, _STRIP_BYTES // (8 * max(arr.shape[1], 1)))
        for y0 in range(0, arr.shape[0], rows):  # in strips: no full-size float64 copy
            part = arr[y0 : y0 + rows].astype(np.float64) * (255.0 / scale) + 0.5
            np.fmax(part, 0.0, out=part)  # fmax/fmin (not clip) so NaN becomes 0
            np.fmin(part, 255.0, out=part)
            arr8[y0 : y0 + rows] = part
        return Image.fromarray(arr8)
    return im.convert("RGB")  # YCbCr, RGBX, HSV, ...


def _grey16(im: Image.Image) -> np.ndarray:
    """(H, W) uint16 from a 16-bit greyscale Pillow image (I;16, I;16B, I)."""
    arr = np.asarray(im)
    if arr.dtype != np.uint16:
        arr = np.clip(arr, 0, 65535).astype(np.uint16)
    return arr


def _metadata_first(chunks: list[tuple[bytes, int, int]]) -> bool:
    """Whether nothing but IEND follows the PNG's last IDAT chunk."""
    types = [ctype for ctype, _, _ in chunks]
    last = max((i for i, ctype in enumerate(types) if ctype == b"IDAT"), default=None)
    return last is not None and types[last + 1 :] == [b"IEND"]


#: libpng refuses (and prints about) rows or columns past this by default (PNG_USER_WIDTH_MAX).
_LIBPNG_MAX_SIDE: Final[int] = 1_000_000


def _deep_png_fits(size: tuple[int, int], data: bytes, notes: list[str]) -> bool:
    """Whether a full-precision decode of this 16-bit colour PNG stays within ``_DECODE_BUDGET``
    (and libpng's size limit); if not, say so in ``notes`` (the caller then uses Pillow's 8-bit
    decode)."""
    width, height = size
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(data[25], 4)
    # OpenCV's uint16 decode + the float32 result (+ float32 alpha) + the file and the copy
    # of its IHDR/IDAT/IEND chunks given to OpenCV.
    per_pixel = 2 * channels + 12 + (4 if channels in (2, 4) else 0)
    need = width * height * per_pixel + 2 * len(data)
    if need <= _DECODE_BUDGET and max(width, height) <= _LIBPNG_MAX_SIDE:
        return True
    notes.append(
        f"16-bit PNG decoded at 8-bit precision: a full-precision decode of {width}x{height} would need "
        f"{need / _MIB:,.0f} MiB of memory"
        + (" and a narrower picture" if max(width, height) > _LIBPNG_MAX_SIDE else "")
    )
    return False


def _png16_with_opencv(
    data: bytes,
    chunks: list[tuple[bytes, int, int]],
    size: tuple[int, int],
    name: str,
    notes: list[str],
) -> tuple[np.ndarray, np.ndarray | None]:
    """Decode a 16-bit colour PNG at full precision with OpenCV.

    Pillow decodes 16-bit RGB(A) PNGs to 8 bits. OpenCV keeps 16 bits but its libpng prints
    warnings for odd ancillary chunks, so it is given a minimal copy holding only IHDR, IDAT and
    IEND (colour management, orientation and transparency keys are handled here, not by it);
    a file that holds nothing else is given as it is.

    Returns
    -------
    deep : numpy.ndarray
        uint16 (H, W, 3) in OpenCV's **BGR** order (the caller reverses it while converting, which
        saves a full-size copy), or (H, W) for grey.
    alpha : numpy.ndarray or None
        uint16 (H, W), a view into the same decode.
    """
    if any(ctype == b"tRNS" for ctype, _, _ in chunks):
        notes.append("16-bit PNG transparency key (tRNS) ignored")
    if not _png_stream_complete(data, chunks):
        raise CorruptImageError(f"{name}: the PNG image data is damaged (compressed stream check failed); {_REDO}")
    if all(ctype in (b"IHDR", b"IDAT", b"IEND") for ctype, _, _ in chunks):
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    else:
        parts = [data[:8]]
        for ctype, start, length in chunks:
            if ctype in (b"IHDR", b"IDAT", b"IEND"):
                parts.append(data[start - 8 : start + length + 4])
        minimal = b"".join(parts)
        del parts
        decoded = cv2.imdecode(np.frombuffer(minimal, np.uint8), cv2.IMREAD_UNCHANGED)
        del minimal
    width, height = size
    if decoded is None or decoded.shape[:2] != (height, width) or decoded.dtype != np.uint16:
        raise CorruptImageError(f"{name}: the 16-bit PNG could not be decoded; {_REDO}")
    if decoded.ndim == 2:
        return decoded, None
    channels = decoded.shape[2]
    if channels == 2:
        return decoded[..., 0], decoded[..., 1]
    return decoded[..., :3], (decoded[..., 3] if channels == 4 else None)


_ADAM7: Final[tuple[tuple[int, int, int, int], ...]] = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)


def _png_stream_complete(data: bytes, chunks: list[tuple[bytes, int, int]]) -> bool:
    """True if the header's methods are valid and the IDAT zlib stream ends cleanly, passes its
    checksum, holds exactly the rows the header promises, and every row's filter type is 0..4.

    These are the checks libpng makes in decoding a file reduced to IHDR/IDAT/IEND, and it prints
    to stderr when one fails, so OpenCV is only given streams that pass them. Pillow ignores the
    zlib checksum and trailing data. Decompressed in 1 MiB pieces that are checked and dropped,
    so memory stays small.
    """
    header = struct.unpack(">IIBBBBB", data[16:29])
    width, height, depth, colour_type, compression, filtering, interlace = header
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour_type)
    if channels is None or compression != 0 or filtering != 0 or interlace not in (0, 1):
        return False
    bits = depth * channels
    # (offset of the pass's first row in the stream, bytes per row with its filter byte, rows)
    passes: list[tuple[int, int, int]] = []
    offset = 0
    for x0, y0, dx, dy in _ADAM7 if interlace else ((0, 0, 1, 1),):
        w, h = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
        if w > 0 and h > 0:
            row = 1 + (w * bits + 7) // 8
            passes.append((offset, row, h))
            offset += row * h
    expected = offset
    inflater = zlib.decompressobj()
    total = 0
    try:
        for ctype, start, length in chunks:
            if ctype != b"IDAT":
                continue
            if inflater.eof:
                return False  # compressed data after the end of the stream
            pending = data[start : start + length]
            while pending and not inflater.eof:
                piece = inflater.decompress(pending, 1 << 20)
                if total + len(piece) > expected or not _filter_bytes_valid(piece, total, passes):
                    return False
                total += len(piece)
                pending = inflater.unconsumed_tail
            if inflater.eof and (pending or inflater.unused_data):
                return False
    except zlib.error:
        return False
    return inflater.eof and total == expected


def _filter_bytes_valid(piece: bytes, at: int, passes: list[tuple[int, int, int]]) -> bool:
    """Whether the row filter-type bytes that fall in ``piece`` (stream bytes ``at`` onwards) are 0..4."""
    end = at + len(piece)
    view = np.frombuffer(piece, np.uint8)
    for first, row, rows in passes:
        last = first + row * rows  # end of the pass
        if last <= at or first >= end:
            continue
        k = max(0, -(-(at - first) // row))  # first row whose filter byte is at or after `at`
        positions = np.arange(first + k * row, min(end, last), row) - at
        if positions.size and int(view[positions].max()) > 4:
            return False
    return True


@functools.cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _profile_name(icc: bytes) -> str:
    try:
        return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()
    except Exception:  # noqa: BLE001 - littleCMS reports bad blobs with several types
        return "unreadable"


def _is_srgb_profile(icc: bytes) -> bool:
    return "srgb" in _profile_name(icc).lower()


def _to_srgb_image(im: Image.Image, icc: bytes | None, notes: list[str]) -> tuple[Image.Image, str]:
    """Convert an L, RGB or CMYK image to sRGB-encoded L or RGB using its ICC profile.

    Returns the converted image and the text for :attr:`SourceInfo.colour`. An RGB image is
    converted in place; when a new image is made, ``im`` is closed (its pixels freed).
    """
    cmyk = im.mode == "CMYK"
    if icc is None:
        if cmyk:
            notes.append("CMYK photo without a colour profile: colours are approximate")
            return _replaced(im, im.convert("RGB")), "CMYK converted without a profile (approximate)"
        return im, "sRGB (assumed, no profile)"
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        description = ImageCms.getProfileDescription(profile).strip() or "unnamed"
    except Exception:  # noqa: BLE001 - littleCMS reports bad blobs with several types
        notes.append("the embedded colour profile is damaged: colours assumed to be sRGB")
        if cmyk:
            return _replaced(im, im.convert("RGB")), "CMYK converted without a profile (profile damaged)"
        return im, "sRGB (assumed, embedded profile unreadable)"
    if not cmyk and "srgb" in description.lower():
        return im, f"sRGB (embedded profile '{description}')"
    converted: Image.Image | None
    try:
        if im.mode == "RGB":
            ImageCms.profileToProfile(
                im, profile, _srgb_profile(), renderingIntent=ImageCms.Intent.PERCEPTUAL, outputMode="RGB", inPlace=True
            )
            converted = im
        else:
            converted = ImageCms.profileToProfile(
                im,
                profile,
                _srgb_profile(),
                renderingIntent=ImageCms.Intent.PERCEPTUAL,
                outputMode="RGB",
            )
    except Exception:  # noqa: BLE001 - e.g. a CMYK profile on an RGB image
        notes.append(f"the embedded colour profile '{description}' does not fit the image: colours assumed sRGB")
        if cmyk:
            return _replaced(im, im.convert("RGB")), "CMYK converted without a profile (profile unusable)"
        return im, "sRGB (assumed, embedded profile unusable)"
    assert converted is not None
    converted = _replaced(im, converted)
    if cmyk:
        return converted, f"CMYK converted with embedded profile '{description}'"
    return converted, f"converted to sRGB from '{description}'"


#: Row strips of about this many bytes are converted at a time (see :func:`_linear_from_pil`).
_STRIP_BYTES: Final[int] = 4 * _MIB
#: The decode memory the loader plans for: a 16-bit colour PNG whose full-precision decode would
#: need more is decoded at 8 bits (see :func:`_deep_png_fits` and docs/decoder.md).
_DECODE_BUDGET: Final[int] = 1024 * _MIB


def _linear_from_pil(im: Image.Image) -> np.ndarray:
    """An L or RGB Pillow image of sRGB codes -> float32 (H, W, 3) linear, C-contiguous.

    Filled in row strips of about ``_STRIP_BYTES``: ``np.asarray(im)`` would first copy the whole
    picture (3 bytes per pixel) next to Pillow's own (4) and the result (12).
    """
    if im.mode not in ("L", "RGB"):
        im = _replaced(im, im.convert("RGB"))
    width, height = im.size
    out = np.empty((height, width, 3), np.float32)
    rows = max(1, _STRIP_BYTES // (4 * width))
    for y0 in range(0, height, rows):
        y1 = min(height, y0 + rows)
        lin = _apply_lut8(np.asarray(im.crop((0, y0, width, y1))))
        out[y0:y1] = lin if lin.ndim == 3 else lin[..., None]
    return out


def _linear_from_array(arr: np.ndarray, *, bgr: bool = False) -> np.ndarray:
    """uint8/uint16 (H, W) or (H, W, 3) sRGB codes, any strides (e.g. an oriented view) -> float32
    (H, W, 3) linear, C-contiguous, converted in row strips; ``bgr`` reverses the channel order.

    Strips also make the 16-bit table look-up several times faster than one whole-array
    ``np.take`` (which spends its time on page faults of the 12-byte-per-pixel result).
    """
    height, width = arr.shape[:2]
    lut = _lut8_to_linear() if arr.dtype == np.uint8 else _lut16_to_linear()
    out = np.empty((height, width, 3), np.float32)
    rows = max(1, _STRIP_BYTES // (12 * width))
    for y0 in range(0, height, rows):
        part = arr[y0 : y0 + rows]
        band = out[y0 : y0 + rows]
        if part.ndim == 2:
            np.take(lut, part, out=band[..., 0])
            band[..., 1] = band[..., 0]
            band[..., 2] = band[..., 0]
        else:
            for c in range(3):  # per channel: faster than one look-up on a channel-reversed view
                np.take(lut, part[..., 2 - c if bgr else c], out=band[..., c])
    return out


def _alpha_to_float(alpha: np.ndarray | None) -> np.ndarray | None:
    """uint8/uint16 (H, W) alpha (any strides) -> float32 in [0, 1], C-contiguous, or None when
    fully opaque."""
    if alpha is None:
        return None
    full = 255 if alpha.dtype == np.uint8 else 65535
    if alpha.min() >= full:
        return None
    out = np.empty(alpha.shape, np.float32)
    np.divide(alpha, full, out=out, dtype=np.float32)
    return out


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------


@functools.cache
def _srgb_icc_bytes() -> bytes:
    """The embedded sRGB profile, with its creation date fixed so outputs are reproducible."""
    icc = bytearray(_srgb_profile().tobytes())
    # Header bytes 24..35 hold the creation date-time (littleCMS writes "now"); the profile ID
    # (bytes 84..99) is left zero by littleCMS, so nothing else depends on the date.
    icc[24:36] = struct.pack(">6H", 2000, 1, 1, 0, 0, 0)
    return bytes(icc)


def _normalise_format(format: str, name: str) -> str:
    if not isinstance(format, str):
        raise ValueError(f"{name} must be one of {FORMATS} (or 'jpeg'), got {format!r}")
    fmt = format.lower().lstrip(".")
    fmt = "jpg" if fmt == "jpeg" else fmt
    if fmt not in FORMATS:
        raise ValueError(f"{name} must be one of {FORMATS} (or 'jpeg'), got {format!r}")
    return fmt


def encode(
    image: np.ndarray,
    *,
    format: str = "jpg",
    quality: int = 92,
    alpha: np.ndarray | None = None,
    dpi: tuple[int, int] | None = None,
    xmp: bytes | None = None,
) -> bytes:
    """Encode a linear image as an sRGB JPEG, PNG or WebP file in memory.

    The output carries an embedded sRGB ICC profile, the `xmp` packet when one is given, and no
    EXIF or comments; the same inputs always give the same bytes.

    Parameters
    ----------
    image : numpy.ndarray
        float32 (H, W, 3) linear RGB in [0, 1] (values outside are clipped).
    format : {"jpg", "jpeg", "png", "webp"}, optional
        Output format.
    quality : int, optional
        1..100. JPEG and WebP quality (WebP 100 is lossless); ignored for PNG.
    alpha : numpy.ndarray, optional
        float32 (H, W) coverage in [0, 1] -> an RGBA PNG/WebP (straight alpha). Not for JPEG.
    dpi : tuple of int, optional
        (x, y) resolution written to JPEG (JFIF density) and PNG (pHYs); WebP has no
        resolution field, so it is ignored there.
    xmp : bytes, optional
        A complete XMP packet (UTF-8) to embed: JPEG APP1, PNG ``iTXt`` ``XML:com.adobe.xmp``,
        WebP ``XMP `` chunk (see :mod:`headshot.provenance`).

    Returns
    -------
    bytes
        The encoded file.
    """
    _check_image(image, "image")
    if xmp is not None and not isinstance(xmp, bytes):
        raise ValueError(f"xmp must be bytes (a UTF-8 XMP packet), got {type(xmp).__name__}")
    fmt = _normalise_format(format, "format")
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 1 <= quality <= 100:
        raise ValueError(f"quality must be an integer in 1..100, got {quality!r}")
    if alpha is not None:
        if fmt == "jpg":
            raise ValueError("alpha cannot be written to jpg: JPEG has no alpha channel; use png or webp")
        _check_alpha(alpha, image.shape[:2], "alpha")
    if dpi is not None:
        if (
            not isinstance(dpi, (tuple, list))
            or len(dpi) != 2
            or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0 for d in dpi)
        ):
            raise ValueError(f"dpi must be a pair of positive integers, got {dpi!r}")
        dpi = (int(dpi[0]), int(dpi[1]))

    rgb8 = to_srgb8(image)
    if alpha is not None:
        a8 = _alpha_to_uint8(alpha)
        pil = Image.fromarray(np.dstack([rgb8, a8]))
    else:
        pil = Image.fromarray(rgb8)
    del rgb8

    params: dict[str, object] = {"icc_profile": _srgb_icc_bytes()}
    if xmp is not None and fmt != "png":
        params["xmp"] = xmp
    if fmt == "jpg":
        params.update(quality=int(quality), subsampling=0, optimize=True, progressive=False)
        if dpi is not None:
            params["dpi"] = dpi
        pil_format = "JPEG"
    elif fmt == "png":
        params.update(compress_level=6)
        if xmp is not None:
            # Pillow has no xmp= for PNG: the XMP specification's place is an uncompressed iTXt chunk.
            info = PngImagePlugin.PngInfo()
            info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8"), lang="", tkey="", zip=False)
            params["pnginfo"] = info
        if dpi is not None:
            params["dpi"] = dpi
        pil_format = "PNG"
    else:
        params.update(quality=int(quality), method=4, lossless=quality == 100)
        pil_format = "WEBP"
    buf = io.BytesIO()
    pil.save(buf, format=pil_format, **params)
    return buf.getvalue()


def _alpha_to_uint8(alpha: np.ndarray) -> np.ndarray:
    """float (H, W) coverage -> uint8 (H, W); no gamma (alpha is linear), round to nearest, NaN -> 0."""
    a = np.multiply(alpha, 255.0, dtype=np.float32)
    np.add(a, 0.5, out=a)
    np.fmax(a, 0.0, out=a)
    np.fmin(a, 255.0, out=a)
    return a.astype(np.uint8)


_SUFFIX_FORMAT: Final[dict[str, str]] = {".jpg": "jpg", ".jpeg": "jpg", ".png": "png", ".webp": "webp"}


def save(
    image: np.ndarray,
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    quality: int = 92,
    alpha: np.ndarray | None = None,
    dpi: tuple[int, int] | None = None,
    xmp: bytes | None = None,
) -> pathlib.Path:
    """Encode a linear image and write it atomically.

    The bytes go to a temporary file in the same folder, which then replaces ``path``, so a
    reader never sees a half-written file.

    Parameters
    ----------
    image : numpy.ndarray
        float32 (H, W, 3) linear RGB in [0, 1].
    path : str or os.PathLike
        Destination; its folder must exist.
    format : {"jpg", "jpeg", "png", "webp"}, optional
        Output format; by default taken from the suffix of ``path``.
    quality, alpha, dpi, xmp
        As for :func:`encode`.

    Returns
    -------
    pathlib.Path
        ``path`` as a Path.

    Raises
    ------
    ValueError
        Bad arguments, or no format given and an unknown suffix.
    OutputError
        The folder does not exist or the file cannot be written.
    """
    target = pathlib.Path(path)
    if format is None:
        fmt = _SUFFIX_FORMAT.get(target.suffix.lower())
        if fmt is None:
            raise ValueError(
                f"path must end in .jpg, .jpeg, .png or .webp when format is not given, got {str(target)!r}"
            )
    else:
        fmt = _normalise_format(format, "format")
    data = encode(image, format=fmt, quality=quality, alpha=alpha, dpi=dpi, xmp=xmp)

    return write_atomic(target, data)


def write_atomic(path: str | os.PathLike[str], data: bytes) -> pathlib.Path:
    """Write bytes so that a reader never sees half a file, and a crash leaves the old file or the
    new one: a temporary file in the same folder (``.NAME.PID.RANDOM.tmp``), fsync, then a rename.

    Raises
    ------
    OutputError
        The folder does not exist or the file cannot be written.
    """
    target = pathlib.Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise OutputError(f"{target}: the folder {str(folder)!r} does not exist; create it first")
    temp = folder / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        # os.open with 0o666 lets the umask decide the final permissions, as a plain open would.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        try:
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
    except PermissionError as exc:
        raise OutputError(f"{target}: permission denied; choose a folder you can write to") from exc
    except IsADirectoryError as exc:
        raise OutputError(f"{target}: a folder has this name; choose another file name") from exc
    except OSError as exc:
        raise OutputError(f"{target}: cannot write the file ({exc.strerror or exc})") from exc
    return target
