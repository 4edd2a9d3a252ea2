"""Headshot Studio: turn a casual selfie into framed studio headshots, without changing the face.

Typical use::

    import headshot

    subject = headshot.analyse("selfie.jpg")          # once per photo
    for style in ("corporate", "charcoal"):
        shot = headshot.render(subject, style, "linkedin")
        headshot.save(shot, f"me_{style}.jpg")

    headshot.make(["a.jpg", "b.heic"], out_dir="headshots")   # the whole job, with reports
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import (
    CorruptImageError,
    CredentialsError,
    FileTooLargeError,
    HeadshotError,
    ImageTooLargeError,
    InputError,
    LedgerError,
    NoFaceError,
    OutputError,
    PresetError,
    RosterError,
    SeveralFacesError,
    TeamError,
    UnsupportedFormatError,
)
from .imageio import Photo, load
from .pipeline import Headshot, PhotoResult, Progress, Subject, analyse, make, render, save
from .presets import Platform, Style, load_platform, load_style, platform_names, style_names

__all__ = [
    "__version__",
    "load",
    "analyse",
    "render",
    "save",
    "make",
    "Photo",
    "Subject",
    "Headshot",
    "PhotoResult",
    "Progress",
    "Style",
    "Platform",
    "load_style",
    "load_platform",
    "style_names",
    "platform_names",
    "HeadshotError",
    "InputError",
    "UnsupportedFormatError",
    "ImageTooLargeError",
    "FileTooLargeError",
    "CorruptImageError",
    "NoFaceError",
    "SeveralFacesError",
    "PresetError",
    "OutputError",
    "TeamError",
    "RosterError",
    "LedgerError",
    "CredentialsError",
]
