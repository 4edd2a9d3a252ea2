"""A team run's reports, made from the ledger: an HTML contact sheet, ``team.csv`` and ``team.json``.

They are rewritten whole at the end of every run (also an interrupted one), from the ledger alone,
so a resumed run reports everyone, not only the people it rendered. The contact sheet is one
self-contained page (no scripts, no fonts or styles from the network) that shows the team the way
a team page will, then lists who should send another photo and why.
"""

from __future__ import annotations

import csv
import html
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..imageio import write_atomic
from ..presets import Platform, Style
from .consistency import TeamStats, Targets, delta_e2000, outliers, team_stats
from .ledger import Row
from .roster import Roster

__all__ = ["write_reports", "PersonLine", "CSV_COLUMNS"]

CSV_COLUMNS = ("person", "status", "photo_used", "photos", "retake_needed", "reasons", "eye_line", "face_height",
               "skin_lightness", "backdrop_delta_e", "exposure_ev", "findings", "files", "error")


def _version() -> str:
    from .. import __version__

    return __version__


def _first_measures(row: Row) -> dict[str, Any] | None:
    """The measures of the person's first platform's headshot (the one on the contact sheet)."""
    ms = (row.outcome or {}).get("measures") or {}
    if not isinstance(ms, dict) or not ms:
        return None
    first = next(iter(ms.values()))
    return first if isinstance(first, dict) else None


def _strs(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else []


def _dicts(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, (list, tuple)) else []


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class PersonLine:
    """One person's line of the reports (``team.json``'s ``people``, a ``team.csv`` row, a card)."""

    person: str
    folder: str
    status: str  # done, failed or pending
    photos: list[str]
    photo_used: str | None
    why_this_photo: str
    candidates: list[dict[str, Any]]
    retake_needed: bool
    reasons: list[str]
    measures: dict[str, Any] | None
    backdrop_delta_e: float | None
    exposure_ev: float | None
    findings: list[dict[str, Any]]
    notes: list[str]
    files: list[str]
    thumbnail: str | None
    attempts: int
    seconds: float | None
    error: str | None


def _person(row: Row, stats: TeamStats, targets: Targets) -> PersonLine:
    o = row.outcome or {}
    m = _first_measures(row)
    reasons: list[str] = []
    if row.state == "failed":
        reasons.append(str(o.get("error") or "failed"))
    elif row.state == "done":
        reasons.extend(_strs(o.get("retake")))
        if m is not None:
            reasons.extend(r for r in outliers(m, stats, targets) if r not in reasons)
    de = None
    team_lab = stats.medians.get("backdrop_lab")
    if m is not None and m.get("backdrop_lab") is not None and team_lab is not None:
        de = round(float(delta_e2000(np.asarray(m["backdrop_lab"]), np.asarray(team_lab))), 3)
    chosen, error, thumb = o.get("chosen"), o.get("error"), o.get("thumbnail")
    return PersonLine(
        person=row.person,
        folder=row.slug,
        status=row.state if row.state != "running" else "pending",
        photos=[Path(p).name for p in row.photos],
        photo_used=str(chosen) if chosen else None,
        why_this_photo=str(o.get("why") or ""),
        candidates=_dicts(o.get("candidates")),
        retake_needed=bool(reasons),
        reasons=reasons,
        measures=m,
        backdrop_delta_e=de,
        exposure_ev=_float(o.get("exposure_ev")),
        findings=_dicts(o.get("findings")),
        notes=_strs(o.get("notes")),
        files=_strs(o.get("files")),
        thumbnail=str(thumb) if thumb else None,
        attempts=row.attempts,
        seconds=_float(o.get("seconds")),
        error=str(error) if error else None,
    )


def _csv(people: list[PersonLine]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for p in people:
        m = p.measures or {}
        findings = "; ".join(str(f.get("message")) for f in p.findings if f.get("severity") != "info")
        w.writerow([
            p.person, p.status, p.photo_used or "", "; ".join(p.photos), "yes" if p.retake_needed else "no",
            "; ".join(p.reasons), _fmt(m.get("eye_line")), _fmt(m.get("face_height")), _fmt(m.get("skin_lightness")),
            _fmt(p.backdrop_delta_e), _fmt(p.exposure_ev), findings, "; ".join(p.files), p.error or "",
        ])
    return buf.getvalue().encode("utf-8")


def _fmt(v: object) -> str:
    f = _float(v)
    return "" if f is None else f"{f:.4g}"


_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f4f4f2;color:#1d1f21}
header{padding:28px 36px 8px}h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px}
.sub{color:#555}main{padding:0 36px 40px}
.figs{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}
.fig{background:#fff;border-radius:8px;padding:10px 14px;box-shadow:0 1px 2px #0002;min-width:170px}
.fig b{display:block;font-size:20px}.fig.ok b{color:#1f7a3a}.fig.no b{color:#b3261e}.fig span{color:#666;font-size:13px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:22px}
.card{text-align:center}.card img{width:160px;height:160px;object-fit:cover;background:#ddd;display:block;margin:0 auto 8px}
.round img{border-radius:50%}.square img{border-radius:6px}
.card .name{font-weight:600}.card .st{font-size:13px;color:#666}
.card.retake .st{color:#b3261e}.card.failed img{opacity:.35}
.missing{width:160px;height:160px;margin:0 auto 8px;display:flex;align-items:center;justify-content:center;
background:#e4e4e2;color:#777;border-radius:8px;font-size:13px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
th,td{padding:6px 8px;border-bottom:1px solid #e5e5e5;text-align:left;vertical-align:top}th{background:#eee}
td.num{text-align:right;font-variant-numeric:tabular-nums}
ul.retake li{margin:4px 0}
"""

_LABELS = {
    "eye_line_std": ("eye line spread", "{:.2%} of the height", "≤ {:.1%}"),
    "face_height_std": ("face height spread", "{:.2%} of the face", "≤ {:.0%}"),
    "skin_lightness_std": ("face exposure spread", "{:.2f} L*", "≤ {:g} L*"),
    "backdrop_delta_e_max": ("backdrop difference", "ΔE {:.2f} at most", "≤ ΔE {:g}"),
}


def _html(style: Style, platforms: tuple[Platform, ...], people: list[PersonLine],
          checks: dict[str, dict[str, object]], skipped: tuple[tuple[str, str], ...]) -> bytes:
    e = html.escape
    done = sum(p.status == "done" for p in people)
    failed = sum(p.status == "failed" for p in people)
    pending = sum(p.status == "pending" for p in people)
    retake = [p for p in people if p.retake_needed]
    shape = "round" if platforms[0].circle else "square"
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>Team headshots</title>"
             f"<meta name=viewport content='width=device-width,initial-scale=1'><style>{_CSS}</style></head><body>",
             "<header><h1>Team headshots</h1>",
             f"<div class=sub>{len(people)} people · {done} done · {failed} failed"
             + (f" · {pending} not yet rendered (run the same command again to continue)" if pending else "")
             + f" · style <b>{e(style.name)}</b> · {e(', '.join(p.name for p in platforms))}"
             f" · Headshot Studio {e(_version())}</div></header><main>"]
    parts.append("<div class=figs>")
    for key, c in checks.items():
        label, fmt, tfmt = _LABELS[key]
        v = c["value"]
        cls = "" if c["met"] is None else ("ok" if c["met"] else "no")
        shown = "–" if v is None else fmt.format(v)
        parts.append(f"<div class='fig {cls}'><span>{e(label)}</span><b>{e(shown)}</b>"
                     f"<span>target {e(tfmt.format(c['target']))}</span></div>")
    parts.append("</div>")
    parts.append(f"<h2>The team</h2><div class='grid {shape}'>")
    for p in people:
        cls = "card" + (" retake" if p.retake_needed else "") + (" failed" if p.status == "failed" else "")
        first_file = next((f for f in p.files if not f.endswith(".json")), None)
        img = (f"<a href='{e(str(first_file))}'><img src='{e(p.thumbnail)}' alt='{e(p.person)}' loading=lazy></a>"
               if p.thumbnail else f"<div class=missing>{e(p.status)}</div>")
        st = ("retake needed" if p.retake_needed and p.status == "done" else
              "failed" if p.status == "failed" else "not yet rendered" if p.status == "pending" else "✓")
        parts.append(f"<div class='{cls}'>{img}<div class=name>{e(p.person)}</div><div class=st>{e(st)}</div></div>")
    parts.append("</div>")
    parts.append(f"<h2>Retake needed ({len(retake)})</h2>")
    if retake:
        parts.append("<ul class=retake>")
        parts.extend(f"<li><b>{e(p.person)}</b>: {e('; '.join(p.reasons))}</li>" for p in retake)
        parts.append("</ul>")
    else:
        parts.append("<p>Nobody: every photo was good enough.</p>")
    parts.append("<h2>Everyone</h2><table><tr><th>person</th><th>status</th><th>photo used</th>"
                 "<th>eye line</th><th>face height</th><th>skin L*</th><th>backdrop ΔE</th><th>exposure</th>"
                 "<th>notes</th></tr>")
    for p in people:
        m = p.measures or {}
        used = e(p.photo_used or "–") + (f"<br><span class=sub>{e(p.why_this_photo)}</span>" if p.why_this_photo else "")
        parts.append(
            f"<tr><td>{e(p.person)}</td><td>{e(p.status)}</td><td>{used}</td>"
            f"<td class=num>{_pct(m.get('eye_line'))}</td><td class=num>{_pct(m.get('face_height'))}</td>"
            f"<td class=num>{_num(m.get('skin_lightness'), '{:.1f}')}</td>"
            f"<td class=num>{_num(p.backdrop_delta_e, '{:.2f}')}</td>"
            f"<td class=num>{_num(p.exposure_ev, '{:+.2f} EV')}</td>"
            f"<td>{e('; '.join(p.notes))}</td></tr>")
    parts.append("</table>")
    if skipped:
        parts.append("<h2>Files that are not photos (skipped)</h2><ul>")
        parts.extend(f"<li>{e(why)}</li>" for _, why in skipped)  # (each reason names its file)
        parts.append("</ul>")
    parts.append("<p class=sub>Measured on the written headshots: the face found again in each one. "
                 "Consistency figures are population standard deviations over the people done "
                 "(face height relative to its mean); the backdrop is compared in the frame's top corners.</p>")
    parts.append("</main></body></html>\n")
    return "".join(parts).encode("utf-8")


def _pct(v: object) -> str:
    f = _float(v)
    return "–" if f is None else f"{f:.1%}"


def _num(v: object, fmt: str) -> str:
    f = _float(v)
    return "–" if f is None else html.escape(fmt.format(f))


def write_reports(out: Path, rows: list[Row], roster: Roster, style: Style, platforms: tuple[Platform, ...],
                  targets: Targets = Targets()) -> tuple[dict[str, Path], dict[str, object], dict[str, list[str]]]:
    """Write ``index.html``, ``team.csv`` and ``team.json`` (each atomically).

    Returns
    -------
    (paths, stats, retake)
        The reports' paths; the consistency figures (``checks``, ``medians``, ``people``); who
        should send another photo and why.
    """
    measured = [m for r in rows if r.state == "done" and (m := _first_measures(r)) is not None and m.get("face_found")]
    stats = team_stats(measured)
    checks = stats.checks(targets)
    people = [_person(r, stats, targets) for r in rows]
    retake = {p.person: list(p.reasons) for p in people if p.retake_needed}
    summary: dict[str, object] = {"people": stats.people, "checks": checks, "medians": stats.medians}
    doc = {
        "software": f"Headshot Studio {_version()}",
        "style": style.name,
        "platforms": [p.name for p in platforms],
        "counts": {s: sum(p.status == s for p in people) for s in ("done", "failed", "pending")},
        "consistency": summary,
        "retake": retake,
        "skipped": [{"file": f, "reason": why} for f, why in roster.skipped],
        "people": [asdict(p) for p in people],
    }
    paths = {"html": out / "index.html", "csv": out / "team.csv", "json": out / "team.json"}
    write_atomic(paths["json"], (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    write_atomic(paths["csv"], _csv(people))
    write_atomic(paths["html"], _html(style, platforms, people, checks, roster.skipped))
    return paths, summary, retake
