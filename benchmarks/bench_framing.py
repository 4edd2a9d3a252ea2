"""Framing benchmark: does each built-in platform put the face where its preset says?

For the astronaut and every single-person dev photo: analyse once, render every built-in platform
with the "corporate" style, then MEASURE ON THE OUTPUT by detecting the face again in the rendered
image (``headshot.face.detect(headshot.image)``):

- eye line: iris-midpoint height / output height vs the platform's ``eye_line`` (target ±0.015);
- roll after straightening: the re-detected roll (target |roll| <= 1°);
- passport: chin-to-crown (re-detected ``head_height`` / output height) within 0.70-0.80.

Writes ``bench-output/framing.{md,json}`` and a contact sheet ``bench-output/framing_contact.png``
(LinkedIn and passport outputs with the target eye line in green and the measured one in red).

Run: ``python benchmarks/bench_framing.py``
"""

from __future__ import annotations

import sys
import time
from typing import Any

import _common as C

C.quiet_native_logs()

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import headshot  # noqa: E402
from headshot import face as face_mod  # noqa: E402
from headshot.imageio import to_srgb8  # noqa: E402

EYE_TOL = 0.015
ROLL_TOL = 1.0
PASSPORT_RANGE = (0.70, 0.80)
STYLE = "corporate"
SHEET_PLATFORMS = ("linkedin", "passport")
THUMB_H = 260


def _thumb(image: np.ndarray, target: float, measured: float | None, label: str) -> np.ndarray:
    rgb = to_srgb8(image)
    h, w = rgb.shape[:2]
    k = THUMB_H / h
    t = cv2.resize(rgb, (max(1, round(w * k)), THUMB_H), interpolation=cv2.INTER_AREA).copy()
    y = round(target * THUMB_H)
    cv2.line(t, (0, y), (t.shape[1] - 1, y), (0, 200, 0), 1)
    if measured is not None:
        y = round(measured * THUMB_H)
        cv2.line(t, (0, y), (t.shape[1] // 3, y), (230, 0, 0), 1)
    cv2.putText(t, label, (4, THUMB_H - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1, cv2.LINE_AA)
    return t


def _sheet(groups: list[list[np.ndarray]], per_line: int = 4) -> np.ndarray:
    """Tile the thumbnails: each photo's group side by side, `per_line` photos per line."""
    if not groups:
        return np.zeros((THUMB_H, THUMB_H, 3), np.uint8)
    blocks = [np.hstack([np.pad(c, ((0, 0), (0, 3), (0, 0))) for c in g]) for g in groups]
    bw = max(b.shape[1] for b in blocks)
    blocks = [np.pad(b, ((0, 6), (0, bw - b.shape[1] + 9), (0, 0)), constant_values=40) for b in blocks]
    lines = []
    for part in C.chunks(blocks, per_line):
        line = np.hstack(list(part))
        lines.append(np.pad(line, ((0, 0), (0, per_line * blocks[0].shape[1] - line.shape[1]), (0, 0))))
    return np.vstack(lines)


def run() -> dict[str, Any]:
    photos, skip_note = C.photo_set()
    platforms = [headshot.load_platform(n) for n in headshot.platform_names()]
    results: list[dict[str, Any]] = []
    no_face_inputs: list[dict[str, str]] = []
    sheet_rows: list[list[np.ndarray]] = []
    t0 = time.perf_counter()
    for ref in photos:
        try:
            subject = headshot.analyse(headshot.load(ref.data()))
        except headshot.HeadshotError as e:
            no_face_inputs.append({"photo": ref.name, "error": f"{type(e).__name__}: {e}"})
            continue
        sheet: list[np.ndarray] = []
        for pf in platforms:
            hs = headshot.render(subject, STYLE, pf)
            h, w = hs.image.shape[:2]
            row: dict[str, Any] = {
                "photo": ref.name,
                "platform": pf.name,
                "size": [w, h],
                "target_eye_line": pf.eye_line,
                "crop_scale": round(hs.crop.scale, 3),
                "crop_zoom": round(hs.crop.zoom, 3),
                "crop_rotation_deg": round(hs.crop.rotation, 2),
                "extended": list(hs.crop.extended),
                "notes": list(hs.notes),
                "input_roll_deg": round(subject.face.pose.roll, 2),
            }
            try:
                f = face_mod.detect(hs.image)
            except headshot.NoFaceError as e:
                row.update(face_found=False, error=str(e), ok=False)
                results.append(row)
                continue
            eye = float(f.eye_mid[1]) / h
            err = eye - pf.eye_line
            roll = float(f.pose.roll)
            row.update(
                face_found=True,
                eye_line=round(eye, 4),
                eye_line_error=round(err, 4),
                eye_ok=abs(err) <= EYE_TOL,
                roll_deg=round(roll, 2),
                roll_ok=abs(roll) <= ROLL_TOL,
                eye_x=round(float(f.eye_mid[0]) / w, 4),
            )
            ok = row["eye_ok"] and row["roll_ok"]
            if pf.name == "passport":
                cc = float(f.head_height) / h
                row["chin_to_crown"] = round(cc, 4)
                row["chin_to_crown_ok"] = PASSPORT_RANGE[0] <= cc <= PASSPORT_RANGE[1]
                ok = ok and row["chin_to_crown_ok"]
            row["ok"] = ok
            results.append(row)
            if pf.name in SHEET_PLATFORMS:
                sheet.append(_thumb(hs.image, pf.eye_line, eye, f"{ref.name[:22]} {pf.name}"))
        if sheet:
            sheet_rows.append(sheet)
    elapsed = time.perf_counter() - t0

    measured = [r for r in results if r.get("face_found")]
    eye_errs = [abs(r["eye_line_error"]) for r in measured]
    rolls = [abs(r["roll_deg"]) for r in measured]
    cc = [r["chin_to_crown"] for r in measured if "chin_to_crown" in r]
    no_face_outputs = [r for r in results if not r.get("face_found")]
    summary = {
        "photos": len(photos),
        "photos_analysed": len(photos) - len(no_face_inputs),
        "outputs": len(results),
        "outputs_measured": len(measured),
        "eye_line_max_abs_error": max(eye_errs) if eye_errs else None,
        "eye_line_pass": sum(r["eye_ok"] for r in measured),
        "roll_max_abs_deg": max(rolls) if rolls else None,
        "roll_pass": sum(r["roll_ok"] for r in measured),
        "passport_chin_to_crown_min": min(cc) if cc else None,
        "passport_chin_to_crown_max": max(cc) if cc else None,
        "passport_pass": sum(r["chin_to_crown_ok"] for r in measured if "chin_to_crown_ok" in r),
        "passport_measured": len(cc),
        "no_face_inputs": no_face_inputs,
        "no_face_outputs": [{"photo": r["photo"], "platform": r["platform"]} for r in no_face_outputs],
        "seconds": round(elapsed, 1),
    }
    passed = (
        not no_face_inputs
        and not no_face_outputs
        and all(r["ok"] for r in results)
    )
    summary["pass"] = passed

    headers = ["photo", "platform", "size", "eye line (target)", "error", "roll °", "chin-crown", "ok"]
    rows = []
    for r in results:
        if not r.get("face_found"):
            rows.append([r["photo"], r["platform"], "%dx%d" % tuple(r["size"]), "no face in output", "—", "—", "—", "FAIL"])
            continue
        rows.append([
            r["photo"], r["platform"], "%dx%d" % tuple(r["size"]),
            f"{r['eye_line']:.3f} ({r['target_eye_line']:.2f})",
            f"{r['eye_line_error']:+.3f}" + ("" if r["eye_ok"] else " ✗"),
            f"{r['roll_deg']:+.2f}" + ("" if r["roll_ok"] else " ✗"),
            (f"{r['chin_to_crown']:.3f}" + ("" if r["chin_to_crown_ok"] else " ✗")) if "chin_to_crown" in r else "",
            "pass" if r["ok"] else "FAIL",
        ])
    n = len(measured)
    srow = [
        "**summary**", f"{len(photos)} photos", f"{len(results)} outputs",
        f"max abs error {C.fmt(summary['eye_line_max_abs_error'])}",
        f"{summary['eye_line_pass']}/{n} within ±{EYE_TOL}",
        f"max {C.fmt(summary['roll_max_abs_deg'], 2)}°, {summary['roll_pass']}/{n} within ±{ROLL_TOL:g}°",
        f"{C.fmt(summary['passport_chin_to_crown_min'])}–{C.fmt(summary['passport_chin_to_crown_max'])}, "
        f"{summary['passport_pass']}/{summary['passport_measured']} in 0.70–0.80",
        "**pass**" if passed else "**FAIL**",
    ]
    rows.append(srow)
    md = [
        "## Framing (measured on the output by re-detecting the face)",
        "",
        f"Style `{STYLE}`, every built-in platform. Targets: eye line within ±{EYE_TOL} of the preset's "
        f"`eye_line`; |roll| <= {ROLL_TOL:g}° after straightening; passport chin-to-crown "
        f"{PASSPORT_RANGE[0]:.2f}–{PASSPORT_RANGE[1]:.2f} of the height.",
        "",
    ]
    if skip_note:
        md += [f"_{skip_note}_", ""]
    md.append(C.table(headers, rows))
    md.append("")
    if no_face_inputs:
        md.append("No face found in the input: " + "; ".join(f"{x['photo']} ({x['error']})" for x in no_face_inputs))
    else:
        md.append("No face found in the input: none.")
    if no_face_outputs:
        md.append("No face re-detected in the output: " + ", ".join(f"{r['photo']}/{r['platform']}" for r in no_face_outputs))
    md.append(f"\n{C.machine()['cpu_count']} cores; {elapsed:.1f} s.")
    markdown = "\n".join(md)

    C.OUT_DIR.mkdir(parents=True, exist_ok=True)
    sheet_path = C.OUT_DIR / "framing_contact.png"
    cv2.imwrite(str(sheet_path), cv2.cvtColor(_sheet(sheet_rows), cv2.COLOR_RGB2BGR))
    data = {"benchmark": "framing", "machine": C.machine(), "summary": summary, "results": results,
            "skip_note": skip_note, "contact_sheet": str(sheet_path)}
    C.write_outputs("framing", markdown, data)
    return {"name": "framing", "markdown": markdown, "pass": passed, "summary": summary}


def main() -> int:
    res = run()
    print(res["markdown"])
    return 0 if res["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
