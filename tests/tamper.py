"""Ways to tamper with a signed output, for tests/test_provenance.py and benchmarks/bench_provenance.py.

Each function takes a signed file (JPEG, PNG or WebP) and returns a modified copy that still
carries the original manifest store, so a verifier must say it was tampered with.
"""

from __future__ import annotations

import re
import struct

from headshot.imageio import sniff_format
from headshot.provenance import strip

__all__ = ["TAMPERS", "manifest_span", "transplant"]


def manifest_span(signed: bytes) -> tuple[int, bytes]:
    """Where the manifest store sits in a signed file: ``(offset, its bytes)`` (one contiguous run)."""
    plain = strip(signed)
    start = 12 if signed[:4] == b"RIFF" else 0  # (a WebP's RIFF size field differs, of course)
    k = next((i for i in range(start, len(plain)) if signed[i] != plain[i]), len(plain))
    n = len(signed) - len(plain)
    if signed[start:k] + signed[k + n:] != plain[start:]:
        raise ValueError("the manifest store is not one contiguous run")
    return k, signed[k:k + n]


def _fix_riff(data: bytes) -> bytes:
    if data[:4] == b"RIFF":
        return data[:4] + struct.pack("<I", len(data) - 8) + data[8:]
    return data


def transplant(signed: bytes, other_signed: bytes) -> bytes:
    """`other_signed`'s pixels under `signed`'s manifest store (a credential copied onto another picture)."""
    k, store = manifest_span(signed)
    tail = len(signed) - len(store) - k  # bytes after the store: a WebP keeps it last, JPEG/PNG near the start
    target = strip(other_signed)
    at = k if k <= tail else len(target) - tail
    return _fix_riff(target[:at] + store + target[at:])


def _image_data_offset(data: bytes) -> int:
    """An offset well inside the compressed image data (not in headers, XMP or the manifest)."""
    k, store = manifest_span(data)
    rest = len(data) - len(store)
    # the middle of what is not the manifest, mapped back past the store when it lies before it
    mid = rest // 2 + rest // 4
    return mid + len(store) if mid >= k else mid


def flip_pixel_byte(data: bytes, other: bytes) -> bytes:
    out = bytearray(data)
    out[_image_data_offset(data)] ^= 0x10
    return bytes(out)


def edit_xmp(data: bytes, other: bytes) -> bytes:
    """Claim the file is a plain camera capture (same length, so nothing else moves)."""
    m = re.search(rb"digitalsourcetype/(\w+)", data)
    assert m is not None, "no digital source type in the file"
    term = m.group(1)
    fake = b"digitalCapture" if len(term) >= 14 else b"print"
    return data[:m.start(1)] + fake.ljust(len(term)) + data[m.end(1):]


def append_bytes(data: bytes, other: bytes) -> bytes:
    return _fix_riff(data + b"\x00" * 64)


def add_exif_gps(data: bytes, other: bytes) -> bytes:
    """Insert an EXIF block (with a GPS tag) where each format keeps it."""
    tiff = b"MM\x00\x2a\x00\x00\x00\x08" + b"\x00\x01" + b"\x88\x25\x00\x04\x00\x00\x00\x01\x00\x00\x00\x1a" \
        + b"\x00\x00\x00\x00" + b"\x00\x00"
    fmt = sniff_format(data[:64], "x")
    if fmt == "jpeg":
        seg = b"Exif\x00\x00" + tiff
        return data[:2] + b"\xff\xe1" + struct.pack(">H", len(seg) + 2) + seg + data[2:]
    if fmt == "png":
        import zlib

        chunk = struct.pack(">I", len(tiff)) + b"eXIf" + tiff + struct.pack(">I", zlib.crc32(b"eXIf" + tiff))
        return data[:33] + chunk + data[33:]
    chunk = b"EXIF" + struct.pack("<I", len(tiff)) + tiff + (b"\x00" if len(tiff) & 1 else b"")
    return _fix_riff(data + chunk)


def flip_manifest_byte(data: bytes, other: bytes) -> bytes:
    """Change one byte of the claim's actions (what the credentials say was done)."""
    i = data.index(b"c2pa.actions")
    j = data.index(b"description", i)
    out = bytearray(data)
    out[j + 16] ^= 0x01
    return bytes(out)


def transplant_onto_other(data: bytes, other: bytes) -> bytes:
    return transplant(data, other)


#: name -> function(signed, another signed output of the same format) -> tampered copy
TAMPERS = {
    "pixel byte flipped": flip_pixel_byte,
    "XMP source type edited": edit_xmp,
    "bytes appended": append_bytes,
    "EXIF with GPS inserted": add_exif_gps,
    "manifest edited": flip_manifest_byte,
    "manifest moved to another picture": transplant_onto_other,
}
