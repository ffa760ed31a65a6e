// "Read a line": the book's shipped models, exported to ONNX (hwr ship export), run in the reader's
// browser by onnxruntime-web, served from the build (no network).
//
// The preprocessing mirrors hwr.preprocess.prepare and hwr.recognize exactly, step by step, so that
// the same image gives the same input tensor as in Python (tests/test_reader_page.py checks it):
//   RGBA -> grey as Pillow does (transparency composited on white, then ITU-R 601-2 luma in fixed point),
//   invert light ink on a dark ground (median < 128), pad with white (16 px top/bottom, 32 px left/right),
//   resize to the model's height with Pillow's bilinear filter (a triangle filter widened when it
//   shrinks, two passes with 8-bit rounding in between), scale to [0, 1].
// A drawn line is first cropped to its ink (the canvas is mostly empty paper); an uploaded or picked
// line is read as it is, like `hwr recognize`.
(function () {
  "use strict";
  const PAD_TOP_BOTTOM = 16, PAD_LEFT_RIGHT = 32, PRECISION_BITS = 22;
  const root = document.getElementById("hwr-reader");
  if (!root) return;
  const base = new URL(root.dataset.base || "../", document.baseURI);
  const $ = (sel) => root.querySelector(sel);
  const state = { models: {}, index: null, current: null, lastInput: null, lastResult: null, busy: null };
  window.hwrReader = state;

  // ---- preprocessing (hwr.preprocess) -------------------------------------------------------
  // Pillow's alpha_composite of RGBA over opaque white, then convert("L"), per pixel.
  function greyFromRGBA(rgba, n) {
    const grey = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const a = rgba[4 * i + 3];
      const ch = [0, 1, 2].map((k) => {
        if (a === 255) return rgba[4 * i + k];
        const tmp = (rgba[4 * i + k] * a + 255 * (255 - a)) * 128 + (0x80 << 7);
        return (((tmp >> 8) + tmp) >> 8) >> 7;
      });
      grey[i] = (ch[0] * 19595 + ch[1] * 38470 + ch[2] * 7471 + 0x8000) >> 16;
    }
    return grey;
  }

  function median(grey) {  // numpy's median of uint8 values (mean of the two middle ones)
    const counts = new Uint32Array(256);
    for (const v of grey) counts[v]++;
    const n = grey.length, at = (k) => { let s = 0; for (let v = 0; v < 256; v++) { s += counts[v]; if (s > k) return v; } return 255; };
    return n % 2 ? at((n - 1) / 2) : (at(n / 2 - 1) + at(n / 2)) / 2;
  }

  function roundHalfEven(x) {  // Python's round()
    const f = Math.floor(x), d = x - f;
    return d > 0.5 ? f + 1 : d < 0.5 ? f : (f % 2 === 0 ? f : f + 1);
  }

  function preparedWidth(h, w, height) {  // hwr.datasets.geometry.prepared_width
    return Math.max(1, roundHalfEven((w + 2 * PAD_LEFT_RIGHT) * height / (h + 2 * PAD_TOP_BOTTOM)));
  }

  // Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear filter (support 1).
  function coefficients(inSize, outSize) {
    const scale = inSize / outSize, filterscale = Math.max(scale, 1), support = filterscale;
    const ksize = Math.ceil(support) * 2 + 1, bounds = new Int32Array(2 * outSize), kk = new Int32Array(outSize * ksize);
    for (let xx = 0; xx < outSize; xx++) {
      const center = (xx + 0.5) * scale;
      const xmin = Math.max(0, Math.trunc(center - support + 0.5));
      const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
      const w = [];
      let ww = 0;
      for (let x = 0; x < xmax; x++) {
        const t = Math.abs((x + xmin - center + 0.5) / filterscale);
        w.push(t < 1 ? 1 - t : 0);
        ww += w[x];
      }
      for (let x = 0; x < xmax; x++) {
        const k = ww !== 0 ? w[x] / ww : w[x];
        kk[xx * ksize + x] = Math.trunc(k < 0 ? -0.5 + k * (1 << PRECISION_BITS) : 0.5 + k * (1 << PRECISION_BITS));
      }
      bounds[2 * xx] = xmin;
      bounds[2 * xx + 1] = xmax;
    }
    return { ksize, bounds, kk };
  }

  function clip8(ss) {
    if (ss >= 255 * (1 << PRECISION_BITS)) return 255;
    if (ss <= 0) return 0;
    return Math.floor(ss / (1 << PRECISION_BITS));
  }

  // Image.resize((outW, outH), BILINEAR) of an 8-bit grey image: horizontal pass, then vertical.
  function resizeBilinear(src, h, w, outH, outW) {
    const hor = coefficients(w, outW), ver = coefficients(h, outH);
    const first = ver.bounds[0], last = ver.bounds[2 * outH - 2] + ver.bounds[2 * outH - 1];
    let img = src, rows = h, cols = w, shift = 0;
    if (outW !== w) {
      rows = last - first;
      const tmp = new Uint8Array(rows * outW);
      for (let y = 0; y < rows; y++) {
        for (let xx = 0; xx < outW; xx++) {
          const xmin = hor.bounds[2 * xx], xmax = hor.bounds[2 * xx + 1];
          let ss = 1 << (PRECISION_BITS - 1);
          for (let x = 0; x < xmax; x++) ss += src[(y + first) * w + x + xmin] * hor.kk[xx * hor.ksize + x];
          tmp[y * outW + xx] = clip8(ss);
        }
      }
      img = tmp; cols = outW; shift = first;
    }
    if (outH === h) return img;
    const out = new Uint8Array(outH * cols);
    for (let yy = 0; yy < outH; yy++) {
      const ymin = ver.bounds[2 * yy] - shift, ymax = ver.bounds[2 * yy + 1];
      for (let x = 0; x < cols; x++) {
        let ss = 1 << (PRECISION_BITS - 1);
        for (let y = 0; y < ymax; y++) ss += img[(y + ymin) * cols + x] * ver.kk[yy * ver.ksize + y];
        out[yy * cols + x] = clip8(ss);
      }
    }
    return out;
  }

  // The ink's bounding box plus a margin of a tenth of its height (drawn lines only).
  function cropToInk(grey, h, w) {
    let top = h, bottom = -1, left = w, right = -1;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (grey[y * w + x] < 128) {
      top = Math.min(top, y); bottom = Math.max(bottom, y); left = Math.min(left, x); right = Math.max(right, x);
    }
    if (bottom < 0) return null;
    const m = Math.max(2, Math.round((bottom - top + 1) / 10));
    top = Math.max(0, top - m); bottom = Math.min(h - 1, bottom + m);
    left = Math.max(0, left - m); right = Math.min(w - 1, right + m);
    const ch = bottom - top + 1, cw = right - left + 1, out = new Uint8Array(ch * cw);
    for (let y = 0; y < ch; y++) out.set(grey.subarray((y + top) * w + left, (y + top) * w + left + cw), y * cw);
    return { grey: out, h: ch, w: cw };
  }

  // RGBA pixels -> {data: Float32Array height x W', width, inverted} as hwr.recognize.recognize_image prepares them.
  function prepare(rgba, h, w, height, crop) {
    let grey = greyFromRGBA(rgba, h * w);
    if (crop) {
      const c = cropToInk(grey, h, w);
      if (!c) throw new Error("nothing drawn yet");
      ({ grey, h, w } = c);
    }
    const inverted = median(grey) < 128;
    if (inverted) grey = grey.map((v) => 255 - v);
    const ph = h + 2 * PAD_TOP_BOTTOM, pw = w + 2 * PAD_LEFT_RIGHT, padded = new Uint8Array(ph * pw).fill(255);
    for (let y = 0; y < h; y++) padded.set(grey.subarray(y * w, (y + 1) * w), (y + PAD_TOP_BOTTOM) * pw + PAD_LEFT_RIGHT);
    const width = preparedWidth(h, w, height);
    const resized = resizeBilinear(padded, ph, pw, height, width);
    const data = new Float32Array(resized.length);
    for (let i = 0; i < data.length; i++) data[i] = resized[i] / 255;
    return { data, width, height, inverted };
  }

  // ---- models ----------------------------------------------------------------------------------
  async function loadModel(name) {
    if (state.models[name]) return state.models[name];
    const folder = new URL(`models/${name}/`, base);
    const spec = await (await fetch(new URL("model.json", folder))).json();
    const options = { executionProviders: ["wasm"] };
    const sessions = {};
    for (const [role, file] of Object.entries(spec.files)) {
      sessions[role] = await ort.InferenceSession.create(new URL(file, folder).href, options);
    }
    return (state.models[name] = { spec, sessions });
  }

  function softmaxRow(row) {
    const m = Math.max(...row), e = row.map((v) => Math.exp(v - m)), s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  }

  async function readCTC(m, input) {
    const image = new ort.Tensor("float32", input.data, [1, 1, input.height, input.width]);
    const out = (await m.sessions.model.run({ image })).log_probs;
    const [, frames, classes] = out.dims, lp = out.data;
    const probs = [], labels = [], at = [];
    let previous = -1;
    for (let t = 0; t < frames; t++) {
      const row = Array.from(lp.subarray(t * classes, (t + 1) * classes)).map(Math.exp);
      let best = 0;
      for (let k = 1; k < classes; k++) if (row[k] > row[best]) best = k;
      if (best !== m.spec.blank && best !== previous) { labels.push(best); at.push(t); }
      previous = best;
      probs.push(row);
    }
    return { text: labels.map((k) => m.spec.symbols[k]).join(""), labels, at, probs, frames, logProbs: lp };
  }

  async function readAttention(m, input) {
    const image = new ort.Tensor("float32", input.data, [1, 1, input.height, input.width]);
    const { keys, values } = await m.sessions.encoder.run({ image });
    const zeros = () => new ort.Tensor("float32", new Float32Array(m.spec.hidden), [1, m.spec.hidden]);
    let h = zeros(), c = zeros(), y = BigInt(m.spec.sos);
    const labels = [], maps = [], steps = [];
    for (let t = 0; t < m.spec.max_steps; t++) {
      const out = await m.sessions.step.run({ keys, values, y: new ort.Tensor("int64", BigInt64Array.from([y]), [1]), h, c });
      const row = Array.from(out.log_probs.data);
      let best = 0;
      for (let k = 1; k < row.length; k++) if (row[k] > row[best]) best = k;
      steps.push(row);
      maps.push(Array.from(out.attention.data));
      h = out.h_out; c = out.c_out; y = BigInt(best);
      if (best === m.spec.eos) break;
      labels.push(best);
    }
    return { text: labels.map((k) => m.spec.symbols[k]).join(""), labels, maps, steps, columns: keys.dims[1] };
  }

  // ---- drawing the result ----------------------------------------------------------------------
  // Input column of each feature column's centre (hwr.recognize.frame_centres).
  function centres(spec, width, frames) {
    const stride = (width + 2 * spec.margin) / Math.max(frames + spec.shrink, 1);
    return Array.from({ length: frames }, (_, k) => (k + spec.shrink / 2 + 0.5) * stride - spec.margin);
  }

  function show(m, input, result, ms) {
    const spec = m.spec, scale = 2, w = input.width * scale, lineH = input.height * scale;
    const ctc = spec.family === "ctc";
    const rows = ctc ? 1 : Math.max(result.labels.length, 1);
    const band = ctc ? 60 : 14 * rows;
    const canvas = $("#hwr-result-plot");
    canvas.width = w; canvas.height = lineH + band + 4;
    const g = canvas.getContext("2d");
    g.fillStyle = "#fff"; g.fillRect(0, 0, canvas.width, canvas.height);
    const pixels = g.createImageData(input.width, input.height);
    input.data.forEach((v, i) => { const p = Math.round(v * 255); pixels.data.set([p, p, p, 255], 4 * i); });
    const tmp = document.createElement("canvas"); tmp.width = input.width; tmp.height = input.height;
    tmp.getContext("2d").putImageData(pixels, 0, 0);
    g.imageSmoothingEnabled = false; g.drawImage(tmp, 0, 0, w, lineH);
    g.font = "12px monospace"; g.textAlign = "center";
    if (ctc) {  // per frame: P(blank) in grey from the top, P(best character) in blue from the bottom
      const xs = centres(spec, input.width, result.frames), step = w / result.frames;
      result.probs.forEach((row, t) => {
        let best = 1; for (let k = 1; k < row.length; k++) if (k !== spec.blank && row[k] > row[best]) best = k;
        g.fillStyle = "#bbb"; g.fillRect(xs[t] * scale - step / 2, lineH + 2, step, row[spec.blank] * band / 2);
        g.fillStyle = "#1f77b4"; g.fillRect(xs[t] * scale - step / 2, lineH + 2 + band - row[best] * band / 2, step, row[best] * band / 2);
      });
      g.fillStyle = "#d62728";
      result.at.forEach((t, i) => g.fillText(spec.symbols[result.labels[i]] === " " ? "\u2423" : spec.symbols[result.labels[i]], xs[t] * scale, lineH - 4));
    } else {  // one row per emitted character: its attention over the columns (2D maps summed over H')
      const fh = spec.feature_height, cols = result.columns / fh, xs = centres(spec, input.width, cols), step = w / cols;
      result.labels.forEach((k, r) => {
        const col = new Array(cols).fill(0);
        result.maps[r].forEach((a, n) => { col[n % cols] += a; });
        const top = Math.max(...col);
        col.forEach((a, j) => { g.fillStyle = `rgba(31,119,180,${a / top})`; g.fillRect(xs[j] * scale - step / 2, lineH + 2 + 14 * r, step, 13); });
        g.fillStyle = "#d62728";
        g.fillText(spec.symbols[k] === " " ? "\u2423" : spec.symbols[k], xs[col.indexOf(top)] * scale, lineH + 13 + 14 * r);
      });
    }
    $("#hwr-text").textContent = result.text || "(nothing read)";
    $("#hwr-time").textContent = `${ms.toFixed(0)} ms in this browser (preprocessing and model, ${spec.family === "ctc" ? result.frames + " frames" : result.steps.length + " decoder steps"})${input.inverted ? "; light ink on dark, inverted" : ""}`;
    $("#hwr-plot-caption").textContent = ctc
      ? "Under the line, per frame: the blank's probability (grey, from the top) and the most probable character's (blue, from the bottom); red letters sit where the greedy path emits them."
      : "One row per emitted character: where the decoder attended when it wrote it (darker = more weight).";
    root.classList.add("hwr-has-result");
  }

  // ---- reading an image --------------------------------------------------------------------------
  async function read(rgba, h, w, crop, source) {
    const name = $("#hwr-model").value;
    const run = (async () => {
      $("#hwr-status").textContent = "reading...";
      const m = await loadModel(name);
      const t0 = performance.now();
      const input = prepare(rgba, h, w, m.spec.input_height, crop);
      if (input.width < m.spec.min_width) throw new Error(`this line is ${input.width} px wide at the model's height; it needs at least ${m.spec.min_width}`);
      if (m.spec.max_width && input.width > m.spec.max_width) throw new Error(`this line is too wide for the model (${input.width} px, at most ${m.spec.max_width}): split it`);
      const result = m.spec.family === "ctc" ? await readCTC(m, input) : await readAttention(m, input);
      const ms = performance.now() - t0;
      state.lastInput = input;
      state.lastResult = { model: name, source, text: result.text, ms, logProbs: result.logProbs ? Array.from(result.logProbs) : null };
      show(m, input, result, ms);
      $("#hwr-status").textContent = "";
      return state.lastResult;
    })();
    state.busy = run.catch((e) => { $("#hwr-status").textContent = `Could not read it: ${e.message}`; state.lastResult = { error: e.message }; });
    return state.busy;
  }

  async function pixelsOf(blob) {
    const bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
    const c = document.createElement("canvas"); c.width = bitmap.width; c.height = bitmap.height;
    const g = c.getContext("2d", { colorSpace: "srgb" });
    g.drawImage(bitmap, 0, 0);
    return { rgba: g.getImageData(0, 0, c.width, c.height).data, h: c.height, w: c.width };
  }

  async function readBlob(blob, source) {
    const { rgba, h, w } = await pixelsOf(blob);
    return read(rgba, h, w, false, source);
  }

  // ---- the drawing pad (pointer events: mouse, pen and finger alike) ------------------------------
  function setUpPad() {
    const pad = $("#hwr-pad"), g = pad.getContext("2d");
    const clear = () => { g.fillStyle = "#fff"; g.fillRect(0, 0, pad.width, pad.height); };
    clear();
    let drawing = false, timer = null;
    const at = (e) => { const r = pad.getBoundingClientRect(); return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height]; };
    pad.addEventListener("pointerdown", (e) => {
      drawing = true; pad.setPointerCapture(e.pointerId); clearTimeout(timer);
      g.lineWidth = pad.height / 22; g.lineCap = g.lineJoin = "round"; g.strokeStyle = "#000";
      g.beginPath(); g.moveTo(...at(e)); g.lineTo(...at(e)); g.stroke(); e.preventDefault();
    });
    pad.addEventListener("pointermove", (e) => { if (!drawing) return; g.lineTo(...at(e)); g.stroke(); e.preventDefault(); });
    const end = () => {
      if (!drawing) return;
      drawing = false;
      timer = setTimeout(() => { const d = g.getImageData(0, 0, pad.width, pad.height).data; read(d, pad.height, pad.width, true, "drawing"); }, 400);
    };
    pad.addEventListener("pointerup", end); pad.addEventListener("pointercancel", end);
    $("#hwr-clear").addEventListener("click", () => { clearTimeout(timer); clear(); });
  }

  function describe(record) {
    const pct = (x) => (100 * x).toFixed(1);
    const lines = record.train_lines ? `${Number(record.train_lines).toLocaleString("en")} ` : "";
    return `${record.experiment} (run ${record.run_id}, ${Number(record.parameters).toLocaleString("en")} parameters), ` +
      `trained on ${lines}synthetic lines (${record.data}) rendered from handwriting fonts, not on real handwriting: ` +
      `test CER ${pct(record.test.cer)} % on the book's ${record.test.lines} test lines (${record.test.decoding} decoding).`;
  }

  async function start() {
    try {
      ort.env.wasm.wasmPaths = new URL("ort/", base).href;
      ort.env.wasm.numThreads = 1;
      state.index = await (await fetch(new URL("models/index.json", base))).json();
    } catch (e) {
      $("#hwr-status").textContent = "The models could not be loaded on this page.";
      return;
    }
    const select = $("#hwr-model");
    if (!state.index.models.length) {
      $("#hwr-status").textContent = "No model is shipped with this build of the book (see models/README.md).";
      return;
    }
    // a model that fills a role (best-ctc, best-attention) says so; the first is the one the page opens on
    for (const m of state.index.models) {
      select.add(new Option(m.roles && m.roles.length ? `${m.name} (${m.roles.join(", ")})` : m.name, m.name));
    }
    const about = () => { const m = state.index.models.find((x) => x.name === select.value); $("#hwr-about").textContent = describe(m.record); };
    select.addEventListener("change", about); about();
    const picks = $("#hwr-lines");
    state.index.lines.forEach((line, i) => {
      const b = document.createElement("button");
      b.type = "button"; b.textContent = `${i + 1}: ${line.text}`; b.dataset.file = line.file;
      b.addEventListener("click", async () => readBlob(await (await fetch(new URL(`models/lines/${line.file}`, base))).blob(), line.file));
      picks.appendChild(b);
    });
    $("#hwr-upload").addEventListener("change", (e) => { if (e.target.files[0]) readBlob(e.target.files[0], e.target.files[0].name); });
    setUpPad();
    root.classList.add("hwr-ready");
  }

  state.prepare = prepare;
  state.readBlob = readBlob;
  state.ready = start();
})();
