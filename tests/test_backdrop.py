"""Backdrops: deterministic, in range, shaped as described."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from headshot import PresetError, backdrop, load_style
from headshot.imageio import linear_to_srgb, save
from headshot.presets import Backdrop
from tests.conftest import assert_image_similar

LUMA = np.array([0.2126, 0.7152, 0.0722])


def test_solid_is_flat_and_exact() -> None:
    img = backdrop.render(Backdrop(kind="solid", colour=(0.5, 0.25, 0.75), grain=0.0), 64, 48)
    assert img.shape == (48, 64, 3) and img.dtype == np.float32
    srgb = linear_to_srgb(img)
    np.testing.assert_allclose(srgb[0, 0], (0.5, 0.25, 0.75), atol=1e-4)
    assert np.allclose(img, img[0, 0])


def test_gradient_is_brightest_at_centre() -> None:
    bd = Backdrop(kind="gradient", colour=(0.8, 0.8, 0.8), falloff=0.5, center=(0.5, 0.3), grain=0.0)
    img = backdrop.render(bd, 200, 300)
    lum = img.mean(axis=2)
    cy, cx = np.unravel_index(np.argmax(lum), lum.shape)
    assert abs(cx - 100) <= 2 and abs(cy - 90) <= 2
    # falloff 0.5 = corners about one stop down at most
    assert lum[0, 0] < lum[cy, cx] and lum[0, 0] >= lum[cy, cx] / 2.05


@pytest.mark.parametrize(
    "name", ["corporate", "warm", "charcoal", "high-key", "navy", "grey", "canvas", "canvas-brown", "office"]
)
def test_styles_render_deterministically(name: str) -> None:
    bd = load_style(name).backdrop
    a = backdrop.render(bd, 120, 150)
    b = backdrop.render(bd, 120, 150)
    assert a.shape == (150, 120, 3) and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0
    assert np.array_equal(a, b)


def test_grain_dithers_but_stays_subtle() -> None:
    bd = Backdrop(kind="solid", colour=(0.6, 0.6, 0.6), grain=0.006)
    img = backdrop.render(bd, 256, 256)
    rel = img[..., 1].std() / img[..., 1].mean()
    assert 0.002 < rel < 0.01


def test_bad_size() -> None:
    with pytest.raises(ValueError, match="width and height"):
        backdrop.render(Backdrop(), 0, 10)


# ------------------------------------------------------------------------ canvas and bokeh


def _lowpass(img: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(np.ascontiguousarray(img), (0, 0), sigma)


@pytest.mark.parametrize("kind", ["canvas", "bokeh"])
def test_procedural_is_deterministic_without_the_cache(kind: str) -> None:
    bd = Backdrop(kind=kind, seed=5)
    a = backdrop.render(bd, 300, 375).copy()
    backdrop.clear_caches()
    b = backdrop.render(bd, 300, 375)
    assert b.dtype == np.float32 and b.shape == (375, 300, 3) and not b.flags.writeable
    assert np.array_equal(a, b)
    assert 0.0 <= b.min() and b.max() <= 1.0


@pytest.mark.parametrize("kind", ["canvas", "bokeh"])
@pytest.mark.parametrize("seed", [1, 9])
def test_procedural_is_resolution_independent(kind: str, seed: int) -> None:
    bd = Backdrop(kind=kind, seed=seed, grain=0.0, mottle=0.8)
    big = backdrop.render(bd, 1024, 1024)
    for side in (128, 256, 700):
        small = backdrop.render(bd, side, side)
        down = cv2.resize(big, (side, side), interpolation=cv2.INTER_AREA)
        # Measured: <= 0.0002 (canvas), <= 0.0005 (bokeh: disc edges) against a picture whose mean is
        # ~0.4-0.6 and whose seeds differ from each other by 0.07 or more.
        assert_image_similar(down, small, 0.002, f"{kind}-{seed}-resolution-{side}")


@pytest.mark.parametrize("kind", ["canvas", "bokeh"])
def test_other_aspects_show_the_centre_of_the_same_picture(kind: str) -> None:
    bd = Backdrop(kind=kind, seed=3, grain=0.0, falloff=0.0)
    square = backdrop.render(bd, 400, 400)
    portrait = backdrop.render(bd, 320, 400)
    assert_image_similar(portrait, square[:, 40:360], 0.002, f"{kind}-aspect")


@pytest.mark.parametrize("kind", ["canvas", "bokeh"])
def test_seeds_give_different_backdrops(kind: str) -> None:
    a = backdrop.render(Backdrop(kind=kind, seed=1, grain=0.0), 128, 128)
    b = backdrop.render(Backdrop(kind=kind, seed=2, grain=0.0), 128, 128)
    assert float(np.abs(a - b).mean()) > 0.02


def test_canvas_mottle_amplitude_follows_mottle() -> None:
    def lowpass_std(m: float) -> float:
        img = backdrop.render(Backdrop(kind="canvas", mottle=m, falloff=0.0, grain=0.0), 256, 256)
        lum = img @ LUMA.astype(np.float32)
        return float(_lowpass(lum, 2.0).std() / lum.mean())

    s0, s3, s6, s10 = (lowpass_std(m) for m in (0.0, 0.3, 0.6, 1.0))
    assert s0 < 1e-5  # a plain painted cloth
    assert 0.02 < s3 < s6 < s10 < 0.5
    assert 1.5 < s6 / s3 < 2.5  # roughly proportional to mottle


def test_canvas_is_low_frequency_dominant_and_not_noise() -> None:
    img = backdrop.render(Backdrop(kind="canvas", mottle=0.8, falloff=0.0, grain=0.0), 512, 512)
    lum = (img @ LUMA.astype(np.float32)).astype(np.float32)
    coarse = _lowpass(lum, 16.0)
    fine = lum - _lowpass(lum, 2.0)
    # Blotches, not TV noise: most of the variation is in the large structure.
    assert coarse.std() > 4.0 * fine.std()
    assert coarse.std() / lum.mean() > 0.05


def test_canvas_mottle_colour_and_background_light() -> None:
    base = (0.6, 0.6, 0.6)
    bd = Backdrop(kind="canvas", colour=base, mottle_colour=(0.2, 0.3, 0.6), mottle=1.0, falloff=0.0, grain=0.0)
    img = backdrop.render(bd, 128, 128)
    mean = img.reshape(-1, 3).mean(axis=0)
    assert mean[2] > mean[0]  # the blue paint shows
    # Without mottle, a canvas is the gradient paper under the same background light.
    for edge in (None, (0.3, 0.25, 0.2)):
        light = dict(colour=(0.7, 0.6, 0.5), edge_colour=edge, falloff=0.8, center=(0.4, 0.3), spread=0.4, grain=0.0)
        plain = backdrop.render(Backdrop(kind="canvas", mottle=0.0, **light), 150, 200)
        paper = backdrop.render(Backdrop(kind="gradient", **light), 150, 200)
        np.testing.assert_allclose(plain, paper, rtol=2e-4, atol=2e-5)


def test_bokeh_has_round_lights() -> None:
    room = backdrop.render(Backdrop(kind="bokeh", seed=4, lights=0, grain=0.0), 512, 512)
    lit = backdrop.render(Backdrop(kind="bokeh", seed=4, lights=30, grain=0.0), 512, 512)
    diff = ((lit - room) @ LUMA.astype(np.float32)).astype(np.float32)
    assert diff.min() >= -1e-6  # light only adds
    mask = (diff > 0.01).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    blobs = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] > 100]
    assert 8 <= len(blobs) <= 30  # discs, some overlapping or partly outside the frame
    # A disc on its own (one light; the first seed that puts it fully in the frame) is round and has a
    # slightly brighter rim.
    for seed in range(1, 40):
        kw = dict(kind="bokeh", seed=seed, colour=(0.35, 0.35, 0.35), grain=0.0)
        one = backdrop.render(Backdrop(lights=1, **kw), 400, 400) - backdrop.render(Backdrop(lights=0, **kw), 400, 400)
        d1 = (one @ LUMA.astype(np.float32)).astype(np.float32)
        ys, xs = np.nonzero(d1 > 1e-4)
        if ys.min() > 0 and xs.min() > 0 and ys.max() < 399 and xs.max() < 399:
            break
    else:
        pytest.fail("no seed put its single light inside the frame")
    cy, cx = (ys.min() + ys.max() + 1) / 2, (xs.min() + xs.max() + 1) / 2
    r = (xs.max() + 1 - xs.min()) / 2
    assert (ys.max() + 1 - ys.min()) / 2 == pytest.approx(r, abs=1.5)
    assert len(ys) == pytest.approx(np.pi * r * r, rel=0.08)
    yy, xx = np.mgrid[0:400, 0:400]
    d = np.hypot(yy + 0.5 - cy, xx + 0.5 - cx) / r
    centre = d1[d < 0.4].mean()
    rim = d1[(d > 0.82) & (d < 0.9)].mean()
    assert rim > 1.05 * centre
    assert d1[d < 0.4].std() < 0.02 * centre  # evenly lit inside


def test_bokeh_lights_amount_and_blur() -> None:
    def disc_area(lights: int, blur: float = 0.035) -> float:
        room = backdrop.render(Backdrop(kind="bokeh", seed=6, lights=0, blur=blur, grain=0.0), 256, 256)
        lit = backdrop.render(Backdrop(kind="bokeh", seed=6, lights=lights, blur=blur, grain=0.0), 256, 256)
        return float(((lit - room).max(axis=2) > 0.01).mean())

    assert disc_area(40) > 1.5 * disc_area(10) > 0
    assert disc_area(20, blur=0.06) > 1.5 * disc_area(20, blur=0.02)


def test_key_is_ignored_by_kinds_that_do_not_match() -> None:
    bd = Backdrop(kind="canvas")
    assert backdrop.render(bd, 64, 64, key=(0.2, 0.1, 0.1)) is backdrop.render(bd, 64, 64)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        backdrop.render(Backdrop(kind="neon"), 10, 10)


# ---------------------------------------------------------------------------------------- image


def _write_env(path: Path, rgb: np.ndarray) -> Path:
    save(rgb.astype(np.float32), path)
    return path


def _checker_env(tmp_path: Path, h: int = 300, w: int = 600) -> Path:
    rng = np.random.default_rng(0)
    img = np.empty((h, w, 3), np.float32)
    img[:] = (0.30, 0.22, 0.14)  # a warm room
    yy, xx = np.mgrid[0:h, 0:w]
    img[((yy // 4 + xx // 4) % 2) == 1] *= 0.5  # fine texture: high frequencies to blur away
    img[:, : w // 6] = (0.9, 0.0, 0.9)  # marker stripes outside the central square crop
    img[:, -w // 6 :] = (0.0, 0.9, 0.0)
    img[40:120, 250:350] = rng.uniform(0.2, 0.8, 3)
    return _write_env(tmp_path / "env.png", img)


def test_image_cover_fit_crops_the_centre(tmp_path: Path) -> None:
    env = _checker_env(tmp_path)
    img = backdrop.render(Backdrop(kind="image", path=str(env), blur=0.0, grain=0.0), 200, 200)
    assert img.shape == (200, 200, 3)
    # The 600x300 image is scaled to 400x200 and its central 200 columns kept: no marker stripe shows.
    assert img[:, :, 1].max() < 0.5 and (img[:, :, 0] - img[:, :, 1]).min() > -0.05
    magenta = (img[:, :, 0] > 0.6) & (img[:, :, 2] > 0.6)
    assert not magenta.any()
    # The coloured block at x 250..350, y 40..120 (scaled by 2/3, 100 columns cropped on the left)
    # lands at x 67..133, y 27..80.
    block = img[30:77, 70:130].reshape(-1, 3)
    assert block.std(axis=0).max() < 0.02


def test_image_blur_removes_fine_detail(tmp_path: Path) -> None:
    env = str(_checker_env(tmp_path))

    def hf(blur: float) -> float:
        img = backdrop.render(Backdrop(kind="image", path=env, blur=blur, grain=0.0), 300, 300)
        lum = (img @ LUMA.astype(np.float32)).astype(np.float32)
        return float(np.abs(cv2.Laplacian(lum, cv2.CV_32F)).mean())

    levels = [hf(b) for b in (0.0, 0.005, 0.01, 0.02, 0.04, 0.08)]
    # Measured: 0.106, 0.0117, 0.00042, 0.00032, 0.00022, 0.00010. The 4-pixel checker (2.7 px after
    # the cover-fit) is all but gone at sigma 0.01 x 300 = 3 px; what is left is the soft edges of the
    # large shapes, which keep softening as the blur grows.
    assert levels[1] < 0.2 * levels[0]
    assert levels[2] < 0.01 * levels[0]
    assert all(a > b for a, b in zip(levels, levels[1:]))
    assert levels[5] < 0.4 * levels[2]


def test_image_large_blur_is_smooth_and_in_range(tmp_path: Path) -> None:
    env = str(_checker_env(tmp_path))
    img = backdrop.render(Backdrop(kind="image", path=env, blur=0.1, grain=0.0), 400, 500)
    assert img.shape == (500, 400, 3) and 0.0 <= img.min() and img.max() < 1.0
    lum = (img @ LUMA.astype(np.float32)).astype(np.float32)
    # No blockiness from the reduced-resolution blur: neighbouring pixels differ very little.
    assert np.abs(np.diff(lum, axis=1)).max() < 0.01


@pytest.mark.parametrize("darken_ev", [0.0, 1.0, 2.0])
def test_image_brightness_is_matched_to_the_face(tmp_path: Path, darken_ev: float) -> None:
    env = str(_checker_env(tmp_path))
    key = (0.30, 0.22, 0.17)
    bd = Backdrop(kind="image", path=env, match=1.0, darken_ev=darken_ev, grain=0.0)
    img = backdrop.render(bd, 240, 240, key=key)
    face = float(np.dot(key, LUMA))
    got = float((img.reshape(-1, 3) @ LUMA).mean())
    assert got == pytest.approx(face * 2.0**-darken_ev, rel=0.03)


def test_image_match_strength_and_no_key(tmp_path: Path) -> None:
    env = str(_checker_env(tmp_path))
    plain = backdrop.render(Backdrop(kind="image", path=env, grain=0.0), 240, 240)
    none = backdrop.render(Backdrop(kind="image", path=env, match=0.0, grain=0.0), 240, 240, key=(0.5, 0.5, 0.5))
    np.testing.assert_allclose(none, plain, atol=1e-6)  # match 0 = as shot
    brighter = backdrop.render(Backdrop(kind="image", path=env, exposure_ev=1.0, grain=0.0), 240, 240)
    m0 = float((plain.reshape(-1, 3) @ LUMA).mean())
    assert float((brighter.reshape(-1, 3) @ LUMA).mean()) == pytest.approx(2 * m0, rel=0.02)
    # Half match: half way in stops between as-shot and the target.
    key = (0.6, 0.6, 0.6)
    half = backdrop.render(Backdrop(kind="image", path=env, match=0.5, darken_ev=1.0, grain=0.0), 240, 240, key=key)
    target = 0.6 * 0.5
    assert float((half.reshape(-1, 3) @ LUMA).mean()) == pytest.approx(np.sqrt(m0 * target), rel=0.03)


def test_image_colour_cast_pulled_part_way_to_neutral(tmp_path: Path) -> None:
    env = str(_checker_env(tmp_path))
    plain = backdrop.render(Backdrop(kind="image", path=env, grain=0.0), 240, 240).reshape(-1, 3).mean(axis=0)
    matched = backdrop.render(Backdrop(kind="image", path=env, match=1.0, grain=0.0), 240, 240,
                              key=(0.3, 0.22, 0.17)).reshape(-1, 3).mean(axis=0)
    cast_before = np.log2(plain[0] / plain[2])
    cast_after = np.log2(matched[0] / matched[2])
    assert 0.2 * cast_before < cast_after < 0.6 * cast_before  # toward neutral, not all the way


def test_image_never_saturates(tmp_path: Path) -> None:
    img = np.full((200, 200, 3), 0.05, np.float32)
    img[50:150, 50:150] = 1.0  # a window
    env = str(_write_env(tmp_path / "bright.png", img))
    out = backdrop.render(Backdrop(kind="image", path=env, match=1.0, darken_ev=-1.0, blur=0.01, grain=0.0),
                          200, 200, key=(0.9, 0.9, 0.9))
    assert out.max() < 1.0


def test_image_key_is_rounded_for_the_cache(tmp_path: Path) -> None:
    env = str(_checker_env(tmp_path))
    bd = Backdrop(kind="image", path=env)
    a = backdrop.render(bd, 64, 64, key=(0.2, 0.15, 0.1))
    assert backdrop.render(bd, 64, 64, key=(0.20004, 0.15, 0.09996)) is a
    assert backdrop.render(bd, 64, 64, key=(0.25, 0.15, 0.1)) is not a
    with pytest.raises(ValueError, match="key"):
        backdrop.render(bd, 64, 64, key=(0.2, float("nan"), 0.1))


def test_image_is_decoded_once_and_again_when_changed(tmp_path: Path) -> None:
    env = _checker_env(tmp_path)
    a = backdrop.load_environment(str(env))
    assert backdrop.load_environment(str(env)) is a and not a.flags.writeable
    _write_env(env, np.full((50, 80, 3), 0.5, np.float32))
    os.utime(env, ns=(1, 1))  # make sure the stamp changes even on coarse file systems
    b = backdrop.load_environment(str(env))
    assert b.shape == (50, 80, 3)
    img = backdrop.render(Backdrop(kind="image", path=str(env), grain=0.0), 40, 40)
    np.testing.assert_allclose(img, 0.5, atol=0.01)


def test_image_missing_or_broken_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.jpg"
    with pytest.raises(PresetError, match="nowhere.jpg.*does not exist"):
        backdrop.render(Backdrop(kind="image", path=str(missing)), 32, 32)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(PresetError, match="broken.jpg.*cannot be used"):
        backdrop.render(Backdrop(kind="image", path=str(broken)), 32, 32)
    with pytest.raises(ValueError, match="path"):
        backdrop.render(Backdrop(kind="image"), 32, 32)


def test_image_style_file_resolves_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "team"
    folder.mkdir()
    env = _checker_env(folder)
    style = folder / "lobby.toml"
    style.write_text('[backdrop]\nkind = "image"\npath = "env.png"\nblur = 0.03\nmatch = 0.5\n')
    monkeypatch.chdir(tmp_path)  # not the style's folder
    bd = load_style(style).backdrop
    assert bd.kind == "image" and bd.path == str(env.resolve()) and bd.blur == 0.03 and bd.match == 0.5
    img = backdrop.render(bd, 64, 80, key=(0.3, 0.2, 0.15))
    assert img.shape == (80, 64, 3)
