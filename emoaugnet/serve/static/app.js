// EmoAugNet page: upload a file or record from the microphone, POST it to /api/predict, draw the answer.
// Everything is served by this service (no CDN). Recordings are sent as MediaRecorder made them (WebM / Opus
// in Chromium and Firefox, MP4 / AAC in Safari): the service decodes them with FFmpeg (PyAV).
"use strict";

const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf"];
let classes = [];
const $ = (id) => document.getElementById(id);
const colour = (name) => COLOURS[Math.max(0, classes.indexOf(name)) % COLOURS.length];

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function loadHealth() {
  try {
    const response = await fetch("/api/health");
    const health = await response.json();
    classes = health.classes;
    $("model").textContent = `Model ${health.model} (${health.backend}); classes: ${classes.join(", ")}; ` +
      `at most ${health.limits.max_seconds} s and ${(health.limits.max_upload_bytes / 1048576).toFixed(0)} MiB.`;
    $("about").textContent = `${health.about} `;
    const link = document.createElement("a");
    link.href = "/card";
    link.textContent = health.card ? "Its model card." : "(No card.)";
    $("about").append(link);
    $("calibration").textContent = health.calibration.said.charAt(0).toUpperCase() + health.calibration.said.slice(1) + ".";
    drawLegend();
  } catch (err) {
    $("model").textContent = `The service does not answer (${err}).`;
  }
}

async function classify(blob, name) {
  setStatus(`Classifying ${name}…`);
  $("result").hidden = true;
  const form = new FormData();
  form.append("file", blob, name);
  let response, body;
  try {
    response = await fetch("/api/predict?timeline=1", { method: "POST", body: form });
    body = await response.json();
  } catch (err) {
    setStatus(`The request failed: ${err}`, true);
    return;
  }
  if (!response.ok) {
    setStatus(`${name}: ${body.error} (HTTP ${response.status})`, true);
    return;
  }
  setStatus("");
  show(body);
}

const percent = (p) => `${(100 * p).toFixed(0)} %`;
// "0:07.5" (m:ss.s), or "12.5 s" under a minute when short
function clock(seconds, span) {
  if (span < 60) return `${Number(seconds.toFixed(1))} s`;
  const m = Math.floor(seconds / 60), s = seconds - 60 * m;
  return `${m}:${s < 10 ? "0" : ""}${span < 600 ? s.toFixed(1) : Math.round(s)}`;
}
// every class's probability, largest first, for hover text
function ranked(probs) {
  return Object.entries(probs || {}).sort((a, b) => b[1] - a[1]).map(([c, p]) => `${c} ${p.toFixed(3)}`).join(", ");
}

function show(result) {
  $("name").textContent = result.path;
  const answer = result.answer || result.emotion || result.result;
  $("emotion").textContent = answer.charAt(0).toUpperCase() + answer.slice(1);
  $("emotion").className = result.uncertain ? "uncertain" : "";
  const doubt = result.uncertain ?
    `Not sure: ${result.candidates.map((c) => `${c.emotion} (${c.probability.toFixed(3)})`).join(" or ")} are too close or too low to choose. ` : "";
  $("summary").textContent = doubt + `${result.duration_s} s, ${result.windows.length} window(s): ${result.combined}` +
    (result.warning ? `. ${result.warning}` : "");
  const bars = $("bars");
  bars.replaceChildren();
  const probs = result.probabilities || {};
  for (const name of classes) {
    const p = probs[name];
    const row = document.createElement("div");
    const candidate = (result.candidates || []).some((c) => c.emotion === name);
    row.className = "bar" + (name === result.emotion || candidate ? " top" : "");
    row.dataset.emotion = name;
    const label = document.createElement("span");
    label.className = "label";
    label.textContent = name;
    const track = document.createElement("div");
    track.className = "track";
    const fill = document.createElement("div");
    fill.className = "fill";
    fill.style.width = `${p === undefined ? 0 : (100 * p).toFixed(1)}%`;
    fill.style.background = colour(name);
    track.append(fill);
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = p === undefined ? "–" : p.toFixed(3);
    row.append(label, track, value);
    bars.append(row);
  }
  $("result").hidden = false;          // laid out first: the segment names are fitted to their widths
  drawTimeline(result);
}

// Seconds between time ticks: the first step giving at most 12 ticks (as emoaugnet/inference/timeline.py).
const TICK_STEPS = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
const tickStep = (span) => TICK_STEPS.find((s) => span / s <= 12) || TICK_STEPS[TICK_STEPS.length - 1];

function place(element, start, end, span) {
  element.style.left = `${(100 * start / span).toFixed(3)}%`;
  element.style.width = `${(100 * Math.max(end - start, 0) / span).toFixed(3)}%`;
}

function drawTimeline(result) {
  const windows = result.windows || [], segments = result.segments || [];
  $("timeline-section").hidden = windows.length < 2;
  const line = $("timeline"), strip = $("windows"), axis = $("axis");
  [line, strip, axis].forEach((e) => e.replaceChildren());
  if (windows.length < 2) return;
  const span = Math.max(result.duration_s, ...windows.map((w) => w.end_s));
  // Segments: a block each, named in full when the name fits, else by its first three letters (not sure:
  // "sad/fea?", "sad?", "?"), else only by colour (legend) and hover text; never clipped.
  for (const seg of segments) {
    const cell = document.createElement("div");
    cell.className = `segment ${seg.label === "silence" ? "silent" : seg.label === "uncertain" ? "uncertain" : ""}`;
    cell.dataset.label = seg.label;
    place(cell, seg.start_s, seg.end_s, span);
    if (seg.emotion) cell.style.background = colour(seg.emotion);
    const words = seg.label === "uncertain" ? `not sure: ${seg.candidates.map((c) => c.emotion).join(" or ")}` :
      seg.label;
    cell.title = `${clock(seg.start_s, span)}–${clock(seg.end_s, span)}: ${words}` +
      (seg.probability !== null ? ` (mean ${seg.probability.toFixed(3)})` : "") +
      (seg.probabilities ? `\n${ranked(seg.probabilities)}` : "");
    const text = document.createElement("span");
    cell.append(text);
    line.append(cell);
    const lead = (seg.candidates || []).map((c) => c.emotion.slice(0, 3));
    const names = seg.label !== "uncertain" ? [seg.label, seg.label.slice(0, 3), ""] :
      lead.length > 1 ? [words, `${lead[0]}/${lead[1]}?`, `${lead[0]}?`, "?", ""] : [words, "not sure", "?", ""];
    for (const candidate of names) {
      text.textContent = candidate;
      if (text.scrollWidth <= cell.clientWidth - 4) break;
    }
  }
  // Windows: a thin strip, each window from its start to the next one's, shaded by its top probability;
  // hover for its probabilities.
  windows.forEach((w, i) => {
    const until = i + 1 < windows.length ? windows[i + 1].start_s : w.end_s;
    const cell = document.createElement("div");
    cell.className = "window" + (w.silent ? " silent" : "");
    place(cell, w.start_s, until, span);
    if (!w.silent) {
      cell.style.background = colour(w.emotion);
      cell.style.opacity = (0.25 + 0.75 * w.probabilities[w.emotion]).toFixed(2);
    }
    cell.title = `window ${clock(w.start_s, span)}–${clock(w.end_s, span)}: ` +
      (w.silent ? "silence" : ranked(w.probabilities));
    strip.append(cell);
  });
  const step = tickStep(span);
  for (let t = 0; t <= span + 1e-9; t += step) {
    const tick = document.createElement("span");
    tick.className = "tick" + (t === 0 ? " start" : t > 0.96 * span ? " end" : "");
    tick.style.left = `${(100 * t / span).toFixed(3)}%`;
    tick.textContent = clock(t, span);
    axis.append(tick);
  }
}

function drawLegend() {
  const legend = $("legend");
  legend.replaceChildren();
  for (const [name, cls] of [...classes.map((c) => [c, ""]), ["not sure", "uncertain"], ["silence", "silent"]]) {
    const item = document.createElement("span");
    const swatch = document.createElement("span");
    swatch.className = `swatch ${cls}`;
    if (!cls) swatch.style.background = colour(name);
    item.append(swatch, name);
    legend.append(item);
  }
}

// --- Microphone: MediaRecorder; the recording is sent as recorded ------------------------------------

let recorder = null;

// "audio/webm;codecs=opus" -> "webm": the file name's extension, by which the service knows the container
function extension(mimeType) {
  const type = (mimeType || "").split(";")[0].trim();
  return { "audio/webm": "webm", "video/webm": "webm", "audio/ogg": "ogg", "audio/mp4": "m4a",
           "video/mp4": "m4a", "audio/mpeg": "mp3", "audio/wav": "wav" }[type] || "webm";
}

async function startRecording() {
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (err) {
    setStatus(`No microphone: ${err.message || err}`, true);
    return;
  }
  const chunks = [];
  recorder = new MediaRecorder(stream);
  recorder.ondataavailable = (event) => { if (event.data.size) chunks.push(event.data); };
  recorder.onstop = async () => {
    stream.getTracks().forEach((t) => t.stop());
    $("record").textContent = "Record from the microphone";
    $("record").classList.remove("recording");
    const recorded = new Blob(chunks, { type: recorder.mimeType });
    await classify(recorded, `recording.${extension(recorder.mimeType)}`);
    recorder = null;
  };
  recorder.start();
  $("record").textContent = "Stop and classify";
  $("record").classList.add("recording");
  setStatus("Recording… speak, then press Stop.");
}

$("record").addEventListener("click", () => {
  if (recorder) recorder.stop(); else startRecording();
});
$("file").addEventListener("change", (event) => {
  const file = event.target.files[0];
  if (file) classify(file, file.name);
  event.target.value = "";
});
loadHealth();
