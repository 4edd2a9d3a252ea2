"""Photos seeded with everything an output must not carry, and checks that an output carries none of it.

Used by tests/test_provenance.py and benchmarks/bench_provenance.py. Each seeded file holds
GPS coordinates, camera make/model/serial, a maker note, an XMP packet (with a location and a
person's name), a comment, IPTC (JPEG) and a non-sRGB ICC profile, every value marked with a
unique string so a byte search of an output finds any of it that leaked.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

from headshot.imageio import _srgb_icc_bytes
from tests.badinput import rgb_matrix_profile

__all__ = ["MARKERS", "exiftool_tags", "foreign_metadata", "json_keys", "leaks", "seeded"]

#: Strings planted in the seeded metadata; none may appear in any output.
MARKERS = ("LEAKMAKE", "LEAKMODEL", "LEAKSERIAL4242", "LEAKMAKERNOTE", "LEAKXMPCITY", "LEAKPERSON",
           "LEAKCOMMENT", "LEAKIPTC", "LEAKSOFTWARE", "LEAKICCNAME")

_XMP = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        'photoshop:City="LEAKXMPCITY" '
        'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture">'
        '<dc:creator><rdf:Seq><rdf:li>LEAKPERSON</rdf:li></rdf:Seq></dc:creator>'
        '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>').encode("utf-8")


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "LEAKMAKE"          # Make
    exif[0x0110] = "LEAKMODEL"         # Model
    exif[0x0131] = "LEAKSOFTWARE"      # Software
    exif[0x0112] = 1                   # Orientation
    ifd = exif.get_ifd(0x8769)         # Exif IFD
    ifd[0xA431] = "LEAKSERIAL4242"     # BodySerialNumber
    ifd[0x927C] = b"LEAKMAKERNOTE\x00\x01\x02"  # MakerNote
    gps = exif.get_ifd(0x8825)         # GPS IFD
    gps[1] = "N"
    gps[2] = (51.0, 30.0, 26.0)
    gps[3] = "W"
    gps[4] = (0.0, 7.0, 39.0)
    return exif


def _iptc_app13() -> bytes:
    """A Photoshop APP13 segment with one IPTC record (2:120 caption)."""
    caption = b"LEAKIPTC caption"
    record = b"\x1c\x02\x78" + len(caption).to_bytes(2, "big") + caption
    irb = b"8BIM" + (0x0404).to_bytes(2, "big") + b"\x00\x00" + len(record).to_bytes(4, "big") + record
    if len(record) % 2:
        irb += b"\x00"
    body = b"Photoshop 3.0\x00" + irb
    return b"\xff\xed" + (len(body) + 2).to_bytes(2, "big") + body


def seeded(rgb8: np.ndarray, fmt: str) -> bytes:
    """`rgb8` (H, W, 3 uint8) as a `fmt` file ("jpeg", "png", "webp" or "heif") full of metadata."""
    im = Image.fromarray(rgb8)
    icc = rgb_matrix_profile(description="LEAKICCNAME")
    buf = io.BytesIO()
    exif = _exif()
    if fmt == "jpeg":
        im.save(buf, "JPEG", quality=92, exif=exif, icc_profile=icc, xmp=_XMP, comment=b"LEAKCOMMENT")
        data = buf.getvalue()
        return data[:2] + _iptc_app13() + data[2:]
    if fmt == "png":
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", "LEAKCOMMENT")
        info.add_itxt("XML:com.adobe.xmp", _XMP.decode("utf-8"))
        im.save(buf, "PNG", pnginfo=info, exif=exif, icc_profile=icc)
        return buf.getvalue()
    if fmt == "webp":
        im.save(buf, "WEBP", quality=90, exif=exif, icc_profile=icc, xmp=_XMP)
        return buf.getvalue()
    if fmt == "heif":
        from pillow_heif import register_heif_opener

        register_heif_opener()
        im.save(buf, "HEIF", quality=90, exif=exif.tobytes(), xmp=_XMP, icc_profile=icc)
        return buf.getvalue()
    raise ValueError(fmt)


def leaks(data: bytes) -> list[str]:
    """Which planted markers appear in `data` (raw bytes, and UTF-16 for XMP/EXIF written wide)."""
    found = []
    for m in MARKERS:
        if m.encode() in data or m.encode("utf-16-le") in data or m.encode("utf-16-be") in data:
            found.append(m)
    return found


def exiftool_tags(path: Path) -> dict[str, str] | None:
    """All tags exiftool reads in a file, ``{"Group:Tag": value}`` (None when exiftool is not installed)."""
    exe = shutil.which("exiftool")
    if exe is None:
        return None
    out = subprocess.run([exe, "-a", "-G1", "-s", "-j", "-b", "--ThumbnailImage", str(path)], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    import json

    rows = json.loads(out)
    return {k: str(v) for k, v in rows[0].items()} if rows else {}


DENIED_GROUPS = ("GPS", "IFD0", "IFD1", "ExifIFD", "MakerNotes", "IPTC", "Photoshop", "PNG-tEXt", "Comment")
OUR_XMP = {"XMP-iptcExt:DigitalSourceType", "XMP-xmp:CreatorTool", "XMP-dc:Description"}


def foreign_metadata(path: Path) -> list[str]:
    """Everything in an output file that we did not write (empty when clean): planted markers, EXIF,
    another ICC profile, unknown Pillow info keys and, where exiftool is installed, any tag of a
    denied group or any XMP property but ours."""
    found = [f"marker {m}" for m in leaks(path.read_bytes())]
    with Image.open(path) as im:
        if im.getexif():
            found.append("EXIF")
        if im.info.get("icc_profile") != _srgb_icc_bytes():
            found.append("ICC profile other than our sRGB one")
        for k in im.info:
            if k not in ("icc_profile", "xmp", "XML:com.adobe.xmp", "dpi", "jfif", "jfif_version", "jfif_unit",
                         "jfif_density", "progressive", "progression", "loop", "duration", "background",
                         "lossless", "adobe", "adobe_transform", "caBX"):
                found.append(f"Pillow info {k}")
    tags = exiftool_tags(path)
    if tags is not None:
        for name, value in tags.items():
            group = name.split(":", 1)[0]
            if group.startswith(DENIED_GROUPS) or (group.startswith("XMP") and name not in OUR_XMP):
                found.append(f"{name}={value[:40]}")
            if name == "ICC_Profile:ProfileDescription" and "sRGB" not in value:
                found.append(f"{name}={value}")
            if name.startswith("File:Comment"):
                found.append(name)
    return found


def json_keys(doc: object) -> list[str]:
    """Every key of a JSON document, at any depth."""
    if isinstance(doc, dict):
        return [str(k) for k in doc] + [k for v in doc.values() for k in json_keys(v)]
    if isinstance(doc, list):
        return [k for v in doc for k in json_keys(v)]
    return []
