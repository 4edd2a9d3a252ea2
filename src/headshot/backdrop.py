"""Procedural studio backdrops, rendered at output resolution in linear light.

Kinds (see ``docs/backdrops.md``):

- ``solid`` and ``gradient``: seamless paper, flat or lit by a background light (a soft Gaussian pool).
- ``canvas``: a hand-painted, mottled muslin under the same background light.
- ``bokeh``: an out-of-focus office interior with soft round highlights.
- ``image``: a user's environment photo, cover-fitted, blurred by depth of field and matched to the
  subject's face.

Deterministic: every random pattern comes from a fixed or style-given seed, so the same style and size
always give the same pixels (a team shares its backdrop exactly). The procedural patterns are built on
a fixed base grid in frame coordinates and only resampled to the output size, so the same seed gives
the same picture at every resolution (and every aspect ratio shows the centre of one square picture).
"""

from __future__ import annotations

import math
import os
from functools import lru_cache

import cv2
import numpy as np

from .errors import InputError, PresetError
from .imageio import load as load_image
from .imageio import srgb_to_linear
from .presets import BACKDROP_KINDS, Backdrop

__all__ = ["render", "load_environment", "clear_caches", "GRAIN_SEED", "IMAGE_BLUR", "BOKEH_BLUR"]

GRAIN_SEED = 20240611
IMAGE_BLUR = 0.02  # default depth-of-field sigma of ``image``, fraction of the frame's height
BOKEH_BLUR = 0.035  # the same for ``bokeh``

_BASE = 256  # side of the square base grid on which the procedural patterns are built
_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)  # Rec. 709 / sRGB luminance weights
_WB_PULL = 0.6  # with match = 1, the environment's colour cast is reduced to 40% (grey world)
_SHOULDER = 0.8  # linear level above which bright environment/bokeh highlights roll off ...
_TOP = 0.98  # ... toward this, so they never clip


# ------------------------------------------------------------------------------------------ public


def render(
    backdrop: Backdrop,
    width: int,
    height: int,
    *,
    key: tuple[float, float, float] | None = None,
) -> np.ndarray:
    """Render a backdrop.

    Cached (a team run renders the same style at the same size for every person); the returned array
    is read-only.

    Parameters
    ----------
    backdrop : Backdrop
        The style's backdrop description.
    width, height : int
        Output size in pixels.
    key : (r, g, b) or None, keyword-only
        Linear-RGB mean colour of the subject's lit face in the output. Only ``image`` backdrops use
        it (brightness and colour cast are matched to it); the other kinds ignore it, so their cache
        is shared by every subject. Rounded to 3 decimals.

    Returns
    -------
    ndarray, shape (height, width, 3), float32, linear RGB in [0, 1], read-only

    Raises
    ------
    ValueError
        A size below 1, an unknown kind, a bad ``key``, or an ``image`` backdrop without a path.
    PresetError
        An ``image`` backdrop whose file is missing or cannot be decoded.
    """
    if width < 1 or height < 1:
        raise ValueError(f"width and height must be positive, got {width}x{height}")
    if backdrop.kind not in BACKDROP_KINDS:
        raise ValueError(f"backdrop.kind must be one of {', '.join(BACKDROP_KINDS)}, got {backdrop.kind!r}")
    if backdrop.kind != "image":
        return _render(backdrop, int(width), int(height))
    if not backdrop.path:
        raise ValueError("an 'image' backdrop needs a path")
    k = None
    if key is not None:
        kv = np.asarray(key, dtype=np.float64).reshape(-1)
        if kv.shape != (3,) or not np.all(np.isfinite(kv)) or np.any(kv < 0):
            raise ValueError(f"key must be three finite linear-RGB values >= 0, got {key!r}")
        k = (round(float(kv[0]), 3), round(float(kv[1]), 3), round(float(kv[2]), 3))
    return _render_image(backdrop, int(width), int(height), k, _stamp(backdrop.path))


def load_environment(path: str) -> np.ndarray:
    """Decode an environment image (for ``image`` backdrops), cached on the file's path, time and size.

    Parameters
    ----------
    path : str
        Path of a JPEG, PNG, WebP or HEIC/HEIF file.

    Returns
    -------
    ndarray, shape (H, W, 3), float32, linear RGB in [0, 1], read-only

    Raises
    ------
    PresetError
        The file is missing or cannot be decoded; the message names it and says what to do.
    """
    return _decode(path, _stamp(path))


def clear_caches() -> None:
    """Forget every cached backdrop, pattern and decoded environment image (for benchmarks and tests)."""
    for f in (_render, _render_image, _environment, _decode, _grain, _canvas_base, _bokeh_base):
        f.cache_clear()


# ------------------------------------------------------------------------------------ shared pieces


@lru_cache(maxsize=8)
def _grain(height: int, width: int) -> np.ndarray:
    """Fixed paper grain: unit-variance noise, lightly smoothed so it reads as paper, not sensor noise."""
    rng = np.random.default_rng(GRAIN_SEED)
    g = rng.standard_normal((height, width), dtype=np.float32)
    g = cv2.GaussianBlur(g, (0, 0), 0.7)
    g /= max(float(g.std()), 1e-6)
    g.flags.writeable = False
    return g


def _finish(img: np.ndarray, grain: float) -> np.ndarray:
    """Grain (which also dithers away banding), clip to [0, 1], freeze."""
    height, width = img.shape[:2]
    if grain > 0:
        f = 1.0 + grain * _grain(height, width)
        # Per pixel, the same float32 product as ``img *= f[:, :, None]`` (byte-identical), faster.
        cv2.multiply(img, cv2.merge([f, f, f]), dst=img)
    np.clip(img, 0.0, 1.0, out=img)
    img.flags.writeable = False
    return img


def _linear(srgb: tuple[float, float, float]) -> np.ndarray:
    return srgb_to_linear(np.asarray(srgb, dtype=np.float32))


def _pool(backdrop: Backdrop, width: int, height: int) -> np.ndarray:
    """The background light's Gaussian pool: (height, width) float32, 1 at ``center``, toward 0 outside."""
    diag = float(np.hypot(width, height))
    ys = (np.arange(height, dtype=np.float32) + 0.5 - backdrop.center[1] * height) / diag
    xs = (np.arange(width, dtype=np.float32) + 0.5 - backdrop.center[0] * width) / diag
    # A 2-D Gaussian is the outer product of two 1-D ones, which saves evaluating exp() per pixel.
    k = np.float32(1.0 / (2.0 * backdrop.spread**2 * 0.25))
    return np.outer(np.exp(-k * ys * ys), np.exp(-k * xs * xs)).astype(np.float32)


def _edge(backdrop: Backdrop, centre: np.ndarray) -> np.ndarray:
    if backdrop.edge_colour is not None:
        return _linear(backdrop.edge_colour)
    # falloff 1 = the corners two stops below the centre.
    return centre * np.float32(2.0 ** (-2.0 * backdrop.falloff))


def _cover(base: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resample a square base picture to cover a width x height frame (centre crop), bicubic.

    The base is smooth (built from blurred noise), so resampling it at any scale neither aliases nor
    shows the grid: the output is the same picture at every size (to within half a pixel, where the
    crop is centred on a half pixel).
    """
    side = max(width, height)
    # Area averaging when shrinking below the base grid (no aliasing of the finest strokes).
    interp = cv2.INTER_CUBIC if side >= base.shape[0] else cv2.INTER_AREA
    big = cv2.resize(base, (side, side), interpolation=interp)
    x0, y0 = (side - width) // 2, (side - height) // 2
    if (x0, y0) == (0, 0):
        return big
    return np.ascontiguousarray(big[y0:y0 + height, x0:x0 + width])


def _shoulder(img: np.ndarray, knee: float = _SHOULDER, top: float = _TOP) -> np.ndarray:
    """Roll highlights off smoothly above ``knee`` so nothing reaches ``top`` < 1 (in place).

    Identity below the knee; above it ``knee + w * (1 - exp(-(x - knee) / w))`` with ``w = top - knee``:
    continuous in value and slope, approaching ``top`` but never clipping.
    """
    if float(img.max()) <= knee:
        return img
    k = np.float32(knee)
    w = np.float32(top - knee)
    over = np.maximum(img, k)
    over -= k  # x - knee above the knee, 0 below
    img -= over
    over *= np.float32(-1.0 / w)
    rolled = cv2.exp(over)  # exp(-(x - knee) / w); 1 below the knee
    img += w
    cv2.scaleAdd(rolled, float(-w), img, dst=img)  # img + w * (1 - exp(...))
    return img


def _field(rng: np.random.Generator, n: int, size: float, *, stretch: float = 1.0, angle: float = 0.0) -> np.ndarray:
    """Smooth seeded noise on an n x n grid: features about ``size`` base pixels across, unit std.

    Made on a coarse grid (a few cells per feature) and resampled, so even very large features cost
    little. ``stretch`` > 1 elongates them (brush strokes) along ``angle`` (radians).
    """
    cell = max(size / 3.0, 0.5)  # coarse-grid cell, in base pixels
    sig = 1.2
    if stretch == 1.0:
        # Isotropic: blur a coarse grid a little larger than the square, enlarge it, crop the centre.
        c = int(math.ceil(n / cell)) + 6
        g = rng.standard_normal((c, c), dtype=np.float32)
        g = cv2.GaussianBlur(g, (0, 0), sig, borderType=cv2.BORDER_REFLECT)
        side = int(round(c * cell))
        o = (side - n) // 2
        f = cv2.resize(g, (side, side), interpolation=cv2.INTER_CUBIC)[o:o + n, o:o + n].copy()
    else:
        c = int(math.ceil(n * 1.5 / cell)) + 8  # covers the rotated square with margin
        g = rng.standard_normal((c, c), dtype=np.float32)
        # Never thinner than ~1 cell (thinner would alias into jagged lines); elongate instead.
        g = cv2.GaussianBlur(g, (0, 0), sigmaX=sig * stretch, sigmaY=sig, borderType=cv2.BORDER_REFLECT)
        ca, sa = math.cos(angle), math.sin(angle)
        # base pixel (X, Y) -> coarse (u, v): rotate about the centres, scale by 1 / cell.
        m = np.array([[ca / cell, sa / cell, 0.0], [-sa / cell, ca / cell, 0.0]], dtype=np.float64)
        ctr = (n - 1) / 2.0
        m[:, 2] = (c - 1) / 2.0 - m[:, :2] @ np.array([ctr, ctr])
        f = cv2.warpAffine(g, m, (n, n), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                           borderMode=cv2.BORDER_REFLECT)
    f -= float(f.mean())
    f /= max(float(f.std()), 1e-6)
    return f


# --------------------------------------------------------------------------------- the kinds


@lru_cache(maxsize=16)
def _render(backdrop: Backdrop, width: int, height: int) -> np.ndarray:
    if backdrop.kind == "canvas":
        return _finish(_canvas(backdrop, width, height), backdrop.grain)
    if backdrop.kind == "bokeh":
        return _finish(_bokeh(backdrop, width, height), backdrop.grain)
    centre = _linear(backdrop.colour)
    img = np.empty((height, width, 3), dtype=np.float32)
    if backdrop.kind == "solid":
        img[:] = centre
    else:
        edge = _edge(backdrop, centre)
        wgt = _pool(backdrop, width, height)
        for c in range(3):
            img[:, :, c] = wgt * np.float32(centre[c] - edge[c]) + np.float32(edge[c])
    return _finish(img, backdrop.grain)


# ---- canvas


@lru_cache(maxsize=8)
def _canvas_base(seed: int, scale: float) -> np.ndarray:
    """The painted mottle on the base grid: (n, n, 2) float32 = (paint mix t in [0, 1], light in ~N(0, 1)).

    Muslin backdrops are painted by hand with sponges and wide brushes: large soft clouds of the two
    paints, broken by scrubbed strokes that change direction from one area to the next, with the edges
    of the clouds pulled into swirls. Built from several octaves of blurred noise, the low frequencies
    dominant; two elongated, rotated stroke layers blended by a slow mask; a gentle domain warp.
    """
    n = _BASE
    rng = np.random.default_rng([seed, 0x6361])  # 'ca'nvas
    big = scale * n  # size of the largest blotches, base pixels
    clouds = np.zeros((n, n), dtype=np.float32)
    for i, amp in enumerate((1.0, 0.62, 0.36, 0.2)):
        clouds += np.float32(amp) * _field(rng, n, big / 2.0**i)
    # Two stroke layers at different angles, each visible where a slow mask says so.
    a0 = rng.uniform(0.0, math.pi)
    a1 = a0 + rng.uniform(0.35, 0.65) * math.pi
    s0 = _field(rng, n, big / 9.0, stretch=3.0, angle=a0)
    s1 = _field(rng, n, big / 10.0, stretch=3.0, angle=a1)
    fine = _field(rng, n, max(big / 20.0, 2.5), stretch=2.0, angle=a0 + 0.4)
    mask = 1.0 / (1.0 + np.exp(-2.5 * _field(rng, n, big)))
    strokes = mask * s0 + (1.0 - mask) * s1
    f = clouds / np.float32(1.3) + np.float32(0.25) * strokes + np.float32(0.08) * fine
    # Domain warp: pulls the cloud edges into the swirls a sponge leaves.
    wx = _field(rng, n, big * 0.8)
    wy = _field(rng, n, big * 0.8)
    amp = np.float32(0.06 * big)
    grid = np.arange(n, dtype=np.float32)
    f = cv2.remap(f, grid[None, :] + amp * wx, grid[:, None] + amp * wy, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    f -= float(f.mean())
    f /= max(float(f.std()), 1e-6)
    # Paint mix: mostly one paint or the other with soft transitions (a sponge, not a haze).
    t = 0.5 + 0.5 * np.tanh(1.1 * f)
    light = _field(rng, n, big * 0.7) * np.float32(0.6) + np.float32(0.4) * fine
    out = np.stack([t, light], axis=2).astype(np.float32)
    out.flags.writeable = False
    return out


def _canvas(backdrop: Backdrop, width: int, height: int) -> np.ndarray:
    centre = _linear(backdrop.colour)
    if backdrop.mottle_colour is not None:
        dab = _linear(backdrop.mottle_colour)
    else:
        # The darker paint: about one stop down and slightly cooler, as painted canvases are.
        dab = centre * np.array([0.48, 0.51, 0.55], dtype=np.float32)
    base = _canvas_base(int(backdrop.seed), float(backdrop.scale))
    m = np.float32(backdrop.mottle)
    # Log-exposure per channel on the base grid (paint mixes multiply), to linear light there, then
    # one bicubic resample to the output.
    lc = np.log2(np.maximum(centre, 1e-4))
    ld = np.log2(np.maximum(dab, 1e-4))
    t = base[:, :, 0] * m
    light = base[:, :, 1] * (m * np.float32(0.22))
    logimg = lc[None, None, :] + t[:, :, None] * (ld - lc)[None, None, :] + light[:, :, None]
    img = _cover(np.exp2(logimg).astype(np.float32), width, height)
    # The background light, as on paper: corners darker by ``falloff`` (or toward ``edge_colour``).
    edge = _edge(backdrop, centre)
    wgt = _pool(backdrop, width, height)
    ratio = (edge / np.maximum(centre, 1e-6)).astype(np.float32)
    light = [wgt * np.float32(1.0 - ratio[c]) + np.float32(ratio[c]) for c in range(3)]
    cv2.multiply(img, cv2.merge(light), dst=img)
    return img


# ---- bokeh


@lru_cache(maxsize=8)
def _bokeh_base(seed: int, blur: float, lights: int) -> tuple[np.ndarray, np.ndarray]:
    """An out-of-focus office on the base grid, and its lights.

    Returns
    -------
    room : (n, n, 3) float32
        Relative linear light (mean luminance 1) of the blurred room: window light falling across
        from one side, ceiling brighter than floor, blocks of furniture, walls and a window frame.
    discs : (k, 7) float32
        One row per out-of-focus light: x, y (fractions of the square), radius (fraction of the
        square), brightness (relative to the room's mean) and r, g, b.
    """
    n = _BASE // 2  # the room is blurred far beyond this grid's resolution
    rng = np.random.default_rng([seed, 0x626F])  # 'bo'keh
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    x = (xx + 0.5) / n
    y = (yy + 0.5) / n
    side = 1.0 if rng.random() < 0.5 else -1.0
    xs = x if side > 0 else 1.0 - x  # distance from the far wall toward the window side
    # Log2 exposure of the room: window light falling across, brighter ceiling, darker desks and floor.
    e = 0.9 * (xs - 0.5) + 0.35 * (0.5 - y) - 0.9 * np.clip((y - 0.62) / 0.38, 0.0, 1.0) ** 1.5
    tint = np.zeros((n, n, 3), dtype=np.float32)

    def box(x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
        return ((x >= x0) & (x < x1) & (y >= y0) & (y < y1)).astype(np.float32)

    # A window on the light side: tall panes split by mullions, cool daylight.
    w0 = rng.uniform(0.0, 0.12)
    ww = rng.uniform(0.22, 0.34)
    wtop, wbot = rng.uniform(0.02, 0.12), rng.uniform(0.55, 0.68)
    panes = int(rng.integers(2, 4))
    win = np.zeros((n, n), dtype=np.float32)
    for i in range(panes):
        a = w0 + ww * i / panes + 0.012
        b = w0 + ww * (i + 1) / panes - 0.012
        win += box(a, b, wtop, wbot)
    if side < 0:
        win = win[:, ::-1]
    e += 1.1 * win
    tint += win[:, :, None] * np.array([-0.06, 0.0, 0.1], dtype=np.float32)
    # Furniture: desks and cabinets standing on the floor, a tall shelf, screens and frames on the wall.
    pieces = [("desk", rng.uniform(0.58, 0.72), 1.02, rng.uniform(0.25, 0.45), rng.uniform(-0.9, -0.3))
              for _ in range(int(rng.integers(1, 3)))]
    pieces += [("shelf", rng.uniform(0.2, 0.4), 1.02, rng.uniform(0.08, 0.16), rng.uniform(-1.0, -0.4))]
    pieces += [("wall", y0, y0 + rng.uniform(0.08, 0.18), rng.uniform(0.08, 0.2), rng.uniform(-0.8, 0.3))
               for y0 in rng.uniform(0.18, 0.38, size=int(rng.integers(1, 3)))]
    for what, top, bottom, wide, ev in pieces:
        bx = rng.uniform(0.15 if what == "desk" else 0.3, 1.0 - wide)  # away from the window wall
        blk = box(bx, bx + wide, top, bottom)
        if side < 0:
            blk = blk[:, ::-1]
        e += np.float32(ev) * blk
        warm = rng.uniform(-0.03, 0.12) if what != "wall" else rng.uniform(-0.08, 0.05)
        tint += blk[:, :, None] * np.array([warm, 0.0, -warm], dtype=np.float32)
    # A plant near a desk: a dark, slightly green mass.
    if rng.random() < 0.6:
        px, py, pr = rng.uniform(0.2, 0.9), rng.uniform(0.5, 0.62), rng.uniform(0.05, 0.09)
        if side < 0:
            px = 1.0 - px
        leaf = (((x - px) / pr) ** 2 + ((y - py) / (1.4 * pr)) ** 2 < 1.0).astype(np.float32)
        e -= 0.8 * leaf
        tint += leaf[:, :, None] * np.array([-0.05, 0.06, -0.08], dtype=np.float32)
    # A far wall or column: a tall darker slab on the side opposite the window.
    cx = rng.uniform(0.62, 0.85)
    col = box(cx, cx + rng.uniform(0.06, 0.14), 0.0, 1.0)
    if side < 0:
        col = col[:, ::-1]
    e -= np.float32(rng.uniform(0.3, 0.7)) * col
    room = np.exp2(e)[:, :, None] * np.exp(tint)
    sigma = max(blur * n, 0.6)
    room = cv2.GaussianBlur(room.astype(np.float32), (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    room /= max(float((room * _LUMA).sum(axis=2).mean()), 1e-6)
    room = cv2.resize(room, (_BASE, _BASE), interpolation=cv2.INTER_CUBIC)
    np.maximum(room, 0.0, out=room)
    room.flags.writeable = False

    # Lights: ceiling lamps, screens and reflections, far out of focus. Disc size follows the blur
    # (the circle of confusion); more of them high in the room than low.
    warm = np.array([1.0, 0.68, 0.38], dtype=np.float32)
    cool = np.array([0.80, 0.90, 1.0], dtype=np.float32)
    white = np.array([1.0, 0.95, 0.88], dtype=np.float32)
    rows = []
    for _ in range(lights):
        dx = rng.uniform(0.0, 1.0)
        dy = rng.beta(1.3, 2.6)
        r = (0.012 + 0.8 * blur) * rng.uniform(0.7, 2.0)
        level = rng.uniform(0.06, 0.34) * (1.0 + 2.5 * rng.random() ** 6)
        pick = rng.random()
        col = warm if pick < 0.5 else (cool if pick < 0.75 else white)
        col = col * np.float32(rng.uniform(0.9, 1.0))
        rows.append([dx, dy, r, level, *col.tolist()])
    discs = np.asarray(rows, dtype=np.float32).reshape(-1, 7)
    discs.flags.writeable = False
    return room, discs


def _bokeh(backdrop: Backdrop, width: int, height: int) -> np.ndarray:
    tone = _linear(backdrop.colour)
    blur = BOKEH_BLUR if backdrop.blur is None else max(float(backdrop.blur), 0.005)
    room, discs = _bokeh_base(int(backdrop.seed), round(blur, 4), int(backdrop.lights))
    img = cv2.multiply(_cover(room, width, height), (float(tone[0]), float(tone[1]), float(tone[2]), 0.0))
    # The discs, drawn analytically at the output size: same geometry (in fractions of the frame) at
    # every resolution. Light adds: each disc is added to the room behind it.
    big = float(max(width, height))
    ox = (width - big) / 2.0
    oy = (height - big) / 2.0
    level = float((tone * _LUMA).sum())
    for dx, dy, r, amp, cr, cg, cb in discs.tolist():
        cx = ox + dx * big
        cy = oy + dy * big
        rad = r * big
        soft = max(0.08 * rad, 0.8)  # edge softness: a defocused disc's edge is soft but defined
        x0 = max(int(math.floor(cx - rad - soft)), 0)
        x1 = min(int(math.ceil(cx + rad + soft)) + 1, width)
        y0 = max(int(math.floor(cy - rad - soft)), 0)
        y1 = min(int(math.ceil(cy + rad + soft)) + 1, height)
        if x0 >= x1 or y0 >= y1:
            continue
        px = np.arange(x0, x1, dtype=np.float32) + np.float32(0.5 - cx)
        py = np.arange(y0, y1, dtype=np.float32) + np.float32(0.5 - cy)
        d = np.sqrt(py[:, None] ** 2 + px[None, :] ** 2) / np.float32(rad)
        inside = np.clip((1.0 - d) * np.float32(rad / soft) + 0.5, 0.0, 1.0)
        inside = inside * inside * (3.0 - 2.0 * inside)  # smoothstep
        rim = np.float32(0.85) + np.float32(0.15) * np.clip((d - 0.6) / 0.4, 0.0, 1.0) ** 2
        prof = (inside * rim * np.float32(amp * level)).astype(np.float32)
        roi = img[y0:y1, x0:x1]
        roi += cv2.merge([prof * np.float32(cr), prof * np.float32(cg), prof * np.float32(cb)])
    return _shoulder(img)


# ---- image


def _stamp(path: str) -> tuple[int, int]:
    """(mtime_ns, size) of a file: part of the cache key, so an edited file is read again."""
    try:
        st = os.stat(path)
    except OSError:
        return (-1, -1)
    return (st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=2)
def _decode(path: str, stamp: tuple[int, int]) -> np.ndarray:
    if stamp == (-1, -1) or not os.path.isfile(path):
        raise PresetError(f"the environment image {path} does not exist; check the style's [backdrop].path "
                          "(a relative path is read from the style file's folder)")
    try:
        photo = load_image(path)
    except InputError as e:
        raise PresetError(f"the environment image {path} cannot be used: {e}") from None
    px = photo.pixels
    px.flags.writeable = False
    return px


@lru_cache(maxsize=4)
def _environment(path: str, stamp: tuple[int, int], width: int, height: int, blur: float) -> np.ndarray:
    """Cover-fit (scale to cover, centre crop) and blur by depth of field; independent of the subject."""
    src = _decode(path, stamp)
    h0, w0 = src.shape[:2]
    sigma = blur * height  # output pixels
    # Blur at a reduced size where the blur is large: sigma 3 px there, then a smooth upsample.
    r = max(1.0, sigma / 3.0)
    ww, hh = max(int(round(width / r)), 1), max(int(round(height / r)), 1)
    k = max(ww / w0, hh / h0)
    cw, ch = min(w0, ww / k), min(h0, hh / k)  # the crop in source pixels
    x0, y0 = (w0 - cw) / 2.0, (h0 - ch) / 2.0
    if k < 1.0:  # shrinking: crop whole pixels, then area-average (no aliasing)
        xa, ya = int(math.floor(x0)), int(math.floor(y0))
        xb, yb = max(int(math.ceil(x0 + cw)), xa + 1), max(int(math.ceil(y0 + ch)), ya + 1)
        work = cv2.resize(np.ascontiguousarray(src[ya:yb, xa:xb]), (ww, hh), interpolation=cv2.INTER_AREA)
    else:  # enlarging: exact affine map, bicubic
        m = np.array([[1.0 / k, 0.0, x0 + 0.5 / k - 0.5], [0.0, 1.0 / k, y0 + 0.5 / k - 0.5]], dtype=np.float64)
        work = cv2.warpAffine(np.ascontiguousarray(src), m, (ww, hh), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REFLECT)
    work = work.astype(np.float32, copy=False)
    if sigma > 0:
        work = cv2.GaussianBlur(work, (0, 0), sigma / r, borderType=cv2.BORDER_REFLECT)
    if (ww, hh) != (width, height):
        work = cv2.resize(work, (width, height), interpolation=cv2.INTER_CUBIC)
    np.clip(work, 0.0, 1.0, out=work)
    work.flags.writeable = False
    return work


def _match_gains(env: np.ndarray, backdrop: Backdrop, key: tuple[float, float, float] | None) -> np.ndarray:
    """Per-channel gains: exposure bias, then (with a key) luminance and grey-world colour matching."""
    thumb = cv2.resize(env, (48, 48), interpolation=cv2.INTER_AREA).reshape(-1, 3).astype(np.float64)
    mean = np.maximum(thumb.mean(axis=0), 1e-5)
    lum = float(mean @ _LUMA)
    gains = np.full(3, 2.0 ** backdrop.exposure_ev)
    if key is None or backdrop.match <= 0:
        return gains.astype(np.float32)
    m = float(backdrop.match)
    # Colour: pull the environment's cast (its mean colour over its luminance) part of the way to
    # neutral, keeping its luminance.
    wb = (mean / lum) ** (-m * _WB_PULL)
    wb /= float((mean * wb) @ _LUMA) / lum
    # Brightness: the environment's mean luminance ``darken_ev`` stops below the face's.
    face = float(np.asarray(key, dtype=np.float64) @ _LUMA)
    target = min(max(face, 1e-4) * 2.0 ** (-backdrop.darken_ev), 0.6)
    shown = lum * 2.0 ** backdrop.exposure_ev
    g = 2.0 ** (backdrop.exposure_ev + m * (math.log2(target) - math.log2(shown)))
    # Aim after the highlight shoulder (a few fixed-point steps on the thumbnail).
    goal = shown * (target / shown) ** m
    for _ in range(4):
        got = float(_shoulder((thumb * (wb * g)).astype(np.float32)).mean(axis=0) @ _LUMA)
        g *= goal / max(got, 1e-6)
    return (wb * g).astype(np.float32)


@lru_cache(maxsize=4)
def _render_image(backdrop: Backdrop, width: int, height: int, key: tuple[float, float, float] | None,
                  stamp: tuple[int, int]) -> np.ndarray:
    assert backdrop.path is not None
    blur = IMAGE_BLUR if backdrop.blur is None else float(backdrop.blur)
    env = _environment(backdrop.path, stamp, width, height, blur)
    g = _match_gains(env, backdrop, key)
    img = cv2.multiply(env, (float(g[0]), float(g[1]), float(g[2]), 0.0))
    return _finish(_shoulder(img), backdrop.grain)
