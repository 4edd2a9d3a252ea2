"""The coordinator of a team run: roster -> ledger -> engine -> files -> reports.

Only this process writes to the output folder. For each finished person it writes their files
atomically (a temporary file in the same folder, fsync, rename), then records them in the ledger
in one transaction; see :mod:`headshot.team.ledger` for why that makes a re-run exactly-once.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import provenance
from ..errors import CredentialsError, OutputError, TeamError
from ..imageio import FORMATS, write_atomic
from ..pipeline import _as_platform, _as_style
from ..presets import Platform, Style
from . import report as report_mod
from .engines import Engine, Lost, TaskFn, make_engine
from .ledger import Ledger, Row, fingerprint
from .roster import Roster, load_roster, slugify
from ..provenance import Identity
from .task import PersonOutcome, PersonTask, run_person, sign_file, signer_info

__all__ = ["TeamProgress", "TeamResult", "run_team", "MAX_ATTEMPTS"]

MAX_ATTEMPTS = 3
THUMBS = "thumbs"
_TEMP = re.compile(r"^\..+\.\d+\.[0-9a-f]{8}\.tmp$")  # imageio.write_atomic's temporary names


@dataclass(frozen=True)
class TeamProgress:
    """A progress event: ``done`` of ``total`` people finished (done or failed), the last one's
    name, and the estimated seconds left (None until one person has finished in this run)."""

    done: int
    total: int
    person: str
    eta_s: float | None


@dataclass(frozen=True)
class TeamResult:
    """What a team run ended with (from the ledger, so a resumed run reports everyone).

    Attributes
    ----------
    people : int
    done, failed, pending : tuple of str
        Names by state (pending: the run was interrupted before them).
    rendered : int
        People finished by this run (not before).
    retake : dict of str to list of str
        Who should send another photo, and why.
    reports : dict of str to Path
        ``html``, ``csv``, ``json``.
    stats : dict
        The team's consistency figures and whether each meets its target.
    skipped : tuple of (str, str)
        Files of the folder that are not photos, with the reason.
    """

    people: int
    done: tuple[str, ...]
    failed: tuple[str, ...]
    pending: tuple[str, ...]
    rendered: int
    retake: dict[str, list[str]]
    reports: dict[str, Path]
    stats: dict[str, object]
    skipped: tuple[tuple[str, str], ...] = ()


def _sweep_temp(folder: Path) -> int:
    """Remove temporary files a killed run left behind (ours only, by their name pattern)."""
    n = 0
    for root, _, files in os.walk(folder):
        for f in files:
            if _TEMP.match(f):
                with_path = Path(root) / f
                with_path.unlink(missing_ok=True)
                n += 1
    return n


def _config(style: Style, platforms: Sequence[Platform], size: int | None, fmt: str, quality: int,
            signed: bool) -> dict[str, object]:
    def plain(x: object) -> object:
        d = dataclasses.asdict(x)  # type: ignore[call-overload]
        return _strip_source(d)

    return {"style": plain(style), "platforms": [plain(p) for p in platforms], "size": size, "format": fmt,
            "quality": quality, "credentials": "on" if signed else "off"}


def _strip_source(d: object) -> object:
    # Where a preset was read from does not change its look: a copied file gives the same run.
    if isinstance(d, dict):
        return {k: _strip_source(v) for k, v in d.items() if k != "source"}
    if isinstance(d, (list, tuple)):
        return [_strip_source(v) for v in d]
    return d


def _outcome_record(o: PersonOutcome, slug: str, files: list[str], thumb: str | None, attempts: int) -> dict[str, object]:
    return {
        "ok": o.ok, "error": o.error, "chosen": o.chosen, "why": o.why, "candidates": list(o.candidates),
        "files": files, "thumbnail": thumb, "findings": list(o.findings), "measures": o.measures,
        "exposure_ev": o.exposure_ev, "notes": list(o.notes), "retake": list(o.retake),
        "seconds": round(o.seconds, 3), "attempts": attempts, "folder": slug,
    }


def run_team(
    photos: str | os.PathLike[str],
    *,
    style: Style | str | os.PathLike[str] = "corporate",
    platforms: Sequence[Platform | str | os.PathLike[str]] | None = None,
    out_dir: str | os.PathLike[str] = "team-headshots",
    size: int | None = None,
    format: str = "jpg",
    quality: int = 92,
    workers: int | None = None,
    engine: str = "local",
    ray_address: str | None = None,
    retry_failed: bool = False,
    max_attempts: int = MAX_ATTEMPTS,
    on_progress: Callable[[TeamProgress], None] | None = None,
    task_fn: TaskFn = run_person,
    credentials: Identity | str | None = provenance.AUTO,
) -> TeamResult:
    """Make one consistent headshot set for a whole team; resumable and exactly-once.

    Parameters
    ----------
    photos : path
        A folder (one photo per person, named after them, and/or one sub-folder of photos per
        person) or a CSV of ``person,photo`` rows. See :mod:`headshot.team.roster`.
    style : Style, name or .toml path
        The team's one look: backdrop, light rig, tone and the ``[team]`` exposure target.
    platforms : sequence of Platform, names or .toml paths, optional
        Default ``("linkedin",)``; one headshot per person per platform.
    out_dir : path
        ``OUT/<person>/`` holds each person's headshots and ``report.json``; ``OUT/index.html``
        (contact sheet), ``OUT/team.csv``, ``OUT/team.json`` and the ledger sit beside them.
    size : int, optional
        Longest side of every headshot (default: each platform's size).
    format : {"jpg", "png", "webp"}
    quality : int in [1, 100]
    workers : int, optional
        Parallel workers (default: the cores this process may use).
    engine : {"local", "ray"}
    ray_address : str, optional
        An existing Ray cluster (with ``engine="ray"``); default: a local Ray started for the run.
    retry_failed : bool
        Try people who failed in an earlier run again (they are otherwise left as they are).
    max_attempts : int
        Attempts per person when workers die on them.
    on_progress : callable, optional
        Called with a :class:`TeamProgress` after each person.
    task_fn : callable
        The per-person task (tests inject faults through it).
    credentials : Identity, "auto" or None
        Who signs every headshot's C2PA content credentials (default: the local keys, created on
        first use; None: none, the XMP digital source type is still written). Signing happens here
        in the coordinator, so the private key never travels to workers or a Ray cluster.

    Returns
    -------
    TeamResult

    Raises
    ------
    RosterError
        `photos` cannot be read or names no photo.
    LedgerError
        `out_dir` is in use by another run, or holds a run made with other settings.
    PresetError, OutputError, TeamError, CredentialsError, ValueError
    KeyboardInterrupt
        After the reports are written and the workers stopped; re-running continues.

    Notes
    -----
    The local engine starts its workers with ``spawn``: a script that calls this must guard its
    top level with ``if __name__ == "__main__":``, as for any Python process pool (without it the
    workers cannot start, and a :class:`TeamError` says so before anybody is touched).
    """
    fmt = "jpg" if format == "jpeg" else format
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be between 1 and 100, got {quality}")
    if size is not None and not 16 <= size <= 12000:
        raise ValueError(f"size must be between 16 and 12000 pixels, got {size}")
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
    n_workers = workers if workers is not None else len(os.sched_getaffinity(0))
    if n_workers < 1:
        raise ValueError(f"workers must be at least 1, got {n_workers}")
    st = _as_style(style)
    pfs = tuple(_as_platform(p) for p in (platforms or ("linkedin",)))
    names = [slugify(p.name).casefold() for p in pfs]  # as they appear in the file names
    if len(set(names)) != len(names):
        raise ValueError(f"two platforms would write the same files ({', '.join(p.name for p in pfs)}); "
                         "give each platform file a distinct name")
    out = Path(out_dir)
    if Path(photos).is_dir() and out.resolve() == Path(photos).resolve():
        raise TeamError(f"--out is the photos folder {photos}: choose an output folder of its own "
                        "(the default is ./team-headshots)")
    identity = provenance.resolve(credentials)
    roster: Roster = load_roster(photos)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / THUMBS).mkdir(exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create the output folder {out}: {e.strerror or e}; choose another --out") from None

    with Ledger(out, _config(st, pfs, size, fmt, quality, identity is not None)) as ledger:
        _sweep_temp(out)
        ledger.sync([(p.name, p.slug, tuple(str(x) for x in p.photos), fingerprint(p.photos)) for p in roster.people],
                    retry_failed=retry_failed)
        current = [p.name for p in roster.people]
        rows = {r.person: r for r in ledger.rows(current)}
        todo = [rows[n] for n in current if rows[n].state == "pending"]
        finished_before = sum(rows[n].state in ("done", "failed") for n in current)
        rendered = 0
        eng: Engine | None = None
        try:
            if todo:
                eng = make_engine(engine, min(n_workers, len(todo)), address=ray_address, fn=task_fn)
                rendered = _drive(eng, ledger, todo, st, pfs, size, fmt, quality, out, max_attempts,
                                  finished_before, len(current), on_progress, identity)
        finally:
            if eng is not None:
                eng.close()
            final = ledger.rows(current)
            reports, stats, retake = report_mod.write_reports(out, final, roster, st, pfs)
    return TeamResult(
        people=len(current),
        done=tuple(r.person for r in final if r.state == "done"),
        failed=tuple(r.person for r in final if r.state == "failed"),
        pending=tuple(r.person for r in final if r.state in ("pending", "running")),
        rendered=rendered,
        retake=retake,
        reports=reports,
        stats=stats,
        skipped=roster.skipped,
    )


def _read_photos(row: Row) -> tuple[tuple[str, bytes], ...] | str:
    out = []
    for p in row.photos:
        try:
            out.append((Path(p).name, Path(p).read_bytes()))
        except OSError as e:
            return f"{p}: cannot be read ({e.strerror or e})"
    return tuple(out)


def _drive(eng: Engine, ledger: Ledger, todo: list[Row], st: Style, pfs: tuple[Platform, ...], size: int | None,
           fmt: str, quality: int, out: Path, max_attempts: int, finished_before: int, total: int,
           on_progress: Callable[[TeamProgress], None] | None, identity: Identity | None) -> int:
    queue = list(todo)
    signer = None if identity is None else signer_info(identity)
    in_flight: dict[str, Row] = {}
    done = finished_before
    rendered = 0
    t0 = time.monotonic()
    try:
        while queue or in_flight:
            while queue and len(in_flight) < eng.slots:
                row = queue.pop(0)
                photos = _read_photos(row)
                attempt = ledger.start(row.person)
                if isinstance(photos, str):
                    ledger.finish(row.person, "failed", _outcome_record(
                        PersonOutcome(person=row.person, ok=False, error=photos, retake=(photos,)),
                        row.slug, [], None, attempt))
                    done += 1
                    continue
                eng.submit(row.person, PersonTask(person=row.person, slug=row.slug, photos=photos, style=st,
                                                  platforms=pfs, size=size, format=fmt, quality=quality,
                                                  attempt=attempt, signer=signer))
                in_flight[row.person] = row
            for person, result in eng.wait(timeout=1.0):
                row = in_flight.pop(person)
                attempts = ledger.attempts(person)
                if isinstance(result, Lost):
                    if attempts < max_attempts:
                        ledger.release(person)
                        queue.insert(0, row)
                        continue
                    msg = f"{result.message}; {attempts} attempts failed"
                    if "signal 9" in result.message:
                        msg += " (signal 9 is often the system running out of memory: try fewer --workers)"
                    ledger.finish(person, "failed", _outcome_record(
                        PersonOutcome(person=person, ok=False, error=msg, retake=(msg,)), row.slug, [], None, attempts))
                else:
                    _commit(ledger, out, row, result, attempts, identity)
                done += 1
                rendered += 1
                if on_progress is not None:
                    elapsed = time.monotonic() - t0
                    left = total - done
                    on_progress(TeamProgress(done=done, total=total, person=person,
                                             eta_s=elapsed / rendered * left if rendered else None))
    except BaseException:
        for person in in_flight:
            ledger.release(person, count=False)
        raise
    return rendered


def _commit(ledger: Ledger, out: Path, row: Row, o: PersonOutcome, attempts: int,
            identity: Identity | None = None) -> None:
    """Sign a person's headshots, write their files (each atomically), then record them as done in
    one transaction. A signing failure fails the person (the run's other people go on)."""
    files: list[str] = []
    thumb = None
    if o.ok and identity is not None:
        try:
            o = dataclasses.replace(o, files=tuple(sign_file(f, identity) for f in o.files))
        except CredentialsError as e:
            o = PersonOutcome(person=o.person, ok=False, error=str(e), retake=())
    if o.ok:
        folder = out / row.slug
        try:
            folder.mkdir(exist_ok=True)
        except OSError as e:
            raise OutputError(f"cannot create {folder}: {e.strerror or e}") from None
        for f in o.files:
            write_atomic(folder / f.name, f.data)
            files.append(f"{row.slug}/{f.name}")
        if o.thumbnail is not None:
            thumb = f"{THUMBS}/{row.slug}.jpg"
            write_atomic(out / thumb, o.thumbnail)
    ledger.finish(row.person, "done" if o.ok else "failed", _outcome_record(o, row.slug, files, thumb, attempts))

