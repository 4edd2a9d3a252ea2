"""The one error hierarchy of Headshot Studio.

Every error a user can cause is one of these types, and its message says what to do about it.
The library raises them and never prints or exits; the CLI turns them into one-line reasons.
"""

from __future__ import annotations

__all__ = [
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


class HeadshotError(Exception):
    """Base class of every error Headshot Studio raises on purpose."""


class InputError(HeadshotError):
    """The input photo cannot be used (unreadable, wrong kind of file, too large...)."""


class UnsupportedFormatError(InputError):
    """The file is not one of the accepted formats (JPEG, PNG, WebP, HEIC/HEIF), judged by content."""


class ImageTooLargeError(InputError):
    """The image has more pixels than the configured limit (checked before decoding)."""


class FileTooLargeError(InputError):
    """The file is larger (in bytes) than the configured limit (checked before reading it)."""


class CorruptImageError(InputError):
    """The file claims an accepted format but cannot be decoded completely (truncated, damaged, empty)."""


class NoFaceError(HeadshotError):
    """No face was found in the photo."""


class SeveralFacesError(HeadshotError):
    """Several faces were found and the caller asked for exactly one.

    Attributes
    ----------
    count : int
        How many faces were found.
    """

    def __init__(self, message: str, count: int) -> None:
        super().__init__(message)
        self.count = count


class PresetError(HeadshotError):
    """A style or platform preset is unknown or its file is invalid."""


class OutputError(HeadshotError):
    """An output file or folder cannot be written."""


class TeamError(HeadshotError):
    """A team run cannot start: its list of people or its output folder cannot be used."""


class RosterError(TeamError):
    """The folder or CSV of people cannot be read, or names no photo."""


class LedgerError(TeamError):
    """The output folder's ledger belongs to another run (other settings, or a run still going)."""


class CredentialsError(HeadshotError):
    """Content credentials cannot be made or read: no usable signing key or certificate (missing,
    unreadable, readable by others, expired, self-signed, wrong key usage), or a file to verify
    that is not one of our output formats."""
