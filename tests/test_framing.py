"""Framing: numeric goldens on transformed landmark sets (no model needed beyond one detection)."""

from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np
import pytest

from headshot import framing, load_platform
from headshot.face import FACE_OVAL, Face, estimate_pose


def _transformed(face: Face, angle_deg: float = 0.0, scale: float = 1.0, shift=(0.0, 0.0)) -> Face:
    """The same face rotated (about its eye midpoint), scaled and shifted in the image."""
    a = math.radians(angle_deg)
    r = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    lm = face.landmarks.astype(np.float64).copy()
    c = face.eye_mid.astype(np.float64)
    lm[:, :2] = (lm[:, :2] - c) @ r.T * scale + c + np.asarray(shift)
    lm[:, 2] *= scale
    lm = lm.astype(np.float32)
    return replace(face, landmarks=lm, pose=estimate_pose(lm))


@pytest.mark.parametrize("platform", ["linkedin", "website", "speaker", "press", "square-avatar", "passport"])
@pytest.mark.parametrize("angle", [0.0, -9.0, 14.0])
def test_eye_line_head_size_and_level(astronaut_subject, platform: str, angle: float) -> None:
    face = _transformed(astronaut_subject.face, angle, scale=6.0, shift=(1500, 1200))
    pf = load_platform(platform)
    crop = framing.plan(face, (4000, 4000), pf)
    assert (crop.width, crop.height) == (pf.width, pf.height)
    eyes = crop.apply(np.stack([face.right_eye, face.left_eye]))
    # eyes level (roll straightened; the astronaut's iris line and corner line differ by ~0.3°)
    lm_out = crop.apply(face.landmarks[:, :2])
    from headshot.face import estimate_pose

    lm3 = face.landmarks.copy()
    lm3[:, :2] = lm_out
    assert abs(estimate_pose(lm3).roll) < 0.01
    assert abs(eyes.mean(axis=0)[1] / crop.height - pf.eye_line) < 1e-3
    # head size as the preset says
    assert crop.scale * face.head_height / crop.height == pytest.approx(pf.head_height, rel=1e-3)
    # face oval centred horizontally
    oval = crop.apply(face.landmarks[list(FACE_OVAL), :2])
    assert abs((oval[:, 0].min() + oval[:, 0].max()) / 2 - crop.width / 2) < 0.5
    assert crop.rotation == pytest.approx(-face.pose.roll, abs=1e-6)
    assert crop.extended == () and crop.zoom == 1.0


def test_linkedin_face_inside_central_circle(astronaut_subject) -> None:
    pf = load_platform("linkedin")
    face = _transformed(astronaut_subject.face, 5.0, scale=6.0, shift=(1500, 1200))
    crop = framing.plan(face, (4000, 4000), pf)
    oval = crop.apply(face.landmarks[list(FACE_OVAL), :2])
    r = np.hypot(oval[:, 0] - crop.width / 2, oval[:, 1] - crop.height / 2)
    assert r.max() <= 0.30 * crop.width  # inside the central 60%


def test_small_face_reduces_output_instead_of_upscaling(astronaut_subject) -> None:
    pf = load_platform("linkedin")
    crop = framing.plan(astronaut_subject.face, (512, 512), pf)
    assert crop.scale <= framing.MAX_SILENT_UPSCALE + 1e-6
    assert crop.width < pf.width and min(crop.width, crop.height) >= pf.min_side
    assert any("reduced" in n for n in crop.notes)


def test_requested_size_is_kept_and_upscale_reported(astronaut_subject) -> None:
    crop = framing.plan(astronaut_subject.face, (512, 512), load_platform("linkedin"), size=1500)
    assert (crop.width, crop.height) == (1500, 1500)
    assert crop.scale > 2 and any("enlarged" in n for n in crop.notes)


def test_fixed_size_platform_ignores_size(astronaut_subject) -> None:
    pf = load_platform("passport")
    crop = framing.plan(astronaut_subject.face, (512, 512), pf, size=300)
    assert (crop.width, crop.height) == (pf.width, pf.height)
    assert any("fixed size" in n for n in crop.notes)


def test_cut_off_shoulders_zoom_then_extend(astronaut_subject) -> None:
    face = _transformed(astronaut_subject.face, 0.0, scale=6.0, shift=(1500, 1200))
    pf = load_platform("website")
    chin_y = float(face.chin[1])
    # Photo ending a little below the chin: the head is enlarged, within max_zoom.
    ph = int(chin_y + face.head_height * 1.05)
    crop = framing.plan(face, (4000, ph), pf, touching=("bottom",))
    assert 1.0 < crop.zoom <= pf.max_zoom + 1e-9
    if crop.zoom < pf.max_zoom - 1e-6:
        bottom = crop.invert(np.array([[0, crop.height], [crop.width, crop.height]]))
        assert bottom[:, 1].max() <= ph + 0.5 and "bottom" not in crop.extended
    # Photo ending at the chin: zoom maxes out and the frame is extended, said in the notes.
    crop2 = framing.plan(face, (4000, int(chin_y + 5)), pf, touching=("bottom",))
    assert crop2.zoom == pytest.approx(pf.max_zoom)
    assert "bottom" in crop2.extended and any("cut off" in n for n in crop2.notes)


def test_passport_makes_room_for_hair(astronaut_subject) -> None:
    face = _transformed(astronaut_subject.face, 0.0, scale=6.0, shift=(1500, 1200))
    pf = load_platform("passport")
    # Hair 25% of the head height above the skull estimate: cannot fit at 75%.
    top = face.crown + face.up * face.head_height * 0.25
    crop = framing.plan(face, (4000, 4000), pf, head_top=(float(top[0]), float(top[1])))
    frac = crop.scale * face.head_height / crop.height
    assert pf.min_head_height - 1e-6 <= frac < pf.head_height
    y_top = crop.apply(top[None, :])[0, 1] / crop.height
    assert y_top >= pf.hair_margin - 1e-3 or frac == pytest.approx(pf.min_head_height)


def test_warp_identity_reproduces_pixels() -> None:
    rng = np.random.default_rng(1)
    img = rng.random((60, 80, 3), dtype=np.float32)
    crop = framing.Crop(matrix=np.array([[1.0, 0, -10], [0, 1.0, -5]]), width=40, height=30, scale=1.0,
                        rotation=0.0, zoom=1.0, extended=(), notes=())
    out = framing.warp_image(img, crop)
    np.testing.assert_allclose(out, img[5:35, 10:50], atol=1e-5)


def test_warp_downscale_does_not_alias() -> None:
    # One-pixel stripes shrunk 5x must become flat grey, not a moire of stripes.
    img = np.zeros((500, 500, 3), dtype=np.float32)
    img[:, ::2] = 1.0
    crop = framing.Crop(matrix=np.array([[0.2, 0, 0], [0, 0.2, 0]]), width=100, height=100, scale=0.2,
                        rotation=0.0, zoom=1.0, extended=(), notes=())
    out = framing.warp_image(img, crop)
    assert abs(float(out.mean()) - 0.5) < 0.01
    # An exact 5-pixel box over 2-pixel stripes leaves 3/5 vs 2/5 at worst (std <= 0.1); sampling
    # without the box filter would give stripes of 0 and 1 (std ~0.5).
    assert float(out[5:-5, 5:-5].std()) < 0.05


def test_warp_alpha_never_grows_above_the_photo_and_fades_below() -> None:
    alpha = np.ones((100, 100), dtype=np.float32)  # subject touches every edge
    crop = framing.Crop(matrix=np.array([[1.0, 0, 40], [0, 1.0, 30]]), width=180, height=200, scale=1.0,
                        rotation=0.0, zoom=1.0, extended=(), notes=())
    a = framing.warp_alpha(alpha, 1.0, crop)
    assert a[:29].max() == 0.0  # above the photo's top edge
    assert a[80, 90] == 1.0  # inside
    # Below the photo (rows >= 130) the subject fades out smoothly over FADE_LENGTH of the height.
    col = a[129:, 90]
    assert np.all(np.diff(col) <= 1e-6) and col[0] > 0.99
    n = int(framing.FADE_LENGTH * 200)  # 24 px; the photo's last row is output row 129
    assert a[129 + n + 2, 90] == 0.0 and 0.3 < a[129 + n // 2, 90] < 0.7
    # Beside it (columns < 40) likewise.
    assert a[80, 40 - n - 2] == 0.0 and a[80, 38] > 0.9
    # The picture past the bottom edge: no streaks (edge pixels blurred), inside untouched.
    img = np.random.default_rng(0).random((100, 100, 3), dtype=np.float32)
    w = framing.warp_image(img, crop)
    np.testing.assert_allclose(w[40:120, 50:130], img[10:90, 10:90], atol=1e-5)
    assert w[129 + n, 50:130].std() < img[99].std() / 3  # streaks smoothed away


def test_pyramid_gives_the_same_picture() -> None:
    rng = np.random.default_rng(3)
    base = cv2.GaussianBlur(rng.random((1600, 2000, 3), dtype=np.float32), (0, 0), 3)
    levels = framing.pyramid(base, min_side=300)
    assert [lv.shape[:2] for lv in levels] == [(800, 1000), (400, 500)]
    for scale in (0.2, 0.3, 0.6, 1.0):
        m = np.array([[scale, 0.02, -30.0], [-0.02, scale, -20.0]])
        crop = framing.Crop(matrix=m, width=200, height=240, scale=scale, rotation=0.0, zoom=1.0,
                            extended=(), notes=())
        a = framing.warp_image(base, crop)
        b = framing.warp_image(base, crop, levels=levels)
        assert float(np.abs(a - b).mean()) < 0.004, scale
