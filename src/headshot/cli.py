"""The ``headshot`` command: a thin layer that parses arguments, calls the library and prints.

Exit status: 0 when everything succeeded, 1 when a photo failed (the others still complete),
2 for a usage error (unknown option, unknown preset, unwritable output folder).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from . import __version__
from .checks import verdict as checks_verdict
from .errors import CredentialsError, HeadshotError, OutputError, PresetError, TeamError
from .imageio import FORMATS
from .pipeline import Progress, analyse, make
from .presets import (Rig, load_platform, load_rig, load_style, platform_names, retouch_description, retouch_names,
                      rig_names, style_names)

if TYPE_CHECKING:
    from .provenance import Identity
    from .team import TeamProgress

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_MARK = {"info": "·", "warn": "!", "poor": "✗"}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="headshot",
        description="Turn selfies into framed studio headshots, locally, without changing the face.",
    )
    p.add_argument("--version", action="version", version=f"headshot {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    m = sub.add_parser("make", help="make headshots of one or more photos",
                       description="One analysis per photo, then one headshot per style x platform, "
                                   "plus a report.json per photo.")
    m.add_argument("photos", nargs="+", metavar="PHOTO", help="JPEG, PNG, WebP or HEIC/HEIF files")
    m.add_argument("--style", action="append", metavar="NAME|FILE.toml",
                   help="style preset or file; repeat for several (default: corporate, warm, charcoal, high-key)")
    m.add_argument("--platform", action="append", metavar="NAME|FILE.toml",
                   help="platform preset or file; repeat for several (default: linkedin)")
    m.add_argument("--light", action="append", metavar="NAME|FILE.toml",
                   help="light rig or file; repeat or separate with commas for several ('all': every built-in "
                        "rig, 'none': keep the photo's own light; default: each style's own rig). "
                        "See 'headshot lights'")
    m.add_argument("--retouch", metavar="LEVEL|FILE.toml",
                   help="retouching for every headshot: none, light, natural, strong, maximum or a file of "
                        "strengths (default: each style's, natural). See 'headshot retouch-levels'")
    m.add_argument("--out", default="headshots", metavar="DIR", help="output folder (default: ./headshots)")
    m.add_argument("--format", default="jpg", choices=[*FORMATS, "jpeg"], help="output format (default: jpg)")
    m.add_argument("--size", type=int, metavar="PX", help="longest side of each headshot in pixels")
    m.add_argument("--quality", type=int, default=92, metavar="Q", help="JPEG/WebP quality 1-100 (default: 92)")
    m.add_argument("--transparent", action="store_true",
                   help="write the subject without a backdrop, with its alpha (needs --format png or webp)")
    m.add_argument("-q", "--quiet", action="store_true", help="print only failures")
    _credential_options(m)

    c = sub.add_parser("check", help="run the capture checks only and give advice")
    c.add_argument("photos", nargs="+", metavar="PHOTO")

    sh = sub.add_parser("sheet", help="one photo under several light rigs, as a contact sheet (PNG)",
                        description="Render one photo with each light rig (and its own light first), cut each "
                                    "to the head and shoulders, label it and lay them out in a grid.")
    sh.add_argument("photo", metavar="PHOTO", help="JPEG, PNG, WebP or HEIC/HEIF file")
    sh.add_argument("--lights", action="append", metavar="all|NAME,...",
                    help="light rigs or .toml files, comma-separated or repeated (default: all)")
    sh.add_argument("--style", default="grey", metavar="NAME|FILE.toml", help="backdrop and tone (default: grey)")
    sh.add_argument("--platform", default="linkedin", metavar="NAME|FILE.toml",
                    help="framing the tiles start from (default: linkedin)")
    sh.add_argument("--size", type=int, default=360, metavar="PX", help="side of each tile in pixels (default: 360)")
    sh.add_argument("--columns", type=int, default=5, metavar="N", help="tiles per row (default: 5)")
    sh.add_argument("-o", "--out", metavar="FILE.png",
                    help="where to write the sheet (default: <photo name>_lights.png here)")

    sv = sub.add_parser("serve", help="start the web studio (a page and a REST API) on this machine",
                        description="Start the web studio: upload a selfie in a browser, see the capture advice, "
                                    "pick looks and download the headshots. See docs/web.md.")
    sv.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default: 127.0.0.1, this machine only; any other needs an API key)")
    sv.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    sv.add_argument("--data-dir", default="headshot-data", metavar="DIR",
                    help="where uploads, previews and headshots are kept (default: ./headshot-data)")
    sv.add_argument("--api-key", metavar="KEY",
                    help="require this key on every API request (or set HEADSHOT_API_KEY); needed off localhost")
    sv.add_argument("--retention-hours", type=float, default=24.0, metavar="H",
                    help="delete everything of a job this many hours after its upload (default: 24)")
    sv.add_argument("--workers", type=int, default=1, metavar="N",
                    help="worker processes rendering in parallel (default: 1)")
    sv.add_argument("--max-photos", type=int, default=10, metavar="N", help="photos per upload (default: 10)")
    sv.add_argument("--max-upload-mb", type=float, default=64.0, metavar="MB",
                    help="largest upload request in MiB (default: 64)")

    _credential_options(sv)

    t = sub.add_parser("team", help="one consistent headshot set for a whole team (resumable)",
                       description="Render everybody of a team with one style: the same eye line, head size, "
                                   "face exposure, white balance and backdrop. Writes OUT/<person>/ for each "
                                   "person, a contact sheet (OUT/index.html), OUT/team.csv and OUT/team.json. "
                                   "Run the same command again after a crash or Ctrl+C to continue where it "
                                   "stopped. See docs/team.md.")
    t.add_argument("photos", metavar="PHOTOS",
                   help="a folder (one photo per person named after them, and/or one sub-folder of photos per "
                        "person) or a CSV of person,photo rows")
    t.add_argument("--style", default="corporate", metavar="NAME|FILE.toml",
                   help="the team's style (default: corporate); its [team] section sets the face exposure")
    t.add_argument("--platform", action="append", metavar="NAME|FILE.toml",
                   help="platform preset or file; repeat for several (default: linkedin)")
    t.add_argument("--out", default="team-headshots", metavar="DIR",
                   help="output folder (default: ./team-headshots)")
    t.add_argument("--format", default="jpg", choices=[*FORMATS, "jpeg"], help="output format (default: jpg)")
    t.add_argument("--size", type=int, metavar="PX", help="longest side of each headshot (default: the platform's)")
    t.add_argument("--quality", type=int, default=92, metavar="Q", help="JPEG/WebP quality 1-100 (default: 92)")
    t.add_argument("--workers", type=int, metavar="N", help="parallel workers (default: one per core)")
    t.add_argument("--engine", default="local", choices=["local", "ray"],
                   help="where the work runs: a local process pool (default) or Ray")
    t.add_argument("--ray-address", metavar="ADDR",
                   help="an existing Ray cluster for --engine ray (default: a local Ray started for the run)")
    t.add_argument("--retry-failed", action="store_true",
                   help="try again the people who failed in an earlier run of this folder")
    t.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    _credential_options(t)

    k = sub.add_parser("keys", help="the local signing keys for content credentials (C2PA)",
                       description="Content credentials are signed with a local key: 'init' creates a local CA "
                                   "and a signing certificate it issues (C2PA refuses self-signed ones), kept "
                                   "owner-only in $HEADSHOT_KEYS or ~/.config/headshot/keys. See docs/provenance.md.")
    ksub = k.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    ki = ksub.add_parser("init", help="create a local CA and signing certificate")
    ki.add_argument("--dir", metavar="DIR", help="keys folder (default: $HEADSHOT_KEYS or ~/.config/headshot/keys)")
    ki.add_argument("--organisation", default=None, metavar="NAME",
                    help="organisation name in the certificates, shown by 'headshot verify' "
                         "(default: Headshot Studio (local key))")
    ki.add_argument("--force", action="store_true", help="replace existing keys")
    ks = ksub.add_parser("show", help="where the keys are and who they say signs")
    ks.add_argument("--dir", metavar="DIR", help="keys folder (default: $HEADSHOT_KEYS or ~/.config/headshot/keys)")

    v = sub.add_parser("verify", help="read an output's content credentials and check them",
                       description="Print what a file's content credentials say: trusted, untrusted, tampered "
                                   "or none; the digital source type; the edits; who signed. Exit 0 only when "
                                   "every file's credentials are intact and trusted.")
    v.add_argument("files", nargs="+", metavar="FILE", help="JPEG, PNG or WebP headshots")
    v.add_argument("--trust", action="append", metavar="CA.pem",
                   help="also trust this CA certificate (your organisation's); the local CA is always trusted")
    v.add_argument("--source", metavar="PHOTO", help="check that the headshot was made from this photo")
    v.add_argument("--json", action="store_true", help="print one JSON object per file")

    sub.add_parser("styles", help="list the built-in styles")
    sub.add_parser("platforms", help="list the built-in platforms")
    sub.add_parser("lights", help="list the built-in light rigs")
    sub.add_parser("retouch-levels", help="list the built-in retouching levels")
    return p


def _credential_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-credentials", action="store_true",
                   help="write no C2PA content credentials (every output still says what it is in its XMP)")
    p.add_argument("--signing-cert", metavar="CERT.pem",
                   help="sign with this certificate chain instead of the local keys (needs --signing-key)")
    p.add_argument("--signing-key", metavar="KEY.pem",
                   help="its private key (owner-only; a passphrase comes from $HEADSHOT_SIGNING_KEY_PASSWORD)")


def _identity(a: argparse.Namespace, err: TextIO) -> "Identity | None":
    """Who signs this run's outputs, checked before any photo is processed."""
    from .provenance import keys

    if a.no_credentials:
        if a.signing_cert or a.signing_key:
            raise ValueError("--no-credentials cannot be combined with --signing-cert/--signing-key")
        return None
    if a.signing_cert or a.signing_key:
        return keys.load(a.signing_cert, a.signing_key)
    identity, created = keys.ensure()
    if created:
        err.write(f"headshot: created a local signing key for content credentials in {keys.default_dir()} "
                  "('headshot keys show'; --no-credentials to write none)\n")
    return identity


def _named(name: str, reason: str | None) -> str:
    """``name: reason``, without naming the file twice (the loader's messages start with its name)."""
    reason = reason or "failed"
    first, _, rest = reason.partition(": ")
    if rest and (first == name or Path(first).name == name):
        reason = rest
    return f"{name}: {reason}"


def _split(values: Sequence[str] | None) -> list[str]:
    """Repeated and comma-separated option values, in order, without blanks."""
    return [v.strip() for value in values or () for v in value.split(",") if v.strip()]


def _lights(values: Sequence[str] | None, option: str) -> list[Rig | str] | None:
    """The rigs named on the command line ("all" expanded, "none" kept), loaded now so that a
    mistake is reported before any photo is processed."""
    names = _split(values)
    if values is not None and not names:
        raise PresetError(f"{option} needs a light rig: one of all, none, {', '.join(rig_names())}")
    if not names:
        return None
    out: list[Rig | str] = []
    for n in names:
        if n == "all":
            out.extend(load_rig(r) for r in rig_names())
        elif n == "none":
            out.append("none")
        else:
            try:
                out.append(load_rig(n))
            except PresetError as e:
                raise PresetError(f"{option}: {e} ('all' for every built-in rig, 'none' for the photo's own "
                                  "light; 'headshot lights' lists them)") from None
    return out


class _ProgressLine:
    """A one-line progress display on a terminal; silent when stderr is not a terminal."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled and stream.isatty()
        self.width = 0

    def __call__(self, ev: Progress) -> None:
        if not self.enabled:
            return
        if ev.step == "done":
            self.clear()
            return
        bar_n = 24
        filled = int(bar_n * ev.done / max(ev.total, 1))
        line = f"[{'#' * filled}{'.' * (bar_n - filled)}] {ev.done}/{ev.total} {ev.photo} {ev.step}"
        self.stream.write("\r" + line[:120].ljust(self.width))
        self.width = min(len(line), 120)
        self.stream.flush()

    def clear(self) -> None:
        if self.enabled and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0


def _cmd_make(a: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    lights = _lights(a.light, "--light")
    identity = _identity(a, err)
    n_variants = len(a.style or [None] * 4) * len(a.platform or [None]) * len(lights or [None])
    progress = _ProgressLine(err, enabled=len(a.photos) * n_variants > 1 and not a.quiet)
    results = make(
        a.photos,
        styles=a.style,
        platforms=a.platform,
        lights=lights,
        out_dir=a.out,
        format=a.format,
        transparent=a.transparent,
        retouch=a.retouch,
        size=a.size,
        quality=a.quality,
        on_progress=progress,
        credentials=identity,
    )
    progress.clear()
    failed = 0
    for r in results:
        name = Path(r.source).name
        if r.ok:
            if not a.quiet:
                folder = r.report.parent if r.report else Path(a.out)
                out.write(f"✓ {name}: {len(r.outputs)} headshot(s) in {folder}\n")
                for f in r.findings:
                    if f.severity != "info":
                        out.write(f"    {_MARK[f.severity]} {f.message}\n")
                for note in r.notes:
                    out.write(f"    · {note}\n")
        else:
            failed += 1
            err.write(f"✗ {_named(name, r.error)}\n")
    if failed and not a.quiet:
        err.write(f"{failed} of {len(results)} photo(s) failed\n")
    return EXIT_FAILED if failed else EXIT_OK


def _cmd_check(a: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    failed = 0
    for src in a.photos:
        name = Path(src).name
        try:
            subject = analyse(src)
        except HeadshotError as e:
            failed += 1
            err.write(f"✗ {_named(name, str(e))}\n")
            continue
        out.write(f"{name}: {checks_verdict(subject.findings)} (face {subject.face.width:.0f} px wide)\n")
        for f in subject.findings:
            out.write(f"    {_MARK[f.severity]} {f.message}\n")
    return EXIT_FAILED if failed else EXIT_OK


def _cmd_sheet(a: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .imageio import from_srgb8, save
    from .sheet import contact_sheet

    lights = _lights(a.lights, "--lights") or [load_rig(r) for r in rig_names()]
    style = load_style(a.style)
    platform = load_platform(a.platform)
    if not 64 <= a.size <= 2048:
        raise ValueError(f"--size is the side of one tile: between 64 and 2048 pixels, got {a.size}")
    if a.columns < 1:
        raise ValueError(f"--columns must be at least 1, got {a.columns}")
    target = Path(a.out) if a.out else Path(f"{Path(a.photo).stem}_lights.png")
    if target.suffix.lower() != ".png":
        raise ValueError(f"the contact sheet is a PNG: give -o a name ending in .png, got {str(target)!r}")
    if target.is_dir():
        raise OutputError(f"{target} is a folder; give -o a file name ending in .png")
    try:
        subject = analyse(a.photo)
    except HeadshotError as e:
        err.write(f"✗ {Path(a.photo).name}: {e}\n")
        return EXIT_FAILED
    sheet = contact_sheet(subject, lights, style=style, platform=platform, tile=a.size, columns=a.columns)
    from .provenance import Edits, Step, software, xmp_packet

    what = Edits(steps=(Step("c2pa.edited", "background replaced", "headshots under several light rigs, "
                                                                   "laid out as a labelled contact sheet"),))
    path = save(from_srgb8(sheet), target, format="png", xmp=xmp_packet(what, software()))
    out.write(f"{path}\n")
    return EXIT_OK


def _cmd_serve(a: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import os

    from .web import API_KEY_ENV, ServeError, Settings, serve

    try:
        settings = Settings(data_dir=Path(a.data_dir), host=a.host, port=a.port,
                            api_key=a.api_key or os.environ.get(API_KEY_ENV) or None,
                            retention_s=a.retention_hours * 3600, workers=a.workers, max_photos=a.max_photos,
                            max_request_bytes=int(a.max_upload_mb * 1024 * 1024),
                            credentials=not a.no_credentials,
                            signing_cert=Path(a.signing_cert) if a.signing_cert else None,
                            signing_key=Path(a.signing_key) if a.signing_key else None)
        _identity(a, err)  # a key problem is reported now, not in the first job
    except ServeError as e:
        err.write(f"headshot serve: {e}\n")
        return EXIT_USAGE
    shown = "127.0.0.1" if a.host in ("0.0.0.0", "::") else a.host
    out.write(f"Headshot Studio on http://{shown}:{a.port}/  (data in {settings.data_dir}; Ctrl+C to stop)\n")
    out.flush()
    serve(settings)
    return EXIT_OK


class _TeamProgress:
    """Progress bar with the count and the estimated time left; silent when stderr is not a terminal."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.line = _ProgressLine(stream, enabled)

    def __call__(self, ev: "TeamProgress") -> None:
        eta = "" if ev.eta_s is None else f"~{_duration(ev.eta_s)} left"
        self.line(Progress(done=ev.done, total=ev.total, photo=ev.person, step=eta))

    def clear(self) -> None:
        self.line.clear()


def _duration(s: float) -> str:
    s = max(0, round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


def _cmd_team(a: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .team import run_team

    progress = _TeamProgress(err, enabled=not a.quiet)
    try:
        r = run_team(a.photos, style=a.style, platforms=a.platform, out_dir=a.out, size=a.size, format=a.format,
                     quality=a.quality, workers=a.workers, engine=a.engine, ray_address=a.ray_address,
                     retry_failed=a.retry_failed, on_progress=progress, credentials=_identity(a, err))
    except KeyboardInterrupt:
        progress.clear()
        err.write(f"headshot team: interrupted; finished people are kept. Run the same command again to "
                  f"continue (the reports in {a.out} are up to date)\n")
        return 130
    progress.clear()
    for path, why in r.skipped:
        err.write(f"  skipped {why}\n")
    if not a.quiet:
        for person, reasons in r.retake.items():
            out.write(f"✗ {person}: {'; '.join(reasons)}\n")
    checks = r.stats.get("checks", {})
    figures = []
    for key, label in (("eye_line_std", "eye line"), ("face_height_std", "face height"),
                       ("skin_lightness_std", "face exposure"), ("backdrop_delta_e_max", "backdrop")):
        c = checks.get(key) if isinstance(checks, dict) else None
        if isinstance(c, dict) and c.get("value") is not None:
            figures.append(f"{label} {'✓' if c.get('met') else '✗'}")
    out.write(f"{len(r.done)} of {r.people} people done ({r.rendered} in this run), {len(r.failed)} failed, "
              f"{len(r.retake)} to retake" + (f"; consistency: {', '.join(figures)}" if figures else "") + "\n")
    out.write(f"Contact sheet: {r.reports['html'].resolve()}\n")
    return EXIT_FAILED if r.failed or r.pending else EXIT_OK


def _cmd_keys(a: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .provenance import keys

    if a.keys_command == "init":
        files = keys.init(a.dir, organisation=a.organisation or keys.DEFAULT_ORGANISATION, force=a.force)
        identity = keys.load(folder=files.folder)
        out.write(f"Created a local CA and signing certificate in {files.folder}\n"
                  f"  signer: {identity.subject} (until {identity.not_after:%Y-%m-%d})\n"
                  f"  CA:     {files.ca_cert}  (give it to whoever should trust your headshots: "
                  "headshot verify --trust)\n"
                  f"  keys:   {files.key}, {files.ca_key} (owner-only; never share them)\n")
        return EXIT_OK
    files = keys.key_files(a.dir)
    if not files.cert.exists():
        out.write(f"No signing keys in {files.folder} yet: 'headshot keys init' creates them "
                  "(the first 'headshot make' does too).\n")
        return EXIT_FAILED
    identity = keys.load(folder=files.folder)
    out.write(f"Keys folder: {files.folder}\n  signer: {identity.subject}\n  issuer: {identity.issuer}\n"
              f"  algorithm: {identity.alg}, valid until {identity.not_after:%Y-%m-%d}\n  CA: {files.ca_cert}\n")
    return EXIT_OK


_STATUS = {
    "trusted": "TRUSTED: the content credentials are intact and signed by a trusted certificate",
    "untrusted": "UNTRUSTED: intact, but signed by a certificate that is not trusted here (--trust CA.pem)",
    "tampered": "TAMPERED: the file or its credentials changed after signing",
    "invalid": "INVALID: the credentials cannot be relied on",
    "none": "NO CREDENTIALS: the file carries no content credentials",
}


def _cmd_verify(a: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import json

    from .provenance import keys, verify

    trust = keys.trust_anchors()
    for path in a.trust or ():
        try:
            trust += Path(path).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as e:
            raise ValueError(f"--trust {path}: cannot read it as a PEM certificate ({e})") from None
    source = None
    if a.source:
        try:
            source = Path(a.source).read_bytes()
        except OSError as e:
            raise ValueError(f"--source {a.source}: cannot read it ({e.strerror or e})") from None
    bad = 0
    for f in a.files:
        try:
            v = verify(f, trust=trust, source_photo=source)
        except HeadshotError as e:
            bad += 1
            err.write(f"✗ {_named(Path(f).name, str(e))}\n")
            continue
        if not v.ok or v.source_matches is False:
            bad += 1
        if a.json:
            out.write(json.dumps(v.as_dict(), ensure_ascii=False) + "\n")
            continue
        out.write(f"{v.file}: {_STATUS[v.status]}\n")
        if v.digital_source_type:
            words = v.source_type_words
            out.write(f"  digital source type: {v.digital_source_type.rsplit('/', 1)[-1]}"
                      + (f" ({words})" if words else "") + "\n")
        else:
            out.write("  digital source type: none stated (no XMP Iptc4xmpExt:DigitalSourceType)\n")
        if v.signer:
            out.write(f"  signed by: {v.signer}" + (f" (issuer: {v.issuer})" if v.issuer else "") + "\n")
        if v.generator:
            out.write(f"  made with: {v.generator}\n")
        if v.parent:
            out.write(f"  made from: {v.parent}\n")
        if v.source_matches is not None:
            out.write("  source photo: " + ("matches\n" if v.source_matches else "DOES NOT MATCH the given photo\n"))
        for e in v.edits:
            out.write(f"  · {e}\n")
        for p in v.problems:
            out.write(f"  ! {p}\n")
    return EXIT_FAILED if bad else EXIT_OK


def _cmd_list(kind: str, out: TextIO) -> int:
    if kind == "styles":
        for n in style_names():
            out.write(f"{n:14s} {load_style(n).description}\n")
    elif kind == "lights":
        for n in rig_names():
            out.write(f"{n:14s} {load_rig(n).description}\n")
    elif kind == "retouch-levels":
        for n in retouch_names():
            out.write(f"{n:14s} {retouch_description(n)}\n")
    else:
        for n in platform_names():
            p = load_platform(n)
            out.write(f"{n:14s} {p.width}x{p.height}  {p.description}\n")
    return EXIT_OK


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the CLI; returns the exit status (the console script passes it to ``sys.exit``)."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = _parser()
    try:
        a = parser.parse_args(argv)
    except SystemExit as e:  # argparse exits on --help/--version/usage errors
        return int(e.code or 0)
    try:
        if a.command == "make":
            return _cmd_make(a, out, err)
        if a.command == "check":
            return _cmd_check(a, out, err)
        if a.command == "sheet":
            return _cmd_sheet(a, out, err)
        if a.command == "serve":
            return _cmd_serve(a, out, err)
        if a.command == "team":
            return _cmd_team(a, out, err)
        if a.command == "keys":
            return _cmd_keys(a, out, err)
        if a.command == "verify":
            return _cmd_verify(a, out, err)
        return _cmd_list(a.command, out)
    except (PresetError, OutputError, TeamError, CredentialsError, ValueError) as e:
        err.write(f"headshot: {e}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.write("headshot: interrupted; headshots already written are complete\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
