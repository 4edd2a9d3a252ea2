"""Compiled kernel of :func:`headshot.retouch.find_spots`: each candidate blob measured against its ring.

The measurement is a handful of sums, medians and moments over a small window round each blob, and a
1024 px headshot's face has 300-1,200 candidate blobs (pores and flecks included). As NumPy calls on
each small window it was half of the retouch's time (0.25 s of a 0.46 s heal on a 12 MP photo's
website headshot, measured); compiled with numba (already installed for pymatting, and cached on
disk like pymatting's kernels) the loop is a few milliseconds. Imported on the first retouch, so
``import headshot`` does not load numba.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def measure(dr: np.ndarray, red: np.ndarray, lum: np.ndarray, skin: np.ndarray, inner: np.ndarray,
            xs: np.ndarray, ys: np.ndarray, rs: np.ndarray, r_min: float
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover
    """Measure blobs (x, y, scale-space radius) on the skin.

    For each blob: its radius, where the ring mean of ``dr`` (rings 1 px wide, radii 1 to 3 r in
    steps of 0.5 px) first falls under half its centre's value (never less than the scale space's
    radius); then, over its disc (the radius) and its ring (1.8-2.8 radii) on the skin, its redness
    (mean of ``red`` over the disc minus the ring's median), its darkness (ring's median of ``lum``
    minus the disc's) and its elongation (square root of the ratio of the eigenvalues of the
    second moments of the pixels above half its centre's ``dr``, within 2 radii).

    Returns
    -------
    radius, redness, darkness, elongation : float64 arrays, one per blob
    ok : bool array
        False where the blob's centre is off ``inner``, its radius under ``r_min``, or its disc
        (fewer than 3 skin pixels) or ring (fewer than 6) too small to measure.
    """
    h, w = dr.shape
    n = xs.shape[0]
    out_r = np.zeros(n)
    redness = np.zeros(n)
    darkness = np.zeros(n)
    elong = np.ones(n)
    ok = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        x = xs[i]
        y = ys[i]
        r = rs[i]
        cx = int(np.rint(x))
        cy = int(np.rint(y))
        if not inner[cy, cx] or r < r_min:
            continue
        pad = int(np.ceil(r * 4.0)) + 3
        ya = max(0, cy - pad)
        yb = min(h, cy + pad + 1)
        xa = max(0, cx - pad)
        xb = min(w, cx + pad + 1)
        centre = np.float64(dr[cy, cx])
        # Rings rr +- 0.5 px for rr = 1, 1.5, 2 ... < 3 r + 1: two half-pixel bins of the distance each.
        nr = int(np.ceil((3.0 * r + 1.0 - 1.0) / 0.5))
        if nr > 0:
            nb = 2 * nr + 3
            s_bin = np.zeros(nb)
            n_bin = np.zeros(nb, dtype=np.int64)
            for yy in range(ya, yb):
                dy2 = (yy - y) * (yy - y)
                for xx in range(xa, xb):
                    hb = int(np.floor(2.0 * np.sqrt((xx - x) * (xx - x) + dy2)))
                    if hb < nb:
                        s_bin[hb] += dr[yy, xx]
                        n_bin[hb] += 1
            for k in range(nr):
                j = 2 + k
                cnt = n_bin[j - 1] + n_bin[j]
                if cnt > 0 and (s_bin[j - 1] + s_bin[j]) / cnt < 0.5 * centre:
                    r = max(r, 1.0 + 0.5 * k)
                    break
        r2 = r * r
        rin = (1.8 * r) * (1.8 * r)
        rout = (2.8 * r + 1.0) * (2.8 * r + 1.0)
        rpart = (2.0 * r) * (2.0 * r)
        size = (yb - ya) * (xb - xa)
        red_disc = np.empty(size, dtype=np.float32)
        lum_disc = np.empty(size, dtype=np.float32)
        red_ring = np.empty(size, dtype=np.float32)
        lum_ring = np.empty(size, dtype=np.float32)
        nd = 0
        ng = 0
        m = 0
        sx = 0.0
        sy = 0.0
        sxx = 0.0
        syy = 0.0
        sxy = 0.0
        half = 0.5 * centre
        for yy in range(ya, yb):
            dy2 = (yy - y) * (yy - y)
            for xx in range(xa, xb):
                d2 = (xx - x) * (xx - x) + dy2
                if skin[yy, xx]:
                    if d2 <= r2:
                        red_disc[nd] = red[yy, xx]
                        lum_disc[nd] = lum[yy, xx]
                        nd += 1
                    elif rin < d2 <= rout:
                        red_ring[ng] = red[yy, xx]
                        lum_ring[ng] = lum[yy, xx]
                        ng += 1
                if d2 <= rpart and dr[yy, xx] > half:
                    px = float(xx - xa)
                    py = float(yy - ya)
                    m += 1
                    sx += px
                    sy += py
                    sxx += px * px
                    syy += py * py
                    sxy += px * py
        if nd < 3 or ng < 6:
            continue
        total = 0.0
        for k in range(nd):
            total += red_disc[k]
        redness[i] = total / nd - np.median(red_ring[:ng])
        darkness[i] = np.median(lum_ring[:ng]) - np.median(lum_disc[:nd])
        if m > 3:
            # Sample covariance (as numpy.cov) and its eigenvalues, in closed form.
            mx = sx / m
            my = sy / m
            a = (sxx - m * mx * mx) / (m - 1)
            c = (syy - m * my * my) / (m - 1)
            b = (sxy - m * mx * my) / (m - 1)
            mid = 0.5 * (a + c)
            rad = np.sqrt(0.25 * (a - c) * (a - c) + b * b)
            lo = mid - rad
            hi = mid + rad
            elong[i] = np.sqrt(hi / max(lo, 0.25))
        out_r[i] = r
        ok[i] = True
    return out_r, redness, darkness, elong, ok


def warm() -> None:
    """Compile :func:`measure` for the types :func:`headshot.retouch.find_spots` passes (and cache it
    on disk), so the first headshot does not wait for it: ``make`` runs it at install time."""
    f = np.zeros((16, 16), np.float32)
    b = np.ones((16, 16), np.bool_)
    c = np.array([8.0])
    measure(f, f, f, b, b, c, c, np.array([2.0]), 1.0)
