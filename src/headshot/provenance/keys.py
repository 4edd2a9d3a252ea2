"""The signing identity for content credentials: a local CA and signing certificate, or the user's own.

C2PA refuses self-signed signing certificates, so ``headshot keys init`` makes two: a local CA
(``ca.pem``/``ca.key``) and a signing certificate it issues (``signer.pem``, with the CA after it,
and ``signer.key``), with the key usages C2PA asks for: digitalSignature, and the extended key usage
emailProtection (one of the C2PA specification's allowed EKUs, and the one the c2pa SDK's default
trust configuration accepts). Keys are ECDSA P-256 (C2PA's ES256, the most widely verified).

The folder is ``$HEADSHOT_KEYS``, else ``$XDG_CONFIG_HOME/headshot/keys``, else
``~/.config/headshot/keys``; it is created owner-only (0700) and the private keys owner-only (0600).
A key file that others can read is refused, as OpenSSH does. A company points to its own
certificate chain and key instead (``--signing-cert``/``--signing-key``); a passphrase-protected key
reads its passphrase from ``$HEADSHOT_SIGNING_KEY_PASSWORD``.

Nothing identifying the machine or the user goes into the certificates (no host or user name):
they are embedded in every signed output. Outputs signed with one key can be linked to each other
by that key; ``--no-credentials`` writes none.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import functools
import os
import pathlib
import secrets
from dataclasses import dataclass, field
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..errors import CredentialsError

__all__ = [
    "DEFAULT_ORGANISATION",
    "Identity",
    "KeyFiles",
    "default_dir",
    "ensure",
    "init",
    "key_files",
    "load",
    "trust_anchors",
]

KEYS_ENV: Final[str] = "HEADSHOT_KEYS"
PASSWORD_ENV: Final[str] = "HEADSHOT_SIGNING_KEY_PASSWORD"
DEFAULT_ORGANISATION: Final[str] = "Headshot Studio (local key)"
CA_YEARS: Final[int] = 20
# Without a timestamp authority (we sign offline) a signature is checked against the certificate's
# validity *now*: a short-lived signing certificate would make every older headshot "invalid".
SIGNER_YEARS: Final[int] = 10
_SKEW = dt.timedelta(hours=1)  # not_before in the past, for clocks that disagree a little


@dataclass(frozen=True)
class KeyFiles:
    """Where a keys folder keeps its files."""

    folder: pathlib.Path
    ca_cert: pathlib.Path
    ca_key: pathlib.Path
    cert: pathlib.Path
    key: pathlib.Path


def default_dir() -> pathlib.Path:
    """The keys folder: ``$HEADSHOT_KEYS``, else ``$XDG_CONFIG_HOME/headshot/keys``, else ``~/.config/...``."""
    env = os.environ.get(KEYS_ENV)
    if env:
        return pathlib.Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return pathlib.Path(base) / "headshot" / "keys"


def key_files(folder: str | os.PathLike[str] | None = None) -> KeyFiles:
    """The paths of a keys folder's files (default: :func:`default_dir`)."""
    f = pathlib.Path(folder).expanduser() if folder is not None else default_dir()
    return KeyFiles(folder=f, ca_cert=f / "ca.pem", ca_key=f / "ca.key", cert=f / "signer.pem", key=f / "signer.key")


@dataclass(frozen=True)
class Identity:
    """A loaded signing certificate chain and its private key.

    Attributes
    ----------
    chain_pem : str
        The signing certificate, then any intermediate CAs (PEM).
    alg : str
        C2PA signing algorithm: ``"es256"``, ``"es384"``, ``"es512"``, ``"ps256"`` or ``"ed25519"``.
    subject, issuer : str
        The signing certificate's subject and issuer (RFC 4514).
    not_after : datetime
        When the signing certificate expires (UTC).
    source : str
        Where it was loaded from (the certificate's path).
    anchors_pem : str
        CA certificates to trust when verifying our own outputs (the local CA; empty when unknown).
    """

    chain_pem: str
    alg: str
    subject: str
    issuer: str
    not_after: dt.datetime
    source: str
    anchors_pem: str = ""
    _key_pem: bytes = field(default=b"", repr=False)

    def sign(self, data: bytes) -> bytes:
        """Sign `data` as C2PA's COSE wants it (ECDSA: raw r||s; RSA: PSS with SHA-256)."""
        key = _private_key(self._key_pem)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            digest, size = _EC[key.curve.name][1:]
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(digest)))
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        raise CredentialsError("the signing key's type is not one C2PA supports; use an EC P-256, RSA or Ed25519 key")


@functools.lru_cache(maxsize=4)
def _private_key(pem: bytes) -> object:
    """Parse a PEM key once per process (an output is signed in ~2 ms; parsing would double it)."""
    return serialization.load_pem_private_key(pem, password=None)


# curve name -> (C2PA alg, hash, bytes per coordinate)
_EC: Final[dict[str, tuple[str, hashes.HashAlgorithm, int]]] = {
    "secp256r1": ("es256", hashes.SHA256(), 32),
    "secp384r1": ("es384", hashes.SHA384(), 48),
    "secp521r1": ("es512", hashes.SHA512(), 66),
}


def _name(common: str, organisation: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, common),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
    ])


def _write_private(path: pathlib.Path, data: bytes, mode: int) -> None:
    """Write a file atomically, created with `mode` from the start (never briefly world-readable)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)  # the umask may have taken bits away; it cannot add any
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _make_folder(folder: pathlib.Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if folder.stat().st_mode & 0o077:
            os.chmod(folder, 0o700)
    except OSError as e:
        raise CredentialsError(f"cannot create the keys folder {folder}: {e.strerror or e}; set "
                               f"${KEYS_ENV} to a folder you can write to") from None


def init(folder: str | os.PathLike[str] | None = None, *, organisation: str = DEFAULT_ORGANISATION,
         force: bool = False) -> KeyFiles:
    """Create a local CA and a signing certificate it issues (``headshot keys init``).

    Parameters
    ----------
    folder : path, optional
        Where to keep them (default :func:`default_dir`); created owner-only.
    organisation : str
        The organisation name written in both certificates (shown by ``headshot verify``).
    force : bool
        Replace existing keys (outputs signed with the old ones then verify as untrusted).

    Raises
    ------
    CredentialsError
        Keys already exist (without `force`), or the folder cannot be written.
    """
    files = key_files(folder)
    if not isinstance(organisation, str) or not organisation.strip() or len(organisation) > 64:
        raise CredentialsError("the organisation name must be 1 to 64 characters")
    organisation = organisation.strip()
    _make_folder(files.folder)
    if not force and (files.key.exists() or files.cert.exists()):
        raise CredentialsError(f"signing keys already exist in {files.folder}; use --force to replace them "
                               "(headshots signed with the old keys will then verify as untrusted)")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Headshot Studio local CA", organisation)
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _SKEW).not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Headshot Studio local signer", organisation)).issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _SKEW).not_valid_after(now + dt.timedelta(days=365 * SIGNER_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def pem_key(k: ec.EllipticCurvePrivateKey) -> bytes:
        return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())

    pem = serialization.Encoding.PEM
    try:
        _write_private(files.ca_key, pem_key(ca_key), 0o600)
        _write_private(files.key, pem_key(key), 0o600)
        _write_private(files.ca_cert, ca.public_bytes(pem), 0o644)
        _write_private(files.cert, cert.public_bytes(pem) + ca.public_bytes(pem), 0o644)
    except OSError as e:
        raise CredentialsError(f"cannot write the keys in {files.folder}: {e.strerror or e}") from None
    return files


def _read(path: pathlib.Path, what: str, *, private: bool = False) -> bytes:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise CredentialsError(f"the {what} {path} does not exist; run `headshot keys init` or give the right "
                               "path") from None
    except OSError as e:
        raise CredentialsError(f"cannot read the {what} {path}: {e.strerror or e}") from None
    if private and os.name == "posix" and st.st_mode & 0o077:
        raise CredentialsError(f"the {what} {path} can be read by other users (mode {st.st_mode & 0o777:o}); "
                               f"run `chmod 600 {path}` (a signing key must be yours alone)")
    if st.st_size > 1 << 20:
        raise CredentialsError(f"the {what} {path} is not a PEM file (it is larger than 1 MiB)")
    try:
        return path.read_bytes()
    except OSError as e:
        raise CredentialsError(f"cannot read the {what} {path}: {e.strerror or e}") from None


def _public_bytes(k: object) -> bytes:
    return k.public_bytes(serialization.Encoding.DER,  # type: ignore[attr-defined]
                          serialization.PublicFormat.SubjectPublicKeyInfo)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def load(cert: str | os.PathLike[str] | None = None, key: str | os.PathLike[str] | None = None, *,
         folder: str | os.PathLike[str] | None = None, password: bytes | None = None) -> Identity:
    """Load a signing identity: the given certificate chain and key, or the keys folder's.

    Checks what C2PA would otherwise refuse later, with advice: the key matches the certificate,
    the certificate is not self-signed, is valid now, and may sign (digitalSignature).

    Raises
    ------
    CredentialsError
        Missing, unreadable or other-readable files, a wrong passphrase, or a certificate C2PA refuses.
    """
    if (cert is None) != (key is None):
        raise CredentialsError("give both the signing certificate and its key (--signing-cert and --signing-key)")
    files = key_files(folder)
    cert_path = pathlib.Path(cert) if cert is not None else files.cert
    key_path = pathlib.Path(key) if key is not None else files.key
    chain_bytes = _read(cert_path, "signing certificate")
    key_bytes = _read(key_path, "signing key", private=True)
    try:
        chain = x509.load_pem_x509_certificates(chain_bytes)
    except ValueError:
        raise CredentialsError(f"{cert_path} is not a PEM certificate chain (-----BEGIN CERTIFICATE-----)") from None
    if password is None and os.environ.get(PASSWORD_ENV):
        password = os.environ[PASSWORD_ENV].encode()
    try:
        private = serialization.load_pem_private_key(key_bytes, password=password)
    except TypeError:
        raise CredentialsError(f"the signing key {key_path} is protected by a passphrase: set "
                               f"${PASSWORD_ENV}") from None
    except ValueError:
        raise CredentialsError(f"{key_path} is not a PEM private key, or its passphrase is wrong") from None
    leaf = chain[0]
    if _public_bytes(private.public_key()) != _public_bytes(leaf.public_key()):
        raise CredentialsError(f"the signing key {key_path} does not belong to the certificate {cert_path}")
    if isinstance(private, ec.EllipticCurvePrivateKey):
        if private.curve.name not in _EC:
            raise CredentialsError(f"the signing key's curve {private.curve.name} is not one C2PA supports "
                                   "(P-256, P-384, P-521)")
        alg = _EC[private.curve.name][0]
    elif isinstance(private, rsa.RSAPrivateKey):
        if private.key_size < 2048:
            raise CredentialsError("the RSA signing key is shorter than 2048 bits; C2PA refuses it")
        alg = "ps256"
    elif isinstance(private, ed25519.Ed25519PrivateKey):
        alg = "ed25519"
    else:
        raise CredentialsError("the signing key's type is not one C2PA supports; use an EC P-256, RSA or Ed25519 key")
    if leaf.subject == leaf.issuer and _issued_by(leaf, leaf):
        raise CredentialsError(f"{cert_path} is self-signed, and C2PA refuses self-signed signing certificates; "
                               "run `headshot keys init` (a local CA and a certificate it issues) or use one "
                               "issued by your organisation's CA")
    now = dt.datetime.now(dt.UTC)
    if leaf.not_valid_after_utc < now:
        raise CredentialsError(f"the signing certificate {cert_path} expired on {leaf.not_valid_after_utc:%Y-%m-%d}; "
                               "renew it (`headshot keys init --force` for local keys)")
    if leaf.not_valid_before_utc > now:
        raise CredentialsError(f"the signing certificate {cert_path} is not valid before "
                               f"{leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC; check this computer's clock")
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.digital_signature:
            raise CredentialsError(f"the signing certificate {cert_path} does not allow digital signatures "
                                   "(key usage); C2PA needs digitalSignature")
    except x509.ExtensionNotFound:
        pass
    anchors = ""
    if cert is None and files.ca_cert.exists():
        anchors = _read(files.ca_cert, "CA certificate").decode("ascii", "replace")
    # The chain C2PA embeds is the signer and its intermediates; a self-signed root is a trust
    # anchor, not part of the chain (a verifier must already hold it).
    kept = [c for c in chain if not (c.subject == c.issuer and _issued_by(c, c))] or chain[:1]
    pem = "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in kept)
    for c in chain:
        if c.subject == c.issuer and _issued_by(c, c):
            anchors += c.public_bytes(serialization.Encoding.PEM).decode("ascii")
    unencrypted = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    return Identity(chain_pem=pem, alg=alg, subject=leaf.subject.rfc4514_string(),
                    issuer=leaf.issuer.rfc4514_string(), not_after=leaf.not_valid_after_utc,
                    source=str(cert_path), anchors_pem=anchors, _key_pem=unencrypted)


def ensure(folder: str | os.PathLike[str] | None = None) -> tuple[Identity, bool]:
    """The keys folder's identity, creating local keys first when there are none.

    Several processes may call this at once (web workers, team runs): creation happens under an
    exclusive lock, and whoever comes second loads what the first made.

    Returns
    -------
    (Identity, bool)
        The identity, and whether the keys were created by this call.
    """
    files = key_files(folder)
    if files.key.exists() and files.cert.exists():
        return load(folder=files.folder), False
    _make_folder(files.folder)
    created = False
    try:
        with open(files.folder / ".lock", "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            if not (files.key.exists() and files.cert.exists()):
                init(files.folder, force=True)
                created = True
    except OSError as e:
        raise CredentialsError(f"cannot lock the keys folder {files.folder}: {e.strerror or e}") from None
    return load(folder=files.folder), created


def trust_anchors(folder: str | os.PathLike[str] | None = None) -> str:
    """The local CA certificate of a keys folder (PEM), or "" when there is none."""
    path = key_files(folder).ca_cert
    try:
        return path.read_text(encoding="ascii") if path.is_file() else ""
    except (OSError, UnicodeDecodeError):
        return ""
