// mlsysim calculator page: fills the form from /api/options and the query string, posts to /api/train and draws
// the answer. Every piece of text goes in through textContent (never parsed as HTML); charts are inline SVG.
"use strict";
const FIELDS = ["model", "hf_config", "seq_len", "cluster", "node", "nodes", "fabric", "tp_size", "pp_size",
  "dp_size", "zero_stage", "precision", "stack", "best_layout", "tokens", "datacenter", "grid"];
const NUMERIC = ["seq_len", "nodes", "tp_size", "pp_size", "dp_size", "zero_stage", "tokens"];
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
function fmt(x, d) { if (x === null || x === undefined) return "n/a"; return Number(x).toLocaleString("en-US", { maximumFractionDigits: d === undefined ? 1 : d }); }
// `d` decimals from 1 up, three significant figures below (a short run's range and regions read "0 0 0", "0 t")
function amount(x, d) { return x !== null && x !== undefined && x !== 0 && Math.abs(x) < 1 ? Number(Number(x).toPrecision(3)).toString() : fmt(x, d); }

// a link's value that is not among a select's choices is kept (as an extra option) so the server names the error,
// instead of the select silently falling back to its first choice
function choose(select, v) {
  if (select.tagName === "SELECT" && v !== "" && !Array.from(select.options).some((o) => o.value === v)) {
    const o = el("option", v); o.value = v; select.appendChild(o);
  }
  select.value = v;
}

function fill(select, names, first) {
  for (const n of names) { const o = el("option", n); o.value = n; select.appendChild(o); }
  if (first) select.value = first;
}

function readForm() {
  const req = {};
  for (const f of FIELDS) {
    const e = $("f-" + f);
    if (f === "best_layout") { if (e.checked) req.best_layout = true; continue; }
    let v = e.value.trim();
    if (v === "") continue;
    if (f === "hf_config") {
      try { req.hf_config = JSON.parse(v); } catch (err) { throw new Error("hf_config: the pasted config.json is not valid JSON (" + err.message + ")"); }
      continue;
    }
    if (NUMERIC.includes(f) && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) v = Number(v);
    req[f] = v;
  }
  return req;
}

function toQuery() {
  const q = new URLSearchParams();
  for (const f of FIELDS) {
    const e = $("f-" + f);
    if (f === "best_layout") { if (e.checked) q.set(f, "1"); }
    else if (e.value.trim() !== "") q.set(f, e.value.trim());
  }
  return q.toString();
}

function fromQuery() {
  const q = new URLSearchParams(location.search);
  let any = false;
  for (const f of FIELDS) {
    if (!q.has(f)) continue;
    any = true;
    const e = $("f-" + f);
    if (f === "best_layout") e.checked = q.get(f) === "1"; else choose(e, q.get(f));
  }
  return any;
}

function bars(target, data) {
  const entries = Object.entries(data).filter(([, v]) => v > 0);
  const w = 520, rowH = 22, left = 120, h = rowH * entries.length + 6;
  const max = Math.max(...entries.map(([, v]) => v), 1e-12);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("width", w); svg.setAttribute("height", h);
  entries.forEach(([k, v], i) => {
    const y = 3 + i * rowH;
    const t = document.createElementNS(SVG, "text");
    t.setAttribute("x", 0); t.setAttribute("y", y + 15); t.textContent = k; svg.appendChild(t);
    const r = document.createElementNS(SVG, "rect");
    r.setAttribute("x", left); r.setAttribute("y", y); r.setAttribute("height", rowH - 6);
    r.setAttribute("width", Math.max(1, (w - left - 80) * v / max)); r.setAttribute("fill", "#3b6ea8"); svg.appendChild(r);
    const l = document.createElementNS(SVG, "text");
    l.setAttribute("x", left + 4 + (w - left - 80) * v / max); l.setAttribute("y", y + 15); l.textContent = fmt(v, 2); svg.appendChild(l);
  });
  target.replaceChildren(svg);
}

const HEAD = [["time_to_train_days", "Time to train", "days", 1], ["mfu", "MFU", "%", 1], ["energy_mwh", "Energy", "MWh", 0],
  ["carbon_location_t", "Carbon, location-based", "t CO2e", 1], ["carbon_market_t", "Carbon, market-based", "t CO2e", 1],
  ["cost_usd", "Cost", "USD", 0]];

function render(r) {
  $("results").hidden = false;
  $("r-title").textContent = r.workload.name + " on " + r.system.accelerators + " x " + r.system.accelerator.name +
    " (TP" + r.layout.tp_size + " PP" + r.layout.pp_size + " DP" + r.layout.dp_size + (r.layout.ep_size > 1 ? " EP" + r.layout.ep_size : "") + ")" + (r.datacenter ? ", " + r.datacenter.name : "");
  $("r-status").textContent = "status: " + r.status;
  const cards = [];
  for (const [k, label, unit, d] of HEAD) {
    const h = r.headline[k]; if (!h) continue;
    const c = el("div", undefined, "card"); c.id = "out-" + k; c.dataset.value = h.value;
    c.appendChild(el("div", label));
    c.appendChild(el("div", unit === "%" ? fmt(100 * h.value, d) + " %" : amount(h.value, d) + " " + unit, "v"));
    c.appendChild(el("div", h.formula, "f"));
    cards.push(c);
  }
  $("headline").replaceChildren(...cards);
  bars($("chart-breakdown"), r.performance.breakdown_s);
  bars($("chart-memory"), r.performance.memory_gb);
  $("r-fits").textContent = (r.performance.feasible ? "fits: " : "DOES NOT FIT: ") + fmt(r.performance.memory_total_gb, 1) +
    " of " + fmt(r.performance.memory_capacity_gb, 0) + " GB";
  const rows = [el("tr")];
  for (const t of ["metric", "low (5 %)", "median", "high (95 %)"]) rows[0].appendChild(el("th", t));
  for (const [k, v] of Object.entries(r.range)) {
    if (!Array.isArray(v)) continue;
    const tr = el("tr"); tr.appendChild(el("td", (r.range.labels || {})[k] || k));
    for (const x of v) tr.appendChild(el("td", k === "mfu" ? fmt(x, 3) : amount(x, k === "cost" ? 0 : 1))); rows.push(tr);
  }
  if (r.range.error) { const tr = el("tr"); const td = el("td", "no range: " + r.range.error); td.colSpan = 4; tr.appendChild(td); rows.push(tr); }
  $("range").replaceChildren(...rows);
  const g = r.regions;
  $("regions").textContent = "Lowest carbon: " + g.lowest_carbon.name + ", " + amount(g.lowest_carbon.carbon_t, 1) + " t" +
    (g.carbon_ratio === null ? "" : g.carbon_ratio >= 1.05 ? " (" + fmt(g.carbon_ratio, 1) + "x less than here)" : " (no less than here)") + ". Cheapest: " + (g.cheapest ? g.cheapest.name + ", $" + fmt(g.cheapest.cost_usd, 0) : "n/a") + ".";
  // under 10: two significant digits (a short run read "0 passengers flying New York - San Francisco and back")
  const few = (v) => (Math.abs(v) < 10 ? Number(Number(v).toPrecision(2)).toString() : fmt(v, 0));
  $("equivalents").replaceChildren(...r.equivalents.map((e) => { const li = el("li", few(e.value) + " " + e.label + " "); li.appendChild(el("small", "(source: " + e.source + ")")); return li; }));
  $("cite-markdown").textContent = r.cite.markdown; $("cite-latex").textContent = r.cite.latex; $("cite-bibtex").textContent = r.cite.bibtex;
  $("dl-yaml").href = URL.createObjectURL(new Blob([r.scenario_yaml], { type: "text/yaml" }));
  $("dl-json").href = URL.createObjectURL(new Blob([JSON.stringify(r, null, 2)], { type: "application/json" }));
  $("share").href = location.href;
}

function showError(msg) {
  const e = $("error"); e.hidden = false; e.textContent = msg;
  for (const f of FIELDS) {
    const key = new RegExp("\\b" + f + "\\b");
    if (key.test(msg)) $("f-" + f).classList.add("invalid");
  }
}

async function submit(ev) {
  if (ev) ev.preventDefault();
  $("error").hidden = true;
  for (const f of FIELDS) $("f-" + f).classList.remove("invalid");
  history.replaceState(null, "", "?" + toQuery());
  $("results").dataset.state = "loading";
  let req = null;
  try { req = readForm(); } catch (err) { showError(err.message); $("results").hidden = true; }
  if (req) try {
    const resp = await fetch("/api/train", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(req) });
    const body = await resp.json();
    if (!resp.ok) { showError(body.error ? body.error.message : "error " + resp.status); $("results").hidden = true; }
    else render(body);
  } catch (err) { showError("request failed: " + err); }
  $("results").dataset.state = "done";
  document.body.dataset.state = "done";
}

async function init() {
  const o = await (await fetch("/api/options")).json();
  fill($("f-model"), o.models, "Llama3_70B"); fill($("f-cluster"), o.clusters, "Research_256");
  fill($("f-node"), o.nodes); fill($("f-fabric"), o.fabrics); fill($("f-precision"), o.precisions);
  fill($("f-stack"), o.stacks);
  fill($("f-datacenter"), o.datacenters, "GCP_Iowa"); fill($("f-grid"), o.grids);
  $("train-form").addEventListener("submit", submit);
  document.body.dataset.ready = "1";
  if (fromQuery()) await submit();
}
init();
