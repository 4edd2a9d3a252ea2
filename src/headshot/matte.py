"""Separating the subject from its background: the alpha matte, hair included.

The matte is computed once per photo during analysis and reused by every variant. The steps:

1. **Coarse mask.** MediaPipe's selfie segmentation (a 256x256 model that ships in the pinned
   wheel) gives a blobby person mask. Only the connected parts that hold the face are kept, so a
   second person at the edge of the frame is background.
2. **Trimap.** Sure background, sure subject and an unknown band between them, sized from the
   face: a few percent of the face's width on the body's outline, wider on the hair (above the eye
   line), and widened wherever the segmenter itself is unsure. The face oval is always subject.
3. **Alpha.** Closed-form matting (Levin et al. 2008, pymatting) solved on the unknown band only,
   in linear light (light mixes linearly at an edge, so a subject composited onto any backdrop is
   matted back the same way), at a working resolution of ``SOLVE_FACE_WIDTH`` pixels per face
   width. Two weak priors keep it from following a busy background: pixels the segmenter is sure
   are the person are pulled toward opaque, and the alpha is limited to an envelope a little wider
   than the segmenter's outline. Its faint tails (below ``CLAMP[0]``) are the solver's haze, not
   hair, and are cut.
4. **Upsampling.** The band's alpha is brought to the matte's resolution with the fast guided
   filter (He & Sun 2015) on the photo, which restores the edges the working resolution lost.
5. **Foreground colours.** The subject's own colour is carried outward from its opaque pixels into
   the semi-transparent ones (the photo's fine detail kept in proportion to alpha), stored as a
   correction so composites carry no trace of the old background (no halo, no colour spill).
   pymatting's multi-level foreground estimation was measured and not used: on a subject
   composited over green its foreground kept ~18% of the green in mixed pixels.

Measured figures (background independence, colour spill, speed) are in ``docs/benchmarks.md``;
``benchmarks/bench_matte.py`` reproduces them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from ._native import Quiet, quiet_stderr
from .face import Face, height_map, region_mask
from .imageio import to_srgb8

__all__ = ["Matte", "compute", "trimap", "WORK_SIDE", "SOLVE_FACE_WIDTH"]

# Longest side of the matte. The render warps it to the output; at 1536 px a head-and-shoulders
# frame of a phone selfie is matted at roughly the output's own resolution.
WORK_SIDE = 1536

# The closed-form solve runs where the face is this many pixels wide (never above the matte's
# resolution). It sets the cost (the band's pixel count grows with it) and the finest structure the
# solve itself resolves; the guided-filter upsampling brings back finer edges from the photo.
SOLVE_FACE_WIDTH = 110

# Trimap half-widths as fractions of the face's width: (inward, outward) on the body's outline and
# (inward, outward) on the hair, where strands reach past the segmenter's blobby outline.
BAND_BODY = (0.03, 0.03)
BAND_HAIR = (0.08, 0.10)
# Where the segmenter's own output lies between these values, the band is widened.
UNSURE = (0.1, 0.9)

# Closed-form matting's regularisation (on linear RGB in [0, 1]).
EPSILON = 1e-6
# Prior toward opaque where the segmenter is sure (its output above SURE_SUBJECT), in units of the
# Laplacian: strong enough that a busy background can't drain the hair, weak enough that real edges
# win.
SURE_SUBJECT = 0.8
PRIOR_WEIGHT = 0.1
# Alpha is remapped from [CLAMP[0], CLAMP[1]] to [0, 1] at the working resolution: the solver's
# faint tails (a haze that reaches across the whole band on low-contrast edges) become clean zero.
CLAMP = (0.15, 0.85)
# The alpha is limited to the segmenter's outline widened by ENVELOPE[0] face widths, fading to zero
# at ENVELOPE[1] (the hair's flyaways stay inside; a background that looks like hair does not).
ENVELOPE = (0.02, 0.06)
# The guided upsampling's window radius (pixels at twice the solve's resolution) and regularisation.
GUIDE_RADIUS = 2
GUIDE_EPS = 1e-4
# The foreground colours are estimated where the face is this many pixels wide.
FOREGROUND_FACE_WIDTH = 160
# How far inside the edge (face widths) the foreground estimate replaces the photo's colours.
DECONTAMINATE_REACH = 0.02
# Scale (face widths) below which the photo's own detail is kept in the decontaminated colours.
DETAIL_SIGMA = 0.006
# The detailed matte is solved down to this many head heights below the eyes (the lowest any
# built-in platform shows is 1.8, press and speaker); further down, a full-length photo's body gets
# the segmenter's outline, which no headshot frame reaches.
DETAIL_HEAD_HEIGHTS = 3.0
# Conjugate-gradient limits for the solve.
CG_TOL = 1e-5
CG_MAXITER = 400


@dataclass(frozen=True)
class Matte:
    """The subject's alpha matte.

    Attributes
    ----------
    alpha : ndarray, shape (h, w), float32 in [0, 1]
        1 = subject, 0 = background, at the matte's resolution.
    scale : float
        Matte pixels per photo pixel (``alpha`` covers the whole photo: ``h ~ H * scale``).
    method : str
        How it was made, for the report.
    edges : tuple of str
        Photo edges the subject touches ("top", "bottom", "left", "right"): where the subject is cut
        by the frame of the original photo.
    decontaminate : ndarray, shape (h, w, 3), float32, or None
        Linear-RGB correction to add to the photo's colours on the subject's edge (same resolution
        as ``alpha``): estimated foreground colour minus observed colour, zero inside the subject.
        It removes the old background's colour from semi-transparent edge pixels (no halo).
    head_top : (x, y) or None
        The top of the hair above the face, in photo pixels, when the matte shows it (``None``
        when the head is cut by the photo's top edge).
    trimap : ndarray, shape (h, w), uint8, or None
        The trimap the alpha was solved in, at ``alpha``'s resolution: 0 sure background, 255 sure
        subject, 128 the unknown band. ``None`` when the matte came from elsewhere.
    """

    alpha: np.ndarray
    scale: float
    method: str
    edges: tuple[str, ...]
    decontaminate: np.ndarray | None = None
    head_top: tuple[float, float] | None = None
    trimap: np.ndarray | None = None


@lru_cache(maxsize=1)
def _segmenter() -> tuple[Any, threading.Lock]:
    import mediapipe as mp

    # model_selection=0: the 256x256 "general" model (the landscape one is 144x256). Built, and run
    # the first time, with MediaPipe's native start-up notices kept off the terminal.
    with quiet_stderr():
        return Quiet(mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)), threading.Lock()


def _touching_edges(alpha: np.ndarray, threshold: float = 0.5, min_fraction: float = 0.02) -> tuple[str, ...]:
    h, w = alpha.shape
    out = []
    for name, line, n in (
        ("top", alpha[0, :], w),
        ("bottom", alpha[-1, :], w),
        ("left", alpha[:, 0], h),
        ("right", alpha[:, -1], h),
    ):
        if np.count_nonzero(line > threshold) >= max(2, min_fraction * n):
            out.append(name)
    return tuple(out)


def _inside_colours(img: np.ndarray, a: np.ndarray, face_width: float) -> np.ndarray:
    """The subject's colour carried outward from its opaque pixels (normalised convolution at three
    scales, the finest that reaches a pixel winning): a foreground estimate for the edge that by
    construction holds none of the background.
    """
    sure = cv2.erode((a > 0.98).astype(np.uint8), _disk(1)).astype(np.float32)
    out = np.zeros_like(img)
    weight = np.zeros(a.shape, dtype=np.float32)
    for sigma in (0.015, 0.05, 0.15):
        sg = max(0.7, sigma * face_width)
        wsum = cv2.GaussianBlur(sure, (0, 0), sg)
        csum = cv2.GaussianBlur(img * sure[:, :, None], (0, 0), sg)
        ok = wsum > 1e-3
        est = np.where(ok[:, :, None], csum / np.maximum(wsum, 1e-6)[:, :, None], 0.0)
        take = np.clip(wsum * 4.0, 0.0, 1.0) * (1.0 - weight)
        out += est * take[:, :, None]
        weight += take
    return np.where(weight[:, :, None] > 0, out / np.maximum(weight, 1e-6)[:, :, None], img).astype(np.float32)


def _decontamination(image: np.ndarray, alpha: np.ndarray, face_width: float, where: np.ndarray) -> np.ndarray | None:
    """Foreground colour minus observed colour on the edge band (see :func:`_inside_colours`).

    Computed only inside the bounding box of the band of partial alpha (limited to ``where``), and
    at a resolution where the face is ``FOREGROUND_FACE_WIDTH`` pixels wide: the foreground colour
    varies slowly along an edge (the strands' structure is in the alpha and the kept detail).
    """
    band = (alpha > 0.01) & (alpha < 0.99) & where
    if not band.any():
        return None
    y0, y1, x0, x1 = _bbox(band, 8)
    img = image[y0:y1, x0:x1]
    a = alpha[y0:y1, x0:x1]
    f = min(1.0, FOREGROUND_FACE_WIDTH / max(face_width, 1.0))
    size = (max(1, round((x1 - x0) * f)), max(1, round((y1 - y0) * f)))
    img_lo = cv2.resize(img, size, interpolation=cv2.INTER_AREA) if f < 1.0 else img
    a_lo = cv2.resize(a, size, interpolation=cv2.INTER_AREA) if f < 1.0 else a
    fg = _inside_colours(img_lo, a_lo, face_width * f)
    if f < 1.0:
        fg = cv2.resize(fg, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    delta = np.zeros(image.shape, dtype=np.float32)
    # Where the pixel is a mix, or next to one: the alpha's steep remapping (CLAMP) makes a pixel
    # that holds a little of the old background read as opaque, and its own colour would carry that
    # background into the composite. Pixels further inside keep the photo's own colours exactly.
    r = max(1, int(round(DECONTAMINATE_REACH * face_width)))
    w = np.clip((1.0 - cv2.erode(a, _disk(r))) / 0.05, 0.0, 1.0)
    # The photo's fine detail (a strand's own light and shade) is kept in proportion to how much of
    # the pixel is subject; only its local colour is replaced by the subject's.
    sg = max(0.7, DETAIL_SIGMA * face_width)
    detail = (img - cv2.GaussianBlur(img, (0, 0), sg)) * (a * a)[:, :, None]
    delta[y0:y1, x0:x1] = (np.clip(fg + detail, 0.0, 1.0) - img) * w[:, :, None]
    return delta


def _box(x: np.ndarray, r: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)


def _guided_upsample(p: np.ndarray, guide_lo: np.ndarray, guide_hi: np.ndarray, r: int, eps: float) -> np.ndarray:
    """The fast guided filter (He & Sun 2015): a colour-guided filter's linear coefficients are
    fitted at low resolution and applied to the full-resolution guide, so the upsampled alpha takes
    the photo's own edges (a strand of hair the working resolution blurred comes back).

    OpenCV's ``ximgproc.guidedFilter`` works at one resolution only; at the matte's resolution it
    cost ~0.18 s on a head-and-shoulders band, this ~0.02 s.

    Parameters
    ----------
    p : (h, w) float32, the map to upsample; guide_lo : (h, w, 3) float32, the guide at its
    resolution; guide_hi : (H, W, 3) float32, the guide at the output's; r : window radius at low
    resolution; eps : regularisation (larger = smoother).
    """
    mean_i = _box(guide_lo, r)
    mean_p = _box(p, r)
    cov_ip = _box(guide_lo * p[:, :, None], r) - mean_i * mean_p[:, :, None]
    # The 3x3 colour covariance per pixel (+ eps), inverted in closed form (numpy's batched solve
    # is ten times slower on this many tiny systems).
    def cov(i: int, j: int) -> np.ndarray:
        c = _box(guide_lo[:, :, i] * guide_lo[:, :, j], r) - mean_i[:, :, i] * mean_i[:, :, j]
        return c + np.float32(eps) if i == j else c

    rr, rg, rb, gg, gb, bb = cov(0, 0), cov(0, 1), cov(0, 2), cov(1, 1), cov(1, 2), cov(2, 2)
    i_rr, i_rg, i_rb = gg * bb - gb * gb, gb * rb - rg * bb, rg * gb - gg * rb
    i_gg, i_gb, i_bb = rr * bb - rb * rb, rb * rg - rr * gb, rr * gg - rg * rg
    det = rr * i_rr + rg * i_rg + rb * i_rb
    cr, cg, cb = cov_ip[:, :, 0], cov_ip[:, :, 1], cov_ip[:, :, 2]
    a = np.dstack([i_rr * cr + i_rg * cg + i_rb * cb,
                   i_rg * cr + i_gg * cg + i_gb * cb,
                   i_rb * cr + i_gb * cg + i_bb * cb]) / det[:, :, None]
    b = mean_p - np.einsum("hwc,hwc->hw", a, mean_i)
    size = (guide_hi.shape[1], guide_hi.shape[0])
    a_hi = cv2.resize(_box(a, r), size, interpolation=cv2.INTER_LINEAR)
    b_hi = cv2.resize(_box(b, r), size, interpolation=cv2.INTER_LINEAR)
    return np.einsum("hwc,hwc->hw", a_hi, guide_hi) + b_hi


def _head_top(alpha: np.ndarray, face: Face, scale: float) -> tuple[float, float] | None:
    """Walk up the face's axis from the eyes through the matte to where the hair ends.

    Several parallel lines across the middle half of the face are walked and the highest end kept,
    so a parting or a thin spot does not stop the walk early. Returns photo pixels, or None when the
    walk leaves the photo (the head is cut by the top edge).
    """
    up = face.up
    across = np.array([-up[1], up[0]])
    h, w = alpha.shape
    best = None
    step = 0.5
    n = int(face.chin_to_eyes * 4 * scale / step)
    for off in np.linspace(-0.25, 0.25, 7) * face.width:
        start = (face.eye_mid + across * off) * scale
        ts = np.arange(n) * step
        pts = start[None, :] + ts[:, None] * up[None, :]
        xi, yi = np.round(pts[:, 0]).astype(int), np.round(pts[:, 1]).astype(int)
        inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        if not inside.all():
            first_out = int(np.argmin(inside))
            vals = alpha[yi[:first_out], xi[:first_out]]
            if vals.size and (vals > 0.5).all():
                return None  # subject runs off the top of the photo
        else:
            first_out = n
        vals = alpha[yi[:first_out], xi[:first_out]]
        below = np.nonzero(vals < 0.5)[0]
        end = int(below[0]) if below.size else first_out
        t = ts[max(end - 1, 0)]
        if best is None or t > best[0]:
            best = (t, pts[max(end - 1, 0)] / scale)
    if best is None:
        return None
    return (float(best[1][0]), float(best[1][1]))


def _disk(r: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def trimap(coarse: np.ndarray, face: Face, scale: float) -> np.ndarray:
    """The trimap for a coarse person mask: sure background, sure subject and the unknown band.

    Parameters
    ----------
    coarse : ndarray, shape (h, w), float32 in [0, 1]
        The segmenter's person probability, at ``scale`` map pixels per photo pixel.
    face : Face
        The subject's face (full-photo pixels).
    scale : float

    Returns
    -------
    ndarray, shape (h, w), uint8
        0 = background, 128 = unknown, 255 = subject. Only the person the face belongs to is
        subject or unknown: other people (their own connected parts of the mask) are background.
    """
    h, w = coarse.shape
    fw = face.width * scale
    oval = region_mask(face, "face", (h, w), scale=scale) > 0
    n, labels = cv2.connectedComponents(((coarse > 0.5) | oval).astype(np.uint8), connectivity=8)
    keep = np.zeros(n, dtype=bool)
    keep[np.unique(labels[oval])] = True
    keep[0] = False
    person = keep[labels]

    # The hair zone: everything above the chin, measured along the face's own up direction.
    hair = height_map(face, scale, (h, w)) > -np.float32(face.chin_to_eyes * scale)

    def r(frac: float) -> int:
        return max(1, int(round(frac * fw)))

    p8 = person.astype(np.uint8)
    sure = np.where(hair, cv2.erode(p8, _disk(r(BAND_HAIR[0]))), cv2.erode(p8, _disk(r(BAND_BODY[0])))) > 0
    near = np.where(hair, cv2.dilate(p8, _disk(r(BAND_HAIR[1]))), cv2.dilate(p8, _disk(r(BAND_BODY[1])))) > 0
    # Where the segmenter hesitates (and it is about this person), the band is wider.
    unsure = (coarse > UNSURE[0]) & (coarse < UNSURE[1]) & near
    unsure = cv2.dilate(unsure.astype(np.uint8), _disk(r(BAND_BODY[0]))) > 0
    oval_in = cv2.erode(oval.astype(np.uint8), _disk(r(0.02))) > 0
    out = np.full((h, w), 128, dtype=np.uint8)
    out[~(near | unsure)] = 0
    out[(sure & ~unsure) | oval_in] = 255
    return out


def _solve_band(image: np.ndarray, tri: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    """Closed-form alpha on the unknown pixels of `tri` (image: linear RGB float64 in [0, 1]).

    The system is the Laplacian restricted to the unknown pixels with the known ones as boundary
    conditions (pymatting's ``estimate_alpha_cf`` does the same); it is written out here to add the
    prior toward opaque where the segmenter is sure, which pymatting's function has no place for.
    """
    import scipy.sparse as sparse
    from pymatting import cf_laplacian, cg, ichol  # numba-compiled: imported only when needed

    is_fg = (tri == 255).ravel()
    is_known = is_fg | (tri == 0).ravel()
    unknown = ~is_known
    lap = cf_laplacian(image, EPSILON, 1, is_known.reshape(tri.shape)).tocsr()
    lap_u = lap[unknown]
    a_uu = lap_u[:, unknown]
    rhs = -(lap_u[:, is_known] @ is_fg[is_known].astype(np.float64))
    prior = np.where(coarse.ravel()[unknown] > SURE_SUBJECT, PRIOR_WEIGHT, 0.0)
    # A tiny ridge keeps the incomplete Cholesky factorisation positive definite on band pixels
    # that no known pixel constrains (its bias toward 0 is ~1e-6 of the solution).
    a_uu = (a_uu + sparse.diags(prior + 1e-6)).tocsr()
    rhs = rhs + prior
    last: list[np.ndarray] = []
    try:
        x = cg(a_uu, rhs, M=ichol(a_uu), rtol=CG_TOL, maxiter=CG_MAXITER, callback=lambda A, xk, *rest: last.append(xk.copy()))
    except ValueError:  # not converged within CG_MAXITER: the last iterate is still a usable matte
        x = last[-1] if last else np.zeros(int(unknown.sum()))
    alpha = is_fg.astype(np.float64)
    alpha[unknown] = x
    return np.clip(alpha.reshape(tri.shape), 0.0, 1.0)


def _below(face: Face, scale: float, shape: tuple[int, int], head_heights: float) -> np.ndarray:
    """Pixels more than `head_heights` head heights below the eyes (along the face's up axis)."""
    return height_map(face, scale, shape) < -np.float32(head_heights * face.head_height * scale)


def _bbox(mask: np.ndarray, pad: int) -> tuple[int, int, int, int]:
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    h, w = mask.shape
    return max(0, ys[0] - pad), min(h, ys[-1] + pad + 1), max(0, xs[0] - pad), min(w, xs[-1] + pad + 1)


def compute(
    image: np.ndarray,
    face: Face,
    *,
    photo_scale: float,
    file_alpha: np.ndarray | None = None,
) -> Matte:
    """Compute the subject's matte (see the module's description for the steps).

    Parameters
    ----------
    image : ndarray, shape (h, w, 3), float32, linear RGB in [0, 1]
        The photo at the matte's working resolution.
    face : Face
        The subject's face, landmarks in full-photo pixels.
    photo_scale : float
        ``image`` pixels per full-photo pixel.
    file_alpha : ndarray, shape (h, w), float32 in [0, 1], optional
        Transparency carried by the file, at ``image``'s resolution.

    Returns
    -------
    Matte
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.float32:
        raise ValueError(f"image must be float32 (h, w, 3), got {image.dtype} {image.shape}")
    h, w = image.shape[:2]
    rgb8 = to_srgb8(image)
    seg, lock = _segmenter()
    with lock:
        coarse = seg.process(rgb8).segmentation_mask
    coarse = np.asarray(coarse, dtype=np.float32)

    # Everything up to the solve happens at the working resolution.
    fw = face.width * photo_scale
    s = min(1.0, SOLVE_FACE_WIDTH / max(fw, 1.0))
    sw, sh = max(1, round(w * s)), max(1, round(h * s))
    small = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA) if s < 1.0 else image
    coarse_s = cv2.resize(coarse, (sw, sh), interpolation=cv2.INTER_AREA if coarse.shape[1] > sw else cv2.INTER_LINEAR)
    tri_s = trimap(coarse_s, face, photo_scale * s)
    far_s = _below(face, photo_scale * s, (sh, sw), DETAIL_HEAD_HEIGHTS)
    if far_s.any():
        tri_s[far_s & (tri_s == 128)] = np.where(coarse_s[far_s & (tri_s == 128)] > 0.5, 255, 0)
    band_s = tri_s == 128

    alpha_s = (tri_s == 255).astype(np.float32)
    if band_s.any():
        y0, y1, x0, x1 = _bbox(band_s, 2)
        part = np.clip(small[y0:y1, x0:x1], 0.0, 1.0).astype(np.float64)
        a = _solve_band(part, tri_s[y0:y1, x0:x1], coarse_s[y0:y1, x0:x1]).astype(np.float32)
        a = np.clip((a - CLAMP[0]) / (CLAMP[1] - CLAMP[0]), 0.0, 1.0)
        alpha_s[y0:y1, x0:x1] = a
        # The envelope: distance (in face widths) outside the person's outline or sure region.
        inside = ((coarse_s > 0.5) & (tri_s > 0)) | (tri_s == 255)
        d = cv2.distanceTransform((~inside).astype(np.uint8), cv2.DIST_L2, 5) / np.float32(fw * s)
        t = np.clip((d - ENVELOPE[0]) / (ENVELOPE[1] - ENVELOPE[0]), 0.0, 1.0)
        alpha_s *= 1.0 - t * t * (3.0 - 2.0 * t)

    if s < 1.0:
        tri = cv2.resize(tri_s, (w, h), interpolation=cv2.INTER_NEAREST)
        alpha = (tri == 255).astype(np.float32)
        if band_s.any():
            # The band's region at full resolution, upsampled and snapped to the photo's edges.
            Y0, Y1 = int(y0 / s), min(h, int(np.ceil(y1 / s)))
            X0, X1 = int(x0 / s), min(w, int(np.ceil(x1 / s)))
            guide = rgb8[Y0:Y1, X0:X1].astype(np.float32) * np.float32(1.0 / 255.0)
            # Coefficients at twice the solve's resolution: fine enough to follow strands.
            g = min(1.0, 2.0 * s)
            lo = (max(1, round((X1 - X0) * g)), max(1, round((Y1 - Y0) * g)))
            up = cv2.resize(alpha_s[y0:y1, x0:x1], lo, interpolation=cv2.INTER_LINEAR)
            up = _guided_upsample(up, cv2.resize(guide, lo, interpolation=cv2.INTER_AREA), guide, GUIDE_RADIUS, GUIDE_EPS)
            t_part = tri[Y0:Y1, X0:X1]
            alpha[Y0:Y1, X0:X1] = np.where(t_part == 128, np.clip(up, 0.0, 1.0), alpha[Y0:Y1, X0:X1])
    else:
        tri, alpha = tri_s, alpha_s

    method = "closed-form matting on an automatic trimap (selfie segmentation + face landmarks)"
    if file_alpha is not None:
        alpha = np.minimum(alpha, file_alpha.astype(np.float32))
        method += ", limited by the file's alpha"
    alpha = np.ascontiguousarray(alpha, dtype=np.float32)
    alpha.flags.writeable = False
    tri = np.ascontiguousarray(tri)
    tri.flags.writeable = False
    delta = _decontamination(image, alpha, fw, ~_below(face, photo_scale, (h, w), DETAIL_HEAD_HEIGHTS))
    if delta is not None:
        delta.flags.writeable = False
        method += ", edge colours from foreground estimation"
    return Matte(alpha=alpha, scale=float(photo_scale), method=method, edges=_touching_edges(alpha),
                 decontaminate=delta, head_top=_head_top(alpha, face, photo_scale), trimap=tri)
