// Headshot Studio page: upload a photo, show the capture check, pick looks, render, gallery.
// Talks to the REST API described in docs/web.md. Plain ES2020, no dependencies; the server's
// Content-Security-Policy forbids inline scripts/styles, so all wiring happens here.
"use strict";

const POLL_MS = 400;
const KEY_STORE = "headshot.apiKey";
const JOB_STORE = "headshot.jobId";
const DEFAULT_STYLE_COUNT = 4;
const DEFAULT_PLATFORM = "linkedin";

const SEVERITY = {            // finding severity -> label shown in text (never colour only)
  poor: "Problem",
  warn: "Could be better",
  info: "Note",
};
const VERDICT = {             // photo verdict -> [class, headline, advice]
  "good": ["good", "Good photo", "Your photo is ready for headshots."],
  "usable, could be better": ["usable", "Usable, could be better",
    "You can go on, or take another photo with the advice below for a better result."],
  "retake advised": ["retake", "Retake advised",
    "A new photo will give much better headshots (see below). You can still go on with this one."],
};
const NICE_NAMES = { linkedin: "LinkedIn" };

const $ = (sel) => document.querySelector(sel);
const scrollToView = (el) => el.scrollIntoView({
  block: "start", behavior: matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth" });

const state = {
  config: null,
  key: sessionStorage.getItem(KEY_STORE) || "",
  job: null,            // last job object from the API
  phase: "idle",        // what the page waits for: idle (no job) | check | render
  renderSeen: false,    // the job was seen queued/rendering since "Make my headshots"
  gen: 0,               // bumped on reset/new upload: stale polls and loads stop
  blobs: new Set(),     // blob: URLs to revoke on reset
  shots: new Map(),     // output name -> {figure, output}
  busy: false,          // an upload or render request is in flight
  feedbackSig: "",      // what the feedback card shows now (see showFeedback)
};

// ---------------------------------------------------------------- API helpers

class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

function authHeaders() {
  return state.key ? { "X-API-Key": state.key } : {};
}

// fetch() an /api URL with the key; throws ApiError with the server's message on any 4xx/5xx.
async function api(url, options = {}) {
  let resp;
  try {
    resp = await fetch(url, {
      ...options,
      cache: "no-store",
      headers: { ...authHeaders(), ...(options.headers || {}) },
    });
  } catch (e) {
    throw new ApiError(0, "network", "Could not reach the studio. Check that it is still running, then try again.");
  }
  if (resp.ok) return resp;
  let body = {};
  try { body = await resp.json(); } catch (e) { /* not JSON */ }
  const message = body.message || `The studio answered with an error (${resp.status}).`;
  throw new ApiError(resp.status, body.error || "http", message, resp.headers.get("Retry-After"));
}

async function apiJson(url, options) {
  const resp = await api(url, options);
  return resp.status === 204 ? null : resp.json();
}

// Show an API (or other) error to the person. 401 also brings back the key form.
function showError(err) {
  let msg = err && err.message ? err.message : String(err);
  if (err instanceof ApiError) {
    if (err.status === 429 || err.status === 503) {
      const secs = parseInt(err.retryAfter, 10);
      msg += secs > 0 ? ` Please try again in ${secs} seconds.` : " Please try again shortly.";
    }
    if (err.status === 401) {
      msg = state.key ? "The studio key was not accepted. Please enter it again."
                      : "This studio needs a key. Please enter it below.";
      askForKey();
    }
  }
  $("#alert").textContent = msg;
}

function clearError() {
  $("#alert").textContent = "";
}

// kind "busy" shows it as a floating bar (work in progress); otherwise it is only announced, since
// the page itself shows the outcome (feedback, gallery, notice).
function setStatus(text, kind = "") {
  const el = $("#status");
  if (el.textContent !== text) el.textContent = text;  // unchanged text: don't re-announce
  el.dataset.kind = kind;
}

// Load an image: plain src without a key; with a key, fetch with the header and use a blob: URL
// (an <img> cannot send headers). Resolves to the URL used, so download links can reuse it.
// keep=true: the image outlives the job (style thumbnails), so its blob is not freed on reset.
async function loadImage(img, url, keep = false) {
  if (!state.key) {
    img.src = url;
    return url;
  }
  const gen = state.gen;
  const blob = await (await api(url)).blob();
  if (!keep && gen !== state.gen) return null;  // page was reset meanwhile
  const objectUrl = URL.createObjectURL(blob);
  if (!keep) state.blobs.add(objectUrl);
  img.src = objectUrl;
  return objectUrl;
}

// Start a browser download of an /api URL that needs the key header.
async function downloadWithKey(url, filename) {
  try {
    const blob = await (await api(url)).blob();
    const objectUrl = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = objectUrl;
    a.download = filename;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(objectUrl), 60000);
  } catch (e) {
    showError(e);
  }
}

const niceName = (name) =>
  NICE_NAMES[name] || (name.charAt(0).toUpperCase() + name.slice(1)).replace(/-/g, " ");

// ---------------------------------------------------------------- start-up

async function init() {
  wirePicking();
  wireLooks();
  $("#make").addEventListener("click", makeHeadshots);
  $("#delete").addEventListener("click", deletePhotos);
  $("#key-form").addEventListener("submit", onKeySubmit);
  $("#download-all").addEventListener("click", onDownloadAll);
  wireBeforeAfter();

  try {
    state.config = await apiJson("/api/config");
  } catch (e) {
    showError(e);
    return;
  }
  const cfg = state.config;
  $("#version").textContent = cfg.version ? `v${cfg.version}` : "";
  const hours = cfg.retention_hours;
  $("#retention").textContent =
    `Your photos and headshots stay on this studio only, and are deleted automatically after ` +
    `${hours} ${hours === 1 ? "hour" : "hours"}. You can delete them sooner at any time.`;

  if (cfg.max_request_bytes) {
    $("#drop-hint").textContent =
      `A JPEG, PNG, WebP or HEIC photo of you, facing the camera (up to ${Math.floor(cfg.max_request_bytes / 1048576)} MB).`;
  }

  if (!cfg.auth_required) {
    state.key = "";                   // a key left from another studio run: not needed
    sessionStorage.removeItem(KEY_STORE);
  } else if (!state.key) {
    askForKey();
    return;
  }
  await loadChoices();
}

function askForKey() {
  state.key = "";
  sessionStorage.removeItem(KEY_STORE);
  $("#key-form").hidden = false;
  $("#studio").hidden = true;
  $("#api-key").focus();
}

async function onKeySubmit(ev) {
  ev.preventDefault();
  const key = $("#api-key").value.trim();
  if (!key) return;
  state.key = key;
  sessionStorage.setItem(KEY_STORE, key);
  clearError();
  $("#key-form").hidden = true;
  $("#studio").hidden = false;
  $("#api-key").value = "";
  await loadChoices();
}

// Styles and platforms for step 2; then resume a job this tab already had (page reload).
async function loadChoices() {
  let styles, platforms;
  try {
    [styles, platforms] = await Promise.all([apiJson("/api/styles"), apiJson("/api/platforms")]);
  } catch (e) {
    showError(e);
    return;
  }
  renderStyles(styles);
  renderPlatforms(platforms);
  updateMake();

  const saved = sessionStorage.getItem(JOB_STORE);
  if (saved) {
    try {
      const job = await apiJson(`/api/jobs/${encodeURIComponent(saved)}`);
      showJob(job);
      poll(job.id);
    } catch (e) {
      sessionStorage.removeItem(JOB_STORE);  // expired or deleted: start fresh, quietly
    }
  }
}

// ---------------------------------------------------------------- step 1: the photo

function wirePicking() {
  const drop = $("#drop-zone");
  const fileInput = $("#file-input");
  const cameraInput = $("#camera-input");

  drop.addEventListener("click", () => { if (!state.busy) fileInput.click(); });
  $("#camera-button").addEventListener("click", () => { if (!state.busy) cameraInput.click(); });
  for (const input of [fileInput, cameraInput]) {
    input.addEventListener("change", () => {
      if (input.files && input.files.length) pickFiles(input.files);
      input.value = "";  // choosing the same file again still fires "change"
    });
  }

  // A file dropped anywhere must not make the browser navigate away from the studio.
  window.addEventListener("dragover", (ev) => ev.preventDefault());
  window.addEventListener("drop", (ev) => ev.preventDefault());

  let depth = 0;  // dragenter/dragleave fire for children too
  drop.addEventListener("dragenter", (ev) => { ev.preventDefault(); depth++; drop.classList.add("dragging"); });
  drop.addEventListener("dragleave", () => { if (--depth <= 0) { depth = 0; drop.classList.remove("dragging"); } });
  drop.addEventListener("dragover", (ev) => { ev.preventDefault(); ev.dataTransfer.dropEffect = "copy"; });
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    depth = 0;
    drop.classList.remove("dragging");
    if (ev.dataTransfer.files.length) pickFiles(ev.dataTransfer.files);
  });
}

async function pickFiles(files) {
  if (state.busy) return;
  const file = files[0];
  clearError();
  $("#notice").hidden = true;
  const max = state.config && state.config.max_request_bytes;
  if (max && file.size > max) {
    showError(new Error(`That photo is ${(file.size / 1048576).toFixed(1)} MB; the studio accepts up to ` +
                        `${Math.floor(max / 1048576)} MB. Please choose a smaller photo.`));
    return;
  }
  if (state.job) forgetJob(true);  // a new photo replaces the old job (deleted on the server)
  resetResults();
  const gen = ++state.gen;
  state.phase = "check";

  // Instant preview from the file itself (may fail for HEIC: the server preview replaces it).
  showFeedbackBox(true);
  const preview = $("#preview");
  const local = URL.createObjectURL(file);
  state.blobs.add(local);
  preview.onerror = () => { preview.hidden = true; };
  preview.onload = () => { preview.hidden = false; };
  preview.src = local;
  showVerdictPending("Uploading your photo…");
  // On a phone the feedback card is below the pickers: bring it up so the check is seen.
  if ($("#feedback").getBoundingClientRect().top > window.innerHeight * 0.5) scrollToView($("#feedback"));
  setStatus(files.length > 1 ? "Uploading your photo (only the first one is used)…" : "Uploading your photo…", "busy");
  setStep(1);

  const form = new FormData();
  form.append("photos", file, file.name || "selfie.jpg");
  form.append("render", "false");
  setBusy(true);
  try {
    const job = await apiJson("/api/jobs", { method: "POST", body: form });
    if (gen !== state.gen) return;
    sessionStorage.setItem(JOB_STORE, job.id);
    showJob(job);
    poll(job.id);
  } catch (e) {
    if (gen !== state.gen) return;
    showFeedbackBox(false);
    setStatus("");
    showError(e);
  } finally {
    setBusy(false);
  }
}

// The feedback card replaces the selfie tips once there is a photo.
function showFeedbackBox(show) {
  $("#feedback").hidden = !show;
  $("#tips").hidden = show;
}

function showVerdictPending(text) {
  state.feedbackSig = "";
  const v = $("#verdict");
  v.textContent = "";
  v.dataset.verdict = "pending";
  $("#check-pending").textContent = text;
  $("#check-pending").hidden = false;
  $("#check-progress").hidden = false;
  $("#findings").replaceChildren();
  $("#verdict-note").textContent = "";
}

// Fill the feedback card from the job's first photo.
function showFeedback(job) {
  const photo = job.photos && job.photos[0];
  if (!photo) return;
  showFeedbackBox(true);
  const preview = $("#preview");
  if (photo.preview && preview.dataset.server !== photo.preview) {
    preview.dataset.server = photo.preview;
    loadImage(preview, photo.preview).catch(() => { /* keep the local preview */ });
  }
  if (photo.state === "waiting") {
    showVerdictPending(job.state === "queued" ? "Waiting for the studio…" : "Checking your photo…");
    return;
  }
  // Polls repeat the same findings while rendering: rebuild the card only when they change.
  const sig = JSON.stringify([photo.state, photo.verdict, photo.error, photo.findings, job.state === "failed"]);
  if (sig === state.feedbackSig) return;
  state.feedbackSig = sig;
  $("#check-pending").hidden = true;
  $("#check-progress").hidden = true;
  const v = $("#verdict");
  if (photo.state === "failed" || (job.state === "failed" && state.phase !== "render")) {
    v.dataset.verdict = "failed";
    v.textContent = "This photo can't be used";
    $("#verdict-note").textContent = photo.error || job.error || "Please try another photo.";
  } else {
    const [cls, headline, advice] = VERDICT[photo.verdict] || ["usable", photo.verdict || "Checked", ""];
    v.dataset.verdict = cls;
    v.textContent = headline;
    $("#verdict-note").textContent = advice;
  }
  const items = (photo.findings || []).map((f) => {
    const li = document.createElement("li");
    li.className = "finding";
    li.dataset.severity = f.severity;
    const badge = document.createElement("span");
    badge.className = "sev";
    badge.textContent = SEVERITY[f.severity] || f.severity;
    const text = document.createElement("span");
    text.className = "finding-msg";
    text.textContent = f.message;
    li.append(badge, text);
    return li;
  });
  if (!items.length && v.dataset.verdict === "good") {
    const li = document.createElement("li");
    li.className = "finding";
    li.dataset.severity = "ok";
    li.textContent = "No problems found.";
    items.push(li);
  }
  $("#findings").replaceChildren(...items);
}

// ---------------------------------------------------------------- polling and job display

// Poll the job every POLL_MS until nothing more will change (checked/done/failed).
async function poll(id) {
  const gen = state.gen;
  let misses = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    if (gen !== state.gen) return;
    let job;
    try {
      job = await apiJson(`/api/jobs/${encodeURIComponent(id)}`);
      misses = 0;
    } catch (e) {
      if (gen !== state.gen) return;
      if (e.status === 404) {         // expired or deleted elsewhere
        forgetJob(false);
        resetResults();
        showFeedbackBox(false);
        showError(new Error("Your photo is no longer on the studio (it expired or was deleted). Please add it again."));
        setStatus("");
        return;
      }
      if (e.status === 401 || ++misses >= 5) { showError(e); return; }
      continue;                       // brief network hiccup: try again
    }
    if (gen !== state.gen) return;
    showJob(job);
    if (!isBusy(job)) return;
  }
}

// Is the studio still working on this job (for what the page is waiting for)?
function isBusy(job) {
  if (job.state === "done" || job.state === "failed") return false;
  if (state.phase !== "render") return job.state !== "checked";
  // After "Make my headshots" a job may still read "checked" until a worker takes the render;
  // once it was seen queued/rendering, "checked" again means the render is over.
  if (job.state === "checked") return !state.renderSeen;
  state.renderSeen = true;
  return true;
}

// Bring the whole page in line with a job object.
function showJob(job) {
  state.job = job;
  $("#delete").hidden = false;
  if (job.expires) {
    const when = new Date(job.expires);
    if (!isNaN(when)) {
      $("#expires").textContent = `These photos will be deleted automatically at ${when.toLocaleString([], {
        weekday: "short", hour: "2-digit", minute: "2-digit" })}.`;
      $("#expires").hidden = false;
    }
  }
  showFeedback(job);

  // Resumed after a reload: a queued/rendering job whose photos are checked is rendering.
  if (state.phase === "idle") {
    const checked = (job.photos || []).every((ph) => ph.state !== "waiting");
    state.phase = checked && ["queued", "rendering"].includes(job.state) ? "render" : "check";
    state.renderSeen = state.phase === "render";
  }
  const busy = isBusy(job);
  const rendering = state.phase === "render" && busy;

  const p = job.progress || { done: 0, total: 0 };
  const box = $("#progress-box");
  const bar = $("#progress");
  if (rendering) {
    box.hidden = false;
    $("#results-empty").hidden = true;
    if (p.total > 0 && job.state === "rendering" && state.renderSeen) {
      bar.max = p.total;
      bar.value = p.done;
      $("#progress-text").textContent = `${p.done} of ${p.total}`;
      setStatus(`Making your headshots: ${p.done} of ${p.total}`, "busy");
    } else {
      bar.removeAttribute("value");   // indeterminate while queued
      $("#progress-text").textContent = "Starting…";
      setStatus("Your headshots are queued; they will start in a moment.", "busy");
    }
  } else {
    box.hidden = true;
  }

  syncGallery(job.outputs || []);

  switch (rendering ? "rendering" : job.state) {
    case "rendering":
      setStep(3);
      break;
    case "queued":
    case "checking":
      setStatus(job.state === "queued" ? "Waiting for the studio…" : "Checking your photo…", "busy");
      setStep(1);
      break;
    case "checked":
      setStatus("Photo checked. Choose your looks, then make your headshots.");
      setStep(2);
      break;
    case "done": {
      const n = (job.outputs || []).length;
      setStatus(`Done: ${n} ${n === 1 ? "headshot is" : "headshots are"} ready to download.`, "ok");
      setStep(3);
      break;
    }
    case "failed":
      if (state.phase === "render") {
        const msg = job.error || "Making the headshots failed. Please try again.";
        setStatus(msg, "error");
        if ($("#alert").textContent !== msg) showError(new Error(msg));
      } else {
        setStatus(job.error || "Your photo could not be used. Please try another one.", "error");
      }
      break;
    default:
  }

  const dl = $("#download-all");
  dl.hidden = !(job.state === "done" && (job.outputs || []).length && job.download_all);
  if (!dl.hidden) dl.href = job.download_all;
  updateMake();
}

// Highlight the current step in the header's step list.
function setStep(n) {
  for (const li of document.querySelectorAll(".steps li")) {
    const s = Number(li.dataset.step);
    if (s === n) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
    li.classList.toggle("done", s < n);
  }
}

// ---------------------------------------------------------------- step 2: looks

function tile(kind, value, title, description, checked) {
  const label = document.createElement("label");
  label.className = "tile";
  if (description) label.title = description;  // the tile clamps it to a few lines
  const input = document.createElement("input");
  input.type = "checkbox";
  input.name = kind;
  input.value = value;
  input.checked = checked;
  input.className = "tile-input";
  const body = document.createElement("span");
  body.className = "tile-body";
  const visual = document.createElement("span");
  visual.className = "tile-visual";
  const name = document.createElement("span");
  name.className = "tile-name";
  name.textContent = title;
  const desc = document.createElement("span");
  desc.className = "tile-desc";
  desc.textContent = description || "";
  const mark = document.createElement("span");
  mark.className = "tile-check";
  mark.setAttribute("aria-hidden", "true");
  body.append(visual, mark, name, desc);
  label.append(input, body);
  return { label, visual };
}

function renderStyles(styles) {
  const box = $("#styles");
  box.querySelectorAll(".tile, .loading-text").forEach((el) => el.remove());
  // Pre-select the styles the server marks as default, if it does; else the first few.
  const marked = styles.some((s) => s.default === true);
  styles.forEach((s, i) => {
    const on = marked ? s.default === true : i < DEFAULT_STYLE_COUNT;
    const { label, visual } = tile("style", s.name, niceName(s.name), s.description, on);
    styleVisuals.set(s.name, visual);
    if (s.thumbnail) setThumbnail(visual, s); else textTile(visual, s.name);
    box.append(label);
  });
  if (styles.some((s) => !s.thumbnail)) refreshThumbnails(30);
}

const styleVisuals = new Map();

function setThumbnail(visual, s) {
  const img = document.createElement("img");
  img.alt = `${niceName(s.name)} style on a sample portrait`;
  img.loading = "lazy";
  img.addEventListener("error", () => textTile(visual, s.name));
  loadImage(img, s.thumbnail, true).catch(() => textTile(visual, s.name));
  visual.classList.remove("no-thumb");
  visual.replaceChildren(img);
}

// A freshly started studio renders the style thumbnails in the background: fill them in as they
// arrive (every 2 s, for up to a minute).
async function refreshThumbnails(triesLeft) {
  await new Promise((r) => setTimeout(r, 2000));
  let styles;
  try {
    styles = await apiJson("/api/styles");
  } catch (e) {
    return;  // (not worth an alert: the text tiles work)
  }
  for (const s of styles) {
    const visual = styleVisuals.get(s.name);
    if (s.thumbnail && visual && visual.classList.contains("no-thumb")) setThumbnail(visual, s);
  }
  if (triesLeft > 1 && styles.some((s) => !s.thumbnail)) refreshThumbnails(triesLeft - 1);
}

// No thumbnail (not rendered yet): a plain panel with the style's name.
function textTile(visual, name) {
  const span = document.createElement("span");
  span.className = "tile-text";
  span.textContent = niceName(name);
  visual.replaceChildren(span);
  visual.classList.add("no-thumb");
}

function renderPlatforms(platforms) {
  const box = $("#platforms");
  box.querySelectorAll(".tile, .loading-text").forEach((el) => el.remove());
  const defaultName = platforms.some((p) => p.name === DEFAULT_PLATFORM) ? DEFAULT_PLATFORM
    : platforms[0] && platforms[0].name;
  for (const p of platforms) {
    const { label, visual } = tile("platform", p.name, niceName(p.name), p.description, p.name === defaultName);
    // A small frame with the platform's aspect ratio, fitted in a 56 px box.
    const frame = document.createElement("span");
    frame.className = p.circle ? "frame circle" : "frame";
    const ratio = p.width / p.height;
    frame.style.width = `${Math.round(ratio >= 1 ? 56 : 56 * ratio)}px`;
    frame.style.height = `${Math.round(ratio >= 1 ? 56 / ratio : 56)}px`;
    const size = document.createElement("span");
    size.className = "frame-size";
    size.textContent = `${p.width} × ${p.height}`;
    visual.classList.add("platform-visual");
    visual.append(frame, size);
    box.append(label);
  }
}

function wireLooks() {
  $("#styles").addEventListener("change", updateMake);
  $("#platforms").addEventListener("change", updateMake);
}

const checkedValues = (name) =>
  [...document.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);

// Enable "Make my headshots" only when it can work, and say why when it can't.
function updateMake() {
  const styles = checkedValues("style");
  const platforms = checkedValues("platform");
  const job = state.job;
  let why = "";                       // why the button is disabled ("" = ready)
  if (!job) why = "Add a photo first.";
  else if (job.state === "failed" && state.phase !== "render") why = "Choose another photo first.";
  else if (state.phase === "render" && isBusy(job)) why = "Your headshots are being made.";
  else if (!["checked", "done", "failed"].includes(job.state)) why = "Wait for the photo check to finish.";
  else if (!styles.length) why = "Pick at least one style.";
  else if (!platforms.length) why = "Pick at least one platform.";
  const n = styles.length * platforms.length;
  $("#make").disabled = Boolean(why) || state.busy;
  $("#make-hint").textContent = why || `${n} ${n === 1 ? "headshot" : "headshots"} will be made.`;
}

async function makeHeadshots() {
  const job = state.job;
  if (!job || state.busy) return;
  clearError();
  const body = { styles: checkedValues("style"), platforms: checkedValues("platform"), format: "jpg" };
  setBusy(true);
  const gen = state.gen;
  try {
    const updated = await apiJson(`/api/jobs/${encodeURIComponent(job.id)}/render`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (gen !== state.gen) return;
    state.phase = "render";
    state.renderSeen = updated.state !== "checked";
    // Earlier headshots of this job stay listed in outputs (and in the ZIP): keep showing them.
    setStep(3);
    showJob(updated);
    // The button is now disabled, which drops keyboard focus: move it to the results instead.
    $("#h-results").focus({ preventScroll: true });
    scrollToView($("#step-results"));
    poll(updated.id);
  } catch (e) {
    showError(e);
  } finally {
    setBusy(false);
  }
}

// While a request is in flight the pickers ignore clicks (pickFiles checks state.busy); they are
// marked aria-disabled rather than disabled so that keyboard focus stays where it is.
function setBusy(busy) {
  state.busy = busy;
  for (const el of [$("#drop-zone"), $("#camera-button")]) el.setAttribute("aria-disabled", String(busy));
  updateMake();
}

// ---------------------------------------------------------------- step 3: gallery

// Add a figure for each new output (as soon as it appears), drop ones no longer listed.
function syncGallery(outputs) {
  const names = new Set(outputs.map((o) => o.name));
  for (const [name, shot] of state.shots) {
    if (!names.has(name)) { shot.figure.remove(); state.shots.delete(name); }
  }
  for (const o of outputs) {
    if (state.shots.has(o.name)) continue;
    const figure = buildShot(o);
    state.shots.set(o.name, { figure, output: o });
    $("#gallery").append(figure);
  }
  if (outputs.length) $("#results-empty").hidden = true;
}

function buildShot(o) {
  const figure = document.createElement("figure");
  figure.className = "shot";
  const desc = `${niceName(o.style)} style, ${niceName(o.platform)}`;
  const img = document.createElement("img");
  img.alt = `Headshot: ${desc}`;
  img.width = o.width;
  img.height = o.height;
  img.decoding = "async";
  figure.append(img);

  const cap = document.createElement("figcaption");
  const title = document.createElement("span");
  title.className = "shot-title";
  title.textContent = `${niceName(o.style)} · ${niceName(o.platform)}`;
  const meta = document.createElement("span");
  meta.className = "shot-meta";
  meta.textContent = `${o.width} × ${o.height}` + (o.bytes ? ` · ${Math.max(1, Math.round(o.bytes / 1024))} KB` : "");
  cap.append(title, meta);

  const actions = document.createElement("div");
  actions.className = "shot-actions";
  const compare = document.createElement("button");
  compare.type = "button";
  compare.className = "btn btn-secondary btn-small compare";
  compare.textContent = "Compare";
  compare.setAttribute("aria-label", `Compare before and after: ${desc}`);
  compare.addEventListener("click", () => openBeforeAfter(o));
  img.addEventListener("click", () => openBeforeAfter(o));  // mouse/touch shortcut; keyboard: the button
  const dl = document.createElement("a");
  dl.className = "btn btn-secondary btn-small download";
  dl.textContent = "Download";
  dl.setAttribute("aria-label", `Download ${desc} (${o.name})`);
  dl.download = o.name;
  dl.href = `${o.url}?download=1`;
  actions.append(compare, dl);
  figure.append(cap, actions);

  loadImage(img, o.url)
    .then((used) => { if (used && state.key) dl.href = used; })  // keyed: download the same blob
    .catch(showError);
  return figure;
}

function clearGallery() {
  $("#gallery").replaceChildren();
  state.shots.clear();
}

function onDownloadAll(ev) {
  const job = state.job;
  if (!state.key || !job) return;     // no key: the plain link works
  ev.preventDefault();
  downloadWithKey(job.download_all, `headshots-${job.id.slice(0, 8)}.zip`);
}

// ---------------------------------------------------------------- before / after

function wireBeforeAfter() {
  const dialog = $("#before-after");
  $("#ba-close").addEventListener("click", () => dialog.close());
  $("#ba-slider").addEventListener("input", updateSlider);
  // A click on the backdrop (outside the dialog box) closes it too.
  dialog.addEventListener("click", (ev) => { if (ev.target === dialog) dialog.close(); });

  // Dragging on the picture moves the divider too (the slider stays the keyboard control).
  const stage = $("#ba-stage");
  const follow = (ev) => {
    const r = stage.getBoundingClientRect();
    $("#ba-slider").value = Math.round(Math.min(1, Math.max(0, (ev.clientX - r.left) / r.width)) * 100);
    updateSlider();
  };
  stage.addEventListener("pointerdown", (ev) => { stage.setPointerCapture(ev.pointerId); follow(ev); });
  stage.addEventListener("pointermove", (ev) => { if (stage.hasPointerCapture(ev.pointerId)) follow(ev); });
}

// The before image sits on top of the after image; the slider clips it from the right.
function updateSlider() {
  const v = Number($("#ba-slider").value);
  $("#ba-before").style.clipPath = `inset(0 ${100 - v}% 0 0)`;
  $("#ba-divider").style.left = `${v}%`;
  $("#ba-slider").setAttribute("aria-valuetext", `${v}% original photo, ${100 - v}% headshot`);
}

async function openBeforeAfter(o) {
  const dialog = $("#before-after");
  const desc = `${niceName(o.style)} style, ${niceName(o.platform)}`;
  $("#ba-caption").textContent = `${desc}, ${o.width} × ${o.height}`;
  const stage = $("#ba-stage");
  const ratio = o.width / o.height;
  stage.style.aspectRatio = `${o.width} / ${o.height}`;
  // Fit the image in the dialog: at most the dialog's width and about 62% of the screen height.
  stage.style.width = `min(100%, calc(62vh * ${ratio.toFixed(4)}))`;
  const after = $("#ba-after");
  const before = $("#ba-before");
  after.alt = `After: headshot, ${desc}`;
  before.alt = "Before: your original photo in the same frame";
  after.removeAttribute("src");
  before.removeAttribute("src");
  $("#ba-slider").value = 50;
  updateSlider();
  dialog.showModal();
  $("#ba-slider").focus();
  try {
    await Promise.all([loadImage(after, o.url), loadImage(before, o.before)]);
  } catch (e) {
    showError(e);
  }
}

// ---------------------------------------------------------------- delete / reset

async function deletePhotos() {
  const job = state.job;
  if (!job) return;
  clearError();
  $("#delete").disabled = true;
  try {
    await apiJson(`/api/jobs/${encodeURIComponent(job.id)}`, { method: "DELETE" });
  } catch (e) {
    if (e.status !== 404) {           // 404: already gone, which is what was wanted
      showError(e);
      $("#delete").disabled = false;
      return;
    }
  }
  $("#delete").disabled = false;
  forgetJob(false);
  resetResults();
  showFeedbackBox(false);
  const notice = $("#notice");
  notice.textContent = "Your photos and headshots were deleted from the studio. You can start again with a new photo.";
  notice.hidden = false;
  setStatus("Your photos were deleted.", "ok");
  setStep(1);
  notice.focus();
  $("#step-photo").scrollIntoView({ block: "start" });
}

// Drop the current job from the page; with remote=true also delete it on the server (best effort).
function forgetJob(remote) {
  const job = state.job;
  state.gen++;
  state.job = null;
  state.phase = "idle";
  sessionStorage.removeItem(JOB_STORE);
  if (remote && job) {
    api(`/api/jobs/${encodeURIComponent(job.id)}`, { method: "DELETE" }).catch(() => { /* expires anyway */ });
  }
}

// Empty the feedback and the results, free blob URLs. Style/platform choices are kept.
function resetResults() {
  for (const url of state.blobs) URL.revokeObjectURL(url);
  state.blobs.clear();
  const preview = $("#preview");
  preview.removeAttribute("src");
  preview.hidden = true;
  delete preview.dataset.server;
  $("#findings").replaceChildren();
  $("#verdict-note").textContent = "";
  state.feedbackSig = "";
  clearGallery();
  $("#progress-box").hidden = true;
  $("#results-empty").hidden = false;
  $("#download-all").hidden = true;
  $("#delete").hidden = true;
  $("#expires").hidden = true;
  const dialog = $("#before-after");
  if (dialog.open) dialog.close();
  updateMake();
}

document.addEventListener("DOMContentLoaded", init);
