// tagface studio: plain JavaScript over the studio's JSON API (studio/app.py; docs/studio.md).
// The URL holds the state (model, model2, tags, seed, n, cols, scale, truncation, grade): a link reproduces
// the picture, and the page draws a grid as soon as it opens.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { models: [], vocab: null, results: [], parseTimer: null, busy: false };

async function api(path, params) {
  const query = params ? "?" + new URLSearchParams(params).toString() : "";
  const response = await fetch(path + query);
  let data;
  try { data = await response.json(); } catch (e) { data = { error: `HTTP ${response.status}` }; }
  if (!response.ok) {
    const err = new Error(data.error || `HTTP ${response.status}`);
    err.param = data.param;
    throw err;
  }
  return data;
}

function option(value, text, selected) {
  const o = document.createElement("option");
  o.value = value; o.textContent = text; o.selected = !!selected;
  return o;
}

function activeModels() {
  const ids = [$("model").value];
  if ($("compare").checked && $("model2").value) ids.push($("model2").value);
  return ids;
}

function hasChecker(id) {
  const m = state.models.find((x) => x.id === id);
  return !!(m && m.checker);
}

function modelLabel(id) {
  const m = state.models.find((x) => x.id === id);
  return m ? m.label : id;
}

// ------------------------------------------------------------ pickers <-> text
async function loadVocab(model) {
  state.vocab = await api("/api/vocab", { model });
  const v = state.vocab;
  for (const group of ["hair", "eyes"]) {
    const select = $(group);
    select.replaceChildren(option("", `any (drawn per face)`));
    for (const value of v.groups[group] || []) select.append(option(value, value));
    select.disabled = !v.groups[group];
  }
  const others = $("others");
  others.replaceChildren();
  for (const tag of v.other_tags) {
    const label = document.createElement("label");
    label.className = "check";
    const box = document.createElement("input");
    box.type = "checkbox"; box.value = tag; box.className = "other-tag";
    box.addEventListener("change", pickersChanged);
    label.append(box, tag);
    others.append(label);
  }
  // a sweep button per other tag: the same faces without it and with it
  const sweeps = $("sweep-others");
  sweeps.replaceChildren();
  for (const tag of v.other_tags) {
    const button = document.createElement("button");
    button.type = "button"; button.className = "sweep-tag"; button.dataset.tag = tag;
    button.textContent = `${tag} off/on`;
    button.title = `same noise per row: a column without ${tag}, one with it`;
    button.addEventListener("click", () => sweep(tag));
    sweeps.append(button);
  }
  gradeNote();
}

// The grade box stays usable: a model without a checker is drawn ungraded, with the hint beside the box.
function gradeNote() {
  const missing = activeModels().filter((id) => !hasChecker(id));
  $("grade-note").textContent = $("grade").checked && missing.length
    ? `not graded: ${missing.join(", ")} (no tag checker; python export.py RUN --checker DIR adds one)` : "";
}

function firstTags() {
  const g = state.vocab.groups;
  const pick = (group, wanted) => (g[group] || []).includes(wanted) ? wanted : (g[group] || [])[0];
  const parts = [];
  if (g.hair) parts.push(`${pick("hair", "blue")} hair`);
  if (g.eyes) parts.push(`${pick("eyes", "red")} eyes`);
  return parts.join(" ");
}

function composeTags() {
  const parts = [];
  if ($("hair").value) parts.push(`${$("hair").value} hair`);
  if ($("eyes").value) parts.push(`${$("eyes").value} eyes`);
  for (const box of document.querySelectorAll(".other-tag")) if (box.checked) parts.push(box.value);
  return parts.join(" ");
}

function pickersChanged() {
  $("tags").value = composeTags();
  $("tags-error").textContent = "";
}

async function checkTags() {
  const text = $("tags").value.trim();
  if (!text) { $("tags-error").textContent = ""; return true; }
  try {
    const parsed = await api("/api/parse", { model: $("model").value, tags: text });
    $("hair").value = parsed.values.hair || "";
    $("eyes").value = parsed.values.eyes || "";
    for (const box of document.querySelectorAll(".other-tag")) box.checked = parsed.extras.includes(box.value);
    $("tags-error").textContent = "";
    return true;
  } catch (err) {
    $("tags-error").textContent = err.message;
    return false;
  }
}

function tagsTyped() {
  clearTimeout(state.parseTimer);
  state.parseTimer = setTimeout(checkTags, 250);
}

// ------------------------------------------------------------ URL state
function gridParams() {
  return {
    tags: $("tags").value.trim(), seed: $("seed").value.trim() || "0", n: $("n").value.trim() || "25",
    cols: $("cols").value.trim() || "5", scale: $("scale").value, grade: $("grade").checked ? "1" : "0",
    truncation: $("truncation").value.trim() || "1",
  };
}

function saveUrl() {
  const p = gridParams();
  const q = new URLSearchParams({ model: $("model").value });
  if ($("compare").checked && $("model2").value) q.set("model2", $("model2").value);
  for (const key of ["tags", "seed", "n", "cols", "scale"]) q.set(key, p[key]);
  if (Number(p.truncation) !== 1) q.set("truncation", p.truncation);
  if (p.grade === "1") q.set("grade", "1");
  history.replaceState(null, "", "?" + q.toString());
}

// ------------------------------------------------------------ panes
function pane(i) {
  let el = $(`pane-${i}`);
  if (!el) {
    el = $("pane-template").content.firstElementChild.cloneNode(true);
    el.id = `pane-${i}`;
    el.querySelector("img.grid").id = `grid-${i}`;
    el.querySelector(".accuracy").id = `accuracy-${i}`;
    el.querySelector(".baseline").id = `baseline-${i}`;
    el.querySelector(".download").id = `download-${i}`;
    const img = el.querySelector("img.grid");
    img.addEventListener("mousemove", (e) => { img.title = cellInfo(i, e) || ""; });
    img.addEventListener("click", (e) => downloadFace(i, e));
    $("results").append(el);
  }
  return el;
}

function cellAt(i, event) {
  const data = state.results[i];
  if (!data) return null;
  const img = event.currentTarget;
  const x = event.offsetX * img.naturalWidth / img.clientWidth;
  const y = event.offsetY * img.naturalHeight / img.clientHeight;
  const col = Math.floor((x - data.pad) / (data.cell + data.pad));
  const row = Math.floor((y - data.pad) / (data.cell + data.pad));
  if (col < 0 || row < 0 || col >= data.cols) return null;
  const index = row * data.cols + col;
  return index < data.n ? index : null;
}

function cellInfo(i, event) {
  const index = cellAt(i, event);
  if (index === null) return null;
  const data = state.results[i];
  let text = `face ${index + 1}: ${data.cells[index]}`;
  if (data.grade) {
    text += " — " + data.grade.groups.map((g, j) => `${g} ${data.grade.marks[index][j] ? "ok" : "WRONG"}`).join(", ");
  }
  return text + " (click to download)";
}

function downloadFace(i, event) {
  const index = cellAt(i, event);
  if (index === null) return;
  const data = state.results[i];
  const a = document.createElement("a");
  a.href = "/api/face.png?" + new URLSearchParams({
    model: data.model, tags: data.request.tags, seed: data.request.seed, n: data.request.n,
    scale: data.request.scale, truncation: data.request.truncation, i: index,
  });
  a.download = "";
  document.body.append(a); a.click(); a.remove();
}

function showGrid(i, model, data, request) {
  const el = pane(i);
  el.querySelector(".model-label").textContent = modelLabel(model);
  el.querySelector(".pane-error").textContent = "";
  data.request = request;
  state.results[i] = data;
  const img = el.querySelector("img.grid");
  img.width = data.width; img.height = data.height;
  img.src = data.image;
  img.dataset.seed = data.seed;
  const acc = el.querySelector(".accuracy");
  acc.replaceChildren();
  if (data.grade) {
    acc.append("tag accuracy: ");
    data.grade.groups.forEach((g, j) => {
      const value = data.grade.accuracy[g];
      const s = document.createElement("span");
      s.className = value >= 0.8 ? "ok" : "bad";
      s.textContent = `${g} ${value.toFixed(2)}`;
      if (j) acc.append(", ");
      acc.append(s);
    });
  }
  const base = el.querySelector(".baseline");
  base.replaceChildren();
  if (data.baseline) {
    const s = document.createElement("span");
    s.className = data.baseline.passed ? "ok" : "bad";
    s.textContent = `${data.baseline.faces}/${data.baseline.of} faces (${data.baseline.passed ? "pass" : "fail"})`;
    base.append("course baseline: ", s);
  } else if (data.grade && state.vocab && !state.vocab.baseline && data.n === 25 && data.cols === 5) {
    base.textContent = "course baseline: not installed (evaluate.baseline)";
  }
  const link = el.querySelector(".download");
  link.href = "/api/grid.png?" + new URLSearchParams({ model, ...request });
  link.download = data.filename;
  link.textContent = `download ${data.filename}`;
}

function showPaneError(i, model, message) {
  const el = pane(i);
  el.querySelector(".model-label").textContent = modelLabel(model);
  el.querySelector(".pane-error").textContent = message;
  el.querySelector("img.grid").removeAttribute("src");
  el.querySelector(".accuracy").replaceChildren();
  el.querySelector(".baseline").replaceChildren();
  el.querySelector(".download").removeAttribute("href");
  state.results[i] = null;
}

async function generate() {
  if (!$("tags").value.trim()) $("tags").value = composeTags();
  const request = gridParams();
  if (!request.tags) {
    $("tags-error").textContent = "choose a hair or eye colour, or type tags such as \"blue hair red eyes\"";
    return;
  }
  saveUrl();
  const models = activeModels();
  for (let i = models.length; $(`pane-${i}`); i++) { $(`pane-${i}`).remove(); state.results[i] = null; }
  models.forEach((model, i) => { pane(i).querySelector(".model-label").textContent = modelLabel(model); });
  gradeNote();
  $("generate").disabled = true;
  $("status").textContent = "drawing…";
  const started = performance.now();
  const times = models.map(() => null);  // in the panes' order (the link's), not the answers'
  const ticket = state.ticket = (state.ticket || 0) + 1;  // only the newest request's answers are shown
  await Promise.all(models.map(async (model, i) => {
    const asked = { ...request, grade: request.grade === "1" && hasChecker(model) ? "1" : "0" };
    try {
      const data = await api("/api/grid", { model, ...asked });
      if (ticket !== state.ticket) return;
      showGrid(i, model, data, asked);
      times[i] = data.ms;
      if (i === 0) $("tags-error").textContent = "";
    } catch (err) {
      if (ticket !== state.ticket) return;
      if (i === 0 && err.param === "tags") $("tags-error").textContent = err.message;
      showPaneError(i, model, err.message);
    }
  }));
  if (ticket !== state.ticket) return;  // a newer request owns the panes and the status line
  $("generate").disabled = false;
  const wall = Math.round(performance.now() - started);
  const served = times.filter((t) => t !== null);
  $("status").textContent = served.length
    ? `${request.n} faces, seed ${request.seed}: ${wall} ms (server ${served.map((t) => Math.round(t)).join(" + ")} ms)` : "";
  document.body.dataset.generated = String(Number(document.body.dataset.generated || 0) + 1);
}

// ------------------------------------------------------------ sweeps and interpolation
function addNote(fig, text, className = "colnames") {
  const note = document.createElement("div");
  note.className = className; note.textContent = text;
  fig.append(note);
}

function addDownload(fig, href, filename) {
  const a = document.createElement("a");
  a.href = href; a.download = filename; a.textContent = `download ${filename}`;
  const links = document.createElement("div");
  links.className = "links"; links.append(a);
  fig.append(links);
}

function strip(container, model, title, data, extra) {
  const fig = document.createElement("figure");
  const cap = document.createElement("figcaption");
  cap.textContent = `${model} · ${title}`;
  const close = document.createElement("button");
  close.type = "button"; close.className = "close"; close.textContent = "×"; close.title = "remove";
  close.addEventListener("click", () => fig.remove());
  cap.append(" ", close);
  const img = document.createElement("img");
  img.src = data.image; img.width = data.width; img.height = data.height; img.alt = title;
  fig.append(cap, img);
  if (extra) addNote(fig, extra);
  addDownload(fig, data.image, data.filename);
  container.prepend(fig);  // several stay on the page, the newest first
  return fig;
}

function errorBox(container, model, message) {
  const div = document.createElement("div");
  div.className = "error"; div.textContent = `${model}: ${message}`;
  container.prepend(div);
}

async function sweep(group) {
  const box = $("sweeps");
  const tags = $("tags").value.trim();
  const truncation = $("truncation").value.trim() || "1";
  for (const model of activeModels().reverse()) {  // prepended: the first model ends on top
    try {
      const data = await api("/api/sweep", {
        model, group, tags, rows: $("rows").value, seed: $("seed").value || "0", scale: $("scale").value,
        truncation,
      });
      strip(box, model, `${group} sweep${tags ? " with " + tags : ""}, seed ${$("seed").value || "0"}`, data);
    } catch (err) { errorBox(box, model, err.message); }
  }
}

async function interpolate() {
  const box = $("strips");
  for (const model of activeModels().reverse()) {
    try {
      const data = await api("/api/interpolate", {
        model, a: $("interp-a").value, b: $("interp-b").value, steps: $("steps").value,
        seed: $("seed").value || "0", scale: $("scale").value, tags: $("tags").value.trim(),
        truncation: $("truncation").value.trim() || "1",
      });
      strip(box, model, data.label, data);
    } catch (err) { errorBox(box, model, err.message); }
  }
}

// ------------------------------------------------------------ recolour a face you bring
function pickFace(file) {
  state.face = file || null;
  $("edit-error").textContent = "";
  $("edit-status").textContent = file ? `${file.name} (${Math.ceil(file.size / 1024)} KiB)` : "";
  if (file) recolour();
}

function picture(src, alt, id) {
  const img = document.createElement("img");
  img.src = src; img.alt = alt; img.id = id;
  return img;
}

async function recolour() {
  if (!state.face) { $("edit-error").textContent = "drop or pick an image of a face first"; return; }
  const params = { model: $("model").value, tags: $("edit-tags").value.trim(), seed: $("seed").value || "0",
                   scale: $("scale").value };
  if ($("edit-from").value.trim()) params.from = $("edit-from").value.trim();
  $("edit-error").textContent = "";
  $("edit-status").textContent = "finding the face in the generator (the first upload starts TensorFlow)...";
  $("recolour").disabled = true;
  try {
    const response = await fetch("/api/edit?" + new URLSearchParams(params).toString(), {
      method: "POST", body: state.face, headers: { "Content-Type": state.face.type || "application/octet-stream" },
    });
    let data;
    try { data = await response.json(); } catch (e) { data = { error: `HTTP ${response.status}` }; }
    if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
    const box = $("edits");
    box.replaceChildren();
    const fig = document.createElement("figure");
    const cap = document.createElement("figcaption");
    cap.id = "edit-caption";
    cap.textContent = `${state.face.name}: ${data.source} (${data.from === "text" ? "given" : "read by the checker"})`
      + ` -> ${data.tags}`;
    fig.append(cap, picture(data.original, "the face", "edit-original"), " ",
               picture(data.reconstruction, "its reconstruction", "edit-reconstruction"), " ",
               picture(data.edit, data.tags, "edit-image"));
    addNote(fig, "original · reconstruction · edit");
    for (const warning of data.warnings) addNote(fig, `warning: ${warning}`, "warning");
    addDownload(fig, data.edit, data.filename);
    box.append(fig);
    for (const [group, sweepData] of Object.entries(data.sweeps)) {
      const s = document.createElement("figure");
      const c = document.createElement("figcaption");
      c.textContent = `${group} sweep of the face`;
      const names = document.createElement("div");
      names.className = "colnames"; names.textContent = `columns: ${sweepData.columns.join(", ")}`;
      s.append(c, picture(sweepData.image, `${group} sweep`, `edit-sweep-${group}`), names);
      box.append(s);
    }
    $("edit-status").textContent = `${state.face.name}: ${Math.round(data.ms)} ms`;
  } catch (err) {
    $("edit-error").textContent = err.message;
    $("edit-status").textContent = "";
  } finally {
    $("recolour").disabled = false;
  }
}

// ------------------------------------------------------------ start
async function start() {
  const url = new URLSearchParams(location.search);
  const listing = await api("/api/models");
  state.models = listing.models;
  for (const select of [$("model"), $("model2")]) {
    select.replaceChildren(...state.models.map((m) => option(m.id, m.label)));
  }
  const known = (id) => state.models.some((m) => m.id === id);
  $("model").value = known(url.get("model")) ? url.get("model") : listing.default;
  const second = state.models.find((m) => m.id !== $("model").value);
  $("model2").value = known(url.get("model2")) ? url.get("model2") : (second ? second.id : $("model").value);
  $("compare").checked = known(url.get("model2"));
  $("model2").disabled = !$("compare").checked;
  for (const key of ["seed", "n", "cols", "truncation"]) if (url.has(key)) $(key).value = url.get(key);
  if (url.has("scale")) $("scale").value = url.get("scale");
  $("grade").checked = url.get("grade") === "1";
  await loadVocab($("model").value);
  // a grid as soon as the page opens: the link's tags, else a first pair of the model's colours
  $("tags").value = url.has("tags") ? url.get("tags") : firstTags();
  if (await checkTags()) await generate();

  $("model").addEventListener("change", async () => {
    await loadVocab($("model").value);
    await checkTags();
    if (state.results.some(Boolean)) generate();
  });
  $("compare").addEventListener("change", () => {
    $("model2").disabled = !$("compare").checked;
    gradeNote();
    if (state.results.some(Boolean)) generate();
  });
  $("model2").addEventListener("change", () => { if (state.results.some(Boolean)) generate(); });
  $("hair").addEventListener("change", pickersChanged);
  $("eyes").addEventListener("change", pickersChanged);
  $("tags").addEventListener("input", tagsTyped);
  $("tags").addEventListener("keydown", (e) => { if (e.key === "Enter") generate(); });
  $("seed").addEventListener("keydown", (e) => { if (e.key === "Enter") generate(); });
  $("new-seed").addEventListener("click", () => {
    $("seed").value = String(Math.floor(Math.random() * 2147483647));
    generate();
  });
  $("grade").addEventListener("change", () => { gradeNote(); if (state.results.some(Boolean)) generate(); });
  $("truncation").addEventListener("change", () => { if (state.results.some(Boolean)) generate(); });  // Enter too
  $("generate").addEventListener("click", generate);
  $("sweep-hair").addEventListener("click", () => sweep("hair"));
  $("sweep-eyes").addEventListener("click", () => sweep("eyes"));
  $("interpolate").addEventListener("click", interpolate);
  $("face-file").addEventListener("change", (e) => pickFace(e.target.files[0]));
  $("recolour").addEventListener("click", recolour);
  $("edit-tags").addEventListener("keydown", (e) => { if (e.key === "Enter") recolour(); });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault(); drop.classList.remove("over");
    if (e.dataTransfer.files.length) pickFace(e.dataTransfer.files[0]);
  });
  document.body.dataset.ready = "1";
}

start().catch((err) => { $("status").textContent = `cannot start: ${err.message}`; });
