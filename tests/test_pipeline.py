"""End to end: analyse once, render many; measured properties of the outputs; make() and its report."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import headshot
from headshot import PresetError, face as face_mod, load_platform, platform_names
from headshot.imageio import encode
from tests.conftest import ASTRONAUT, dev_photos, needs_shared, write_artifact

EYE_LINE_TOL = 0.015
ROLL_TOL = 1.0


def _measure(hs: headshot.Headshot) -> tuple[float, float, float]:
    """Re-detect the face on the output: eye-line height, roll, chin-to-crown (fractions of height)."""
    f = face_mod.detect(hs.image)
    h = hs.image.shape[0]
    return float(f.eye_mid[1] / h), float(f.pose.roll), float(f.head_height / h)


def _check_framing(subject: headshot.Subject, name: str) -> None:
    for pf_name in platform_names():
        pf = load_platform(pf_name)
        hs = headshot.render(subject, "corporate", pf)
        assert hs.image.dtype == np.float32 and hs.image.shape == (hs.crop.height, hs.crop.width, 3)
        assert 0.0 <= hs.image.min() and hs.image.max() <= 1.0
        assert abs(hs.crop.width / hs.crop.height - pf.width / pf.height) < 0.01
        eye, roll, head = _measure(hs)
        ok = abs(eye - pf.eye_line) <= EYE_LINE_TOL and abs(roll) <= ROLL_TOL
        if pf_name == "passport":
            ok = ok and 0.70 <= head <= 0.80
        if not ok:
            p = write_artifact(f"framing-{name}-{pf_name}", hs.image)
            pytest.fail(f"{name}/{pf_name}: eye line {eye:.3f} (target {pf.eye_line}), roll {roll:.2f}°, "
                        f"chin-to-crown {head:.3f}; see {p}")


def test_astronaut_every_platform(astronaut_subject) -> None:
    _check_framing(astronaut_subject, "astronaut")


# Over a tolerance today, measured 2026-11-23; strict, so the suite says when one starts passing. The
# tolerance is not relaxed for them.
KNOWN_FRAMING_MISSES = {
    # The eyes are levelled from the analysis' landmarks; re-detecting them on the output reads
    # 0.89 deg without the white balance and 1.13 deg with it: the colour alone moves MediaPipe's
    # re-detected roll by 0.24 deg on this photo.
    "fn_kate_siegel_1.jpg": "linkedin: re-detected roll 1.13 deg > 1.0 (0.89 deg before white balance)",
    # (fn_paul_rudd_1.jpg was listed here until 2026-11-23: website 1.07 deg with the natural retouch
    # healing 200 red flecks; since blemishes must have blood's colour it passes.)
}


def _framing_params() -> list:
    return [pytest.param(p, marks=[pytest.mark.xfail(strict=True, reason=KNOWN_FRAMING_MISSES[p.name])]
                         if p.name in KNOWN_FRAMING_MISSES else [], id=p.name) for p in dev_photos()]


@needs_shared
@pytest.mark.parametrize("path", _framing_params())
def test_dev_photo_every_platform(path: Path) -> None:
    _check_framing(headshot.analyse(path), path.stem)


def test_render_does_not_analyse_again(astronaut_subject, monkeypatch) -> None:
    def boom(*a, **k):
        raise AssertionError("render must not run the face or matte models again")

    monkeypatch.setattr(face_mod, "detect", boom)
    monkeypatch.setattr(headshot.matte, "compute", boom)
    monkeypatch.setattr(headshot.imageio, "load", boom)
    for style in ("corporate", "charcoal"):
        headshot.render(astronaut_subject, style, "website")


def test_geometry_is_built_once_and_only_for_light(monkeypatch) -> None:
    """The relighting geometry is not built by analyse (most headshots are not relit), but on the
    first relit render, once; a replace() copy with other pixels builds its own."""
    from dataclasses import replace

    calls = []
    build = headshot.geometry.build
    monkeypatch.setattr(headshot.geometry, "build", lambda *a, **k: calls.append(1) or build(*a, **k))
    sub = headshot.analyse(ASTRONAUT)
    headshot.render(sub, "corporate", "linkedin")
    assert calls == [] and "geometry" not in sub.timings
    relit = headshot.render(sub, "corporate", "linkedin", light="loop")
    headshot.render(sub, "warm", "website", light="split")
    assert calls == [1] and sub.timings["geometry"] > 0
    assert relit.lighting is not None and sub.geometry is sub.geometry
    other = replace(sub, photo=replace(sub.photo, pixels=sub.photo.pixels[:, ::-1].copy()))
    assert other.geometry is not sub.geometry and calls == [1, 1]


def test_render_is_deterministic(astronaut_subject) -> None:
    a = headshot.render(astronaut_subject, "warm", "linkedin")
    b = headshot.render(astronaut_subject, "warm", "linkedin")
    for fmt in ("jpg", "png", "webp"):
        assert encode(a.image, format=fmt) == encode(b.image, format=fmt)


def test_styles_differ(astronaut_subject) -> None:
    imgs = [headshot.render(astronaut_subject, s, "linkedin").image for s in headshot.presets.DEFAULT_STYLES]
    corners = [tuple(np.round(i[5, 5], 3)) for i in imgs]
    assert len(set(corners)) == len(imgs)


def test_subject_keeps_its_pixels_and_matte_edge(astronaut_subject) -> None:
    hs = headshot.render(astronaut_subject, "navy", "linkedin")
    # Inside the face the photo's own pixels (up to resampling and exposure) are kept.
    f = face_mod.detect(hs.image)
    mask = face_mod.region_mask(f, "skin", hs.image.shape[:2])
    # The oval runs along the silhouette at the jaw, where alpha is rightly partial: test the inside.
    k = max(3, int(f.width * 0.15)) | 1
    inner = cv2.erode(mask, np.ones((k, k), np.uint8)) > 0
    assert hs.alpha[inner].min() > 0.98
    # The backdrop fills the top corners.
    assert hs.alpha[:10, :10].max() < 0.02 and hs.alpha[:10, -10:].max() < 0.02


def test_exposure_rules(astronaut_subject) -> None:
    from dataclasses import replace

    assert headshot.render(astronaut_subject, "corporate", "linkedin").exposure_gain == 1.0
    assert headshot.render(astronaut_subject, "high-key", "linkedin").exposure_gain == pytest.approx(2 ** 0.2)
    dark = replace(astronaut_subject, stats=replace(astronaut_subject.stats, luminance=0.02))
    g = headshot.render(dark, "corporate", "linkedin").exposure_gain
    assert 1.0 < g <= 2.0


def test_passport_backdrop_is_plain_and_dpi(astronaut_subject, tmp_path: Path) -> None:
    hs = headshot.render(astronaut_subject, "charcoal", "passport")
    assert hs.image[:20, :20].mean() > 0.75  # light, whatever the style
    assert any("plain light backdrop" in n for n in hs.notes)
    path = headshot.save(hs, tmp_path / "p.jpg")
    with Image.open(path) as im:
        assert im.size == (827, 1063)
        assert tuple(round(d) for d in im.info["dpi"]) == (600, 600)


def test_make_end_to_end(tmp_path: Path) -> None:
    bad = tmp_path / "notes.jpg"
    bad.write_text("this is not a photo")
    blank = tmp_path / "wall.png"
    Image.new("RGB", (300, 300), (200, 190, 180)).save(blank)
    events: list[headshot.Progress] = []
    results = headshot.make([ASTRONAUT, bad, blank], out_dir=tmp_path / "out", on_progress=events.append)
    assert [r.ok for r in results] == [True, False, False]
    ok = results[0]
    assert len(ok.outputs) == 4 and all(p.is_file() for p in ok.outputs)
    assert {p.name for p in ok.outputs} == {f"astronaut_{s}_linkedin.jpg" for s in headshot.presets.DEFAULT_STYLES}
    assert "JPEG, PNG, WebP" in results[1].error or "format" in results[1].error
    assert "no face" in results[2].error
    assert events[-1].step == "done" and events[-1].done == events[-1].total
    rep = json.loads(ok.report.read_text())
    assert rep["input"]["name"] == "astronaut.jpg"
    assert rep["face"]["faces_found"] == 1 and len(rep["face"]["box"]) == 4
    assert {f["code"] for f in rep["findings"]} >= {"face_small"}
    assert len(rep["outputs"]) == 4
    for o in rep["outputs"]:
        assert {"file", "style", "platform", "size", "crop", "done", "notes", "timings_ms"} <= set(o)
        assert o["crop"]["scale"] <= 2.0 + 1e-6
    assert {"face", "matte", "checks", "decode"} <= set(rep["timings_ms"])
    text = ok.report.read_text().lower()
    for word in ("gps", "exif", "make", "model", "serial", "landmark"):
        assert f'"{word}' not in text


def test_make_is_byte_identical(tmp_path: Path) -> None:
    """Without credentials the files are byte-identical; with them, everything but the C2PA manifest
    store is (C2PA requires a fresh random salt in every assertion), and the manifests say the same."""
    from headshot import provenance

    kw = {"styles": ["corporate"], "platforms": ["website", "passport"]}
    r1 = headshot.make([ASTRONAUT], out_dir=tmp_path / "a", credentials=None, **kw)
    r2 = headshot.make([ASTRONAUT], out_dir=tmp_path / "b", credentials=None, **kw)
    for a, b in zip(r1[0].outputs, r2[0].outputs, strict=True):
        assert a.read_bytes() == b.read_bytes()
    s1 = headshot.make([ASTRONAUT], out_dir=tmp_path / "c", **kw)
    s2 = headshot.make([ASTRONAUT], out_dir=tmp_path / "d", **kw)
    for a, b, plain in zip(s1[0].outputs, s2[0].outputs, r1[0].outputs, strict=True):
        da, db = a.read_bytes(), b.read_bytes()
        assert da != db  # the salts
        assert provenance.strip(da) == provenance.strip(db)
        assert provenance.verify(da).edits == provenance.verify(db).edits
        # the image data is the unsigned file's, byte for byte (only the manifest is added)
        assert provenance.strip(da).endswith(plain.read_bytes()[plain.read_bytes().index(b"\xff\xda"):])


def test_make_checks_presets_first(tmp_path: Path) -> None:
    with pytest.raises(PresetError):
        headshot.make([ASTRONAUT], styles=["corporate", "nope"], out_dir=tmp_path / "o")
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_make_same_stem_twice(tmp_path: Path) -> None:
    other = tmp_path / "x" / "astronaut.png"
    other.parent.mkdir()
    Image.open(ASTRONAUT).save(other)
    res = headshot.make([ASTRONAUT, other], styles=["grey"], out_dir=tmp_path / "o")
    assert [r.report.parent.name for r in res] == ["astronaut", "astronaut-2"]


def test_make_unwritable_out(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("")
    with pytest.raises(headshot.OutputError, match="output folder"):
        headshot.make([ASTRONAUT], out_dir=f / "sub")


def test_make_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format"):
        headshot.make([ASTRONAUT], format="gif", out_dir=tmp_path)
    with pytest.raises(ValueError, match="size"):
        headshot.make([ASTRONAUT], size=5, out_dir=tmp_path)


def test_output_metadata_is_clean(astronaut_subject, tmp_path: Path) -> None:
    hs = headshot.render(astronaut_subject, "corporate", "linkedin")
    for fmt in ("jpg", "png", "webp"):
        p = headshot.save(hs, tmp_path / f"o.{fmt}")
        with Image.open(p) as im:
            assert not im.getexif()
            assert "icc_profile" in im.info
            assert not any(k in im.info for k in ("exif", "comment"))
            # The only XMP is ours: the digital source type, a description and the creator tool.
            from headshot.provenance import read_xmp

            xmp = read_xmp(im.info.get("xmp") or im.info.get("XML:com.adobe.xmp"))
            assert set(xmp) == {"digital_source_type", "description", "creator_tool"}


def test_roll_is_straightened_on_rotated_photo(tmp_path: Path) -> None:
    import cv2

    img = np.asarray(Image.open(ASTRONAUT))
    m = cv2.getRotationMatrix2D((256, 256), -12, 1.0)
    rot = cv2.warpAffine(img, m, (512, 512), borderMode=cv2.BORDER_REFLECT)
    p = tmp_path / "tilted.png"
    Image.fromarray(rot).save(p)
    s = headshot.analyse(p)
    assert abs(s.face.pose.roll) > 10
    _, roll, _ = _measure(headshot.render(s, "corporate", "linkedin"))
    assert abs(roll) <= ROLL_TOL, math.degrees(0)
