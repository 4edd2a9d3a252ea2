"""A corpus of bad and odd photo files, built synthetically, for tests of ``headshot.imageio``.

``make_corpus(dirpath)`` writes the files and returns ``(path, expected)`` pairs, where
``expected`` is ``"ok"`` or the name of the :mod:`headshot.errors` class that ``load`` must raise.
Everything is generated from ``skimage.data.astronaut()`` or from scratch, so the corpus needs no
files from outside the repository.

The ICC helpers (:func:`rgb_matrix_profile`, :func:`cmyk_swap_profile`) build small but valid
ICC v2 profiles by hand, because Pillow can only create sRGB, LAB and XYZ profiles.
"""

from __future__ import annotations

import io
import pathlib
import struct
import zlib

import cv2
import numpy as np
from PIL import Image
from skimage import data as skdata

__all__ = [
    "ADOBE_LIKE_GAMMA",
    "ADOBE_LIKE_PRIMARIES",
    "ORIENT_SIZE",
    "astronaut",
    "cmyk_swap_profile",
    "make_corpus",
    "orientation_test_image",
    "rgb_matrix_profile",
    "stored_for_orientation",
    "write_png16",
]

#: D50-adapted colorants (XYZ columns R, G, B) of an Adobe RGB (1998)-like profile.
ADOBE_LIKE_PRIMARIES = np.array([[0.6097, 0.2053, 0.1492], [0.3111, 0.6257, 0.0632], [0.0195, 0.0609, 0.7446]])
ADOBE_LIKE_GAMMA = 563 / 256
#: D50-adapted colorants of sRGB, as littleCMS's built-in sRGB profile has them.
SRGB_D50 = np.array(
    [[0.4360747, 0.3850649, 0.1430804], [0.2225045, 0.7168786, 0.0606169], [0.0139322, 0.0971045, 0.7141733]]
)
_D50 = (0.9642, 1.0, 0.8249)
#: (width, height) of the displayed orientation test image.
ORIENT_SIZE = (96, 64)


def astronaut(size: int | None = None) -> np.ndarray:
    """skimage's astronaut, uint8 (H, W, 3), optionally resized to ``size`` x ``size``."""
    img = skdata.astronaut()
    if size is not None and size != img.shape[0]:
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(img)


def orientation_test_image() -> np.ndarray:
    """The upright picture for orientation tests: uint8 (64, 96, 3), mid grey, a red patch at the
    top-left corner and a green patch at the top-right corner."""
    w, h = ORIENT_SIZE
    img = np.full((h, w, 3), 128, np.uint8)
    img[:20, :28] = (230, 20, 20)
    img[:20, -28:] = (20, 200, 20)
    return img


# ------------------------------------------------------------------------------------------
# ICC profile writing (ICC.1:2001-04, version 2.1)
# ------------------------------------------------------------------------------------------


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz_tag(xyz: tuple[float, float, float] | np.ndarray) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15(float(v)) for v in xyz)


def _desc_tag(text: str) -> bytes:
    ascii_ = text.encode("ascii") + b"\0"
    return (
        b"desc\0\0\0\0"
        + struct.pack(">I", len(ascii_))
        + ascii_
        + struct.pack(">II", 0, 0)  # Unicode language code and count
        + struct.pack(">HB", 0, 0)  # ScriptCode code and count
        + b"\0" * 67
    )


def _text_tag(text: str) -> bytes:
    return b"text\0\0\0\0" + text.encode("ascii") + b"\0"


def _curve_gamma(gamma: float) -> bytes:
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"


def _icc(device_class: bytes, colour_space: bytes, pcs: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    """Assemble header, tag table and 4-byte-aligned tag data into a profile."""
    table_len = 4 + 12 * len(tags)
    offset = 128 + table_len
    entries, blobs = [], []
    for sig, blob in tags:
        pad = (-len(blob)) % 4
        entries.append(struct.pack(">4sII", sig, offset, len(blob)))
        blobs.append(blob + b"\0" * pad)
        offset += len(blob) + pad
    body = struct.pack(">I", len(tags)) + b"".join(entries) + b"".join(blobs)
    size = 128 + len(body)
    header = (
        struct.pack(">I", size)
        + b"\0\0\0\0"
        + struct.pack(">I", 0x02100000)
        + device_class
        + colour_space
        + pcs
        + struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\0" * 4  # platform
        + b"\0" * 4  # flags
        + b"\0" * 8  # manufacturer, model
        + b"\0" * 8  # attributes
        + struct.pack(">I", 0)  # rendering intent
        + b"".join(_s15(v) for v in _D50)
        + b"\0" * 4  # creator
        + b"\0" * 44  # profile ID + reserved
    )
    assert len(header) == 128
    return header + body


def rgb_matrix_profile(
    description: str = "Test AdobeRGB-like",
    primaries: np.ndarray = ADOBE_LIKE_PRIMARIES,
    gamma: float = ADOBE_LIKE_GAMMA,
) -> bytes:
    """A matrix/TRC RGB display profile (XYZ PCS, D50 white, one gamma for all channels)."""
    curve = _curve_gamma(gamma)
    return _icc(
        b"mntr",
        b"RGB ",
        b"XYZ ",
        [
            (b"desc", _desc_tag(description)),
            (b"cprt", _text_tag("No copyright, test data")),
            (b"wtpt", _xyz_tag(_D50)),
            (b"rXYZ", _xyz_tag(primaries[:, 0])),
            (b"gXYZ", _xyz_tag(primaries[:, 1])),
            (b"bXYZ", _xyz_tag(primaries[:, 2])),
            (b"rTRC", curve),
            (b"gTRC", curve),
            (b"bTRC", curve),
        ],
    )


def _srgb8_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in [0, 1], (..., 3) -> CIE Lab (D50), (..., 3)."""
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = lin @ SRGB_D50.T / np.array(_D50)
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def cmyk_swap_profile(grid: int = 9) -> bytes:
    """A CMYK output profile whose A2B0 table gives Pillow's naive CMYK->RGB colours with red and
    blue exchanged, so a test can tell for sure that the embedded profile was used."""
    axis = np.linspace(0.0, 1.0, grid)
    c, m, y, k = np.meshgrid(axis, axis, axis, axis, indexing="ij")  # first channel slowest
    rgb = np.stack([(1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k)], -1)
    lab = _srgb8_to_lab(rgb[..., ::-1])  # the swap
    enc = np.empty_like(lab)  # ICC v2 16-bit Lab encoding used by lut16Type
    enc[..., 0] = lab[..., 0] * 65280 / 100
    enc[..., 1:] = (lab[..., 1:] + 128) * 256
    clut = np.clip(np.round(enc), 0, 65535).astype(">u2").reshape(-1)
    ramp = np.array([0, 65535], ">u2").tobytes()
    identity = b"".join(_s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
    lut = (
        b"mft2\0\0\0\0"
        + struct.pack(">BBBB", 4, 3, grid, 0)
        + identity
        + struct.pack(">HH", 2, 2)
        + ramp * 4
        + clut.tobytes()
        + ramp * 3
    )
    return _icc(
        b"prtr",
        b"CMYK",
        b"Lab ",
        [
            (b"desc", _desc_tag("Test CMYK swap")),
            (b"cprt", _text_tag("No copyright, test data")),
            (b"wtpt", _xyz_tag(_D50)),
            (b"A2B0", lut),
        ],
    )


# ------------------------------------------------------------------------------------------
# File builders
# ------------------------------------------------------------------------------------------


def _save(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


def _png_chunk(ctype: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(">I", zlib.crc32(ctype + payload))


def _insert_png_chunk(png: bytes, chunk: bytes) -> bytes:
    """Insert ``chunk`` right after IHDR (8 + 25 bytes)."""
    return png[:33] + chunk + png[33:]


_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def write_png16(rgb16: np.ndarray, *, interlaced: bool = False) -> bytes:
    """A 16-bit RGB PNG of uint16 (H, W, 3) written by hand (filter 0), optionally Adam7
    interlaced, which neither Pillow nor OpenCV can write."""
    h, w, _ = rgb16.shape
    big = rgb16.astype(">u2")
    passes = _ADAM7 if interlaced else ((0, 0, 1, 1),)
    raw = bytearray()
    for x0, y0, dx, dy in passes:
        sub = big[y0::dy, x0::dx]
        if sub.size:
            for row in sub:
                raw += b"\0" + row.tobytes()
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 1 if interlaced else 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(bytes(raw)))
        + _png_chunk(b"IEND", b"")
    )


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


_INVERSE = {6: 8, 8: 6}
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def stored_for_orientation(upright: Image.Image, orientation: int) -> Image.Image:
    """The pixels a camera would store so that ``orientation`` displays ``upright``."""
    if orientation == 1:
        return upright
    return upright.transpose(_TRANSPOSE[_INVERSE.get(orientation, orientation)])


def _frames(size: int = 48) -> list[Image.Image]:
    return [Image.new("RGB", (size, size), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]


def make_corpus(dirpath: str | pathlib.Path) -> list[tuple[pathlib.Path, str]]:
    """Write the bad/odd input corpus into ``dirpath`` (created if needed).

    Returns
    -------
    list of (pathlib.Path, str)
        Each file and what ``headshot.imageio.load`` must do with it: ``"ok"`` or the name of the
        error class it must raise (``"CorruptImageError"``, ``"UnsupportedFormatError"``,
        ``"ImageTooLargeError"``).
    """
    import pillow_heif  # a project dependency; imported here so merely importing this is cheap

    root = pathlib.Path(dirpath)
    root.mkdir(parents=True, exist_ok=True)
    out: list[tuple[pathlib.Path, str]] = []

    def put(name: str, content: bytes, expected: str) -> None:
        path = root / name
        path.write_bytes(content)
        out.append((path, expected))

    base = Image.fromarray(astronaut(256))
    small = Image.fromarray(astronaut(64))
    jpeg = _save(base, "JPEG", quality=90)
    png = _save(base, "PNG")
    webp = _save(base, "WEBP", quality=80)

    # --- plain, valid files, some with misleading names -------------------------------------
    put("baseline.jpg", jpeg, "ok")
    put("progressive.jpg", _save(base, "JPEG", quality=90, progressive=True), "ok")
    put("png_named.jpg", png, "ok")
    put("jpeg_named.png", jpeg, "ok")
    put("jpeg_no_extension", jpeg, "ok")
    put("lossy.webp", webp, "ok")
    put("grey.jpg", _save(base.convert("L"), "JPEG", quality=90), "ok")
    put("bilevel.png", _save(base.convert("1"), "PNG"), "ok")
    put("palette.png", _save(base.convert("P"), "PNG"), "ok")
    pal = base.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    put("palette_trns.png", _save(pal, "PNG", transparency=0), "ok")
    rgba = base.convert("RGBA")
    a = np.asarray(rgba).copy()
    a[:, : a.shape[1] // 2, 3] = 0  # left half transparent
    a[:, a.shape[1] // 2 :, 3] = 255
    put("rgba.png", _save(Image.fromarray(a), "PNG"), "ok")
    put("rgba_opaque.png", _save(rgba, "PNG"), "ok")
    put("la.png", _save(Image.fromarray(a).convert("LA"), "PNG"), "ok")
    put("lossless_alpha.webp", _save(Image.fromarray(a), "WEBP", lossless=True), "ok")
    frames = _frames()
    animated_webp = _save(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True, duration=100)
    put("animated.webp", animated_webp, "ok")
    put("animated.png", _save(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100), "ok")

    # --- 16-bit PNGs (written by OpenCV, which keeps 16 bits) ----------------------------------
    ramp = (np.arange(64 * 96, dtype=np.uint32) * 11 % 65536).astype(np.uint16).reshape(64, 96)
    rgb16 = np.dstack([ramp, ramp[::-1], 65535 - ramp])
    put("rgb16.png", cv2.imencode(".png", rgb16[..., ::-1])[1].tobytes(), "ok")
    alpha16 = np.tile(np.linspace(0, 65535, 96).astype(np.uint16), (64, 1))
    put("rgba16.png", cv2.imencode(".png", np.dstack([rgb16[..., ::-1], alpha16]))[1].tobytes(), "ok")
    put("grey16.png", _save(Image.fromarray(ramp), "PNG"), "ok")
    put("rgb16_interlaced.png", write_png16(rgb16, interlaced=True), "ok")
    plain = write_png16(rgb16)
    idat_at = plain.find(b"IDAT")
    length = struct.unpack(">I", plain[idat_at - 4 : idat_at])[0]
    payload = bytearray(plain[idat_at + 4 : idat_at + 4 + length])
    payload[-1] ^= 0xFF  # break the zlib (adler32) checksum, keep the chunk CRC right
    bad_adler = plain[: idat_at - 4] + _png_chunk(b"IDAT", bytes(payload)) + plain[idat_at + 8 + length :]
    put("bad_zlib_check16.png", bad_adler, "CorruptImageError")
    upright = orientation_test_image()
    stored16 = np.ascontiguousarray(np.asarray(stored_for_orientation(Image.fromarray(upright), 6)))
    png16 = cv2.imencode(".png", (stored16[..., ::-1].astype(np.uint16) * 257))[1].tobytes()
    put("orient6_16bit.png", _insert_png_chunk(png16, _png_chunk(b"eXIf", _exif(6)[6:])), "ok")

    # --- orientation, colour management, odd metadata ----------------------------------------
    for o in range(1, 9):
        stored = stored_for_orientation(Image.fromarray(upright), o)
        put(f"orient{o}.jpg", _save(stored, "JPEG", quality=95, exif=_exif(o)), "ok")
    put("broken_exif.jpg", _save(small, "JPEG", quality=90, exif=b"Exif\0\0MM\0*\0\0\0\x08\xff\xff garbage"), "ok")
    put("broken_icc.jpg", _save(small, "JPEG", quality=90, icc_profile=b"not a profile" * 20), "ok")
    put("adobergb_like.jpg", _save(base, "JPEG", quality=95, icc_profile=rgb_matrix_profile()), "ok")
    put("cmyk_adobe.jpg", _save(base.convert("CMYK"), "JPEG", quality=95), "ok")
    put("cmyk_profile.jpg", _save(base.convert("CMYK"), "JPEG", quality=95, icc_profile=cmyk_swap_profile()), "ok")
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    put("srgb_profile.png", _save(base, "PNG", icc_profile=srgb), "ok")

    # --- HEIF (pillow-heif's own encoder) ----------------------------------------------------
    heif = pillow_heif.from_pillow(small)
    buf = io.BytesIO()
    heif.save(buf, quality=85)
    heic = buf.getvalue()
    put("photo.heic", heic, "ok")
    stored = stored_for_orientation(Image.fromarray(upright), 6)
    heif6 = pillow_heif.from_pillow(stored)
    heif6.info["exif"] = _exif(6)
    buf = io.BytesIO()
    heif6.save(buf, quality=90)
    put("orient6.heic", buf.getvalue(), "ok")  # pillow-heif stores it as an irot box + EXIF 6

    # --- truncated and damaged ----------------------------------------------------------------
    put("empty.jpg", b"", "CorruptImageError")
    sos = jpeg.find(b"\xff\xda")
    sos_end = sos + 2 + struct.unpack(">H", jpeg[sos + 2 : sos + 4])[0]
    for label, cut in (
        ("soi", 3),
        ("header", 20),
        ("in_sos", sos + 3),
        ("after_sos", sos_end),
        ("half", len(jpeg) // 2),
        ("90pct", len(jpeg) * 9 // 10),
    ):
        put(f"trunc_{label}.jpg", jpeg[:cut], "CorruptImageError")
    put("trunc_sig.png", png[:8], "CorruptImageError")
    put("trunc_ihdr.png", png[:20], "CorruptImageError")
    put("trunc_half.png", png[: len(png) // 2], "CorruptImageError")
    put("trunc_no_iend.png", png[:-12], "CorruptImageError")
    idat = png.find(b"IDAT")
    damaged = bytearray(png)
    damaged[idat + 100] ^= 0x55
    put("bad_crc.png", bytes(damaged), "CorruptImageError")
    put("trunc.webp", webp[: len(webp) // 2], "CorruptImageError")
    put("trunc.heic", heic[: len(heic) // 2], "CorruptImageError")
    rng = np.random.default_rng(1234)
    put("jpeg_magic_garbage.jpg", b"\xff\xd8\xff" + rng.bytes(2000), "CorruptImageError")

    # --- too many pixels (claimed by the header; must fail before decoding) ------------------
    ihdr = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0))
    idat_small = _png_chunk(b"IDAT", zlib.compress(b"\0" * 100))
    put("huge_header.png", b"\x89PNG\r\n\x1a\n" + ihdr + idat_small + _png_chunk(b"IEND", b""), "ImageTooLargeError")
    sof = jpeg.find(b"\xff\xc0")
    big = bytearray(jpeg)
    big[sof + 5 : sof + 9] = struct.pack(">HH", 20000, 20000)
    put("huge_header.jpg", bytes(big), "ImageTooLargeError")
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\0\0\0\0" + (16000 - 1).to_bytes(3, "little") * 2
    put("huge_header.webp", b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x, "ImageTooLargeError")

    # --- not an accepted format (whatever the name says) -------------------------------------
    svg = '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>\n'
    put("drawing.svg.jpg", svg.encode(), "UnsupportedFormatError")
    put("document.pdf", _save(small, "PDF"), "UnsupportedFormatError")
    put("scan.tiff", _save(small, "TIFF"), "UnsupportedFormatError")
    put("anim.gif", _save(small, "GIF"), "UnsupportedFormatError")
    put("bitmap.jpg", _save(small, "BMP"), "UnsupportedFormatError")
    put("random.jpg", rng.bytes(4096), "UnsupportedFormatError")
    put("notes.jpg", b"just some text, not a photo\n" * 10, "UnsupportedFormatError")
    put("image.avif", b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf" + rng.bytes(500), "UnsupportedFormatError")
    put("clip.heic", b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2" + rng.bytes(500), "UnsupportedFormatError")
    return out
