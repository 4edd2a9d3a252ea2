"""Who is in the team and which photos are theirs: a folder, or a CSV of ``person,photo``.

A folder holds one photo per person (the person is the file's stem; ``anna.jpg`` and ``anna.heic``
are two photos of Anna) and/or one sub-folder per person (every photo inside is theirs). Files are
recognised as photos by their content, as the loader does, so a ``notes.txt`` or ``.DS_Store`` beside
the photos is skipped and listed, never mistaken for a person. A CSV has a ``person`` and a ``photo``
column (a header row is optional); relative photo paths are taken from the CSV's folder.
"""

from __future__ import annotations

import csv
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, RosterError
from ..imageio import sniff_format

__all__ = ["Person", "Roster", "load_roster", "slugify", "is_output_folder", "RESERVED"]

SNIFF_BYTES = 4096
MAX_SLUG = 60
# Names a team's output folder uses itself: no person's folder may take one of them.
RESERVED = frozenset({"thumbs", "index.html", "team.csv", "team.json", "team-ledger.sqlite",
                      "team-ledger.sqlite-wal", "team-ledger.sqlite-shm", "team-ledger.sqlite-journal"})
# A folder holding one of these is a team's output folder, never a person's photos.
OUTPUT_MARKS = ("team-ledger.sqlite", ".team.lock")


@dataclass(frozen=True)
class Person:
    """One member of the team.

    Attributes
    ----------
    name : str
        As given (file stem, sub-folder name or the CSV's ``person``).
    slug : str
        Safe, unique file-system name for their outputs (``OUT/<slug>/``).
    photos : tuple of Path
        Their photos, in name order; the best by the capture checks is used.
    """

    name: str
    slug: str
    photos: tuple[Path, ...]


@dataclass(frozen=True)
class Roster:
    """The team: its people (sorted by name) and what was skipped, with the reason."""

    people: tuple[Person, ...]
    skipped: tuple[tuple[str, str], ...]


def slugify(name: str) -> str:
    """A file-system-safe version of a person's name (ASCII letters, digits, ``-``, ``_`` and ``.``)."""
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", s).strip("-._")
    return s[:MAX_SLUG] or "person"


def _not_photo(path: Path) -> str | None:
    """Why the file is not a photo we accept (judged by its first bytes), or None when it is one."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
        sniff_format(head, path.name)
    except OSError as e:
        return f"{path.name}: cannot be read ({e.strerror or e})"
    except InputError as e:
        return str(e)
    return None


def _assign_slugs(groups: dict[str, list[Path]]) -> tuple[Person, ...]:
    """People in name order, each with a unique slug (a clash gets -2, -3... in name order; the
    output folder's own names count as taken)."""
    taken: set[str] = set(RESERVED)
    people = []
    for name in sorted(groups, key=lambda n: (n.casefold(), n)):
        base = slugify(name)
        slug, i = base, 2
        while slug.casefold() in taken:
            slug, i = f"{base}-{i}", i + 1
        taken.add(slug.casefold())
        people.append(Person(name=name, slug=slug, photos=tuple(sorted(groups[name]))))
    return tuple(people)


def is_output_folder(folder: Path) -> bool:
    """Whether `folder` is a team run's output folder (it holds a ledger or its lock)."""
    return any((folder / m).exists() for m in OUTPUT_MARKS)


def _from_folder(folder: Path) -> Roster:
    if is_output_folder(folder):
        raise RosterError(f"{folder} is the output folder of a team run, not a folder of photos; give the folder "
                          "that holds the team's photos (and an --out outside it)")
    groups: dict[str, list[Path]] = {}
    skipped: list[tuple[str, str]] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir() and is_output_folder(entry):
            continue  # a team's output folder inside the photos (`cd photos; headshot team .`)
        if entry.is_dir():
            photos = []
            for f in sorted(entry.iterdir()):
                if f.name.startswith(".") or not f.is_file():
                    continue
                why = _not_photo(f)
                if why is None:
                    photos.append(f)
                else:
                    skipped.append((str(f), why))
            if photos:
                groups.setdefault(entry.name, []).extend(photos)
            else:
                skipped.append((str(entry), f"{entry.name}/: a folder without photos"))
        elif entry.is_file():
            why = _not_photo(entry)
            if why is None:
                groups.setdefault(entry.stem, []).append(entry)
            else:
                skipped.append((str(entry), why))
    if not groups:
        raise RosterError(f"{folder} holds no photos: put one photo per person in it (the file name is the "
                          "person's name), or one sub-folder of photos per person, or give a CSV of person,photo")
    return Roster(people=_assign_slugs(groups), skipped=tuple(skipped))


def _from_csv(path: Path) -> Roster:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise RosterError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}; give a UTF-8 CSV of person,photo") from None
    reader = csv.reader(text.splitlines())
    rows = [(reader.line_num, r) for r in reader if any(c.strip() for c in r)]  # (line in the file, row)
    if rows and [c.strip().lower() for c in rows[0][1][:2]] == ["person", "photo"]:
        rows = rows[1:]
    groups: dict[str, list[Path]] = {}
    missing: list[str] = []
    for i, r in rows:
        if len(r) < 2 or not r[0].strip() or not r[1].strip():
            raise RosterError(f"{path}: line {i} must be person,photo, got {','.join(r)!r}")
        name, photo = r[0].strip(), Path(os.path.expanduser(r[1].strip()))
        if not photo.is_absolute():
            photo = path.parent / photo
        if not photo.is_file():
            missing.append(f"{photo} (line {i}, {name})")
            continue
        groups.setdefault(name, []).append(photo)
    if missing:
        shown = "; ".join(missing[:5]) + (f"; and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise RosterError(f"{path}: {len(missing)} photo(s) do not exist: {shown}. Fix the paths "
                          "(relative paths are read from the CSV's folder)")
    if not groups:
        raise RosterError(f"{path} names no photos: give one row of person,photo per photo")
    return Roster(people=_assign_slugs(groups), skipped=())


def load_roster(source: str | os.PathLike[str]) -> Roster:
    """Read the team from a folder or a CSV file.

    Raises
    ------
    RosterError
        The path does not exist, is neither a folder nor a CSV, or names no photo.
    """
    p = Path(source)
    if p.is_dir():
        return _from_folder(p)
    if p.is_file():
        if p.suffix.lower() == ".csv":
            return _from_csv(p)
        raise RosterError(f"{p} is a file: give a folder of photos, or a CSV (.csv) of person,photo")
    raise RosterError(f"{p} does not exist: give a folder of photos, or a CSV of person,photo")
