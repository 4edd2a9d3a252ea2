"""Provenance: the XMP digital source type, C2PA content credentials, signing keys, the metadata policy.

Tiers: contract tests on small synthetic inputs and the astronaut (always run); the metadata policy
on seeded copies of the astronaut in every input format (always run; exiftool is used where it is
installed, a byte search and Pillow everywhere).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import multiprocessing
import os
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image
from skimage import data as skdata

import headshot
from headshot import provenance
from headshot.cli import main as cli
from headshot.errors import CredentialsError
from headshot.pipeline import encode_headshot
from headshot.presets import Backdrop, load_style
from headshot.provenance import Edits, Step, keys

from .conftest import ASTRONAUT
from .metadata_seed import MARKERS, foreign_metadata, json_keys, leaks, seeded
from .tamper import TAMPERS

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"


@pytest.fixture(scope="module")
def subject() -> headshot.Subject:
    return headshot.analyse(ASTRONAUT)


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> provenance.Identity:
    folder = tmp_path_factory.mktemp("keys") / "k"
    keys.init(folder)
    return keys.load(folder=folder)


@pytest.fixture(scope="module")
def signed(subject, identity) -> dict[str, bytes]:
    """One signed output per format, and a second (another style) to transplant manifests onto."""
    out = {}
    for style in ("corporate", "charcoal"):
        hs = headshot.render(subject, style, "linkedin", size=400)
        for fmt in ("jpg", "png", "webp"):
            out[f"{fmt}:{style}"] = encode_headshot(hs, format=fmt, credentials=identity, title=f"a.{fmt}")[0]
    return out


# ------------------------------------------------------------------------------ digital source type


def _edits(backdrop: str) -> Edits:
    return Edits(steps=(Step("c2pa.edited", "background replaced", "placed on a backdrop"),
                        Step("c2pa.cropped", "cropped", "framed")), backdrop=backdrop)


def test_source_type_follows_what_was_done() -> None:
    assert provenance.source_type(_edits("generated")) == "compositeSynthetic"
    assert provenance.source_type(_edits("image")) == "composite"
    assert provenance.source_type(_edits("none")) == "algorithmicallyEnhanced"
    cut = provenance.without_backdrop(_edits("generated"))
    assert cut.backdrop == "none" and [s.stage for s in cut.steps] == ["background removed", "cropped"]
    with pytest.raises(ValueError):
        Edits(steps=(), backdrop="generative")


def test_xmp_packet_round_trips_and_is_deterministic() -> None:
    e = _edits("generated")
    p = provenance.xmp_packet(e, "Headshot Studio 9 <&>")
    assert p == provenance.xmp_packet(e, "Headshot Studio 9 <&>")
    got = provenance.read_xmp(p)
    assert got["digital_source_type"] == IPTC + "compositeSynthetic"
    assert got["creator_tool"] == "Headshot Studio 9 <&>"
    assert "nothing of the person was generated" in got["description"]
    # Element form (other writers), and hostile packets
    other = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
             b'<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
             b'<Iptc4xmpExt:DigitalSourceType>' + IPTC.encode() + b'digitalCapture</Iptc4xmpExt:DigitalSourceType>'
             b'</rdf:Description></rdf:RDF></x:xmpmeta>')
    assert provenance.read_xmp(other)["digital_source_type"] == IPTC + "digitalCapture"
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + other
    assert provenance.read_xmp(bomb) == {}
    assert provenance.read_xmp(b"<x:xmpmeta><unclosed") == {}
    assert provenance.read_xmp(None) == {}


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp"])
def test_every_format_carries_one_xmp_packet_with_the_source_type(subject, fmt: str) -> None:
    hs = headshot.render(subject, "corporate", "linkedin", size=300)
    data, info = encode_headshot(hs, format=fmt, credentials=None)
    assert info["c2pa"] is None and info["digital_source_type"] == IPTC + "compositeSynthetic"
    with Image.open(io.BytesIO(data)) as im:
        raw = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
        assert im.info.get("icc_profile") and "exif" not in im.info
    assert provenance.read_xmp(raw)["digital_source_type"] == IPTC + "compositeSynthetic"
    assert data.count(b"<x:xmpmeta") == 1
    v = provenance.verify(data)
    assert v.status == "none" and v.digital_source_type == IPTC + "compositeSynthetic"


def test_transparent_output_is_algorithmically_enhanced(subject, identity) -> None:
    hs = headshot.render(subject, "corporate", "linkedin", size=300)
    data, info = encode_headshot(hs, format="png", transparent=True, credentials=identity)
    assert info["digital_source_type"] == IPTC + "algorithmicallyEnhanced"
    v = provenance.verify(data, trust=identity.anchors_pem)
    assert v.status == "trusted"
    assert v.digital_source_type == IPTC + "algorithmicallyEnhanced"
    assert not any("placed on" in e for e in v.edits)
    assert any("cut out" in e for e in v.edits)


def test_users_own_background_image_is_a_composite(subject, tmp_path: Path) -> None:
    env = tmp_path / "office.jpg"
    Image.fromarray(skdata.coffee()).save(env)
    style = dataclasses.replace(load_style("corporate"), name="my-office", backdrop=Backdrop(kind="image", path=str(env)))
    hs = headshot.render(subject, style, "linkedin", size=300)
    assert hs.edits is not None and hs.edits.backdrop == "image"
    _, info = encode_headshot(hs, format="jpg", credentials=None)
    assert info["digital_source_type"] == IPTC + "composite"


def test_passport_plain_backdrop_is_still_synthetic(subject) -> None:
    hs = headshot.render(subject, "corporate", "passport")
    assert provenance.source_type(hs.edits) == "compositeSynthetic"
    assert any("plain backdrop" in s.description for s in hs.edits.steps)


# ------------------------------------------------------------------------------ credentials


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp"])
def test_signed_output_verifies_as_trusted_with_our_ca(signed, identity, fmt: str) -> None:
    data = signed[f"{fmt}:corporate"]
    v = provenance.verify(data, trust=identity.anchors_pem, source_photo=ASTRONAUT.read_bytes())
    assert v.status == "trusted", v.problems
    assert v.ok and v.problems == ()
    assert v.digital_source_type == IPTC + "compositeSynthetic"
    assert v.parent == "astronaut.jpg" and v.source_matches is True
    assert v.generator == f"Headshot Studio {headshot.__version__}"
    assert v.signer == "Headshot Studio local signer"
    assert v.edits[0].startswith("c2pa.opened")
    for stage in ("placed on the 'corporate' studio backdrop", "framed for linkedin", "retouch"):
        assert any(stage in e for e in v.edits), (stage, v.edits)
    assert any(e.startswith("c2pa.cropped:") for e in v.edits)
    # Without our CA it is intact but untrusted; with another photo the source does not match.
    assert provenance.verify(data).status == "untrusted"
    other = provenance.verify(data, trust=identity.anchors_pem, source_photo=b"another photo")
    assert other.source_matches is False


def test_relit_output_names_the_light_and_the_catchlights(subject, identity) -> None:
    hs = headshot.render(subject, "corporate", "linkedin", size=400, light="loop")
    data, _ = encode_headshot(hs, format="jpg", credentials=identity)
    v = provenance.verify(data, trust=identity.anchors_pem)
    assert any(e.startswith("c2pa.edited: relit with the 'loop' light rig") for e in v.edits), v.edits
    assert any(e.startswith("c2pa.drawing: catchlights painted") for e in v.edits)
    assert "relit" in (v.description or "")


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp"])
@pytest.mark.parametrize("how", sorted(TAMPERS))
def test_every_tampered_copy_is_reported_as_tampered(signed, identity, fmt: str, how: str) -> None:
    copy = TAMPERS[how](signed[f"{fmt}:corporate"], signed[f"{fmt}:charcoal"])
    assert copy != signed[f"{fmt}:corporate"]
    v = provenance.verify(copy, trust=identity.anchors_pem)
    assert v.status == "tampered", (how, v.status, v.problems)
    assert not v.ok


def test_a_copy_without_its_manifest_has_no_credentials(signed, identity) -> None:
    for fmt in ("jpg", "png", "webp"):
        v = provenance.verify(provenance.strip(signed[f"{fmt}:corporate"]), trust=identity.anchors_pem)
        assert v.status == "none" and not v.ok


def test_signing_is_deterministic_outside_the_manifest(subject, identity) -> None:
    hs = headshot.render(subject, "corporate", "website", size=300)
    for fmt in ("jpg", "png", "webp"):
        a = encode_headshot(hs, format=fmt, credentials=identity)[0]
        b = encode_headshot(hs, format=fmt, credentials=identity)[0]
        plain = encode_headshot(hs, format=fmt, credentials=None)[0]
        assert provenance.strip(a) == provenance.strip(b)
        if fmt != "webp":  # (c2pa turns a simple WebP into the extended layout to add its chunk)
            assert provenance.strip(a) == plain


# ------------------------------------------------------------------------------ keys


def test_keys_init_is_owner_only_and_refuses_to_overwrite(tmp_path: Path) -> None:
    files = keys.init(tmp_path / "k", organisation="Acme Ltd")
    assert stat.S_IMODE(files.folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.ca_key.stat().st_mode) == 0o600
    ident = keys.load(folder=files.folder)
    assert "Acme Ltd" in ident.subject and ident.alg == "es256"
    assert "PRIVATE" not in repr(ident) and "PRIVATE" not in ident.chain_pem
    leaf = x509.load_pem_x509_certificates(files.cert.read_bytes())[0]
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert leaf.issuer != leaf.subject
    with pytest.raises(CredentialsError, match="already exist"):
        keys.init(files.folder)
    keys.init(files.folder, force=True, organisation="Acme Ltd")
    again = keys.load(folder=files.folder)
    assert again.subject == ident.subject and again.chain_pem != ident.chain_pem  # new keys


def test_a_key_others_can_read_is_refused(tmp_path: Path) -> None:
    files = keys.init(tmp_path / "k")
    os.chmod(files.key, 0o644)
    with pytest.raises(CredentialsError, match="chmod 600"):
        keys.load(folder=files.folder)


def _cert(key: ec.EllipticCurvePrivateKey, issuer_key: ec.EllipticCurvePrivateKey, *, self_signed: bool = False,
          days: tuple[int, int] = (-1, 365)) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Someone")])
    issuer = name if self_signed else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Some CA")])
    return (x509.CertificateBuilder().subject_name(name).issuer_name(issuer).public_key(key.public_key())
            .serial_number(7).not_valid_before(now + dt.timedelta(days=days[0]))
            .not_valid_after(now + dt.timedelta(days=days[1]))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .sign(key if self_signed else issuer_key, hashes.SHA256()))


def _write(tmp_path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
    c, k = tmp_path / "c.pem", tmp_path / "k.pem"
    c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    os.chmod(k, 0o600)
    return c, k


def test_certificates_c2pa_refuses_are_refused_with_advice(tmp_path: Path) -> None:
    key, ca = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(CredentialsError, match="self-signed"):
        keys.load(*_write(tmp_path, _cert(key, key, self_signed=True), key))
    with pytest.raises(CredentialsError, match="expired"):
        keys.load(*_write(tmp_path, _cert(key, ca, days=(-30, -1)), key))
    with pytest.raises(CredentialsError, match="does not belong"):
        keys.load(*_write(tmp_path, _cert(ca, ca), key))
    with pytest.raises(CredentialsError, match="both"):
        keys.load(tmp_path / "c.pem", None)
    with pytest.raises(CredentialsError, match="does not exist"):
        keys.load(tmp_path / "nope.pem", tmp_path / "nope.key")
    c, k = _write(tmp_path, _cert(key, ca), key)
    ident = keys.load(c, k)  # a company certificate (its CA not in the file): loads, verifies as untrusted
    assert ident.alg == "es256" and ident.anchors_pem == ""


def _ensure(folder: str) -> str:
    return keys.ensure(folder)[0].chain_pem


def test_ensure_creates_keys_once_when_processes_race(tmp_path: Path) -> None:
    folder = str(tmp_path / "race")
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        chains = pool.map(_ensure, [folder] * 3)
    assert len(set(chains)) == 1
    assert keys.ensure(folder)[1] is False


# ------------------------------------------------------------------------------ metadata policy


@pytest.mark.parametrize("src_fmt", ["jpeg", "png", "webp", "heif"])
def test_seeded_metadata_never_reaches_an_output_or_the_report(tmp_path: Path, src_fmt: str, identity) -> None:
    src = tmp_path / f"selfie.{ {'jpeg': 'jpg', 'heif': 'heic'}.get(src_fmt, src_fmt)}"
    src.write_bytes(seeded(skdata.astronaut(), src_fmt))
    assert len(leaks(src.read_bytes())) >= 6  # the seed really holds them
    outputs = []
    for fmt, transparent in (("jpg", False), ("png", False), ("webp", False), ("png", True)):
        [r] = headshot.make([src], styles=["corporate"], platforms=["website"], out_dir=tmp_path / f"o-{fmt}-{transparent}",
                            format=fmt, transparent=transparent, size=320, credentials=identity)
        assert r.ok, r.error
        outputs += list(r.outputs)
        report = r.report.read_text()
        assert not [m for m in MARKERS if m in report], report
        doc = json.loads(report)
        for key in json_keys(doc):
            for word in ("gps", "latitude", "serial", "make", "model", "maker", "landmark", "embedding", "mask"):
                assert word not in key.lower(), key
        for o in doc["outputs"]:
            assert o["credentials"]["c2pa"]["signed_by"] == identity.subject
            assert o["credentials"]["digital_source_type"].startswith(IPTC)
    for path in outputs:
        assert foreign_metadata(path) == [], path
        v = provenance.verify(path, trust=identity.anchors_pem)
        assert v.status == "trusted" and v.digital_source_type and v.digital_source_type.startswith(IPTC)


# ------------------------------------------------------------------------------ CLI


def test_cli_keys_make_verify_and_no_credentials(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADSHOT_KEYS", str(tmp_path / "keys"))
    assert cli(["keys", "show"]) == 1
    assert cli(["keys", "init", "--organisation", "Acme Ltd"]) == 0
    assert "Acme Ltd" in capsys.readouterr().out
    assert cli(["keys", "init"]) == 2  # exists
    assert "already exist" in capsys.readouterr().err
    assert cli(["keys", "show"]) == 0
    assert "es256" in capsys.readouterr().out

    assert cli(["make", str(ASTRONAUT), "--style", "corporate", "--size", "300", "--out", str(tmp_path / "a"), "-q"]) == 0
    out = next((tmp_path / "a" / "astronaut").glob("*.jpg"))
    capsys.readouterr()
    assert cli(["verify", str(out), "--source", str(ASTRONAUT)]) == 0
    text = capsys.readouterr().out
    assert "TRUSTED" in text and "compositeSynthetic" in text and "source photo: matches" in text
    assert "Acme Ltd" in text
    assert cli(["verify", "--json", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "trusted"

    bad = tmp_path / "bad.jpg"
    bad.write_bytes(TAMPERS["pixel byte flipped"](out.read_bytes(), b""))
    assert cli(["verify", str(bad)]) == 1
    assert "TAMPERED" in capsys.readouterr().out

    assert cli(["make", str(ASTRONAUT), "--style", "corporate", "--size", "300", "--out", str(tmp_path / "b"),
                "--no-credentials", "-q"]) == 0
    plain = next((tmp_path / "b" / "astronaut").glob("*.jpg"))
    rep = json.loads((tmp_path / "b" / "astronaut" / "report.json").read_text())
    assert rep["outputs"][0]["credentials"]["c2pa"].startswith("off")
    assert cli(["verify", str(plain)]) == 1
    text = capsys.readouterr().out
    assert "NO CREDENTIALS" in text and "compositeSynthetic" in text
    assert cli(["verify", str(tmp_path / "missing.jpg")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert cli(["make", str(ASTRONAUT), "--no-credentials", "--signing-cert", "x.pem", "--out", str(tmp_path)]) == 2


def test_cli_signs_with_a_company_certificate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    company = keys.init(tmp_path / "company", organisation="Acme Ltd")  # stands in for a company CA's issue
    assert cli(["make", str(ASTRONAUT), "--style", "corporate", "--size", "300", "--out", str(tmp_path / "o"), "-q",
                "--signing-cert", str(company.cert), "--signing-key", str(company.key)]) == 0
    out = next((tmp_path / "o" / "astronaut").glob("*.jpg"))
    capsys.readouterr()
    assert cli(["verify", str(out)]) == 1  # the company CA is not trusted here...
    assert "UNTRUSTED" in capsys.readouterr().out
    assert cli(["verify", str(out), "--trust", str(company.ca_cert)]) == 0  # ...until it is given
    os.chmod(company.key, 0o640)
    assert cli(["make", str(ASTRONAUT), "--out", str(tmp_path / "p"), "--signing-cert", str(company.cert),
                "--signing-key", str(company.key)]) == 2
    assert "chmod 600" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()  # refused before any work


def test_team_outputs_are_signed_by_the_coordinator(tmp_path: Path, identity) -> None:
    from headshot.team import run_team

    people = tmp_path / "people"
    people.mkdir()
    for name in ("ann", "bob"):
        (people / f"{name}.jpg").write_bytes(ASTRONAUT.read_bytes())
    r = run_team(people, out_dir=tmp_path / "out", workers=1, size=300, credentials=identity)
    assert len(r.done) == 2
    for name in ("ann", "bob"):
        [img] = (tmp_path / "out" / name).glob("*.jpg")
        v = provenance.verify(img, trust=identity.anchors_pem, source_photo=ASTRONAUT.read_bytes())
        assert v.status == "trusted" and v.source_matches, v.problems
        rep = json.loads((tmp_path / "out" / name / "report.json").read_text())
        assert rep["outputs"][0]["credentials"]["c2pa"]["signed_by"] == identity.subject
