"""Tests of headshot.imageio: decoding untrusted files, colour conversion, encoding and saving."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms, ImageFile

from headshot import errors, imageio
from headshot.imageio import (
    Photo,
    encode,
    from_srgb8,
    linear_to_srgb,
    load,
    save,
    srgb_to_linear,
    to_srgb8,
)
from tests import badinput

# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------


def exact_eotf(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def exact_oetf(c: np.ndarray) -> np.ndarray:
    c = np.clip(np.asarray(c, np.float64), 0, 1)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)


def as_srgb8(photo: Photo) -> np.ndarray:
    """The photo's pixels as int sRGB codes (exact conversion), for comparisons."""
    return np.round(exact_oetf(photo.pixels) * 255).astype(int)


def assert_valid_photo(photo: Photo) -> None:
    px = photo.pixels
    assert isinstance(photo, Photo)
    assert px.dtype == np.float32 and px.ndim == 3 and px.shape[2] == 3
    assert px.flags.c_contiguous and not px.flags.writeable
    assert np.isfinite(px).all() and px.min() >= 0.0 and px.max() <= 1.0
    assert (photo.height, photo.width) == px.shape[:2]
    assert (photo.source.height, photo.source.width) == px.shape[:2]
    assert photo.source.bit_depth in (8, 16)
    assert 1 <= photo.source.orientation <= 8
    assert photo.source.format in ("jpeg", "png", "webp", "heif")
    if photo.alpha is not None:
        a = photo.alpha
        assert a.dtype == np.float32 and a.shape == px.shape[:2]
        assert not a.flags.writeable
        assert a.min() >= 0.0 and a.max() <= 1.0 and a.min() < 1.0


def write_failure_images(name: str, **images: np.ndarray) -> None:
    """On a failed image comparison, leave the images where a person can look at them."""
    folder = pathlib.Path("test-artifacts") / "imageio"
    folder.mkdir(parents=True, exist_ok=True)
    for label, img in images.items():
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"{name}-{label}.png")


def assert_similar(name: str, actual: np.ndarray, expected: np.ndarray, mean_tol: float) -> None:
    diff = np.abs(actual.astype(float) - expected.astype(float)).mean()
    if diff > mean_tol:
        write_failure_images(name, actual=actual, expected=expected)
    assert diff <= mean_tol, f"{name}: mean abs difference {diff:.2f} codes > {mean_tol}"


# ------------------------------------------------------------------------------------------
# the corpus
# ------------------------------------------------------------------------------------------

_CORPUS_DIR = pathlib.Path(tempfile.mkdtemp(prefix="headshot-corpus-"))
CORPUS = badinput.make_corpus(_CORPUS_DIR)
CASES = {path.name: (path, expected) for path, expected in CORPUS}


@pytest.fixture(scope="module", autouse=True)
def _remove_corpus():
    yield
    shutil.rmtree(_CORPUS_DIR, ignore_errors=True)


FORMAT_OF = {  # by content, whatever the name says
    "png_named.jpg": "png",
    "jpeg_named.png": "jpeg",
    "jpeg_no_extension": "jpeg",
}
WITH_ALPHA = {"palette_trns.png", "rgba.png", "la.png", "lossless_alpha.webp", "rgba16.png"}
UPRIGHT = {f"orient{o}.jpg" for o in range(1, 9)} | {"orient6_16bit.png", "orient6.heic"}
MESSAGE_HINTS = {
    "drawing.svg.jpg": "SVG",
    "document.pdf": "PDF",
    "scan.tiff": "TIFF",
    "anim.gif": "GIF",
    "bitmap.jpg": "BMP",
    "image.avif": "AVIF",
    "empty.jpg": "empty",
    "huge_header.png": "30000x30000",
    "huge_header.jpg": "20000x20000",
    "huge_header.webp": "16000x16000",
}


def test_corpus_covers_every_expected_outcome():
    outcomes = {expected for _, expected in CORPUS}
    assert outcomes == {"ok", "CorruptImageError", "UnsupportedFormatError", "ImageTooLargeError"}
    assert len(CASES) == len(CORPUS)  # names are unique


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_case(name):
    path, expected = CASES[name]
    if expected != "ok":
        cls = getattr(errors, expected)
        start = time.perf_counter()
        with pytest.raises(errors.HeadshotError) as info:
            load(path)
        assert type(info.value) is cls, f"{name}: {type(info.value).__name__}: {info.value}"
        assert str(info.value).startswith(name)
        if name in MESSAGE_HINTS:
            assert MESSAGE_HINTS[name] in str(info.value)
        if expected == "UnsupportedFormatError":
            assert "JPEG, PNG, WebP and HEIC/HEIF" in str(info.value)
        if expected == "ImageTooLargeError":
            assert "megapixels" in str(info.value) and "downscale" in str(info.value)
            assert time.perf_counter() - start < 0.1  # refused from the header, not decoded
        return

    photo = load(path)
    assert_valid_photo(photo)
    src = photo.source
    assert src.name == name
    assert src.file_bytes == path.stat().st_size
    by_suffix = {".jpg": "jpeg", ".png": "png", ".webp": "webp", ".heic": "heif"}
    assert src.format == (FORMAT_OF[name] if name in FORMAT_OF else by_suffix[path.suffix])
    assert (photo.alpha is not None) == (name in WITH_ALPHA), name
    if name in UPRIGHT:
        w, h = badinput.ORIENT_SIZE
        assert photo.pixels.shape == (h, w, 3)
        srgb = as_srgb8(photo)
        red, green = srgb[8, 10], srgb[8, w - 10]
        assert red[0] > 180 and red[1] < 80 and red[2] < 80, f"{name}: top-left is {red}"
        assert green[1] > 150 and green[0] < 80 and green[2] < 80, f"{name}: top-right is {green}"
        assert abs(srgb[h - 10, w // 2] - 128).max() < 12  # the rest is mid grey
        if name.endswith(".jpg"):
            assert src.orientation == int(name[6])


# ------------------------------------------------------------------------------------------
# specific decoding properties
# ------------------------------------------------------------------------------------------


def test_lossless_png_matches_the_source_exactly():
    photo = load(CASES["png_named.jpg"][0])
    np.testing.assert_array_equal(photo.pixels, from_srgb8(badinput.astronaut(256)))
    assert photo.source.colour == "sRGB (assumed, no profile)"
    assert photo.source.notes == ()


def test_embedded_srgb_profile_is_not_converted():
    photo = load(CASES["srgb_profile.png"][0])
    np.testing.assert_array_equal(photo.pixels, from_srgb8(badinput.astronaut(256)))
    assert "sRGB" in photo.source.colour and "embedded" in photo.source.colour


@pytest.mark.parametrize("name", ["rgb16.png", "rgb16_interlaced.png"])
def test_sixteen_bit_png_keeps_full_precision(name):
    photo = load(CASES[name][0])
    assert photo.source.bit_depth == 16
    ramp = (np.arange(64 * 96, dtype=np.uint32) * 11 % 65536).astype(np.uint16).reshape(64, 96)
    rgb16 = np.dstack([ramp, ramp[::-1], 65535 - ramp])
    np.testing.assert_allclose(photo.pixels, exact_eotf(rgb16 / 65535.0), atol=2e-7)


def test_sixteen_bit_rgba_and_grey():
    rgba = load(CASES["rgba16.png"][0])
    alpha16 = np.tile(np.linspace(0, 65535, 96).astype(np.uint16), (64, 1))
    np.testing.assert_allclose(rgba.alpha, alpha16 / 65535.0, atol=1e-7)
    grey = load(CASES["grey16.png"][0])
    assert grey.source.bit_depth == 16 and grey.source.mode.startswith("I;16")
    ramp = (np.arange(64 * 96, dtype=np.uint32) * 11 % 65536).astype(np.uint16).reshape(64, 96)
    np.testing.assert_allclose(grey.pixels[..., 1], exact_eotf(ramp / 65535.0), atol=2e-7)
    assert (grey.pixels[..., 0] == grey.pixels[..., 2]).all()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_array_orientation_matches_pillow(orientation):
    """The 16-bit path turns arrays with numpy; it must agree with Pillow's transposes."""
    a = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    im = Image.fromarray(a)
    if orientation != 1:
        im = im.transpose(imageio._TRANSPOSE[orientation])
    np.testing.assert_array_equal(imageio._orient_array(a, orientation), np.asarray(im))


def test_greyscale_is_replicated():
    photo = load(CASES["grey.jpg"][0])
    assert photo.source.mode == "L"
    px = photo.pixels
    assert (px[..., 0] == px[..., 1]).all() and (px[..., 1] == px[..., 2]).all()


@pytest.mark.parametrize("name", ["palette_trns.png", "rgba.png", "la.png", "lossless_alpha.webp"])
def test_alpha_values(name):
    photo = load(CASES[name][0])
    a = photo.alpha
    assert a is not None
    if name != "palette_trns.png":  # the left half was made transparent
        assert a[:, :128].max() == 0.0 and a[:, 128:].min() == 1.0


def test_animated_files_use_the_first_frame():
    for name in ("animated.webp", "animated.png"):
        photo = load(CASES[name][0])
        np.testing.assert_allclose(photo.pixels[10, 10], [1.0, 0.0, 0.0], atol=1e-6)
        assert any("first frame" in n for n in photo.source.notes), photo.source.notes


def test_cmyk_adobe_jpeg_is_not_inverted():
    data = CASES["cmyk_adobe.jpg"][0].read_bytes()
    at = data.find(b"Adobe")  # the APP14 marker of Photoshop-style (inverted) CMYK
    assert 0 < at < 1000 and data[at - 4 : at - 2] == b"\xff\xee"
    photo = load(data)
    assert photo.source.mode == "CMYK"
    assert "without a profile" in photo.source.colour
    assert any("CMYK" in n for n in photo.source.notes)
    assert_similar("cmyk_adobe", as_srgb8(photo), badinput.astronaut(256), mean_tol=4)


def test_cmyk_jpeg_is_converted_through_its_profile():
    # The test profile swaps red and blue, so only a conversion through it gives this result.
    photo = load(CASES["cmyk_profile.jpg"][0])
    assert photo.source.colour == "CMYK converted with embedded profile 'Test CMYK swap'"
    ref = badinput.astronaut(256)
    assert_similar("cmyk_profile", as_srgb8(photo), ref[..., ::-1], mean_tol=6)
    assert np.abs(as_srgb8(photo) - ref.astype(int)).mean() > 20


def test_rgb_profile_is_converted_to_srgb():
    photo = load(CASES["adobergb_like.jpg"][0])
    assert photo.source.colour == "converted to sRGB from 'Test AdobeRGB-like'"
    # Expected: decode the file's codes as Adobe-like RGB, go through XYZ (D50) to linear sRGB.
    with Image.open(CASES["adobergb_like.jpg"][0]) as im:
        codes = np.asarray(im.convert("RGB"), np.float64) / 255
    xyz = (codes**badinput.ADOBE_LIKE_GAMMA) @ badinput.ADOBE_LIKE_PRIMARIES.T
    expected = np.clip(xyz @ np.linalg.inv(badinput.SRGB_D50).T, 0, 1)
    err = np.abs(photo.pixels - expected)
    assert err.mean() < 0.003 and np.percentile(err, 99) < 0.02
    # and it really changed something: an identity decode would be far off
    assert np.abs(from_srgb8((codes * 255).round().astype(np.uint8)) - expected).mean() > 0.01


def test_broken_icc_profile_falls_back_to_srgb_with_a_note():
    photo = load(CASES["broken_icc.jpg"][0])
    assert "assumed" in photo.source.colour
    assert any("profile" in n for n in photo.source.notes)


def test_load_from_bytes_and_pathlike():
    path = CASES["baseline.jpg"][0]
    a = load(path.read_bytes())
    b = load(str(path))
    c = load(path)
    assert a.source.name == "<bytes>" and b.source.name == "baseline.jpg"
    np.testing.assert_array_equal(a.pixels, b.pixels)
    np.testing.assert_array_equal(b.pixels, c.pixels)


def test_missing_file_and_folder_are_input_errors(tmp_path):
    with pytest.raises(errors.InputError, match="no such file"):
        load(tmp_path / "nope.jpg")
    with pytest.raises(errors.InputError, match="folder"):
        load(tmp_path)
    with pytest.raises(TypeError, match="source"):
        load(42)  # type: ignore[arg-type]


def test_byte_limit_is_checked_before_reading(tmp_path):
    path = CASES["baseline.jpg"][0]
    size = path.stat().st_size
    with pytest.raises(errors.FileTooLargeError, match="MiB"):
        load(path, max_bytes=size - 1)
    with pytest.raises(errors.FileTooLargeError):
        load(path.read_bytes(), max_bytes=100)
    assert load(path, max_bytes=size).source.file_bytes == size


def test_pixel_limit(tmp_path):
    path = CASES["baseline.jpg"][0]
    with pytest.raises(errors.ImageTooLargeError, match="256x256"):
        load(path, max_pixels=256 * 256 - 1)
    load(path, max_pixels=256 * 256)
    with pytest.raises(ValueError, match="max_pixels"):
        load(path, max_pixels=0)
    with pytest.raises(ValueError, match="max_bytes"):
        load(path, max_bytes=-5)


def test_pillow_bomb_warning_and_error_never_escape(monkeypatch):
    data = CASES["baseline.jpg"][0].read_bytes()  # 65536 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 40_000)  # 65536 > limit: a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_valid_photo(load(data))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 20_000)  # 65536 > 2 x limit: Pillow's error
    with pytest.raises(errors.ImageTooLargeError):
        load(data)


def test_no_warnings_escape_and_pillow_globals_untouched():
    before = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for path, expected in CORPUS:
            try:
                load(path)
            except errors.HeadshotError:
                assert expected != "ok", path.name
    assert before == (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_concurrent_loads_leave_warning_filters_as_they_were():
    from concurrent.futures import ThreadPoolExecutor

    before = list(warnings.filters)
    paths = [path for path, expected in CORPUS if expected == "ok"] * 3
    with ThreadPoolExecutor(4) as pool:
        photos = list(pool.map(load, paths))
    assert all(isinstance(p, Photo) for p in photos)
    assert warnings.filters == before


def test_decoders_print_nothing(capfd):
    """libpng/libjpeg/libheif write to file descriptor 2 directly; nothing may get there."""
    for path, _ in CORPUS:
        with contextlib.suppress(errors.HeadshotError):
            load(path)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_photo_validates_its_arrays():
    info = load(CASES["orient1.jpg"][0]).source
    with pytest.raises(ValueError, match=r"pixels.*\(64, 96\)"):
        Photo(pixels=np.zeros((64, 96), np.float32), alpha=None, source=info)
    with pytest.raises(ValueError, match="float32"):
        Photo(pixels=np.zeros((64, 96, 3)), alpha=None, source=info)
    with pytest.raises(ValueError, match="alpha"):
        Photo(pixels=np.zeros((64, 96, 3), np.float32), alpha=np.ones((10, 10), np.float32), source=info)


# ------------------------------------------------------------------------------------------
# sRGB <-> linear
# ------------------------------------------------------------------------------------------


def test_from_srgb8_lut_matches_exact_formula():
    codes = np.arange(256, dtype=np.uint8)
    lin = from_srgb8(codes)
    assert lin.dtype == np.float32 and lin.shape == (256,)
    np.testing.assert_allclose(lin, exact_eotf(codes / 255.0), rtol=1e-6, atol=1e-9)
    assert lin[0] == 0.0 and lin[255] == 1.0
    # any shape
    block = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(from_srgb8(block), lin[block])
    assert from_srgb8(np.zeros((0, 3), np.uint8)).shape == (0, 3)
    with pytest.raises(ValueError, match="uint8"):
        from_srgb8(np.zeros(3, np.float32))


def test_exact_conversions():
    x = np.linspace(0, 1, 1001)
    np.testing.assert_allclose(srgb_to_linear(x), exact_eotf(x), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(linear_to_srgb(x), exact_oetf(x), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-6)
    assert srgb_to_linear(x.astype(np.float32)).dtype == np.float32
    assert linear_to_srgb(np.array([-1.0, 2.0])).tolist() == [0.0, 1.0]
    assert abs(float(srgb_to_linear(np.array(0.5))) - 0.21404114) < 1e-6
    with pytest.raises(ValueError, match="x"):
        srgb_to_linear(np.arange(3))


def test_to_srgb8_within_one_code_of_exact():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.random(200_000), np.geomspace(1e-7, 1, 5000), [0.0, 1.0, -0.5, 3.0]])
    got = to_srgb8(x.astype(np.float32))
    exact = np.floor(exact_oetf(x) * 255 + 0.5)
    assert got.dtype == np.uint8
    assert np.abs(got.astype(int) - exact).max() <= 1
    assert np.mean(got != exact) < 0.01
    # the sRGB codes themselves survive the trip through linear exactly
    codes = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(to_srgb8(from_srgb8(codes)), codes)
    assert to_srgb8(np.array([np.nan, np.inf, -np.inf], np.float32)).tolist() == [0, 255, 0]
    with pytest.raises(ValueError, match="x"):
        to_srgb8(np.arange(3))


def test_to_srgb8_keeps_shape_and_is_deterministic():
    x = np.random.default_rng(1).random((7, 5, 3)).astype(np.float32)
    a, b = to_srgb8(x), to_srgb8(x.copy())
    assert a.shape == (7, 5, 3)
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------------------
# encode / save
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    return from_srgb8(badinput.astronaut(128))


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp"])
def test_mid_grey_round_trip(fmt):
    grey = srgb_to_linear(np.full((16, 16, 3), 0.5, np.float32))
    assert abs(float(grey[0, 0, 0]) - 0.214) < 0.001
    photo = load(encode(grey, format=fmt))
    back = linear_to_srgb(photo.pixels)
    assert np.abs(back - 0.5).max() <= 1 / 255


def test_png_round_trip_is_lossless(picture):
    photo = load(encode(picture, format="png"))
    np.testing.assert_array_equal(photo.pixels, picture)


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp"])
def test_encode_is_deterministic_and_clean(fmt, picture):
    a = encode(picture, format=fmt, quality=85)
    b = encode(picture.copy(), format=fmt, quality=85)
    assert a == b
    with Image.open(io.BytesIO(a)) as im:
        assert im.format == {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}[fmt]
        assert len(im.getexif()) == 0
        for key in ("exif", "xmp", "XML:com.adobe.xmp", "comment"):
            assert key not in im.info
        icc = im.info.get("icc_profile")
        assert icc, "no ICC profile embedded"
        desc = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
        assert "sRGB" in desc
    decoded = load(a)
    assert "sRGB" in decoded.source.colour
    assert_similar(f"encode-{fmt}", as_srgb8(decoded), to_srgb8(picture), mean_tol=0 if fmt == "png" else 6)


def test_encode_is_reproducible_across_processes(picture):
    """Same bytes in a fresh interpreter (the embedded profile carries no creation time); also
    checks that importing the module does not import pillow-heif."""
    code = (
        "import hashlib, sys, numpy as np\n"
        "import headshot.imageio as m\n"
        "assert 'pillow_heif' not in sys.modules, 'pillow_heif imported at import time'\n"
        "x = np.linspace(0, 1, 8 * 8 * 3, dtype=np.float32).reshape(8, 8, 3)\n"
        "print(';'.join(hashlib.sha256(m.encode(x, format=f)).hexdigest() for f in m.FORMATS))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(pathlib.Path(imageio.__file__).parents[1]))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    x = np.linspace(0, 1, 8 * 8 * 3, dtype=np.float32).reshape(8, 8, 3)
    here = ";".join(hashlib.sha256(encode(x, format=f)).hexdigest() for f in imageio.FORMATS)
    assert out.stdout.strip() == here


def test_dpi_is_written(picture):
    with Image.open(io.BytesIO(encode(picture, format="jpg", dpi=(600, 600)))) as im:
        assert im.info["dpi"] == (600, 600)
    with Image.open(io.BytesIO(encode(picture, format="png", dpi=(600, 300)))) as im:
        assert im.info["dpi"] == pytest.approx((600, 300), abs=0.01)
    encode(picture, format="webp", dpi=(600, 600))  # no resolution field: accepted, ignored


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_alpha_is_written(fmt, picture):
    alpha = np.zeros(picture.shape[:2], np.float32)
    alpha[:, 64:] = 1.0
    alpha[:, 60:64] = 0.5
    photo = load(encode(picture, format=fmt, alpha=alpha, quality=100))
    assert photo.alpha is not None
    np.testing.assert_allclose(photo.alpha, alpha, atol=1 / 255)
    opaque = load(encode(picture, format=fmt, alpha=np.ones(picture.shape[:2], np.float32)))
    assert opaque.alpha is None


def test_webp_quality_100_is_lossless(picture):
    photo = load(encode(picture, format="webp", quality=100))
    np.testing.assert_array_equal(as_srgb8(photo), to_srgb8(picture))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"image": np.zeros((4, 4), np.float32)}, r"image.*\(4, 4\)"),
        ({"image": np.zeros((4, 4, 4), np.float32)}, r"image.*\(4, 4, 4\)"),
        ({"image": np.zeros((4, 4, 3))}, "image.*float32"),
        ({"format": "gif"}, "format"),
        ({"quality": 0}, "quality"),
        ({"quality": 101}, "quality"),
        ({"format": "jpg", "alpha": np.ones((4, 4), np.float32)}, "jpg.*alpha|alpha.*jpg"),
        ({"format": "png", "alpha": np.ones((3, 4), np.float32)}, r"alpha.*\(3, 4\)"),
        ({"dpi": (600,)}, "dpi"),
        ({"dpi": (0, 600)}, "dpi"),
    ],
)
def test_encode_rejects_bad_arguments(kwargs, match):
    args = {"image": np.zeros((4, 4, 3), np.float32)} | kwargs
    image = args.pop("image")
    with pytest.raises(ValueError, match=match):
        encode(image, **args)


def test_jpeg_alias():
    x = np.zeros((4, 4, 3), np.float32)
    assert encode(x, format="jpeg") == encode(x, format="jpg")


def test_save_picks_format_from_suffix_and_writes_atomically(tmp_path, picture):
    for suffix, fmt in ((".jpg", "JPEG"), (".JPEG", "JPEG"), (".png", "PNG"), (".webp", "WEBP")):
        path = save(picture, tmp_path / f"out{suffix}")
        assert isinstance(path, pathlib.Path) and path == tmp_path / f"out{suffix}"
        with Image.open(path) as im:
            assert im.format == fmt
    path = save(picture, str(tmp_path / "explicit.bin"), format="png")
    assert path.read_bytes() == encode(picture, format="png")
    # overwriting replaces the file in one step and leaves no temporary files
    save(picture, tmp_path / "out.png", dpi=(600, 600))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["out.jpg", "out.JPEG", "out.png", "out.webp", "explicit.bin"]
    )
    with pytest.raises(ValueError, match="path"):
        save(picture, tmp_path / "out.gif")


def test_save_errors(tmp_path, picture):
    with pytest.raises(errors.OutputError, match="does not exist"):
        save(picture, tmp_path / "missing" / "out.jpg")
    (tmp_path / "taken.png").mkdir()
    with pytest.raises(errors.OutputError):
        save(picture, tmp_path / "taken.png")
    assert [p.name for p in tmp_path.iterdir()] == ["taken.png"]  # no temporary file left


def test_save_maps_permission_errors(tmp_path, picture, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(imageio.os, "open", refuse)
    with pytest.raises(errors.OutputError, match="permission denied"):
        save(picture, tmp_path / "out.jpg")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores permissions")
def test_save_permission_error(tmp_path, picture):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(errors.OutputError, match="permission"):
            save(picture, locked / "out.jpg")
    finally:
        locked.chmod(0o700)


# ------------------------------------------------------------------------------------------
# fuzzing: only HeadshotError subclasses may come out of load()
# ------------------------------------------------------------------------------------------


def _seed_files() -> list[bytes]:
    img = Image.fromarray(badinput.astronaut(32))
    seeds = []
    for fmt, params in (("JPEG", {"quality": 80}), ("PNG", {}), ("WEBP", {"quality": 80})):
        buf = io.BytesIO()
        img.save(buf, format=fmt, **params)
        seeds.append(buf.getvalue())
    return seeds


SEEDS = _seed_files()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(range(len(SEEDS))),
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=8),
    cut=st.one_of(st.none(), st.integers(0, 10**6)),
)
def test_fuzzed_files_raise_only_headshot_errors(seed, flips, cut):
    data = bytearray(SEEDS[seed])
    for pos, xor in flips:
        data[pos % len(data)] ^= xor
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    try:
        photo = load(bytes(data))
    except errors.HeadshotError:
        return
    assert_valid_photo(photo)
