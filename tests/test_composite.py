"""Compositing: plain blend by default; light wrap and paper shadow subtle, bounded and measurable.

Synthetic images only: a straight vertical edge (the subject fills the left half), a disc, and a
head-and-shoulders silhouette, all with a soft (2 px) edge. Numbers are in linear light.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from headshot.composite import SHADOW_STOPS, WRAP_GAIN, Finish, composite, transparent
from headshot.imageio import srgb_to_linear

WHITE = float(srgb_to_linear(np.float32(0.95)))  # white seamless paper, lit (0.89 linear)
GREY = float(srgb_to_linear(np.float32(0.5)))
NEAR_BLACK = float(srgb_to_linear(np.float32(0.05)))


# --------------------------------------------------------------------------------------------
# synthetic subjects
# --------------------------------------------------------------------------------------------


def _soft(mask: np.ndarray) -> np.ndarray:
    """A binary mask with a ~2 px soft edge, float32 in [0, 1], exactly 0 and 1 away from it."""
    m = mask.astype(np.uint8)
    inside = cv2.distanceTransform(m, cv2.DIST_L2, 5)
    outside = cv2.distanceTransform(1 - m, cv2.DIST_L2, 5)
    signed = np.where(m > 0, inside - 0.5, 0.5 - outside)  # + inside, - outside
    return np.clip(0.5 + signed / 2.0, 0.0, 1.0).astype(np.float32)


def half_plane(h: int = 512, w: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """The subject fills the left half; returns (alpha, signed depth inside the edge in px)."""
    x = np.arange(w, dtype=np.float32) + 0.5
    depth = w / 2 - x
    alpha = np.repeat(np.clip(0.5 + depth / 2.0, 0.0, 1.0)[None, :], h, 0).astype(np.float32)
    return alpha, np.repeat(depth[None, :], h, 0)


def disc(n: int = 256, r: float = 0.3) -> np.ndarray:
    yy, xx = np.mgrid[0:n, 0:n]
    return _soft((xx - n / 2 + 0.5) ** 2 + (yy - n / 2 + 0.5) ** 2 < (r * n) ** 2)


def bust(n: int = 512) -> np.ndarray:
    """A symmetric head-and-shoulders silhouette cut by the frame's bottom edge."""
    m = np.zeros((n, n), np.uint8)
    c = n // 2
    cv2.ellipse(m, (c, int(0.40 * n)), (int(0.15 * n), int(0.20 * n)), 0, 0, 360, 1, -1)
    cv2.rectangle(m, (c - int(0.07 * n), int(0.5 * n)), (c + int(0.07 * n), int(0.75 * n)), 1, -1)
    cv2.ellipse(m, (c, int(1.05 * n)), (int(0.45 * n), int(0.35 * n)), 0, 0, 360, 1, -1)
    m = np.maximum(m, m[:, ::-1])  # exactly symmetric
    return _soft(m > 0)


def flat(shape: tuple[int, int], value: float | tuple[float, float, float]) -> np.ndarray:
    img = np.empty((*shape, 3), np.float32)
    img[:] = value
    return img


def textured(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """A subject with colour and texture (skin/jacket-like values)."""
    rng = np.random.default_rng(seed)
    base = np.array([0.35, 0.22, 0.16], np.float32)
    noise = rng.uniform(0.6, 1.4, (*shape, 1)).astype(np.float32)
    return np.clip(base * noise, 0.0, 1.0).astype(np.float32)


def backdrop(shape: tuple[int, int], value: float) -> np.ndarray:
    bg = flat(shape, value)
    bg.flags.writeable = False  # as headshot.backdrop.render returns it
    return bg


def exact_blend(fg: np.ndarray, alpha: np.ndarray, bg: np.ndarray) -> np.ndarray:
    return (fg * alpha[..., None] + bg * (1.0 - alpha[..., None])).astype(np.float32)


def plain(fg: np.ndarray, alpha: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """The pipeline's composite before this module: OpenCV's blend, which divides by the weights' sum
    plus 1e-5, so it sits up to 1e-5 (relative) below the exact formula."""
    return cv2.blendLinear(fg, bg, alpha, 1.0 - alpha)


def stops_darker(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return np.log2(before.mean(axis=2) / after.mean(axis=2))


# --------------------------------------------------------------------------------------------
# contract
# --------------------------------------------------------------------------------------------


def test_defaults_equal_plain_blend() -> None:
    rng = np.random.default_rng(3)
    fg = rng.random((67, 91, 3), dtype=np.float32)
    bg = rng.random((67, 91, 3), dtype=np.float32)
    alpha = rng.random((67, 91), dtype=np.float32)
    alpha[:10] = 0.0
    alpha[-10:] = 1.0
    out = composite(fg, alpha, bg)
    np.testing.assert_allclose(out, cv2.blendLinear(fg, bg, alpha, 1.0 - alpha), rtol=0, atol=1e-6)
    np.testing.assert_allclose(out, exact_blend(fg, alpha, bg), rtol=0, atol=2e-5)


@pytest.mark.parametrize("finish", [Finish(), Finish(light_wrap=0.0, shadow=0.0, wrap_width=0.1, shadow_softness=0.2)])
def test_zero_strengths_are_a_plain_blend(finish: Finish) -> None:
    alpha = bust(128)
    fg = textured(alpha.shape)
    bg = backdrop(alpha.shape, WHITE)
    for side in (-1.0, 0.0, 1.0):
        np.testing.assert_allclose(composite(fg, alpha, bg, finish, key_side=side), plain(fg, alpha, bg),
                                   rtol=0, atol=1e-6)


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (97, 61), (256, 384)])
@pytest.mark.parametrize("finish", [Finish(), Finish(light_wrap=1.0), Finish(shadow=1.0),
                                    Finish(light_wrap=1.0, shadow=1.0)])
def test_output_contract(shape: tuple[int, int], finish: Finish) -> None:
    rng = np.random.default_rng(5)
    fg = rng.random((*shape, 3), dtype=np.float32)
    alpha = rng.random(shape, dtype=np.float32)
    bg = rng.random((*shape, 3), dtype=np.float32)
    bg.flags.writeable = False
    copies = fg.copy(), alpha.copy(), bg.copy()
    out = composite(fg, alpha, bg, finish, key_side=0.5)
    assert out.shape == (*shape, 3) and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0
    for arr in (fg, alpha, bg):
        assert not np.shares_memory(out, arr)
    for arr, before in zip((fg, alpha, bg), copies):
        assert np.array_equal(arr, before), "an input was modified"


def test_read_only_inputs_and_views() -> None:
    alpha = bust(160)
    fg = textured(alpha.shape)
    bg = backdrop(alpha.shape, WHITE)
    fg.flags.writeable = False
    alpha.flags.writeable = False
    out = composite(fg, alpha, bg, Finish(light_wrap=1.0, shadow=1.0), key_side=-1)
    # a non-contiguous view gives the same result as its contiguous copy
    big = np.zeros((160, 320, 3), np.float32)
    big[:, ::2] = fg
    view = big[:, ::2]
    assert not view.flags.c_contiguous
    assert np.array_equal(composite(view, alpha, bg, Finish(light_wrap=1.0, shadow=1.0), key_side=-1), out)


def test_deterministic() -> None:
    alpha = bust(300)
    fg = textured(alpha.shape)
    bg = backdrop(alpha.shape, GREY)
    f = Finish(light_wrap=0.7, shadow=0.8)
    a = composite(fg, alpha, bg, f, key_side=-0.6)
    b = composite(fg, alpha, bg, f, key_side=-0.6)
    assert a.tobytes() == b.tobytes()
    c1, a1 = transparent(fg, alpha)
    c2, a2 = transparent(fg, alpha)
    assert c1.tobytes() == c2.tobytes() and a1.tobytes() == a2.tobytes()


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"light_wrap": -0.1}, "light_wrap"), ({"light_wrap": 1.5}, "light_wrap"), ({"shadow": 2.0}, "shadow"),
     ({"wrap_width": 0.0}, "wrap_width"), ({"wrap_width": float("nan")}, "wrap_width"),
     ({"shadow_softness": 0.0}, "shadow_softness"), ({"shadow_offset": (0.5, 0.0)}, "shadow_offset"),
     ({"shadow_offset": (0.01,)}, "shadow_offset"), ({"light_wrap": True}, "light_wrap")],
)
def test_finish_validates(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        Finish(**kwargs)


def test_inputs_validated() -> None:
    fg = flat((8, 8), 0.5)
    alpha = np.ones((8, 8), np.float32)
    with pytest.raises(ValueError, match=r"fg .*\(8, 8\)"):
        composite(fg[..., 0], alpha, fg)
    with pytest.raises(ValueError, match="alpha.*float64"):
        composite(fg, alpha.astype(np.float64), fg)
    with pytest.raises(ValueError, match=r"alpha .*\(8, 7\)"):
        composite(fg, alpha[:, :7], fg)
    with pytest.raises(ValueError, match="bg"):
        composite(fg, alpha, fg[:, :7])
    with pytest.raises(ValueError, match="key_side"):
        composite(fg, alpha, fg, key_side=2.0)
    with pytest.raises(ValueError, match="finish"):
        composite(fg, alpha, fg, {"light_wrap": 1.0})  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# light wrap
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fg_value", [0.02, 0.2, 0.5])
def test_light_wrap_brightens_only_the_edge_band(fg_value: float) -> None:
    alpha, depth = half_plane(512, 512)
    fg = flat(alpha.shape, fg_value)
    bg = backdrop(alpha.shape, WHITE)
    f = Finish(light_wrap=1.0)
    sigma = f.wrap_width * alpha.shape[0]
    base = plain(fg, alpha, bg)
    lift = composite(fg, alpha, bg, f) - base
    assert lift.min() >= -1e-6, "light wrap darkened something"
    # the backdrop is untouched
    assert np.abs(lift[depth < -1.5]).max() <= 1e-6
    # deep inside (>= 3 widths): unchanged (< 0.5% of the pixel's value; in fact < 1e-4 relative)
    deep = depth >= 3 * sigma
    assert np.max(lift[deep] / base[deep]) < 1e-4
    # the edge band: a measurable lift, bounded by WRAP_GAIN * 1/4 * backdrop * (1 - fg)
    bound = WRAP_GAIN * 0.25 * WHITE * (1.0 - fg_value)
    band = lift[(depth > 0) & (depth < sigma)]
    assert 0.6 * bound <= band.max() <= 1.02 * bound  # (the bound is reached only at a hard edge)
    # it fades inward: one width in, < 15% of its edge value; two widths in, < 1%
    row = lift[256, :, 1]
    at = lambda d: row[int(round(256 - d - 0.5))]  # noqa: E731
    assert at(sigma) < 0.15 * band.max()
    assert at(2 * sigma) < 0.01 * band.max()
    # no glow: averaged over the band three widths deep, the lift is under 1.25% of the paper's level
    assert lift[(depth > 0) & (depth < 3 * sigma)].mean() < 0.0125 * WHITE


def test_light_wrap_monotone_in_strength() -> None:
    alpha = bust(256)
    fg = textured(alpha.shape)
    bg = backdrop(alpha.shape, WHITE)
    outs = [composite(fg, alpha, bg, Finish(light_wrap=s)) for s in (0.0, 0.25, 0.5, 1.0)]
    np.testing.assert_allclose(outs[0], plain(fg, alpha, bg), atol=1e-6)
    means = []
    for lo, hi in zip(outs, outs[1:]):
        assert np.all(hi >= lo - 1e-6)
        means.append(float((hi - lo).mean()))
    assert all(m > 0 for m in means)


def test_light_wrap_reaches_further_when_wider() -> None:
    alpha, depth = half_plane(512, 512)
    fg = flat(alpha.shape, 0.1)
    bg = backdrop(alpha.shape, WHITE)
    narrow = composite(fg, alpha, bg, Finish(light_wrap=1.0, wrap_width=0.01))
    wide = composite(fg, alpha, bg, Finish(light_wrap=1.0, wrap_width=0.04))
    probe = (depth > 10) & (depth < 12)  # ~2 narrow widths, 0.5 wide ones
    assert wide[probe].mean() > narrow[probe].mean() + 1e-3


@pytest.mark.parametrize("bg_value", [0.0, NEAR_BLACK])
def test_light_wrap_on_black_does_not_darken(bg_value: float) -> None:
    alpha = disc(256)
    fg = textured(alpha.shape)
    bg = backdrop(alpha.shape, bg_value)
    lift = composite(fg, alpha, bg, Finish(light_wrap=1.0)) - plain(fg, alpha, bg)
    assert lift.min() >= -1e-6
    assert lift.max() <= WRAP_GAIN * bg_value + 1e-6  # tiny: at most 0.0012 for sRGB 0.05 paper


def test_light_wrap_takes_the_backdrops_colour() -> None:
    alpha = disc(256)
    fg = flat(alpha.shape, 0.1)
    bg = backdrop(alpha.shape, 0.0)
    bg = bg.copy()
    bg[..., 2] = 0.8  # blue paper
    lift = composite(fg, alpha, bg, Finish(light_wrap=1.0)) - plain(fg, alpha, bg)
    assert lift[..., 2].max() > 0.02
    assert np.abs(lift[..., :2]).max() <= 1e-6


# --------------------------------------------------------------------------------------------
# shadow
# --------------------------------------------------------------------------------------------


def _shadow_setup(n: int = 512) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    alpha = bust(n)
    fg = textured(alpha.shape)
    bg = backdrop(alpha.shape, WHITE)
    return fg, alpha, bg, plain(fg, alpha, bg)


def test_shadow_only_darkens_the_paper() -> None:
    fg, alpha, bg, base = _shadow_setup()
    out = composite(fg, alpha, bg, Finish(shadow=1.0), key_side=-1)
    assert np.all(out <= base + 1e-6)
    # where the subject is opaque the shadow is hidden; elsewhere the change is that of the paper
    opaque = alpha >= 1.0
    np.testing.assert_allclose(out[opaque], base[opaque], rtol=0, atol=1e-6)
    change = base - out
    assert np.all(change <= (1.0 - alpha[..., None]) * bg * (1 - 2.0 ** -SHADOW_STOPS) + 1e-6)


def test_shadow_strength_is_about_half_a_stop_and_smooth() -> None:
    fg, alpha, bg, base = _shadow_setup()
    paper = alpha <= 0.0
    d1 = stops_darker(base, composite(fg, alpha, bg, Finish(shadow=1.0), key_side=-1))
    peak = float(d1[paper].max())
    assert 0.3 <= peak <= 0.55, peak  # about half a stop next to the shoulder, never more
    d_half = stops_darker(base, composite(fg, alpha, bg, Finish(shadow=0.5), key_side=-1))
    np.testing.assert_allclose(d_half[paper], 0.5 * d1[paper], atol=2e-3)  # linear in stops
    # falls off smoothly: nil a few softness widths away from the subject
    dist = cv2.distanceTransform((alpha <= 0).astype(np.uint8), cv2.DIST_L2, 5)
    far = dist > 4 * 0.04 * alpha.shape[0]
    assert d1[far].max() < 0.01
    # no hard step anywhere on the paper: neighbouring pixels differ by < 1/10 of the peak
    step = np.maximum(np.abs(np.diff(d1, axis=0))[paper[1:] & paper[:-1]].max(),
                      np.abs(np.diff(d1, axis=1))[paper[:, 1:] & paper[:, :-1]].max())
    assert step < 0.1 * peak


def test_shadow_falls_away_from_the_key() -> None:
    fg, alpha, bg, base = _shadow_setup()
    n = alpha.shape[1]
    paper = alpha <= 0.0
    # the paper beside the head, within 12% of the frame of its edge
    head = np.zeros_like(paper)
    head[int(0.25 * n):int(0.55 * n)] = True
    dist = cv2.distanceTransform(paper.astype(np.uint8), cv2.DIST_L2, 5)
    near = paper & head & (dist < 0.12 * n)
    x = np.arange(n)[None, :].repeat(n, 0)
    left, right = near & (x < n // 2), near & (x >= n // 2)
    d = stops_darker(base, composite(fg, alpha, bg, Finish(shadow=1.0), key_side=-1.0))  # key on the left
    assert d[right].mean() > 4 * d[left].mean()
    assert d[right].max() > 0.15 and d[left].max() < 0.1


def test_shadow_mirrors_with_the_key() -> None:
    fg, alpha, bg, _ = _shadow_setup()
    f = Finish(shadow=1.0, light_wrap=0.5)
    left = composite(fg, alpha, bg, f, key_side=-1.0)
    right = composite(np.ascontiguousarray(fg[:, ::-1]), np.ascontiguousarray(alpha[:, ::-1]), bg, f, key_side=1.0)
    np.testing.assert_allclose(right[:, ::-1], left, rtol=0, atol=1e-5)
    # a frontal key on a symmetric subject: a symmetric shadow
    sym_fg = flat(alpha.shape, 0.2)
    front = composite(sym_fg, alpha, bg, Finish(shadow=1.0), key_side=0.0)
    np.testing.assert_allclose(front[:, ::-1], front, rtol=0, atol=1e-5)


# --------------------------------------------------------------------------------------------
# transparent
# --------------------------------------------------------------------------------------------


def test_transparent_keeps_the_subject_and_fills_holes_from_nearby() -> None:
    n = 256
    alpha = disc(n, 0.25)
    fg = flat(alpha.shape, (0.0, 0.0, 0.0))  # black where transparent: must not show
    red, blue = np.array([0.8, 0.1, 0.05], np.float32), np.array([0.05, 0.1, 0.8], np.float32)
    fg[:, : n // 2] = red
    fg[:, n // 2:] = blue
    fg[alpha <= 0] = 0.0
    colour, a = transparent(fg, alpha)
    assert colour.dtype == np.float32 and a.dtype == np.float32 and colour.shape == fg.shape
    assert np.array_equal(a, alpha)
    assert np.array_equal(colour[alpha > 0], fg[alpha > 0])  # every pixel with coverage, exactly
    hole = alpha <= 0
    assert colour[hole].min() >= 0.0 and colour[hole].max() <= 1.0
    # no black fringe: every filled pixel is as bright as the subject's colours
    assert colour[hole].sum(axis=1).min() > 0.9 * min(red.sum(), blue.sum())
    # next to the red half it is red, next to the blue half blue
    c = n // 2
    r = int(0.25 * n)
    np.testing.assert_allclose(colour[c, c - r - 4], red, atol=0.05)
    np.testing.assert_allclose(colour[c, c + r + 4], blue, atol=0.05)
    # and far away still a subject colour (no grey)
    corner = colour[0, 0]
    assert corner[0] > 0.3 and corner[2] < 0.5  # reddish: the nearest subject pixels are red


def test_transparent_edge_cases() -> None:
    fg = textured((33, 17))
    zero = np.zeros((33, 17), np.float32)
    colour, a = transparent(fg, zero)
    assert np.array_equal(colour, fg) and np.array_equal(a, zero)
    one = np.ones((33, 17), np.float32)
    colour, a = transparent(fg, one)
    assert np.array_equal(colour, fg) and np.array_equal(a, one)
    # a single opaque pixel colours the whole frame
    single = zero.copy()
    single[5, 5] = 1.0
    colour, _ = transparent(fg, single)
    np.testing.assert_allclose(colour.reshape(-1, 3), np.repeat(fg[5:6, 5], 33 * 17, 0), atol=1e-5)
    # inputs untouched, outputs new
    assert not np.shares_memory(colour, fg)
    with pytest.raises(ValueError, match="alpha"):
        transparent(fg, one[:, :5])
