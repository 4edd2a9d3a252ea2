"""Capture checks: each problem is found on a synthetic copy of a good photo, with advice."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from headshot import analyse, checks, load
from headshot.imageio import Photo
from tests.conftest import ASTRONAUT, dev_photos, needs_shared


def _codes(findings) -> set[str]:
    return {f.code for f in findings}


def _variant(pixels: np.ndarray) -> Photo:
    base = load(ASTRONAUT)
    pixels = np.ascontiguousarray(np.clip(pixels, 0, 1), dtype=np.float32)
    return replace(base, pixels=pixels)


@pytest.fixture(scope="module")
def astro() -> np.ndarray:
    return load(ASTRONAUT).pixels


def test_astronaut_findings(astronaut_subject) -> None:
    fs = astronaut_subject.findings
    codes = _codes(fs)
    assert "face_small" in codes  # 92 px: said, with advice
    assert not codes & {"blurry", "soft", "dark", "eyes_closed", "eyes_half", "turned"}
    msg = next(f.message for f in fs if f.code == "face_small")
    assert "px wide" in msg and "move closer" in msg
    sev = [checks.SEVERITIES.index(f.severity) for f in fs]
    assert sev == sorted(sev, reverse=True)


def test_blur_is_found(astro) -> None:
    s = analyse(_variant(cv2.GaussianBlur(astro, (0, 0), 2.5)))
    assert _codes(s.findings) & {"blurry", "soft"}


def test_dark_is_found(astro) -> None:
    s = analyse(_variant(astro * 0.08))
    f = next(f for f in s.findings if f.code == "dark")
    assert "window" in f.message or "light" in f.message


def test_tilt_is_reported_as_handled(astro) -> None:
    h, w = astro.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 14, 1.0)
    s = analyse(_variant(cv2.warpAffine(astro, m, (w, h), borderMode=cv2.BORDER_REFLECT)))
    f = next(f for f in s.findings if f.code == "tilted")
    assert f.severity == "info" and "will be straightened" in f.message and "1" in f.message


def test_half_face_shadow_is_found(astro, astronaut_subject) -> None:
    img = astro.copy()
    x = int(astronaut_subject.face.eye_mid[0])
    img[:, :x] *= 0.15
    s = analyse(_variant(img))
    f = next(f for f in s.findings if f.code == "uneven_light")
    assert "left half" in f.message


def test_closed_eyes_and_turned_head(astronaut_subject) -> None:
    face = astronaut_subject.face
    lm = face.landmarks.copy()
    for top, bottom in ((159, 145), (386, 374), (158, 153), (160, 144), (385, 380), (387, 373)):
        lm[top] = lm[bottom]
    shut = replace(face, landmarks=lm, pose=replace(face.pose, yaw=31.0))
    codes = _codes(checks.run(shut, astronaut_subject.stats))
    assert {"eyes_closed", "turned"} <= codes
    turned = next(f for f in checks.run(shut, astronaut_subject.stats) if f.code == "turned")
    assert turned.severity == "poor" and "31°" in turned.message


def test_several_faces_message(astronaut_subject) -> None:
    two = replace(astronaut_subject.face, faces_found=2)
    f = next(f for f in checks.run(two, astronaut_subject.stats) if f.code == "several_faces")
    assert f.message == "two faces found: using the largest"


@needs_shared
@pytest.mark.parametrize("path", dev_photos(), ids=lambda p: p.name)
def test_dev_photos_analyse(path) -> None:
    s = analyse(path)
    assert s.face.width > 60
    for f in s.findings:
        assert f.severity in checks.SEVERITIES and f.message
    # The clean studio shots are not called blurry or dark.
    if path.name in ("fr_alex_lacamoire_img1.jpg", "fn_paul_rudd_1.jpg", "df_img24.jpg"):
        assert not _codes(s.findings) & {"blurry", "dark"}


def test_tight_crop_is_found(astro, astronaut_subject) -> None:
    f = astronaut_subject.face
    x0, y0 = int(f.box.x0) - 5, int(f.box.y0) - 5
    x1, y1 = int(f.box.x1) + 5, int(f.box.y1) + 5
    s = analyse(_variant(np.ascontiguousarray(astro[y0:y1, x0:x1])))
    t = next(x for x in s.findings if x.code == "tight_crop")
    assert t.severity == "poor" and "head and shoulders" in t.message
