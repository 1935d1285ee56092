// numnet playground: the page. It draws what the server streams; numnet does the training.
"use strict";

const STRINGS = window.NUMNET_STRINGS;
const SESSION_KEY = "numnet-playground-session";
const LEARNING_RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 100];
const STRENGTHS = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const DROPOUTS = [0, 0.1, 0.2, 0.3, 0.5];
const NEG = [245, 147, 34], POS = [8, 119, 189], MID = [232, 234, 235];

const page = {
  lang: "en", config: null, session: null, settings: null, setup: null, frame: null,
  trainLoss: [], testLoss: [], generation: null, socket: null, retry: 0, selected: null,
};

const $ = (id) => document.getElementById(id);
const t = (key) => (STRINGS[page.lang] && STRINGS[page.lang][key]) ?? STRINGS.en[key] ?? key;

// --------------------------------------------------------------------------------- text

function applyLanguage() {
  document.documentElement.lang = page.lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = t(el.dataset.i18nTitle); });
  $("lang").value = page.lang;
  if (page.config) buildChoices();
  if (page.settings) showSettings();
  updateRunButton();
}

function fill(select, values, label) {
  const current = select.value;
  select.innerHTML = "";
  for (const value of values) {
    const option = document.createElement("option");
    option.value = String(value);
    option.textContent = label(value);
    select.appendChild(option);
  }
  if (current) select.value = current;
}

function buildChoices() {
  const c = page.config;
  fill($("learning_rate"), LEARNING_RATES, String);
  fill($("activation"), c.activations, (v) => t("activations")[v]);
  fill($("optimizer"), c.optimizers, (v) => t("optimizers")[v]);
  fill($("regularization"), c.regularizations, (v) => t("regularizations")[v]);
  fill($("strength"), STRENGTHS, String);
  fill($("dropout"), DROPOUTS, String);
  const box = $("datasets");
  box.innerHTML = "";
  for (const name of c.datasets) {
    if (name === "csv") continue;
    const button = document.createElement("button");
    button.className = "dataset";
    button.dataset.name = name;
    button.textContent = t("datasets")[name];
    button.addEventListener("click", () => change({dataset: name}));
    box.appendChild(button);
  }
}

// ------------------------------------------------------------------------------ server

async function api(method, path, body, raw) {
  const options = {method, headers: {}};
  if (body !== undefined) {
    options.body = raw ? body : JSON.stringify(body);
    options.headers["Content-Type"] = raw ? "text/csv" : "application/json";
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch (error) {
    showBanner(t("server_gone"));
    throw error;
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.error || response.statusText);
    error.status = response.status;
    throw error;
  }
  return data;
}

const sessionPath = (suffix = "") => `/api/sessions/${page.session}${suffix}`;

async function openSession() {
  const known = sessionStorage.getItem(SESSION_KEY);
  if (known) {
    try {
      page.session = known;
      adopt(await api("GET", sessionPath()));
      return;
    } catch (error) {
      if (error.status !== 404) throw error;
    }
  }
  const status = await api("POST", "/api/sessions", {});
  page.session = status.id;
  sessionStorage.setItem(SESSION_KEY, status.id);
  adopt(status);
}

// The run's state comes from the latest message of the session's clock: a command's HTTP reply
// (its state read before the run went on) can arrive after a newer frame on the socket.
function newer(message) {
  if (message.seq === undefined || message.seq < (page.seq || 0)) return false;
  page.seq = message.seq;
  return true;
}

function adopt(status) {
  if (status.id !== page.seqSession) { page.seqSession = status.id; page.seq = 0; }
  page.settings = status.settings;
  if (newer(status)) page.state = status.state;
  $("speed").value = String(status.epochs_per_second);
  $("upload-name").textContent = status.upload || "";
  showSettings();
  updateRunButton();
}

async function command(action) {
  try {
    adopt(await api("POST", sessionPath(`/${action}`)));
  } catch (error) { handleError(error); }
}

async function change(update) {
  const settings = Object.assign({}, page.settings, update);
  try {
    adopt(await api("PUT", sessionPath("/settings"), settings));
    hideBanner();
    clearTrace();
  } catch (error) { handleError(error); showSettings(); }
}

function handleError(error) {
  if (error.status === 404) { sessionStorage.removeItem(SESSION_KEY); reconnect(true); return; }
  showBanner(error.message);
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}${sessionPath("/stream")}`);
  page.socket = socket;
  socket.onopen = () => { page.retry = 0; if (page.bannerKind === "connection") hideBanner(); };
  socket.onmessage = (event) => receive(JSON.parse(event.data));
  socket.onclose = () => {
    if (page.socket !== socket) return;
    page.retry += 1;
    showBanner(t(page.retry > 5 ? "server_gone" : "reconnecting"), "connection");
    setTimeout(() => reconnect(false), Math.min(500 * page.retry, 5000));
  };
}

async function reconnect(fresh) {
  if (page.socket) { const old = page.socket; page.socket = null; old.close(); }
  try {
    if (fresh) sessionStorage.removeItem(SESSION_KEY);
    await openSession();
    connect();
  } catch (error) {
    page.retry += 1;
    showBanner(t("server_gone"), "connection");
    setTimeout(() => reconnect(false), Math.min(500 * page.retry, 5000));
  }
}

function receive(message) {
  if (message.type === "error") { sessionStorage.removeItem(SESSION_KEY); return; }
  if (message.type === "setup") {
    page.setup = message;
    page.settings = message.settings;
    page.selected = null;
    showSettings();
    drawBoundary();
    return;
  }
  if (message.type !== "frame") return;
  if (message.generation !== page.generation) {
    page.generation = message.generation;
    page.trainLoss = []; page.testLoss = [];
  }
  page.trainLoss.length = message.loss_start;
  page.testLoss.length = message.loss_start;
  page.trainLoss.push(...message.train_loss);
  page.testLoss.push(...message.test_loss);
  page.frame = message;
  page.frameCount = (page.frameCount || 0) + 1;
  $("epoch").textContent = String(message.epoch).padStart(3, "0");
  $("train-loss").textContent = format(page.trainLoss[message.epoch - 1]);
  $("test-loss").textContent = format(page.testLoss[message.epoch - 1]);
  if (newer(message)) {
    page.state = message.state;
    if (message.state === "diverged" || message.state === "error") showBanner(message.message, "run");
    else if (message.state === "finished") showBanner(t("finished"), "run");
    else if (page.bannerKind === "run") hideBanner();
  }
  updateRunButton();
  scheduleDraw();
}

const format = (v) => (v === undefined || v === null ? "–" : Number(v).toFixed(3));

// ----------------------------------------------------------------------------- controls

function showSettings() {
  const s = page.settings;
  if (!s || !page.config) return;
  for (const id of ["activation", "optimizer", "regularization"]) $(id).value = s[id];
  $("learning_rate").value = String(nearest(LEARNING_RATES, s.learning_rate));
  $("strength").value = String(nearest(STRENGTHS, s.strength));
  $("dropout").value = String(nearest(DROPOUTS, s.dropout));
  $("train_fraction").value = Math.round(s.train_fraction * 100);
  $("train_fraction-value").textContent = `${Math.round(s.train_fraction * 100)}%`;
  $("noise").value = Math.round(s.noise * 100);
  $("noise-value").textContent = String(Math.round(s.noise * 100));
  $("batch_size").value = s.batch_size;
  $("batch_size-value").textContent = String(s.batch_size);
  $("seed").value = s.seed;
  document.querySelectorAll(".dataset").forEach((b) => b.classList.toggle("selected", b.dataset.name === s.dataset));
  $("architecture").textContent = ["2", ...s.hidden, "1"].join("-");
  $("n-layers").textContent = String(s.hidden.length);
  const buttons = $("neuron-buttons");
  buttons.innerHTML = "";
  s.hidden.forEach((width, layer) => {
    const box = document.createElement("div");
    box.className = "neuron-control";
    const plus = document.createElement("button");
    plus.textContent = "+";
    plus.addEventListener("click", () => setWidth(layer, width + 1));
    const minus = document.createElement("button");
    minus.textContent = "−";
    minus.addEventListener("click", () => setWidth(layer, width - 1));
    const label = document.createElement("span");
    label.textContent = `${width} ${t("neurons")}`;
    box.append(plus, minus, label);
    buttons.appendChild(box);
  });
}

function nearest(values, value) {
  return values.reduce((best, v) => (Math.abs(v - value) < Math.abs(best - value) ? v : best));
}

function setWidth(layer, width) {
  if (width < 1 || width > page.config.max_neurons) return;
  const hidden = page.settings.hidden.slice();
  hidden[layer] = width;
  change({hidden});
}

function updateRunButton() {
  const running = page.state === "running";
  const button = $("play");
  button.title = t(running ? "pause" : "play");
  button.classList.toggle("running", running);
}

function bindControls() {
  $("play").addEventListener("click", () => command(page.state === "running" ? "pause" : "play"));
  $("step").addEventListener("click", () => command("step"));
  $("reset").addEventListener("click", () => { clearTrace(); command("reset"); });
  $("speed").addEventListener("change", async (e) => {
    try { adopt(await api("POST", sessionPath("/speed"), {epochs_per_second: Number(e.target.value)})); }
    catch (error) { handleError(error); }
  });
  for (const id of ["activation", "optimizer", "regularization"]) {
    $(id).addEventListener("change", (e) => change({[id]: e.target.value}));
  }
  for (const id of ["learning_rate", "strength", "dropout"]) {
    $(id).addEventListener("change", (e) => change({[id]: Number(e.target.value)}));
  }
  $("train_fraction").addEventListener("change", (e) => change({train_fraction: Number(e.target.value) / 100}));
  $("noise").addEventListener("change", (e) => change({noise: Number(e.target.value) / 100}));
  $("batch_size").addEventListener("change", (e) => change({batch_size: Number(e.target.value)}));
  $("seed").addEventListener("change", (e) => change({seed: Math.max(0, Math.floor(Number(e.target.value) || 0))}));
  $("add-layer").addEventListener("click", () => {
    if (page.settings.hidden.length < page.config.max_layers) change({hidden: [...page.settings.hidden, 2]});
  });
  $("remove-layer").addEventListener("click", () => {
    if (page.settings.hidden.length > 0) change({hidden: page.settings.hidden.slice(0, -1)});
  });
  $("lang").addEventListener("change", (e) => {
    page.lang = e.target.value;
    const url = new URL(location.href);
    url.searchParams.set("lang", page.lang);
    history.replaceState(null, "", url);
    applyLanguage();
    if (page.selected) showTrace(page.selected);
  });
  $("upload").addEventListener("change", upload);
  $("download").addEventListener("click", () => {
    const link = document.createElement("a");
    link.href = sessionPath("/model");
    link.download = "";
    document.body.appendChild(link);
    link.click();
    link.remove();
  });
  $("copy-code").addEventListener("click", copyCode);
  $("boundary").addEventListener("click", pickPoint);
  $("banner-close").addEventListener("click", hideBanner);
}

async function upload(event) {
  const file = event.target.files[0];
  event.target.value = "";
  if (!file) return;
  try {
    const text = await file.arrayBuffer();
    adopt(await api("POST", sessionPath(`/upload?name=${encodeURIComponent(file.name)}`), text, true));
    hideBanner();
    clearTrace();
  } catch (error) { handleError(error); }
}

async function copyCode() {
  try {
    const response = await fetch(sessionPath("/code"));
    if (!response.ok) throw new Error((await response.json()).error);
    const code = await response.text();
    const box = $("code-box");
    box.value = code;
    box.hidden = false;
    try {
      await navigator.clipboard.writeText(code);
      showBanner(t("copied"), "info");
    } catch (error) {
      showBanner(t("code_shown"), "info");
    }
  } catch (error) { handleError(error); }
}

function showBanner(text, kind = "error") {
  $("banner-text").textContent = text;
  $("banner").hidden = false;
  $("banner").className = kind;
  page.bannerKind = kind;
}

function hideBanner() { $("banner").hidden = true; page.bannerKind = null; }

// ------------------------------------------------------------------------------- trace

function pickPoint(event) {
  if (!page.setup) return;
  const canvas = $("boundary");
  const rect = canvas.getBoundingClientRect();
  const px = (event.clientX - rect.left) * canvas.width / rect.width;
  const py = (event.clientY - rect.top) * canvas.height / rect.height;
  let best = null;
  for (const subset of ["train", "test"]) {
    page.setup[subset].x.forEach((x, index) => {
      const [cx, cy] = toCanvas(canvas, x);
      const d = Math.hypot(cx - px, cy - py);
      if (d < 10 && (!best || d < best.d)) best = {subset, index, d};
    });
  }
  if (best) showTrace(best);
}

async function showTrace(point) {
  page.selected = point;
  drawBoundary();
  try {
    const data = await api("GET", sessionPath(`/trace?subset=${point.subset}&index=${point.index}&lang=${page.lang}`));
    $("trace-title").textContent = t("trace_of")
      .replace("{subset}", t(`subset_${data.subset}`)).replace("{index}", data.index)
      .replace("{epoch}", data.epoch).replace("{y}", format(data.y))
      .replace("{prediction}", format(data.prediction)).replace("{loss}", format(data.loss));
    $("trace").textContent = data.text;
  } catch (error) { handleError(error); }
}

function clearTrace() {
  page.selected = null;
  $("trace").textContent = "";
  $("trace-title").textContent = "";
}

// ------------------------------------------------------------------------------ drawing

function color(v) {  // v in [-1, 1]: orange, light grey, blue
  const c = v < 0 ? NEG : POS, a = Math.min(Math.abs(v), 1);
  return [0, 1, 2].map((i) => Math.round(MID[i] + (c[i] - MID[i]) * a));
}

function decode(b64, Type) {
  const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  return new Type(bytes.buffer);
}

function heatmap(values, n, toUnit) {
  const image = new ImageData(n, n);
  for (let i = 0; i < n; i++) {       // row i: x2 = grid[i], drawn bottom-up
    for (let j = 0; j < n; j++) {
      const rgb = color(toUnit(values[i * n + j]));
      const k = ((n - 1 - i) * n + j) * 4;
      image.data[k] = rgb[0]; image.data[k + 1] = rgb[1]; image.data[k + 2] = rgb[2]; image.data[k + 3] = 255;
    }
  }
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = n;
  canvas.getContext("2d").putImageData(image, 0, 0);
  return canvas;
}

function regressionScale() {
  const ys = page.setup ? page.setup.train.y : [1];
  return Math.max(1e-9, ...ys.map(Math.abs));
}

function outputToUnit() {
  if (page.setup && page.setup.task === "regression") {
    const scale = regressionScale();
    return (v) => v / scale;
  }
  return (p) => 2 * p - 1;
}

function toCanvas(canvas, x) {
  const [lo, hi] = [-1, 1];
  return [(x[0] - lo) / (hi - lo) * canvas.width, (1 - (x[1] - lo) / (hi - lo)) * canvas.height];
}

let drawPending = false;
function scheduleDraw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => { drawPending = false; drawBoundary(); drawLoss(); drawNetwork(); });
}

function drawBoundary() {
  const canvas = $("boundary"), ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const f = page.frame;
  if (f) {
    const values = decode(f.boundary.values, Float32Array);
    ctx.imageSmoothingEnabled = true;
    ctx.globalAlpha = 0.85;
    ctx.drawImage(heatmap(values, f.boundary.n, outputToUnit()), 0, 0, canvas.width, canvas.height);
    ctx.globalAlpha = 1;
  }
  if (!page.setup) return;
  const unit = page.setup.task === "regression" ? ((s) => (v) => v / s)(regressionScale()) : (y) => 2 * y - 1;
  for (const subset of ["train", "test"]) {
    const d = page.setup[subset];
    d.x.forEach((x, index) => {
      const [cx, cy] = toCanvas(canvas, x);
      const rgb = color(unit(d.y[index]));
      ctx.beginPath();
      ctx.arc(cx, cy, 3.5, 0, 2 * Math.PI);
      ctx.fillStyle = `rgb(${rgb})`;
      ctx.strokeStyle = subset === "train" ? "#fff" : "#000";
      ctx.lineWidth = subset === "train" ? 1 : 1.5;
      ctx.fill();
      ctx.stroke();
    });
  }
  const sel = page.selected;
  if (sel) {
    const [cx, cy] = toCanvas(canvas, page.setup[sel.subset].x[sel.index]);
    ctx.beginPath();
    ctx.arc(cx, cy, 8, 0, 2 * Math.PI);
    ctx.strokeStyle = "#d0021b";
    ctx.lineWidth = 2.5;
    ctx.stroke();
  }
}

function drawLoss() {
  const canvas = $("loss"), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const n = page.trainLoss.length;
  if (!n) return;
  const all = page.trainLoss.concat(page.testLoss).filter(Number.isFinite);
  const top = Math.max(1e-12, ...all);
  const line = (values, style) => {
    ctx.beginPath();
    const stride = Math.max(1, Math.floor(values.length / canvas.width));
    for (let i = 0; i < values.length; i += stride) {
      const x = n === 1 ? 0 : i / (n - 1) * (canvas.width - 2) + 1;
      const y = canvas.height - 2 - values[i] / top * (canvas.height - 4);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    }
    ctx.strokeStyle = style;
    ctx.lineWidth = 1.5;
    ctx.stroke();
  };
  line(page.testLoss, "#333");
  line(page.trainLoss, "#999");
}

function drawNetwork() {
  const canvas = $("net"), ctx = canvas.getContext("2d"), f = page.frame;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!f || !page.settings) return;
  const widths = [2, ...f.neurons.map((layer) => layer.neurons.length), 1];
  const size = 34, columns = widths.length;
  const xAt = (c) => 20 + c * (canvas.width - 40 - size) / Math.max(columns - 1, 1);
  const yAt = (c, k) => 10 + k * Math.min(48, (canvas.height - 20 - size) / Math.max(widths[c] - 1, 1));
  // weights: one Dense layer between consecutive columns
  const maxW = Math.max(1e-9, ...f.weights.flat(2).map(Math.abs));
  f.weights.forEach((W, c) => {
    W.forEach((row, i) => row.forEach((w, j) => {
      const rgb = color(w / maxW);
      ctx.beginPath();
      ctx.moveTo(xAt(c) + size, yAt(c, i) + size / 2);
      ctx.bezierCurveTo(xAt(c) + size + 30, yAt(c, i) + size / 2, xAt(c + 1) - 30, yAt(c + 1, j) + size / 2,
                        xAt(c + 1), yAt(c + 1, j) + size / 2);
      ctx.strokeStyle = `rgb(${rgb})`;
      ctx.lineWidth = 0.5 + 4 * Math.abs(w) / maxW;
      ctx.stroke();
    }));
  });
  const n = f.neuron_grid;
  // the inputs: x1 and x2 over the plane
  const input = (axis) => {
    const values = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) values[i * n + j] = -1 + 2 * (axis === 0 ? j : i) / (n - 1);
    return heatmap(values, n, (v) => v);
  };
  const tiles = [[input(0), input(1)]];
  for (const layer of f.neurons) {
    tiles.push(layer.neurons.map((neuron) => {
      const bytes = decode(neuron.values, Uint8Array);
      const span = Math.max(Math.abs(neuron.lo), Math.abs(neuron.hi), 1e-12);
      return heatmap(bytes, n, (b) => (neuron.lo + (neuron.hi - neuron.lo) * b / 255) / span);
    }));
  }
  tiles.push([heatmap(decode(f.boundary.values, Float32Array), f.boundary.n, outputToUnit())]);
  ctx.imageSmoothingEnabled = false;
  tiles.forEach((column, c) => column.forEach((tile, k) => {
    ctx.drawImage(tile, xAt(c), yAt(c, k), size, size);
    ctx.strokeStyle = "#555";
    ctx.lineWidth = 1;
    ctx.strokeRect(xAt(c) + 0.5, yAt(c, k) + 0.5, size - 1, size - 1);
  }));
  ctx.fillStyle = "#333";
  ctx.font = "11px sans-serif";
  ctx.fillText("x1", xAt(0) - 16, yAt(0, 0) + size / 2 + 4);
  ctx.fillText("x2", xAt(0) - 16, yAt(0, 1) + size / 2 + 4);
}

// ------------------------------------------------------------------------------- start

async function start() {
  bindControls();
  try {
    page.config = await api("GET", "/api/config");
  } catch (error) { showBanner(t("server_gone"), "connection"); return; }
  const asked = new URLSearchParams(location.search).get("lang");
  page.lang = STRINGS[asked] ? asked : page.config.lang;
  $("version").textContent = `numnet ${page.config.version}`;
  applyLanguage();
  await reconnect(false);
}

window.numnetPlayground = page;  // for the browser test and the curious
start();
