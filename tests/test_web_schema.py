"""Property-based fuzzing of the REST API from its own OpenAPI spec (schemathesis): no request,
however malformed, gets a server error, and every answer matches what the spec documents."""

from __future__ import annotations

import tempfile
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from jsonschema import Draft202012Validator  # noqa: E402  (a dependency of schemathesis)
from schemathesis.checks import negative_data_rejection, positive_data_acceptance  # noqa: E402

from headshot.web import Settings  # noqa: E402
from headshot.web.app import create_app  # noqa: E402

_app = create_app(Settings(data_dir=tempfile.mkdtemp(prefix="headshot-schema-")), sweeper=False)


async def _on_localhost(scope, receive, send):  # type: ignore[no-untyped-def]
    """The studio answers loopback Host names only; schemathesis's ASGI client says 'testserver'."""
    if scope["type"] == "http":
        scope = dict(scope, headers=[(k, v) for k, v in scope["headers"] if k != b"host"] + [(b"host", b"127.0.0.1")])
    await _app(scope, receive, send)


schema = schemathesis.openapi.from_asgi("/openapi.json", _on_localhost)

_UPLOAD = _app.openapi()["paths"]["/api/jobs"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
# The form's fields other than the files (bytes, which JSON Schema's "string" does not describe).
_FIELDS = Draft202012Validator({"type": "object", "properties": {
    k: v for k, v in _UPLOAD["properties"].items() if k != "photos"}})


def _valid_as_sent(body: Any) -> bool:
    """Whether an upload form with arrays of at most one item (no part or one part on the wire) is,
    as the server receives it, a schema-valid form (photos aside)."""
    if not isinstance(body, dict):
        return False
    lists = [k for k, v in body.items() if k != "photos" and isinstance(v, list)]
    if not lists or any(len(body[k]) > 1 for k in lists):
        return False
    sent = {k: (v[0] if isinstance(v, list) else v) for k, v in body.items()
            if k != "photos" and not (isinstance(v, list) and not v)}
    return _FIELDS.is_valid(sent)


@schema.parametrize()
@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_never_fails_and_keeps_to_its_spec(case) -> None:  # type: ignore[no-untyped-def]
    # Every default check runs (server errors, status codes, content types, response schemas, headers,
    # negative data rejected...). One is left out for the upload only: "a schema-valid request is
    # accepted" cannot hold there, since a schema-valid file is arbitrary bytes, not a photo (415).
    upload = case.path == "/api/jobs" and case.method == "POST"
    excluded = [positive_data_acceptance] if upload else []
    # "Schema-violating data is rejected" cannot hold either where the violation does not reach the
    # wire: a form field turned into an array of at most one item is sent as no part or one part,
    # and when the form as sent is valid, it is the very request of a valid upload. Every other
    # violation (longer arrays are repeated parts, which the API refuses) is still checked.
    if upload and _valid_as_sent(case.body):
        excluded.append(negative_data_rejection)
    case.call_and_validate(excluded_checks=excluded)


def test_only_wire_identical_forms_are_excused() -> None:
    """The exception above covers forms that reach the server valid, and nothing else."""
    photo = [b"\xff\xd8"]
    assert _valid_as_sent({"photos": photo, "styles": []})  # no part: the default styles
    assert _valid_as_sent({"photos": photo, "styles": ["corporate"], "size": 512})  # one part
    assert not _valid_as_sent({"photos": photo, "styles": "corporate"})  # no array: nothing to excuse
    assert not _valid_as_sent({"photos": photo, "styles": ["a", "b"]})  # repeated parts: checked
    assert not _valid_as_sent({"photos": photo, "styles": [], "size": 5})  # another violation: checked
    assert not _valid_as_sent({"photos": photo, "format": ["gif"]})  # one part, still invalid: checked
