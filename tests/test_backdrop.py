"""Backdrops: deterministic, in range, shaped as described."""

from __future__ import annotations

import numpy as np
import pytest

from headshot import backdrop, load_style
from headshot.imageio import linear_to_srgb
from headshot.presets import Backdrop


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


@pytest.mark.parametrize("name", ["corporate", "warm", "charcoal", "high-key", "navy", "grey"])
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
