"""The web studio's settings: one frozen value shared by the app, the workers and the sweeper."""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Settings", "ServeError", "is_loopback", "API_KEY_ENV"]

API_KEY_ENV = "HEADSHOT_API_KEY"
_MIB = 1024 * 1024


class ServeError(Exception):
    """The server cannot start with these settings (the message says what to change)."""


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, ``localhost``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Settings:
    """How the web studio runs.

    Attributes
    ----------
    data_dir : Path
        Everything the studio stores (database, uploads, previews, headshots) lives here only.
    host, port : str, int
        Where to listen. A non-loopback host needs `api_key`.
    api_key : str or None
        Required on every ``/api`` request (but config and health) when set.
    retention_s : float
        Seconds after its creation when everything of a job is deleted.
    max_request_bytes : int
        Largest upload request (counted while streaming; 413 past it).
    max_photos : int
        Photos per job.
    max_queued : int
        Tasks waiting for a worker before new jobs are refused (503 with Retry-After).
    max_uploads : int
        Uploads streamed at the same time before new ones are refused (429 with Retry-After).
    workers : int
        Worker processes (each renders one job at a time).
    lease_s : float
        How long a worker's claim on a task lasts without being renewed.
    sweep_every_s : float
        How often expired jobs are looked for.
    max_attempts : int
        A task whose worker died this many times is marked failed.
    clock : callable
        Seconds since the epoch (tests pass a fake one).
    credentials : bool
        Sign every headshot's C2PA content credentials (the XMP digital source type is always written).
    signing_cert, signing_key : Path or None
        Sign with this certificate chain and key instead of the local keys (:mod:`headshot.provenance.keys`).
    """

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    retention_s: float = 24 * 3600.0
    max_request_bytes: int = 64 * _MIB
    max_photos: int = 10
    max_queued: int = 64
    max_uploads: int = 32
    workers: int = 1
    lease_s: float = 60.0
    sweep_every_s: float = 60.0
    max_attempts: int = 3
    clock: Callable[[], float] = field(default=time.time, compare=False)
    credentials: bool = True
    signing_cert: Path | None = None
    signing_key: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser().resolve())
        if self.api_key is not None and len(self.api_key) < 16:
            raise ServeError("the API key must be at least 16 characters; make one with: "
                             "python -c 'import secrets; print(secrets.token_urlsafe(24))'")
        if not is_loopback(self.host) and not self.api_key:
            raise ServeError(f"binding to {self.host} lets other machines reach the studio: give an API key "
                             f"with --api-key or the {API_KEY_ENV} environment variable (or use --host 127.0.0.1)")
        for name in ("retention_s", "lease_s", "sweep_every_s"):
            if not getattr(self, name) > 0:
                raise ServeError(f"{name} must be positive")
        if (self.signing_cert is None) != (self.signing_key is None):
            raise ServeError("give both the signing certificate and its key (--signing-cert and --signing-key)")
        for name in ("max_request_bytes", "max_photos", "max_queued", "max_uploads", "workers", "max_attempts"):
            if int(getattr(self, name)) < 1:
                raise ServeError(f"{name} must be at least 1")

    @property
    def db_path(self) -> Path:
        return self.data_dir / "headshot.db"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    @property
    def tmp_dir(self) -> Path:
        """Uploads being streamed (moved into their job's folder when complete)."""
        return self.data_dir / "incoming"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    def job_dir(self, job_id: str) -> Path:
        return self.jobs_dir / job_id

    def prepare(self) -> None:
        """Create the data dir's folders (private to this user)."""
        for d in (self.data_dir, self.jobs_dir, self.tmp_dir, self.cache_dir):
            d.mkdir(parents=True, exist_ok=True)
            try:
                os.chmod(d, 0o700)
            except OSError:  # (a data dir on a file system without modes)
                pass
