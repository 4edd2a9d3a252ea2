"""Relighting benchmark: does each light preset put the light where it says, keep the person, and run fast?

For the astronaut and every single-person dev photo, each photo is analysed once and rendered at
1024 px on ``linkedin`` with the ``grey`` style at strength 1, once per light preset (:func:`headshot.presets.rig_names`)
and once with ``light="none"`` (the photo's own light, the reference). Everything is measured in the
OUTPUT pixels (linear luminance ``image @ LUMA``), with the patches placed from the subject's landmarks
mapped through the output's crop:

1. Pattern accuracy: the cheek ratio ``log2(lit / shadow)`` of the median luminances of the two cheek
   patches (:func:`headshot.light.cheek_patches`; lit = the key's side, ``lighting["key_side"]``) against
   the rig's ``log2(ratio)``. Target: within 0.5 stop on >= 90% of photo x preset pairs.
2. Rembrandt triangle (``rembrandt``): a disc under the shadow-side eye (40% of the way from the
   shadow-side iris centre to the shadow-side mouth corner, radius 0.05 face widths) against the
   nose's shadow (the nose tip moved 0.12 face widths toward the shadow side and 0.05 down, radius
   0.04) and the outer shadow cheek (the shadow cheek patch moved 0.12 face widths outward). The
   triangle "shows" when it is >= 0.3 stop brighter than both. Reported (no target was set).
3. Butterfly nose shadow (``butterfly``, ``clamshell``), judged in the output itself: in the box from
   the base of the nose (subnasale) down to the top of the upper lip, +-0.25 face widths, the pixels
   >= 0.5 stop below the box's lit skin (its 80th percentile); the horizontal offset of their
   drop-weighted centroid from the nose tip, in face widths. Target: <= 0.10 on every photo for
   butterfly (clamshell reported; the ``none`` render's offset shown for reference).
4. Evening out: the ``split`` output (strength 1) is encoded as PNG, analysed again and rendered with
   ``even``; the cheek-to-cheek difference in stops (the re-analysed image's own landmarks) before and
   after. Counted where the split input differs >= 1.5 stops. Target: <= 0.5 stop after, every photo.
5. Catchlights, from pixels only: in each eye, inside the iris disc and the eye opening, the bright
   blobs (connected pixels >= max(0.5 x max, 2.5 x median)); the dominant one (highest peak) gives a
   clock position from its centroid (pixels >= max(0.6 x max, 2.5 x median)) around the iris centre.
   Target: the two eyes' clocks within 1 hour of each other on >= 95% of outputs (eyes with an iris
   radius < 3 px are skipped and counted). Also the number of blobs whose peak is >= 50% of the
   dominant one's (should be 1) and the share in the upper half (10-2 o'clock; within 1 h of 12 for
   the frontal rigs).
6. Likeness: dlib identity distance (:mod:`headshot.eval.identity`) input -> each relit output, and
   input -> the ``none`` output for reference. Targets: median <= 0.12 and every output <= 0.20.
   Reported beside it, not a verdict: the same distances with both face chips cut at the input's
   own 68-point fit mapped through the output's crop (:func:`headshot.eval.identity.embedding_at`,
   as ``bench_identity.py --aligned``), which leaves out the fit's jitter between two images.
7. Speed: ``subject.timings["geometry"]`` (geometry + illumination fit, once per photo) and each
   render's ``timings["light"]`` at 1024 px per preset. Target: median light time per preset <= 0.3 s
   (the maxima and renders over 0.3 s are reported too).

Writes ``bench-output/light.{md,json}``.

Run: ``python benchmarks/bench_light.py`` (or ``make bench``). ``--eyes DIR`` also writes enlarged eye
crops with the detected catchlight marked, to check the detector by eye.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any

import _common as C

C.quiet_native_logs()

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import headshot  # noqa: E402
from headshot.eval import identity as idm  # noqa: E402
from headshot.face import (  # noqa: E402
    LEFT_EYE,
    LEFT_IRIS,
    LEFT_IRIS_CENTER,
    NOSE_TIP,
    RIGHT_EYE,
    RIGHT_IRIS,
    RIGHT_IRIS_CENTER,
)
from headshot.imageio import encode, to_srgb8  # noqa: E402
from headshot.light import LUMA, _disc, cheek_patches  # noqa: E402
from headshot.pipeline import render  # noqa: E402
from headshot.presets import load_rig, load_style, rig_names  # noqa: E402

STYLE = "grey"
PLATFORM = "linkedin"
SIZE = 1024
# Every preset is rendered at full strength: the targets are about the rig itself (the style's own
# default strength, e.g. grey's 0.7, would scale the pattern down by design).
STRENGTH = 1.0
CMD = "`python benchmarks/bench_light.py` (all measures; or `make bench`)"

PATTERN_TOL = 0.5  # stops
PATTERN_SHARE = 0.90
TRIANGLE_MIN = 0.3  # stops
NOSE_DROP = 0.5  # stops
NOSE_TOL = 0.10  # face widths
SPLIT_MIN = 1.5  # stops
EVEN_TOL = 0.5  # stops
CATCH_SHARE = 0.95
CATCH_MIN_R = 3.0  # px
CATCH_AGREE = 1.0  # hours
ID_MEDIAN = 0.12
ID_MAX = 0.20
LIGHT_S = 0.3
FRONTAL = ("butterfly", "clamshell", "even", "high-key")
UPPER_LIP = 0
SUBNASALE = 2
MOUTH_LEFT_IMG, MOUTH_RIGHT_IMG = 61, 291  # image-left (subject's right) and image-right mouth corners
EPS = 1e-6


# ------------------------------------------------------------------------------------------ helpers


def _stops(a: float, b: float) -> float:
    return math.log2(max(a, EPS) / max(b, EPS))


def _patch(lum: np.ndarray, centre: np.ndarray, radius: float) -> float | None:
    m = _disc(lum.shape, np.asarray(centre, dtype=np.float64), radius)
    return float(np.median(lum[m])) if m.any() else None


def _out_geometry(subject: headshot.Subject, hs: Any) -> tuple[np.ndarray, float]:
    """Landmarks (478, 2) in output pixels and the face width in output pixels."""
    return hs.crop.apply(subject.face.landmarks[:, :2]), subject.face.width * hs.crop.scale


def _cheeks(lum: np.ndarray, lm: np.ndarray, fw: float) -> tuple[float | None, float | None]:
    """Median luminance of the (image-left, image-right) cheek patches."""
    r, lft, rad = cheek_patches(lm, fw)
    return _patch(lum, r, rad), _patch(lum, lft, rad)


def _circ(a: float, b: float) -> float:
    d = abs(a - b) % 12.0
    return min(d, 12.0 - d)


def _r(v: float | None, n: int = 3) -> float | None:
    return None if v is None else round(float(v), n)


def _med(xs: list[float]) -> float | None:
    return C.median(xs) if xs else None


# ---------------------------------------------------------------------------------------- measures


def pattern(lum: np.ndarray, lm: np.ndarray, fw: float, key_side: str, ratio: float) -> dict[str, Any]:
    left_img, right_img = _cheeks(lum, lm, fw)
    if left_img is None or right_img is None:
        return {"error": "cheek patch outside the output"}
    lit, shadow = (right_img, left_img) if key_side == "right" else (left_img, right_img)
    stops = _stops(lit, shadow)
    target = math.log2(ratio)
    return {"lit": lit, "shadow": shadow, "stops": stops, "target": target, "abs_error": abs(stops - target),
            "ok": abs(stops - target) <= PATTERN_TOL}


def triangle(lum: np.ndarray, lm: np.ndarray, fw: float, key_side: str) -> dict[str, Any]:
    s = -1.0 if key_side == "right" else 1.0  # image side of the shadow: +1 right
    iris = lm[LEFT_IRIS_CENTER] if s > 0 else lm[RIGHT_IRIS_CENTER]
    mouth = lm[MOUTH_RIGHT_IMG] if s > 0 else lm[MOUTH_LEFT_IMG]
    r_c, l_c, rad = cheek_patches(lm, fw)
    cheek = l_c if s > 0 else r_c
    tri_c = iris + 0.4 * (mouth - iris)
    nose_c = lm[NOSE_TIP] + np.array([s * 0.12 * fw, 0.05 * fw])
    outer_c = cheek + np.array([s * 0.12 * fw, 0.0])
    tri = _patch(lum, tri_c, 0.05 * fw)
    nose = _patch(lum, nose_c, 0.04 * fw)
    outer = _patch(lum, outer_c, rad)
    if tri is None or nose is None or outer is None:
        return {"error": "patch outside the output"}
    margin = _stops(tri, max(nose, outer))
    return {"triangle": tri, "nose_shadow": nose, "outer_cheek": outer,
            "vs_nose": _stops(tri, nose), "vs_outer": _stops(tri, outer), "margin": margin,
            "shows": margin >= TRIANGLE_MIN,
            "centres": {"triangle": tri_c, "nose_shadow": nose_c, "outer_cheek": outer_c}}


def nose_shadow(lum: np.ndarray, lm: np.ndarray, fw: float) -> dict[str, Any]:
    """Where the nose's shadow falls on the upper lip, judged in the image itself.

    Box: from the base of the nose (subnasale) down to the top of the upper lip, +-0.25 face widths
    around the nose tip (the philtrum and the skin beside it: below the nostrils, so they do not
    count). Shadow = the box's pixels >= NOSE_DROP stop below the box's lit skin (its 80th
    percentile); their centroid, weighted by how far below, is compared with the nose tip's x.
    """
    nx = lm[NOSE_TIP][0]
    ty, ly = lm[SUBNASALE][1], lm[UPPER_LIP][1]
    h, w = lum.shape
    x0, x1 = max(0, int(math.floor(nx - 0.25 * fw))), min(w, int(math.ceil(nx + 0.25 * fw)) + 1)
    y0, y1 = max(0, int(math.floor(min(ty, ly)))), min(h, int(math.ceil(max(ty, ly))) + 1)
    if x1 <= x0 or y1 <= y0:
        return {"error": "empty box"}
    a = lum[y0:y1, x0:x1].astype(np.float64)
    ref = float(np.percentile(a, 80))
    d = np.log2(max(ref, EPS) / np.maximum(a, EPS))
    m = d >= NOSE_DROP
    n = int(np.count_nonzero(m))
    if n == 0:
        return {"pixels": 0, "box_pixels": int(m.size), "offset": None, "ok": False}
    wts = d[m]
    xs = np.nonzero(m)[1].astype(np.float64) + x0
    cx = float(np.sum(wts * xs) / np.sum(wts))
    off = abs(cx - nx) / fw
    return {"pixels": n, "box_pixels": int(m.size), "centroid_x": cx, "nose_x": float(nx), "offset": off,
            "signed": (cx - nx) / fw, "ok": off <= NOSE_TOL}


def _eye_region(lum: np.ndarray, c: np.ndarray, r: float, poly: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    h, w = lum.shape
    x0 = int(max(0, math.floor(min(poly[:, 0].min(), c[0] - r)) - 2))
    y0 = int(max(0, math.floor(min(poly[:, 1].min(), c[1] - r)) - 2))
    x1 = int(min(w, math.ceil(max(poly[:, 0].max(), c[0] + r)) + 3))
    y1 = int(min(h, math.ceil(max(poly[:, 1].max(), c[1] + r)) + 3))
    sub = lum[y0:y1, x0:x1]
    disc = np.zeros(sub.shape, np.uint8)
    cv2.circle(disc, (round((c[0] - x0) * 16), round((c[1] - y0) * 16)), round(r * 16), 1, -1, shift=4)
    eye = np.zeros(sub.shape, np.uint8)
    cv2.fillPoly(eye, [np.round((poly - [x0, y0]) * 16).astype(np.int32)], 1, shift=4)
    return sub, disc.astype(bool) & eye.astype(bool), x0, y0


def catchlight(lum: np.ndarray, lm: np.ndarray, centre_i: int, ring: tuple[int, ...],
               poly_i: tuple[int, ...]) -> dict[str, Any]:
    """The dominant catchlight of one eye, from the output's pixels only."""
    c = lm[centre_i].astype(np.float64)
    r = float(np.mean(np.linalg.norm(lm[list(ring)] - c, axis=1)))
    out: dict[str, Any] = {"iris_r": r, "centre": c}
    if r < CATCH_MIN_R:
        out["status"] = "skipped (iris < 3 px)"
        return out
    poly = lm[list(poly_i)].astype(np.float64)
    sub, region, x0, y0 = _eye_region(lum, c, r, poly)
    out["origin"] = (x0, y0)
    if np.count_nonzero(region) < 4:
        out["status"] = "no visible iris"
        return out
    vals = sub[region]
    mx, med = float(vals.max()), float(np.median(vals))
    out.update(max=mx, median=med)
    lo = max(0.5 * mx, 2.5 * med)
    thr = max(0.6 * mx, 2.5 * med)
    if mx < thr or mx <= 0:
        out["status"] = "no catchlight (nothing >= 2.5 x the iris median)"
        out["blobs"] = 0
        return out
    mask = (region & (sub >= lo)).astype(np.uint8)
    n, labels = cv2.connectedComponents(mask, connectivity=8)
    peaks = [float(sub[labels == k].max()) for k in range(1, n)]
    dom = int(np.argmax(peaks)) + 1
    out["blobs"] = sum(p >= 0.5 * peaks[dom - 1] for p in peaks)
    core = (labels == dom) & (sub >= thr)
    if not core.any():
        core = labels == dom
    yy, xx = np.nonzero(core)
    wts = sub[yy, xx].astype(np.float64)
    cx = float(np.sum(wts * xx) / np.sum(wts)) + x0
    cy = float(np.sum(wts * yy) / np.sum(wts)) + y0
    dx, dy = cx - c[0], cy - c[1]
    out.update(status="ok", blob=(cx, cy), blob_pixels=int(core.sum()), peak=peaks[dom - 1],
               dist_r=math.hypot(dx, dy) / r,
               clock=(math.degrees(math.atan2(dx, -dy)) / 30.0) % 12.0,
               labels=labels, dom=dom)
    return out


def _in_upper(clock: float, preset: str) -> bool:
    if preset in FRONTAL:
        return _circ(clock, 12.0) <= 1.0
    return clock >= 10.0 or clock <= 2.0


def write_eye_crops(folder: Path, tag: str, image: np.ndarray, eyes: list[dict[str, Any]]) -> None:
    """Enlarged crop of both eyes: iris centre (green), iris disc (blue), dominant blob (red), others (yellow)."""
    folder.mkdir(parents=True, exist_ok=True)
    srgb = to_srgb8(image)
    tiles = []
    for e in eyes:
        if "origin" not in e:
            continue
        c, r = e["centre"], e["iris_r"]
        pad = int(2.2 * r) + 4
        x0, y0 = max(0, int(c[0]) - pad), max(0, int(c[1]) - pad)
        crop = srgb[y0 : int(c[1]) + pad, x0 : int(c[0]) + pad].copy()
        k = max(1, int(round(160 / max(crop.shape[:2]))))
        big = cv2.resize(crop, None, fx=k, fy=k, interpolation=cv2.INTER_NEAREST)
        big = cv2.cvtColor(big, cv2.COLOR_RGB2BGR)

        def p(x: float, y: float) -> tuple[int, int]:
            return int(round((x - x0 + 0.5) * k)), int(round((y - y0 + 0.5) * k))

        cv2.circle(big, p(*c), int(round(r * k)), (255, 128, 0), 1)
        cv2.drawMarker(big, p(*c), (0, 255, 0), cv2.MARKER_CROSS, 2 * k, 1)
        if "labels" in e:
            ox, oy = e["origin"]
            lab = e["labels"]
            for val, colour in ((e["dom"], (0, 0, 255)),):
                m = (lab == val).astype(np.uint8)
                cnts, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
                for cnt in cnts:
                    pts = np.array([p(q[0][0] + ox - 0.5, q[0][1] + oy - 0.5) for q in cnt], np.int32)
                    cv2.polylines(big, [pts], True, colour, 1)
            others = (lab > 0) & (lab != e["dom"])
            if others.any():
                cnts, _ = cv2.findContours(others.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
                for cnt in cnts:
                    pts = np.array([p(q[0][0] + ox - 0.5, q[0][1] + oy - 0.5) for q in cnt], np.int32)
                    cv2.polylines(big, [pts], True, (0, 255, 255), 1)
            cv2.drawMarker(big, p(*e["blob"]), (0, 0, 255), cv2.MARKER_TILTED_CROSS, 2 * k, 1)
            cv2.putText(big, f"{e['clock']:.1f}h n={e['blobs']}", (2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        (0, 255, 0), 1)
        else:
            cv2.putText(big, e.get("status", "")[:20], (2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 255), 1)
        tiles.append(big)
    if tiles:
        h = max(t.shape[0] for t in tiles)
        tiles = [cv2.copyMakeBorder(t, 0, h - t.shape[0], 0, 4, cv2.BORDER_CONSTANT, value=(0, 0, 0)) for t in tiles]
        cv2.imwrite(str(folder / f"{tag}.png"), np.hstack(tiles))


# -------------------------------------------------------------------------------------------- run


def _measure_photo(ref: C.PhotoRef, presets: list[str], rigs: dict[str, Any], problems: list[str],
                   eyes_dir: Path | None) -> dict[str, Any]:
    row: dict[str, Any] = {"photo": ref.name}
    photo = headshot.load(ref.data())
    try:
        subject = headshot.analyse(photo)
    except headshot.HeadshotError as e:
        row["error"] = f"analyse: {type(e).__name__}: {e}"
        problems.append(f"{ref.name}: {row['error']}")
        return row
    # The geometry is built on the first relit render (headshot.Subject.geometry); build it here so
    # its cost is reported once per photo and no preset's light time carries it.
    subject.geometry  # noqa: B018 (builds and keeps it)
    row["geometry_s"] = subject.timings.get("geometry")
    try:
        e_in: np.ndarray | None = idm.embedding(photo.pixels)
        # The comparison measure (docs/benchmarks.md, "Identity", --aligned): both chips cut at the
        # input's own 68-point fit, mapped through the output's crop.
        pts_in: np.ndarray | None = idm.fit_landmarks(photo.pixels)
        e_al: np.ndarray | None = idm.embedding_at(photo.pixels, pts_in)
    except idm.NoFaceForIdentity:
        e_in = pts_in = e_al = None
        problems.append(f"{ref.name}: dlib finds no face in the input (likeness not measured)")

    def aligned(hs: Any) -> float | None:
        if pts_in is None or e_al is None:
            return None
        return idm.distance(e_al, idm.embedding_at(hs.image, hs.crop.apply(pts_in)))

    hs_none = render(subject, STYLE, PLATFORM, size=SIZE, light="none")
    lm, fw = _out_geometry(subject, hs_none)
    row["face_width_out"] = fw
    lum_none = hs_none.image @ LUMA
    row["none"] = {
        "cheeks_left_right": list(_cheeks(lum_none, lm, fw)),
        "identity": idm.distance_to(e_in, hs_none.image),
        "identity_aligned": aligned(hs_none),
        "frame_s": hs_none.timings.get("frame"),
    }
    lc, rc = row["none"]["cheeks_left_right"]
    row["none"]["cheek_diff_stops"] = abs(_stops(rc, lc)) if lc and rc else None
    row["none"]["triangle_key_left"] = _strip(triangle(lum_none, lm, fw, "left"))
    row["none"]["triangle_key_right"] = _strip(triangle(lum_none, lm, fw, "right"))
    row["none"]["nose_shadow"] = nose_shadow(lum_none, lm, fw)

    per: dict[str, Any] = {}
    split_hs = None
    for name in presets:
        rig = rigs[name]
        hs = render(subject, STYLE, PLATFORM, size=SIZE, light=name, strength=STRENGTH)
        lum = hs.image @ LUMA
        lmo, fwo = _out_geometry(subject, hs)
        lighting = hs.lighting or {}
        ks = str(lighting.get("key_side", "left"))
        res: dict[str, Any] = {
            "key_side": ks,
            "fill": lighting.get("fill"),
            "metered_stops": lighting.get("metered_ratio_stops"),
            "painted_clock": lighting.get("catchlight_clock"),
            "light_s": hs.timings.get("light"),
            "frame_s": hs.timings.get("frame"),
            "notes": [n for n in hs.notes if "light" in n or "fill" in n],
        }
        if not hs.lighting:
            problems.append(f"{ref.name}/{name}: no lighting applied")
        res["pattern"] = pattern(lum, lmo, fwo, ks, rig.ratio)
        if name == "rembrandt":
            res["triangle"] = _strip(triangle(lum, lmo, fwo, ks))
        if name in ("butterfly", "clamshell"):
            res["nose_shadow"] = nose_shadow(lum, lmo, fwo)
        eyes = [catchlight(lum, lmo, RIGHT_IRIS_CENTER, RIGHT_IRIS, RIGHT_EYE),
                catchlight(lum, lmo, LEFT_IRIS_CENTER, LEFT_IRIS, LEFT_EYE)]
        if eyes_dir is not None:
            write_eye_crops(eyes_dir, f"{Path(ref.name).stem}_{name}", hs.image, eyes)
        res["catchlights"] = _catch_summary(eyes, name, res["painted_clock"])
        res["identity"] = idm.distance_to(e_in, hs.image)
        res["identity_aligned"] = aligned(hs)
        per[name] = res
        if name == "split":
            split_hs = hs
    row["presets"] = per

    # Evening out: split (strength 1) -> PNG -> analyse -> even.
    if split_hs is None:
        split_hs = render(subject, STYLE, PLATFORM, size=SIZE, light="split", strength=1.0)
    ev: dict[str, Any] = {}
    try:
        s2 = headshot.analyse(encode(split_hs.image, format="png"))
    except headshot.HeadshotError as e:
        ev["error"] = f"re-analyse of the split output: {type(e).__name__}: {e}"
        problems.append(f"{ref.name}: {ev['error']}")
    else:
        lm_in = s2.face.landmarks[:, :2]
        lum_in = s2.photo.pixels @ LUMA
        a, b = _cheeks(lum_in, lm_in, s2.face.width)
        hs_even = render(s2, STYLE, PLATFORM, size=SIZE, light="even", strength=STRENGTH)
        lm2, fw2 = _out_geometry(s2, hs_even)
        a2, b2 = _cheeks(hs_even.image @ LUMA, lm2, fw2)
        if None in (a, b, a2, b2):
            ev["error"] = "cheek patch outside the image"
        else:
            ev.update(before=abs(_stops(a, b)), after=abs(_stops(a2, b2)), before_signed=_stops(b, a),
                      after_signed=_stops(b2, a2))
            ev["counted"] = ev["before"] >= SPLIT_MIN
            ev["ok"] = ev["after"] <= EVEN_TOL
    row["evening"] = ev
    return row


def _strip(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != "centres"}


def _catch_summary(eyes: list[dict[str, Any]], preset: str, painted: list[float] | None) -> dict[str, Any]:
    keep = ("status", "iris_r", "blobs", "clock", "peak", "median", "dist_r", "blob_pixels")
    out: dict[str, Any] = {"eyes": [{k: e[k] for k in keep if k in e} for e in eyes]}
    if any(e["status"].startswith("skipped") for e in eyes):
        out["verdict"] = "skipped"
        return out
    clocks = [e.get("clock") for e in eyes]
    if None in clocks:
        out["verdict"] = "missing"
        out["agree"] = False
        return out
    out["diff_h"] = _circ(clocks[0], clocks[1])
    out["agree"] = out["diff_h"] <= CATCH_AGREE
    out["verdict"] = "agree" if out["agree"] else "disagree"
    out["upper"] = [_in_upper(c, preset) for c in clocks]
    if painted and len(painted) == 2:
        out["vs_painted_h"] = [_circ(a, b) for a, b in zip(clocks, painted)]
    return out


def run(eyes_dir: Path | None = None) -> dict[str, Any]:
    photos, skip_note = C.photo_set()
    presets = rig_names()
    rigs = {n: load_rig(n) for n in presets}
    problems: list[str] = []
    busy = C.cpu_busy(0.5)
    t0 = time.perf_counter()
    results = []
    for ref in photos:
        t = time.perf_counter()
        results.append(_measure_photo(ref, presets, rigs, problems, eyes_dir))
        results[-1]["seconds"] = round(time.perf_counter() - t, 2)
    elapsed = time.perf_counter() - t0
    ok_rows = [r for r in results if "presets" in r]
    md: list[str] = [
        "## Light (relighting: pattern, shadows, catchlights, likeness, speed)",
        "",
        f"Every photo x light preset ({', '.join(presets)}), style {STYLE}, platform {PLATFORM}, size {SIZE}, strength {STRENGTH:g} "
        f"(the style's own default is {load_style(STYLE).strength:g}; the targets are about the rig at full strength); "
        "measured in the output's linear luminance. Reproduce: " + CMD + ".",
        "",
    ]
    if skip_note:
        md += [f"_{skip_note}_", ""]
    verdicts: list[tuple[str, bool, str]] = []
    summary: dict[str, Any] = {"photos": len(photos), "measured": len(ok_rows)}

    # 1. pattern --------------------------------------------------------------------------------
    md += ["### 1. Pattern accuracy (cheek ratio, stops)", "",
           f"log2(lit/shadow) of the median luminance of the cheek patches vs log2(rig ratio). "
           f"Target: |error| <= {PATTERN_TOL} stop on >= {PATTERN_SHARE:.0%} of pairs. Reproduce: {CMD}.", ""]
    rows = []
    all_ok = all_n = 0
    pat_sum: dict[str, Any] = {}
    for name in presets:
        errs = [(r["photo"], r["presets"][name]["pattern"]) for r in ok_rows if "error" not in r["presets"][name]["pattern"]]
        n_ok = sum(p["ok"] for _, p in errs)
        all_ok += n_ok
        all_n += len(errs)
        worst = max(errs, key=lambda x: x[1]["abs_error"]) if errs else None
        meas = [p["stops"] for _, p in errs]
        metered = [r["presets"][name]["metered_stops"] for r in ok_rows if r["presets"][name]["metered_stops"] is not None]
        pat_sum[name] = {"n": len(errs), "pass": n_ok, "mean_error": float(np.mean([p["abs_error"] for _, p in errs])) if errs else None,
                         "worst": worst[1]["abs_error"] if worst else None, "worst_photo": worst[0] if worst else None}
        rows.append([name, f"{math.log2(rigs[name].ratio):.2f}", C.fmt(_med(meas), 2), C.fmt(_med(metered), 2),
                     C.fmt(pat_sum[name]["mean_error"], 2),
                     f"{worst[1]['abs_error']:.2f} ({worst[0]}: {worst[1]['stops']:+.2f})" if worst else "—",
                     f"{n_ok}/{len(errs)}"])
    md.append(C.table(["preset", "target stops", "measured (median)", "metered by the rig (median)", "mean |error|",
                       "worst |error| (photo: measured)", "within 0.5"], rows))
    share = all_ok / all_n if all_n else 0.0
    ok1 = all_n > 0 and share >= PATTERN_SHARE
    summary["pattern"] = {"share": share, "pass": all_ok, "n": all_n, "per_preset": pat_sum}
    md += ["", f"**{'PASS' if ok1 else 'FAIL'}** pattern: {all_ok}/{all_n} pairs ({share:.0%}) within {PATTERN_TOL} stop "
           f"(target >= {PATTERN_SHARE:.0%}).", ""]
    # per photo x preset grid of measured stops
    grid = []
    for r in ok_rows:
        cells = []
        for name in presets:
            p = r["presets"][name]["pattern"]
            cells.append("—" if "error" in p else f"{p['stops']:+.2f}" + ("" if p["ok"] else " ✗"))
        nl, nr = r["none"]["cheeks_left_right"]
        grid.append([r["photo"], f"{_stops(nr, nl):+.2f}" if nl and nr else "—", *cells])
    md += ["<details><summary>measured cheek ratio per photo (stops; ✗ = off by > 0.5; 'none' = image-right over "
           "image-left cheek of the photo's own light)</summary>", "",
           C.table(["photo", "none", *presets], grid), "", "</details>", ""]
    verdicts.append(("pattern accuracy", ok1, f"{share:.0%} of pairs within {PATTERN_TOL} stop (target >= {PATTERN_SHARE:.0%})"))

    # 2. rembrandt triangle ----------------------------------------------------------------------
    md += ["### 2. Rembrandt triangle (rembrandt)", "",
           "Triangle patch (under the shadow-side eye) minus max(nose shadow, outer shadow cheek), stops; "
           f"'shows' = >= {TRIANGLE_MIN} stop brighter than both. Same patches in the `none` render for reference. "
           f"No target set: reported. Reproduce: {CMD}.", ""]
    rows = []
    shows = 0
    tri_n = 0
    for r in ok_rows:
        t = r["presets"]["rembrandt"].get("triangle", {})
        if "error" in t or not t:
            rows.append([r["photo"], "—", "—", "—", "—", t.get("error", "")])
            continue
        tri_n += 1
        shows += t["shows"]
        ref_t = r["none"]["triangle_key_" + r["presets"]["rembrandt"]["key_side"]]
        rows.append([r["photo"], f"{t['vs_nose']:+.2f}", f"{t['vs_outer']:+.2f}", f"{t['margin']:+.2f}",
                     f"{ref_t['margin']:+.2f}" if "margin" in ref_t else "—", "yes" if t["shows"] else "no"])
    md.append(C.table(["photo", "triangle - nose shadow", "triangle - outer cheek", "margin", "margin in `none`",
                       "shows"], rows))
    summary["rembrandt_triangle"] = {"shows": shows, "n": tri_n}
    md += ["", f"Triangle shows on {shows}/{tri_n} photos ({shows / tri_n if tri_n else 0:.0%}) — reported, no target.", ""]

    # 3. butterfly nose shadow -------------------------------------------------------------------
    md += ["### 3. Butterfly nose shadow", "",
           "Judged in the output itself: box from the base of the nose (landmark 2) to the top of the upper lip "
           "(landmark 0), +-0.25 face widths around the nose tip; shadow = pixels >= "
           f"{NOSE_DROP} stop below the box's 80th percentile (its lit skin); offset = |shadow centroid x (weighted by "
           "the drop) - nose tip x| / face width ('no shadow' counts as a miss). The `none` render's offset is shown "
           f"for reference (the photo's own light). Target (butterfly): <= {NOSE_TOL} on every photo. "
           f"Reproduce: {CMD}.", ""]
    rows = []
    nose_ok: dict[str, list[bool]] = {"butterfly": [], "clamshell": []}
    for r in ok_rows:
        cells = [r["photo"]]
        nn = r["none"].get("nose_shadow", {})
        cells.append("—" if nn.get("offset") is None else f"{nn['signed']:+.3f}")
        for name in ("butterfly", "clamshell"):
            ns = r["presets"][name].get("nose_shadow", {})
            if "error" in ns:
                cells += ["—", ns["error"]]
                nose_ok[name].append(False)
                continue
            nose_ok[name].append(bool(ns["ok"]))
            if ns["offset"] is None:
                cells += ["0", "no shadow ✗"]
            else:
                cells += [f"{100 * ns['pixels'] / ns['box_pixels']:.0f}%",
                          f"{ns['signed']:+.3f}" + ("" if ns["ok"] else " ✗")]
        rows.append(cells)
    md.append(C.table(["photo", "none: offset (fw)", "butterfly: shadow px of box", "butterfly: offset (fw)",
                       "clamshell: shadow px", "clamshell: offset (fw)"], rows))
    b_ok = nose_ok["butterfly"]
    ok3 = bool(b_ok) and all(b_ok)
    summary["nose_shadow"] = {k: {"pass": sum(v), "n": len(v)} for k, v in nose_ok.items()}
    md += ["", f"**{'PASS' if ok3 else 'FAIL'}** butterfly nose shadow centred: {sum(b_ok)}/{len(b_ok)} photos within "
           f"{NOSE_TOL} face widths (clamshell: {sum(nose_ok['clamshell'])}/{len(nose_ok['clamshell'])}).", ""]
    verdicts.append(("butterfly nose shadow", ok3, f"{sum(b_ok)}/{len(b_ok)} photos centred within {NOSE_TOL} fw"))

    # 4. evening out -----------------------------------------------------------------------------
    md += ["### 4. Evening out (split -> PNG -> analyse -> even)", "",
           f"|cheek difference| in stops of the split input (re-analysed landmarks) and after `even`. Counted where the "
           f"input differs >= {SPLIT_MIN} stops; target after <= {EVEN_TOL} stop on every counted photo. Reproduce: {CMD}.", ""]
    rows = []
    counted = ev_ok = 0
    not_counted = []
    for r in ok_rows:
        ev = r["evening"]
        if "error" in ev:
            rows.append([r["photo"], "—", "—", ev["error"]])
            continue
        if ev["counted"]:
            counted += 1
            ev_ok += ev["ok"]
        else:
            not_counted.append(r["photo"])
        rows.append([r["photo"], f"{ev['before']:.2f}" + ("" if ev["counted"] else " (< 1.5: not counted)"),
                     f"{ev['after']:.2f}", ("pass" if ev["ok"] else "FAIL") if ev["counted"] else "—"])
    md.append(C.table(["photo", "split input (stops)", "after even (stops)", "verdict"], rows))
    errs4 = [r["photo"] for r in ok_rows if "error" in r["evening"]]
    ok4 = counted > 0 and ev_ok == counted and not errs4
    summary["evening"] = {"counted": counted, "pass": ev_ok, "not_counted": not_counted, "errors": errs4}
    md += ["", f"**{'PASS' if ok4 else 'FAIL'}** evening out: {ev_ok}/{counted} counted photos within {EVEN_TOL} stop after "
           f"`even`" + (f"; not counted (split input < {SPLIT_MIN} stops): {', '.join(not_counted)}" if not_counted else "")
           + (f"; errors: {', '.join(errs4)}" if errs4 else "") + ".", ""]
    verdicts.append(("evening out", ok4, f"{ev_ok}/{counted} within {EVEN_TOL} stop"))

    # 5. catchlights -----------------------------------------------------------------------------
    md += ["### 5. Catchlights (from pixels)", "",
           "Per eye: brightest blob inside the iris disc and the eye opening; clock = atan2(dx, -dy) of its centroid "
           f"around the iris centre. Agreement: the two eyes within {CATCH_AGREE:g} h. Target: >= {CATCH_SHARE:.0%} of "
           f"outputs. Eyes with iris radius < {CATCH_MIN_R:g} px skipped. 'single' = eyes with exactly one blob >= 50% of "
           "the dominant's peak; 'upper' = eyes at 10-2 o'clock (frontal rigs: within 1 h of 12); 'painted' = eyes within "
           f"1 h of the clock the renderer reports (diagnostic only). Reproduce: {CMD}.", ""]
    rows = []
    tot_agree = tot_meas = tot_skip = 0
    cat_sum: dict[str, Any] = {}
    for name in presets:
        cs = [r["presets"][name]["catchlights"] for r in ok_rows]
        meas = [c for c in cs if c["verdict"] != "skipped"]
        agree = sum(bool(c.get("agree")) for c in meas)
        missing = sum(c["verdict"] == "missing" for c in meas)
        skipped = len(cs) - len(meas)
        eyes = [e for c in meas for e in c["eyes"] if "clock" in e]
        single = sum(e["blobs"] == 1 for e in eyes)
        upper = sum(u for c in meas for u in c.get("upper", []))
        up_n = sum(len(c.get("upper", [])) for c in meas)
        painted = [d for c in meas for d in c.get("vs_painted_h", [])]
        by_side = {sd: [e["clock"] for r in ok_rows for e in r["presets"][name]["catchlights"]["eyes"]
                        if "clock" in e and r["presets"][name]["key_side"] == sd] for sd in ("left", "right")}
        clock_txt = " / ".join(f"key {sd}: {C.fmt(_med(v), 1)}" for sd, v in by_side.items() if v) or "—"
        tot_agree += agree
        tot_meas += len(meas)
        tot_skip += skipped
        cat_sum[name] = {"agree": agree, "n": len(meas), "missing": missing, "skipped": skipped, "single": single,
                         "eyes": len(eyes), "upper": upper, "upper_n": up_n,
                         "painted_within_1h": sum(d <= 1.0 for d in painted), "painted_n": len(painted)}
        rows.append([name, f"{agree}/{len(meas)}", str(missing), str(skipped), f"{single}/{len(eyes)}",
                     f"{upper}/{up_n}", clock_txt,
                     f"{sum(d <= 1.0 for d in painted)}/{len(painted)}"])
    md.append(C.table(["preset", "eyes agree", "no catchlight found", "skipped (iris < 3 px)", "single blob",
                       "upper", "median clock (h) by key side", "painted"], rows))
    bad = [f"{r['photo']}/{n} ({r['presets'][n]['catchlights']['verdict']}"
           + (f" {r['presets'][n]['catchlights']['diff_h']:.1f} h" if "diff_h" in r['presets'][n]['catchlights'] else "")
           + ")"
           for r in ok_rows for n in presets if r["presets"][n]["catchlights"]["verdict"] in ("missing", "disagree")]
    cshare = tot_agree / tot_meas if tot_meas else 0.0
    ok5 = tot_meas > 0 and cshare >= CATCH_SHARE
    summary["catchlights"] = {"agree": tot_agree, "n": tot_meas, "skipped": tot_skip, "share": cshare,
                              "per_preset": cat_sum, "failing": bad}
    md += ["", f"**{'PASS' if ok5 else 'FAIL'}** catchlights: the two eyes agree on {tot_agree}/{tot_meas} outputs "
           f"({cshare:.0%}; target >= {CATCH_SHARE:.0%}); {tot_skip} outputs skipped (iris < {CATCH_MIN_R:g} px)."
           + (f" Not agreeing: {', '.join(bad[:25])}" + (" ..." if len(bad) > 25 else "") if bad else ""), ""]
    verdicts.append(("catchlights agree", ok5, f"{cshare:.0%} of outputs (target >= {CATCH_SHARE:.0%})"))

    # 6. likeness --------------------------------------------------------------------------------
    md += ["### 6. Likeness (dlib identity distance, input -> output)", "",
           f"Targets: median over all photo x preset <= {ID_MEDIAN}, every output <= {ID_MAX}. `none` = the same framing "
           f"without relighting (reference). Reproduce: {CMD}.", ""]
    rows = []
    all_d: list[tuple[float, str, str]] = []
    no_face: list[str] = []
    none_d = [r["none"]["identity"] for r in ok_rows if r["none"]["identity"] is not None]
    rows.append(["none (reference)", C.fmt(_med(none_d)), C.fmt(max(none_d) if none_d else None), "—", "—"])
    id_sum: dict[str, Any] = {}
    for name in presets:
        ds = []
        for r in ok_rows:
            d = r["presets"][name]["identity"]
            if d is None:
                no_face.append(f"{r['photo']}/{name}")
            else:
                ds.append(d)
                all_d.append((d, r["photo"], name))
        worst = max(((r["presets"][name]["identity"], r["photo"]) for r in ok_rows
                     if r["presets"][name]["identity"] is not None), default=None)
        id_sum[name] = {"median": _med(ds), "max": max(ds) if ds else None, "over": sum(d > ID_MAX for d in ds), "n": len(ds)}
        rows.append([name, C.fmt(_med(ds)), C.fmt(max(ds) if ds else None),
                     f"{worst[1]}" if worst else "—", f"{sum(d > ID_MAX for d in ds)}/{len(ds)}"])
    md.append(C.table(["preset", "median", "max", "worst photo", f"over {ID_MAX}"], rows))
    vals = [d for d, _, _ in all_d]
    worst5 = sorted(all_d, reverse=True)[:8]
    md += ["", "Worst outputs: " + ", ".join(f"{p}/{n} {d:.3f}" for d, p, n in worst5) + ".", ""]
    per_photo = []
    for r in ok_rows:
        ds = [r["presets"][n]["identity"] for n in presets if r["presets"][n]["identity"] is not None]
        per_photo.append([r["photo"], C.fmt(r["none"]["identity"]), C.fmt(_med(ds)), C.fmt(max(ds) if ds else None)])
    md += ["<details><summary>per photo</summary>", "",
           C.table(["photo", "none", "relit median", "relit max"], per_photo), "", "</details>", ""]
    # The same renders with both chips cut at the input's own fit, mapped through the crop (reported
    # beside the measure, not a verdict: docs/benchmarks.md, "Identity", --aligned).
    al_rows = []
    al_none = [r["none"].get("identity_aligned") for r in ok_rows if r["none"].get("identity_aligned") is not None]
    al_rows.append(["none (reference)", C.fmt(_med(none_d)), C.fmt(_med(al_none)), C.fmt(max(none_d) if none_d else None),
                    C.fmt(max(al_none) if al_none else None), "—", "—"])
    al_all: list[float] = []
    for name in presets:
        own = [r["presets"][name]["identity"] for r in ok_rows if r["presets"][name]["identity"] is not None]
        al = [r["presets"][name].get("identity_aligned") for r in ok_rows
              if r["presets"][name].get("identity_aligned") is not None]
        al_all += al
        id_sum[name]["aligned_median"] = _med(al)
        id_sum[name]["aligned_max"] = max(al) if al else None
        al_rows.append([name, C.fmt(_med(own)), C.fmt(_med(al)), C.fmt(max(own) if own else None),
                        C.fmt(max(al) if al else None), f"{sum(d > ID_MAX for d in own)}/{len(own)}",
                        f"{sum(d > ID_MAX for d in al)}/{len(al)}"])
    al_rows.append(["all relit", C.fmt(_med(vals)), C.fmt(_med(al_all)), C.fmt(max(vals) if vals else None),
                    C.fmt(max(al_all) if al_all else None), f"{sum(d > ID_MAX for d in vals)}/{len(vals)}",
                    f"{sum(d > ID_MAX for d in al_all)}/{len(al_all)}"])
    md += ["Beside the measure, the same renders with both chips cut at the input's own 68-point fit mapped "
           "through the output's crop (`headshot.eval.identity.embedding_at`; the comparison of "
           "docs/benchmarks.md, \"Identity\", `--aligned`): what is left is the pixels, without the fit's "
           "jitter between the input and a relit face. Reported, not a verdict.", "",
           C.table(["preset", "median (measure)", "median (aligned)", "max (measure)", "max (aligned)",
                    f"over {ID_MAX} (measure)", f"over {ID_MAX} (aligned)"], al_rows), ""]
    med_all = _med(vals)
    mx_all = max(vals) if vals else None
    ok6a = med_all is not None and med_all <= ID_MEDIAN
    ok6b = mx_all is not None and mx_all <= ID_MAX and not no_face
    summary["likeness"] = {"median": med_all, "max": mx_all, "n": len(vals), "no_face": no_face,
                           "aligned_median": _med(al_all), "aligned_max": max(al_all) if al_all else None,
                           "aligned_none_median": _med(al_none), "aligned_none_max": max(al_none) if al_none else None,
                           "none_median": _med(none_d), "none_max": max(none_d) if none_d else None, "per_preset": id_sum}
    md += [f"**{'PASS' if ok6a else 'FAIL'}** likeness median: {C.fmt(med_all)} (target <= {ID_MEDIAN}; `none` "
           f"reference {C.fmt(_med(none_d))}).",
           f"**{'PASS' if ok6b else 'FAIL'}** likeness every output: max {C.fmt(mx_all)} (target <= {ID_MAX}); "
           f"{sum(v > ID_MAX for v in vals)}/{len(vals)} over" + (f"; dlib found no face in: {', '.join(no_face)}" if no_face else "")
           + ".", ""]
    verdicts.append(("likeness median", ok6a, f"{C.fmt(med_all)} (<= {ID_MEDIAN})"))
    verdicts.append(("likeness max", ok6b, f"{C.fmt(mx_all)} (<= {ID_MAX})"))

    # 7. speed -----------------------------------------------------------------------------------
    m = C.machine()
    md += ["### 7. Speed", "",
           f"`timings[\"light\"]` of each {SIZE}-px render (shading + warp of the ratio; catchlights are in `tone`), and "
           f"its ratio to the same render's `frame` time; `subject.timings[\"geometry\"]` once per photo. Target: median "
           f"light time per preset <= {LIGHT_S} s. {m['cpu_count']} cores (affinity {m['sched_affinity']}), "
           f"CPU busy before the run {C.fmt(busy * 100 if busy is not None else None, 0)}%. Reproduce: {CMD}.", ""]
    rows = []
    spd: dict[str, Any] = {}
    over = []
    for name in presets:
        ls = [r["presets"][name]["light_s"] for r in ok_rows]
        ratios = [r["presets"][name]["light_s"] / r["presets"][name]["frame_s"] for r in ok_rows
                  if r["presets"][name]["frame_s"]]
        over += [f"{r['photo']}/{name} {r['presets'][name]['light_s']:.2f} s" for r in ok_rows
                 if r["presets"][name]["light_s"] > LIGHT_S]
        spd[name] = {"median": _med(ls), "max": max(ls) if ls else None, "light_over_frame_median": _med(ratios)}
        rows.append([name, C.fmt(_med(ls)), C.fmt(max(ls) if ls else None), C.fmt(_med(ratios), 2)])
    md.append(C.table(["preset", "light median (s)", "light max (s)", "light / frame (median)"], rows))
    geo = [(r["photo"], r["geometry_s"]) for r in ok_rows]
    md += ["", C.table(["photo", "geometry + illumination (s)", "frame (s, none render)"],
                       [[p, C.fmt(g), C.fmt(r["none"]["frame_s"])] for (p, g), r in zip(geo, ok_rows)]), ""]
    worst_med = max((v["median"] for v in spd.values() if v["median"] is not None), default=None)
    ok7 = worst_med is not None and worst_med <= LIGHT_S
    summary["speed"] = {"per_preset": spd, "geometry": dict(geo), "renders_over": over, "cpu_busy_before": busy}
    md += [f"**{'PASS' if ok7 else 'FAIL'}** light speed: slowest preset median {C.fmt(worst_med)} s (target <= {LIGHT_S} s); "
           f"{len(over)} of {len(ok_rows) * len(presets)} renders over {LIGHT_S} s" + (f": {', '.join(over[:12])}" if over else "")
           + ".", ""]
    verdicts.append(("light speed", ok7, f"slowest preset median {C.fmt(worst_med)} s (<= {LIGHT_S} s)"))

    # overall ------------------------------------------------------------------------------------
    passed = all(v for _, v, _ in verdicts) and not problems
    md += ["### Verdicts", ""]
    md += [f"- **{'PASS' if v else 'FAIL'}** {n}: {d}" for n, v, d in verdicts]
    md += [f"- (reported, no target) Rembrandt triangle shows on {shows}/{tri_n} photos"]
    if problems:
        md += ["", "Problems: " + "; ".join(problems)]
    md += ["", f"{m['cpu_count']} cores; {elapsed:.1f} s for {len(photos)} photos."]
    markdown = "\n".join(md)
    summary.update(problems=problems, seconds=round(elapsed, 1), pass_=passed,
                   verdicts={n: v for n, v, _ in verdicts})
    data = {"benchmark": "light", "machine": m, "style": STYLE, "platform": PLATFORM, "size": SIZE,
            "summary": summary, "results": results, "skip_note": skip_note}
    C.write_outputs("light", markdown, data)
    return {"name": "light", "markdown": markdown, "pass": passed, "summary": summary}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    eyes = None
    if "--eyes" in argv:
        eyes = Path(argv[argv.index("--eyes") + 1])
    res = run(eyes)
    print(res["markdown"])
    return 0 if res["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
