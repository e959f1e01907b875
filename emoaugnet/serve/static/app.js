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

function show(result) {
  $("name").textContent = result.path;
  $("emotion").textContent = result.emotion || result.result;
  $("summary").textContent = `${result.duration_s} s, ${result.windows.length} window(s): ${result.combined}` +
    (result.warning ? `. ${result.warning}` : "");
  const bars = $("bars");
  bars.replaceChildren();
  const probs = result.probabilities || {};
  for (const name of classes) {
    const p = probs[name];
    const row = document.createElement("div");
    row.className = "bar" + (name === result.emotion ? " top" : "");
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
  drawTimeline(result);
  $("result").hidden = false;
}

function drawTimeline(result) {
  const windows = result.windows || [];
  $("timeline-section").hidden = windows.length < 2;
  const line = $("timeline");
  line.replaceChildren();
  if (windows.length < 2) return;
  // Windows overlap (hop < window): each is drawn from its start to the next one's start.
  const end = Math.max(...windows.map((w) => w.end_s));
  windows.forEach((w, i) => {
    const until = i + 1 < windows.length ? windows[i + 1].start_s : w.end_s;
    const cell = document.createElement("div");
    cell.className = "window" + (w.silent ? " silent" : "");
    cell.style.flex = `${Math.max(until - w.start_s, 0.01)} 0 0`;
    const label = w.silent ? "silence" : w.emotion;
    if (!w.silent) cell.style.background = colour(w.emotion);
    cell.textContent = label;
    cell.title = `${w.start_s}–${w.end_s} s: ${label}` +
      (w.probabilities ? ` (${(100 * w.probabilities[w.emotion]).toFixed(0)} %)` : "");
    line.append(cell);
  });
  $("axis").replaceChildren(...[`${windows[0].start_s} s`, `${end.toFixed(1)} s`].map((t) => {
    const span = document.createElement("span");
    span.textContent = t;
    return span;
  }));
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
