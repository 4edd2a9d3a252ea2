"""The web studio's FastAPI app: the page, the REST API, and the guards in front of both.

Thin on purpose: requests are validated, uploads streamed into the data dir (see
:mod:`headshot.web.uploads`), jobs written to the store, and files served. All image work is done by
worker processes (:mod:`headshot.web.worker`); the event loop only moves bytes, and every database
or file-system call that may block runs in the thread pool.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..presets import DEFAULT_PLATFORMS, DEFAULT_STYLES, load_platform, load_style, platform_names, style_names
from .retention import Sweeper
from .settings import Settings, is_loopback
from .store import QueueFull, RenderBusy, Store
from .thumbs import thumbs_dir
from .uploads import ApiError, move_into, receive

__all__ = ["create_app"]

log = logging.getLogger("headshot.web")

ACCEPT = ["image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"]
FORMATS = ("jpg", "png", "webp")
MAX_VARIANTS = 40  # styles x platforms per render request
CSP = ("default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}
PUBLIC_API = {"/api/config", "/api/health"}


# -- the API's shapes (they document /openapi.json) ---------------------------------------------------

class ErrorBody(BaseModel):
    error: str = Field(description="stable code, e.g. too_large, unsupported_format, queue_full")
    message: str = Field(description="what happened and what to do, for a person")


class Health(BaseModel):
    ok: bool


class Config(BaseModel):
    version: str
    auth_required: bool
    max_request_bytes: int
    max_photos: int
    retention_hours: float
    formats: list[str]
    accept: list[str]


class StyleInfo(BaseModel):
    name: str
    description: str
    default: bool = Field(description="one of the looks rendered when none is asked for")
    thumbnail: str | None = Field(description="URL of a thumbnail, or null while it is being rendered")


class PlatformInfo(BaseModel):
    name: str
    description: str
    width: int
    height: int
    circle: bool = Field(description="shown cropped to a circle (LinkedIn)")
    default: bool = Field(description="used when none is asked for")


class Finding(BaseModel):
    code: str
    severity: Literal["info", "warn", "poor"]
    message: str


class PhotoInfo(BaseModel):
    index: int
    name: str
    state: Literal["waiting", "checked", "failed"]
    error: str | None
    verdict: str | None = None
    findings: list[Finding] = []
    face_px: int | None = None
    preview: str | None


class OutputInfo(BaseModel):
    name: str
    photo: int
    style: str
    platform: str
    width: int
    height: int
    bytes: int
    url: str
    before: str


class Progress(BaseModel):
    done: int
    total: int


StyleName = Literal[tuple(style_names())]  # type: ignore[valid-type]
PlatformName = Literal[tuple(platform_names())]  # type: ignore[valid-type]


class RenderRequest(BaseModel):
    """What to render. Every built-in style x platform may be asked for at once (at most 54 headshots
    per photo): repeated names count once."""

    model_config = ConfigDict(extra="forbid")

    styles: list[StyleName] = Field(default_factory=lambda: list(DEFAULT_STYLES), min_length=1, max_length=20)
    platforms: list[PlatformName] = Field(default_factory=lambda: list(DEFAULT_PLATFORMS), min_length=1, max_length=10)
    format: Literal["jpg", "png", "webp"] = "jpg"
    size: int | None = Field(default=None, ge=64, le=4096, description="longest side in pixels")


class Job(BaseModel):
    id: str
    state: Literal["queued", "checking", "checked", "rendering", "done", "failed"]
    created: str
    expires: str
    progress: Progress
    request: RenderRequest
    photos: list[PhotoInfo]
    outputs: list[OutputInfo]
    error: str | None
    download_all: str


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": what} for code, what in (
        (400, "bad request"), (401, "missing or wrong API key"), (403, "cross-site request refused"),
        (404, "no such job or file"), (409, "a render is already waiting or running"),
        (413, "upload too large"), (415, "not an accepted image format"), (422, "invalid value"),
        (429, "too many uploads at once; see Retry-After"), (503, "queue full; see Retry-After"))
}


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


# -- guards -------------------------------------------------------------------------------------------

class Guard:
    """Pure ASGI middleware (it must not buffer the streamed uploads):

    - answers only loopback ``Host`` names when bound to loopback (DNS rebinding);
    - refuses cross-site requests (an ``Origin`` that is not this server, or ``Sec-Fetch-Site:
      cross-site``): there is no CORS, and a form on another site cannot post here either;
    - checks the API key on ``/api`` (but config and health) when one is set;
    - adds security headers to every response.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.key = settings.api_key.encode() if settings.api_key else None
        self.loopback = is_loopback(settings.host)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        refusal = self._refuse(scope, headers, host)
        if refusal is not None:
            await _secure(refusal)(scope, receive, send)
            return

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                hs = list(message.get("headers", []))
                names = {k.lower() for k, _ in hs}
                for k, v in _SECURITY_HEADERS:
                    if k not in names:
                        hs.append((k, v))
                message["headers"] = hs
            await send(message)

        await self.app(scope, receive, send_secure)

    def _refuse(self, scope: Scope, headers: dict[str, str], host: str) -> Response | None:
        if self.loopback:
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name.lower() not in LOOPBACK_NAMES:
                return _error(400, "bad_host", "this studio answers on localhost only; open http://127.0.0.1:"
                                               f"{self.settings.port}/")
        origin = headers.get("origin")
        if origin is not None and origin != "null" and urlsplit(origin).netloc.lower() != host.lower():
            return _error(403, "cross_site", "requests from other web sites are refused; use the studio's own page")
        if headers.get("sec-fetch-site") == "cross-site":
            return _error(403, "cross_site", "requests from other web sites are refused; use the studio's own page")
        path: str = scope.get("path", "")
        if self.key is not None and path.startswith("/api/") and path not in PUBLIC_API:
            given = headers.get("x-api-key") or ""
            auth = headers.get("authorization", "")
            if not given and auth.lower().startswith("bearer "):
                given = auth[7:].strip()
            if not hmac.compare_digest(given.encode(), self.key):
                return _error(401, "unauthorized", "this studio needs its API key: send it in the X-API-Key header",
                              headers={"WWW-Authenticate": "Bearer"})
        return None


_SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(self), microphone=(), geolocation=()"),
]


def _secure(resp: Response) -> Response:
    for k, v in _SECURITY_HEADERS:
        resp.headers[k.decode()] = v.decode()
    return resp


# -- the app ------------------------------------------------------------------------------------------

def _bool(value: str, name: str) -> bool:
    v = value.strip().lower()
    if v == "true":
        return True
    if v == "false":
        return False
    raise ApiError(400, "bad_field", f"'{name}' must be true or false, got {value[:20]!r}")


def _names(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    out = [v.strip() for raw in values for v in raw.split(",") if v.strip()]
    return out or None


def _check_request(styles: list[str], platforms: list[str], fmt: str, size: int | None) -> RenderRequest:
    """Only built-in presets by name: a web client must never make the server open a file path."""
    known_s, known_p = style_names(), platform_names()
    for s in styles:
        if s not in known_s:
            raise ApiError(422, "unknown_style", f"unknown style {s[:40]!r}; choose from {', '.join(known_s)}")
    for p in platforms:
        if p not in known_p:
            raise ApiError(422, "unknown_platform", f"unknown platform {p[:40]!r}; choose from {', '.join(known_p)}")
    styles = list(dict.fromkeys(styles))
    platforms = list(dict.fromkeys(platforms))
    if len(styles) > 20 or len(platforms) > 10:
        raise ApiError(422, "too_many_variants", "at most 20 styles and 10 platforms per request")
    return RenderRequest(styles=styles, platforms=platforms, format=fmt, size=size)  # type: ignore[arg-type]


def _job_view(job: dict[str, Any]) -> Job:
    base = f"/api/jobs/{job['id']}"
    photos = []
    for p in job["photos"]:
        photos.append(PhotoInfo(
            index=p["index"], name=p["name"], state=p["state"], error=p["error"], verdict=p.get("verdict"),
            findings=[Finding(**f) for f in p.get("findings", [])], face_px=p.get("face_px"),
            preview=f"{base}/photos/{p['index']}/preview" if p["state"] == "checked" else None))
    outputs = [OutputInfo(name=o["name"], photo=o["photo"], style=o["style"], platform=o["platform"],
                          width=o["width"], height=o["height"], bytes=o["bytes"], url=f"{base}/outputs/{o['name']}",
                          before=f"{base}/outputs/{o['name']}/before") for o in job["outputs"]]
    return Job(id=job["id"], state=job["state"], created=job["created"], expires=job["expires"],
               progress=Progress(**job["progress"]), request=RenderRequest(**job["request"]), photos=photos,
               outputs=outputs, error=job["error"], download_all=f"{base}/download.zip")


def create_app(settings: Settings, *, sweeper: bool = True) -> FastAPI:
    """The studio's ASGI app. Workers are not started here (see :func:`headshot.web.serve`)."""
    store = Store(settings.db_path)
    static = resources.files("headshot") / "web" / "static"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sw = Sweeper(settings) if sweeper else None
        if sw is not None:
            sw.start()
        try:
            yield
        finally:
            if sw is not None:
                await run_in_threadpool(sw.stop)

    settings.prepare()
    store.init()
    app = FastAPI(
        title="Headshot Studio",
        version=__version__,
        description="Upload a selfie, get studio headshots: locally, without changing the face. "
                    "Every error is JSON: {\"error\": code, \"message\": text}.",
        lifespan=lifespan,
        # Swagger UI and ReDoc load their scripts from a CDN: nothing is fetched here, so the spec is
        # served as /openapi.json only (open it in any OpenAPI viewer).
        docs_url=None,
        redoc_url=None,
    )
    app.state.uploads = 0
    app.add_middleware(Guard, settings=settings)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(QueueFull)
    async def _queue_full(request: Request, exc: QueueFull) -> JSONResponse:
        return _error(503, "queue_full", "the studio is busy; try again shortly",
                      {"Retry-After": str(exc.retry_after)})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for e in exc.errors()[:3]:
            where = ".".join(str(x) for x in e.get("loc", ()) if x != "body")
            parts.append(f"{where}: {e.get('msg', 'invalid')}" if where else str(e.get("msg", "invalid")))
        return _error(422, "invalid", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        msg = "no such page or job (it may have been deleted)" if exc.status_code == 404 else str(exc.detail)
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            # Starlette names only the first matching route's methods; a path has several routes here.
            allowed = sorted({m for r in app.router.routes if isinstance(r, APIRoute)
                              and r.matches(request.scope)[0] == Match.PARTIAL for m in (r.methods or ())})
            headers["Allow"] = ", ".join(allowed)
            msg = f"use {' or '.join(allowed)} here" if allowed else msg
        return _error(exc.status_code, code, msg, headers)

    # -- the page ---------------------------------------------------------------------------------

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def page() -> Response:
        return Response((static / "index.html").read_bytes(), media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    # -- presets ------------------------------------------------------------------------------------

    @app.get("/api/health", response_model=Health, tags=["studio"])
    async def health() -> Health:
        return Health(ok=True)

    @app.get("/api/config", response_model=Config, tags=["studio"])
    async def config() -> Config:
        return Config(version=__version__, auth_required=settings.api_key is not None,
                      max_request_bytes=settings.max_request_bytes, max_photos=settings.max_photos,
                      retention_hours=round(settings.retention_s / 3600, 3), formats=list(FORMATS), accept=ACCEPT)

    @app.get("/api/styles", response_model=list[StyleInfo], tags=["presets"], responses=ERRORS)
    def styles() -> list[StyleInfo]:
        tdir = thumbs_dir(settings.cache_dir)
        return [StyleInfo(name=n, description=load_style(n).description, default=n in DEFAULT_STYLES,
                          thumbnail=f"/api/styles/{n}/thumbnail" if (tdir / f"{n}.webp").exists() else None)
                for n in style_names()]

    @app.get("/api/styles/{name}/thumbnail", tags=["presets"], responses={
        200: {"content": {"image/webp": {}}, "description": "the thumbnail"}, **ERRORS})
    def style_thumbnail(name: str) -> Response:
        if name not in style_names():
            raise ApiError(404, "not_found", f"no style named {name[:40]!r}")
        path = thumbs_dir(settings.cache_dir) / f"{name}.webp"
        if not path.exists():
            raise ApiError(404, "not_ready", "the thumbnail is being rendered; try again in a few seconds")
        return FileResponse(path, media_type="image/webp", headers={"Cache-Control": "max-age=3600"})

    @app.get("/api/platforms", response_model=list[PlatformInfo], tags=["presets"], responses=ERRORS)
    def platforms() -> list[PlatformInfo]:
        out = []
        for n in platform_names():
            p = load_platform(n)
            out.append(PlatformInfo(name=n, description=p.description, width=p.width, height=p.height,
                                    circle=p.circle, default=n in DEFAULT_PLATFORMS))
        return out

    # -- jobs ---------------------------------------------------------------------------------------

    upload_schema = {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object",
            "required": ["photos"],
            "properties": {
                "photos": {"type": "array", "items": {"type": "string", "format": "binary"}, "minItems": 1,
                           "description": "JPEG, PNG, WebP or HEIC/HEIF photos (judged by content)"},
                "render": {"type": "boolean", "default": True,
                           "description": "render at once after the check (false: check only)"},
                "styles": {"type": "string", "description": "style names, comma-separated"},
                "platforms": {"type": "string", "description": "platform names, comma-separated"},
                "format": {"type": "string", "enum": list(FORMATS), "default": "jpg"},
                "size": {"type": "integer", "minimum": 64, "maximum": 4096},
            },
        }}},
    }

    @app.post("/api/jobs", status_code=202, response_model=Job, tags=["jobs"], openapi_extra={
        "requestBody": upload_schema}, responses=ERRORS)
    async def create_job(request: Request) -> Response:
        """Upload photos: they are checked at once and, unless ``render=false``, rendered."""
        if app.state.uploads >= settings.max_uploads:
            raise ApiError(429, "busy", "too many uploads at once; try again in a few seconds",
                           {"Retry-After": "2"})
        app.state.uploads += 1
        try:
            # Refused before the body is read; create_job checks again, atomically, when storing.
            await run_in_threadpool(store.ensure_room, settings.max_queued)
            job_id = secrets.token_urlsafe(16)
            try:
                up = await receive(request, settings.tmp_dir / job_id, max_bytes=settings.max_request_bytes,
                                   max_photos=settings.max_photos)
            except ClientDisconnect:
                return Response(status_code=400)
            try:
                f = up.fields
                unknown = set(f) - {"render", "styles", "platforms", "format", "size"}
                if unknown:
                    raise ApiError(400, "bad_field", f"unknown form field(s): {', '.join(sorted(unknown))[:80]}")
                repeated = sorted(k for k, v in f.items() if len(v) > 1)
                if repeated:  # the spec's fields are single values (styles and platforms: comma-separated)
                    raise ApiError(400, "bad_field", f"form field(s) given more than once: {', '.join(repeated)[:80]}; "
                                                     "give each once (styles and platforms as comma-separated names)")
                render = _bool(f["render"][-1], "render") if "render" in f else True
                size: int | None = None
                if "size" in f:  # (an empty value is not a size: the spec says integer; leave the field out)
                    raw = f["size"][-1].strip()
                    if not raw.isdigit() or not 64 <= int(raw) <= 4096:
                        raise ApiError(422, "invalid", "size must be a whole number of pixels from 64 to 4096")
                    size = int(raw)
                fmt = f["format"][-1].strip() if "format" in f else "jpg"
                if fmt not in FORMATS:
                    raise ApiError(422, "invalid", f"format must be one of {', '.join(FORMATS)}")
                req = _check_request(_names(f.get("styles")) or list(DEFAULT_STYLES),
                                     _names(f.get("platforms")) or list(DEFAULT_PLATFORMS), fmt, size)
                now = settings.clock()

                def commit() -> dict[str, Any] | None:
                    move_into(up, settings.job_dir(job_id))
                    try:
                        store.create_job(job_id, [{k: p[k] for k in ("name", "stem", "file")} for p in up.photos],
                                         req.model_dump(), render=render, now=now, expires=now + settings.retention_s,
                                         max_queued=settings.max_queued)
                    except BaseException:
                        up.folder = settings.job_dir(job_id)
                        raise
                    return store.job(job_id)

                job = await run_in_threadpool(commit)
            except BaseException:
                await run_in_threadpool(up.discard)
                raise
        finally:
            app.state.uploads -= 1
        assert job is not None
        view = _job_view(job)
        return JSONResponse(view.model_dump(), status_code=202, headers={"Location": f"/api/jobs/{job_id}"})

    async def _get(job_id: str) -> dict[str, Any]:
        job = await run_in_threadpool(store.job, job_id)
        if job is None:
            raise ApiError(404, "not_found", "no such job: it may have been deleted or have expired")
        return job

    @app.get("/api/jobs/{job_id}", response_model=Job, tags=["jobs"], responses=ERRORS)
    async def get_job(job_id: str) -> Response:
        job = await _get(job_id)
        return JSONResponse(_job_view(job).model_dump(), headers={"Cache-Control": "no-store"})

    @app.post("/api/jobs/{job_id}/render", status_code=202, response_model=Job, tags=["jobs"], responses=ERRORS)
    async def render_job(job_id: str, body: RenderRequest) -> Response:
        """Render (more) styles x platforms of a job's photos."""
        req = _check_request(list(body.styles), list(body.platforms), body.format, body.size)
        try:
            found = await run_in_threadpool(lambda: store.add_render(job_id, req.model_dump(), now=settings.clock(),
                                                                     max_queued=settings.max_queued))
        except RenderBusy:
            raise ApiError(409, "busy", "this job is already being rendered; wait for it to finish") from None
        if not found:
            raise ApiError(404, "not_found", "no such job: it may have been deleted or have expired")
        job = await _get(job_id)
        return JSONResponse(_job_view(job).model_dump(), status_code=202,
                            headers={"Location": f"/api/jobs/{job_id}"})

    @app.delete("/api/jobs/{job_id}", status_code=204, tags=["jobs"], responses=ERRORS)
    async def delete_job(job_id: str) -> Response:
        """Delete every file and row of the job now."""
        if not _plausible(job_id):
            raise ApiError(404, "not_found", "no such job: it may have been deleted or have expired")
        found = await run_in_threadpool(store.delete_job, job_id, settings.job_dir(job_id))
        if not found:
            raise ApiError(404, "not_found", "no such job: it may have been deleted or have expired")
        return Response(status_code=204)

    image_responses = {200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}},
                             "description": "the image"}, **ERRORS}

    def _file(job_id: str, name: str, media: str | None = None, download: bool = False) -> FileResponse:
        path = settings.job_dir(job_id) / name
        if not path.is_file():
            raise ApiError(404, "not_found", "no such file: the job may have been deleted")
        return FileResponse(path, media_type=media, headers={"Cache-Control": "no-store"},
                            filename=name if download else None,
                            content_disposition_type="attachment" if download else "inline")

    @app.get("/api/jobs/{job_id}/photos/{index}/preview", tags=["files"], responses=image_responses)
    async def preview(job_id: str, index: int) -> FileResponse:
        job = await _get(job_id)
        if not any(p["index"] == index and p["state"] == "checked" for p in job["photos"]):
            raise ApiError(404, "not_found", "no preview of that photo (not checked yet, or it failed)")
        return _file(job_id, f"preview-{index}.jpg", "image/jpeg")

    def _output(job: dict[str, Any], name: str) -> dict[str, Any]:
        for o in job["outputs"]:
            if o["name"] == name:
                return o
        raise ApiError(404, "not_found", "no such headshot in this job")

    @app.get("/api/jobs/{job_id}/outputs/{name}", tags=["files"], responses=image_responses)
    async def output(job_id: str, name: str, download: bool = False) -> FileResponse:
        o = _output(await _get(job_id), name)
        media = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}[o["name"].rsplit(".", 1)[-1]]
        return _file(job_id, o["name"], media, download)

    @app.get("/api/jobs/{job_id}/outputs/{name}/before", tags=["files"], responses=image_responses)
    async def before(job_id: str, name: str) -> FileResponse:
        o = _output(await _get(job_id), name)
        return _file(job_id, o["before"], "image/jpeg")

    @app.get("/api/jobs/{job_id}/download.zip", tags=["files"], responses={
        200: {"content": {"application/zip": {}}, "description": "all headshots and reports"}, **ERRORS})
    async def download_all(job_id: str) -> FileResponse:
        job = await _get(job_id)
        if not job["outputs"]:
            raise ApiError(404, "not_found", "no headshots in this job yet")
        path = await run_in_threadpool(_zip, settings.job_dir(job_id), job)
        return FileResponse(path, media_type="application/zip", filename=f"headshots-{job_id[:8]}.zip",
                            headers={"Cache-Control": "no-store"},
                            background=BackgroundTask(path.unlink, missing_ok=True))

    return app


def _plausible(job_id: str) -> bool:
    return 10 <= len(job_id) <= 64 and all(c.isalnum() or c in "-_" for c in job_id)


def _zip(folder: Path, job: dict[str, Any]) -> Path:
    """Every headshot and report of a job in one ZIP, written into the job's own folder (deleted
    after it is sent). Stored, not deflated: the images are compressed already."""
    if not folder.is_dir():
        raise ApiError(404, "not_found", "no such job: it may have been deleted or have expired")
    tmp = folder / f".download-{secrets.token_hex(6)}.zip"
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as z:
            for o in job["outputs"]:
                if (folder / o["name"]).is_file():
                    z.write(folder / o["name"], o["name"])
            for p in job["photos"]:
                report = folder / f"report-{p['index']}.json"
                if report.is_file():
                    z.write(report, f"{p['stem']}_report.json")
    except FileNotFoundError:
        tmp.unlink(missing_ok=True)
        raise ApiError(404, "not_found", "the job was deleted") from None
    return tmp

