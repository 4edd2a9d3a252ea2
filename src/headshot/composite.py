"""Compositing: making a cut-out subject sit on a studio backdrop.

A plain alpha blend ``fg * a + bg * (1 - a)`` puts the subject *in front of* the backdrop but not
*in the same room* as it. Two things a real studio photograph always shows are missing:

* **light wrap** — a bright backdrop behind the subject lights the subject's outline (light grazing
  the edge from behind, plus the lens's own veiling flare), so the edge of the subject carries a
  little of the backdrop's light. Without it a subject on white paper looks cut out with scissors.
* **a soft shadow on the paper** — a subject standing a metre or two in front of seamless paper
  blocks some of the key's light from the paper beside it, on the side away from the key. Without
  it a head-and-shoulders subject looks like it floats.

Both are deliberately subtle (the numbers are in ``docs/compositing.md``), are computed at reduced
resolution (they are smooth at the scale of their blur) and cost a few milliseconds.

All images are float32 linear RGB in [0, 1], shape (H, W, 3); alpha is float32 (H, W) in [0, 1].
Inputs are never written to (a backdrop from :func:`headshot.backdrop.render` is read-only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .imageio import _check_alpha, _check_image  # the package's one set of array validators

__all__ = ["Finish", "composite", "transparent", "WRAP_GAIN", "SHADOW_STOPS"]

# Light wrap at light_wrap = 1: the subject's colour is screened with the nearby backdrop's colour
# times WRAP_GAIN times an edge weight that is at most 0.25 on a long straight edge (a little more
# on a tight convex outline, up to 1 on a thin isolated strand). A straight edge's pixels are lifted
# by at most WRAP_GAIN * 0.25 * backdrop * (1 - fg) in linear light: 0.065 for a black jacket on
# white paper (0.89), fading to a tenth of that one wrap_width inside.
WRAP_GAIN = 0.3
# Shadow at shadow = 1: the paper is darkened by SHADOW_STOPS * S**2 stops, S being the blurred,
# shifted coverage. S**2 reaches 1 only in paper fully surrounded by the subject; beside a shoulder
# it is ~0.5-0.6, which makes about half a stop there.
SHADOW_STOPS = 0.8
# Blurs run at a resolution where their sigma is at least this many pixels, then are interpolated
# back up (cubic for the shadow's gain, linear for the wrap, which must not overshoot).
_LOWRES_SIGMA = 2.5
# Full-resolution work is done in strips of about this many pixels.
_STRIP_PIXELS = 1 << 16


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _clip01(x: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] in place (NaN-safe) and return float32."""
    cv2.threshold(x, 1.0, 1.0, cv2.THRESH_TRUNC, dst=x)
    cv2.threshold(x, 0.0, 0.0, cv2.THRESH_TOZERO, dst=x)
    return x


def _check_range(value: object, name: str, low: float, high: float, *, low_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    v = float(value)
    ok = (low < v if low_open else low <= v) and v <= high and math.isfinite(v)
    if not ok:
        bracket = "(" if low_open else "["
        raise ValueError(f"{name} must be in {bracket}{low:g}, {high:g}], got {value!r}")


@dataclass(frozen=True)
class Finish:
    """How the subject is set on the backdrop. The defaults (all effects off) are a plain blend.

    Attributes
    ----------
    light_wrap : float in [0, 1]
        Strength of the light wrap (backdrop light on the subject's outline). 0 = none.
    wrap_width : float in (0, 0.25]
        Reach of the wrap into the subject (Gaussian sigma), as a fraction of the frame's height.
        The wrap has fallen to ~1/10 of its edge value one width inside and is nil (< 1e-4) at
        three widths.
    shadow : float in [0, 1]
        Strength of the subject's soft shadow on the paper. 0 = none; 1 = about half a stop
        beside the shoulder on the side away from the key (never more than :data:`SHADOW_STOPS`).
        The darkening in stops is proportional to ``shadow``.
    shadow_offset : (float, float), each in [-0.25, 0.25]
        (dx, dy) of the shadow relative to the subject, as fractions of the frame's height. ``dx``
        points *away from the key light* (it is multiplied by ``-key_side``, so it is 0 for a
        frontal key); ``dy`` is downward in the image (a key above the eyes throws the shadow down).
    shadow_softness : float in (0, 0.5]
        Blur (Gaussian sigma) of the shadow, as a fraction of the frame's height.
    """

    light_wrap: float = 0.0
    wrap_width: float = 0.02
    shadow: float = 0.0
    shadow_offset: tuple[float, float] = (0.02, 0.01)
    shadow_softness: float = 0.04

    def __post_init__(self) -> None:
        _check_range(self.light_wrap, "light_wrap", 0.0, 1.0)
        _check_range(self.wrap_width, "wrap_width", 0.0, 0.25, low_open=True)
        _check_range(self.shadow, "shadow", 0.0, 1.0)
        off = self.shadow_offset
        if not isinstance(off, tuple) or len(off) != 2:
            raise ValueError(f"shadow_offset must be a tuple (dx, dy), got {off!r}")
        _check_range(off[0], "shadow_offset[0]", -0.25, 0.25)
        _check_range(off[1], "shadow_offset[1]", -0.25, 0.25)
        _check_range(self.shadow_softness, "shadow_softness", 0.0, 0.5, low_open=True)

    @property
    def is_plain(self) -> bool:
        """True when no effect is on (the composite is a plain alpha blend)."""
        return self.light_wrap == 0.0 and self.shadow == 0.0


def composite(
    fg: np.ndarray,
    alpha: np.ndarray,
    bg: np.ndarray,
    finish: Finish = Finish(),
    *,
    key_side: float = 0.0,
) -> np.ndarray:
    """Set a cut-out subject on a backdrop, with light wrap and a soft paper shadow.

    Parameters
    ----------
    fg : ndarray, shape (H, W, 3), float32
        Linear RGB in [0, 1]: the subject's own (straight, not premultiplied) colours.
    alpha : ndarray, shape (H, W), float32
        Coverage in [0, 1]: 1 = subject.
    bg : ndarray, shape (H, W, 3), float32
        Linear RGB in [0, 1]: the backdrop. May be read-only; it is never written to.
    finish : Finish, optional
        The effects (default: none, a plain blend).
    key_side : float in [-1, 1], keyword-only
        Image side of the key light: -1 left, +1 right, 0 frontal or unknown. The shadow falls on
        the other side (and, by ``finish.shadow_offset[1]``, slightly down).

    Returns
    -------
    ndarray, shape (H, W, 3), float32
        A new linear RGB image in [0, 1]. With the default ``Finish()`` it equals
        ``fg * alpha + bg * (1 - alpha)`` (as ``cv2.blendLinear`` computes it).

    Raises
    ------
    ValueError
        Wrong shape or dtype of an input, or ``key_side`` outside [-1, 1].
    """
    _check_image(fg, "fg")
    _check_image(bg, "bg")
    _check_alpha(alpha, fg.shape[:2], "alpha")
    if bg.shape != fg.shape:
        raise ValueError(f"bg must have the shape of fg {fg.shape}, got shape {bg.shape}")
    if not isinstance(finish, Finish):
        raise ValueError(f"finish must be a Finish, got {type(finish).__name__}")
    ks = float(key_side)
    if not -1.0 <= ks <= 1.0:
        raise ValueError(f"key_side must be in [-1, 1], got {key_side!r}")

    fg, alpha, bg = np.ascontiguousarray(fg), np.ascontiguousarray(alpha), np.ascontiguousarray(bg)
    if finish.is_plain:
        return _clip01(cv2.blendLinear(fg, bg, alpha, 1.0 - alpha))

    h, w = alpha.shape
    sigmas: list[float] = []
    if finish.light_wrap > 0:
        sigmas.append(finish.wrap_width * h)
    if finish.shadow > 0:
        sigmas.append(finish.shadow_softness * h)
    # Both blurs run at one reduced resolution, a power-of-two reduction (exact 2x2 averages, fast)
    # at which the smaller sigma is still >= _LOWRES_SIGMA pixels; the results are smooth at that
    # scale and are interpolated back up.
    levels = max(0, int(math.floor(math.log2(max(min(sigmas) / _LOWRES_SIGMA, 1.0)))))
    a_lo = _halve(alpha, levels)
    lh, lw = a_lo.shape
    scale = lh / h  # low-res pixels per full-res pixel (the same for x within rounding)

    gain_lo = None
    if finish.shadow > 0:
        gain_lo = _shadow_gain(a_lo, finish, key_side=ks, height=h, scale=(lw / w, scale))
    lit_lo = None
    if finish.light_wrap > 0:
        # The backdrop is smooth at this scale (paper, a light's pool, fine grain): sampling it
        # directly is enough, and ten times cheaper than averaging it down.
        bg_lo = cv2.resize(bg, (lw, lh), interpolation=cv2.INTER_LINEAR) if levels else bg
        lit_lo = _wrap_light(bg_lo, a_lo, finish.wrap_width * h * scale, finish.light_wrap)

    # The smooth fields back to full resolution (cv2.resize is far faster than any per-strip
    # remapping), then the per-pixel work in strips of rows, whose scratch arrays stay in cache.
    gain = lit = None
    if gain_lo is not None:
        gain = cv2.resize(gain_lo, (w, h), interpolation=cv2.INTER_CUBIC) if levels else gain_lo
        cv2.threshold(gain, 1.0, 1.0, cv2.THRESH_TRUNC, dst=gain)  # cubic may overshoot a hair
    if lit_lo is not None:
        lit = cv2.resize(lit_lo, (w, h), interpolation=cv2.INTER_LINEAR) if levels else lit_lo  # no overshoot
    out = np.empty_like(fg)
    rows = max(8, _STRIP_PIXELS // w)
    for y0 in range(0, h, rows):
        y1 = min(h, y0 + rows)
        fs, a_s, o_s = fg[y0:y1], alpha[y0:y1], out[y0:y1]
        scratch = None
        if gain is not None:
            scratch = cv2.cvtColor(gain[y0:y1], cv2.COLOR_GRAY2BGR)
            cv2.multiply(bg[y0:y1], scratch, dst=o_s)  # the shadowed paper
            cv2.blendLinear(fs, o_s, a_s, 1.0 - a_s, dst=o_s)
        else:
            cv2.blendLinear(fs, bg[y0:y1], a_s, 1.0 - a_s, dst=o_s)
        if lit is not None and a_s.max() > 0.0:  # (no subject in the strip: nothing to wrap)
            # a * fg' with fg' = fg + a * lit * (1 - fg) (a screen): add a^2 * lit * (1 - fg).
            term = cv2.subtract((1.0, 1.0, 1.0, 0.0), fs)
            cv2.multiply(term, lit[y0:y1], dst=term)
            scratch = cv2.cvtColor(cv2.multiply(a_s, a_s), cv2.COLOR_GRAY2BGR, dst=scratch)
            cv2.multiply(term, scratch, dst=term)
            cv2.add(o_s, term, dst=o_s)
        _clip01(o_s)
    return out


def _halve(x: np.ndarray, times: int) -> np.ndarray:
    """Reduce ``x`` by 2 ``times`` times (2x2 averages; odd sizes round up)."""
    for _ in range(times):
        x = cv2.resize(x, ((x.shape[1] + 1) // 2, (x.shape[0] + 1) // 2), interpolation=cv2.INTER_LINEAR)
    return x


def _wrap_light(bg_lo: np.ndarray, a_lo: np.ndarray, sigma: float, strength: float) -> np.ndarray:
    """The light wrap's light (3 channels), before the full-resolution ``a`` factor.

    With ``B = blur(bg * (1 - a))`` (backdrop light arriving from outside the subject) and
    ``E = 1 - blur(a)`` (how much of the surroundings is backdrop), the light is
    ``WRAP_GAIN * strength * B * E``; :func:`composite` multiplies it by ``a`` and *screens* it onto
    the subject: ``fg + a * light * (1 - fg)``. A screen only brightens (a black backdrop adds
    nothing) and cannot pass 1. ``B / E`` is the average colour of the nearby backdrop, so the light
    is that colour weighted by ``a * E**2``: the square makes the wrap fall off quickly inward (to
    1/10 of its edge value one sigma inside, ~1e-6 three sigmas inside) instead of leaving a glow.
    """
    outside = 1.0 - a_lo
    lit = cv2.GaussianBlur(cv2.multiply(bg_lo, cv2.cvtColor(outside, cv2.COLOR_GRAY2BGR)), (0, 0), sigma,
                           borderType=cv2.BORDER_REPLICATE)
    e = cv2.GaussianBlur(outside, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    e *= np.float32(WRAP_GAIN * strength)
    cv2.multiply(lit, cv2.cvtColor(e, cv2.COLOR_GRAY2BGR), dst=lit)
    np.clip(lit, 0.0, 1.0, out=lit)
    return lit


def _shadow_gain(
    a_lo: np.ndarray, finish: Finish, *, key_side: float, height: int, scale: tuple[float, float],
) -> np.ndarray:
    """The paper's light under the subject's shadow, as a gain in (0, 1] at low resolution.

    ``S = blur(shift(a))``, the coverage shifted away from the key and blurred; the paper is
    darkened by ``SHADOW_STOPS * shadow * S**2`` stops. The square keeps the shadow directional:
    right beside a straight edge S is ~0.7 on the side away from the key and ~0.3 on the key's
    side (default offset and softness), so the key's side gets a fifth of the darkening instead of
    half, and no dark halo rings the subject. Under the subject the darkening is hidden by its alpha.
    """
    lh, lw = a_lo.shape
    dx = -key_side * finish.shadow_offset[0] * height * scale[0]
    dy = finish.shadow_offset[1] * height * scale[1]
    m = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]], dtype=np.float64)
    # Replicate: a body cut by the frame's bottom or side continues beyond it.
    shifted = cv2.warpAffine(a_lo, m, (lw, lh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    s = cv2.GaussianBlur(shifted, (0, 0), finish.shadow_softness * height * scale[1],
                         borderType=cv2.BORDER_REPLICATE)
    cv2.multiply(s, s, dst=s)
    gain: np.ndarray = np.exp(s * np.float32(-SHADOW_STOPS * finish.shadow * math.log(2.0)))
    return gain


def transparent(fg: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Straight colour and alpha for an RGBA file, with the transparent pixels' colour filled in.

    Pixels with ``alpha > 0`` keep the foreground's colour exactly. Fully transparent pixels get a
    colour pulled smoothly from the nearest subject pixels (a push-pull fill: coverage-weighted
    averages over a Gaussian pyramid, each level filling the holes of the finer one), so a viewer
    that ignores alpha, or resamples the image before compositing, shows no black or grey fringe.

    Parameters
    ----------
    fg : ndarray, shape (H, W, 3), float32
        Linear RGB in [0, 1], straight (not premultiplied).
    alpha : ndarray, shape (H, W), float32
        Coverage in [0, 1].

    Returns
    -------
    colour : ndarray, shape (H, W, 3), float32
        A new array, linear RGB in [0, 1].
    alpha : ndarray, shape (H, W), float32
        A copy of ``alpha`` clipped to [0, 1].

    Notes
    -----
    Deterministic. When ``alpha`` is zero everywhere there is nothing to pull from and the colour
    is ``fg`` unchanged.
    """
    _check_image(fg, "fg")
    _check_alpha(alpha, fg.shape[:2], "alpha")
    a = np.clip(alpha, 0.0, 1.0)
    colour = np.array(fg, dtype=np.float32, order="C", copy=True)
    hole = a <= 0.0
    if not hole.any() or hole.all():
        return colour, a
    # Push: premultiplied colour and coverage down a pyramid.
    prem = [cv2.multiply(colour, cv2.cvtColor(a, cv2.COLOR_GRAY2BGR))]
    cover = [a]
    while min(cover[-1].shape) > 2:
        prem.append(cv2.pyrDown(prem[-1], borderType=cv2.BORDER_REPLICATE))
        cover.append(cv2.pyrDown(cover[-1], borderType=cv2.BORDER_REPLICATE))
    # Pull: from the coarsest level up, each level's own average where it has enough coverage and
    # the coarser level's fill where it has little, blended by coverage. The finest level needs no
    # average of its own: its holes have no coverage at all, so they take the next level's fill.
    fill = _unpremultiply(prem[-1], cover[-1], None)
    for p, c in zip(reversed(prem[1:-1]), reversed(cover[1:-1])):
        up = cv2.resize(fill, (c.shape[1], c.shape[0]), interpolation=cv2.INTER_LINEAR)
        fill = _unpremultiply(p, c, up)
    h, w = a.shape
    if fill.shape[:2] != (h, w):
        fill = cv2.resize(fill, (w, h), interpolation=cv2.INTER_LINEAR)
    np.clip(fill, 0.0, 1.0, out=fill)
    np.copyto(colour, fill, where=hole[:, :, None])
    return colour, a


_FULL_COVER = 0.05  # coverage above which a pyramid level's own average is trusted fully


def _unpremultiply(prem: np.ndarray, cover: np.ndarray, coarser: np.ndarray | None) -> np.ndarray:
    """Colour = premultiplied / coverage, or the coarser level's colour where coverage is low."""
    own = prem / np.maximum(cover, 1e-12)[:, :, None]
    if coarser is None:
        # The coarsest level (2x2 or so): its coverage is positive wherever any subject pixel is
        # within reach; anywhere else take the subject's overall mean colour.
        mean = prem.reshape(-1, 3).sum(axis=0) / max(float(cover.sum()), 1e-12)
        return np.where((cover > 1e-12)[:, :, None], own, mean.astype(np.float32)).astype(np.float32)
    t = np.clip(cover * np.float32(1.0 / _FULL_COVER), 0.0, 1.0)[:, :, None]
    return (coarser + t * (own - coarser)).astype(np.float32)
