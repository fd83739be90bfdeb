// The serving tab: fills its form from /api/options and the query string (form=serve&s_<field>=...), posts to
// /api/serve and draws the answer. Uses app.js's helpers ($, el, fmt, fill, bars); text goes in via textContent only.
"use strict";
const S_FIELDS = ["model", "hardware", "precision", "tp_size", "qps", "input_len", "output_len", "arrival_cv",
  "output_cv", "load_profile", "ttft_slo_ms", "tpot_slo_ms", "percentile", "datacenters", "rent_usd_per_gpu_hour",
  "objective", "budget_usd", "draft_model", "mtp_depth", "draft_acceptance_rate", "draft_tokens"];
const S_NUMERIC = ["tp_size", "qps", "input_len", "output_len", "arrival_cv", "output_cv", "ttft_slo_ms",
  "tpot_slo_ms", "percentile", "rent_usd_per_gpu_hour", "budget_usd", "mtp_depth", "draft_acceptance_rate",
  "draft_tokens"];
const S_HEAD = [["replicas", "Replicas", ""], ["gpus", "GPUs", ""], ["tokens_per_s_per_gpu", "Output tokens/s per GPU", "tok/s"],
  ["ttft_ms", "TTFT", "ms"], ["tpot_ms", "TPOT", "ms"], ["usd_per_m_input", "$ per M input tokens", "USD"],
  ["usd_per_m_output", "$ per M output tokens", "USD"], ["wh_per_request", "Energy per request", "Wh"],
  ["g_location", "Carbon per request, location-based", "gCO2e"], ["g_market", "Carbon per request, market-based", "gCO2e"],
  ["load_factor", "Mean load (share of the peak)", ""]];
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

// three significant figures below 100, whole numbers above
function sig(x) { if (x === null || x === undefined) return "n/a"; return Math.abs(x) >= 100 ? fmt(x, 0) : Number(Number(x).toPrecision(3)).toString(); }
function sField(f) { return $("s-" + f); }
function picked(sel) { return Array.from(sel.selectedOptions).map((o) => o.value); }

function sValue(f) {
  const e = sField(f);
  return f === "datacenters" ? picked(e).join(",") : e.value.trim();
}

function sReadForm() {
  const req = {};
  for (const f of S_FIELDS) {
    let v = sValue(f);
    if (v === "") { if (f === "ttft_slo_ms" || f === "tpot_slo_ms") req[f] = null; continue; }
    if (f === "datacenters") { req[f] = v.split(","); continue; }
    if (S_NUMERIC.includes(f) && NUMBER.test(v)) v = Number(v);
    req[f] = v;
  }
  return req;
}

function sToQuery() {
  const q = new URLSearchParams({ form: "serve" });
  for (const f of S_FIELDS) q.set("s_" + f, sValue(f));
  return q.toString();
}

function sFromQuery() {
  const q = new URLSearchParams(location.search);
  if (q.get("form") !== "serve") return false;
  for (const f of S_FIELDS) {
    if (!q.has("s_" + f)) continue;
    const e = sField(f), v = q.get("s_" + f);
    if (f === "datacenters") {
      const want = v.split(",").filter((x) => x);
      for (const w of want) if (!Array.from(e.options).some((o) => o.value === w)) { const o = el("option", w); o.value = w; e.appendChild(o); }
      for (const o of e.options) o.selected = want.includes(o.value);
    } else choose(e, v);
  }
  return true;
}

function showTab(name) {
  for (const t of ["train", "serve"]) {
    $("panel-" + t).hidden = t !== name;
    $("tab-" + t).setAttribute("aria-selected", String(t === name));
  }
}

function table(target, header, rows) {
  const out = [el("tr")];
  for (const h of header) out[0].appendChild(el("th", h));
  for (const r of rows) { const tr = el("tr"); for (const c of r) tr.appendChild(el("td", c)); out.push(tr); }
  target.replaceChildren(...out);
}

function sRender(r) {
  $("s-results").hidden = false;
  $("s-title").textContent = r.title;
  const f = r.fleet, pct = "p" + Math.round(f.percentile * 1000) / 10;
  $("s-status").textContent = (f.feasible ? "meets the targets" : "DOES NOT MEET THE TARGETS") + "; binding constraint: " + f.binding +
    " (engine " + f.engine + ", " + fmt(f.concurrency_per_replica, 1) + " sequences per replica, KV room for " + fmt(f.kv_capacity, 0) + ")";
  const t = r.traffic;
  $("s-traffic").textContent = "Traffic: " + t.label + (t.output_cv > 0 ? "; output lengths CV " + sig(t.output_cv) : "") +
    (t.periods ? "; load profile of " + t.periods + " periods, mean " + sig(t.load_factor) + " of the peak (fleet sized for the peak)" : "; constant at the given QPS");
  const cards = [];
  for (const [k, label, unit] of S_HEAD) {
    const h = r.headline[k]; if (!h) continue;
    const c = el("div", undefined, "card"); c.id = "s-out-" + k; c.dataset.value = h.value;
    c.appendChild(el("div", (k === "ttft_ms" || k === "tpot_ms") ? label + " " + pct : label));
    const big = h.value >= 1e11 ? "unbounded (queue grows)" : sig(h.value) + (unit ? " " + unit : "");
    c.appendChild(el("div", big, "v"));
    c.appendChild(el("div", h.formula, "f"));
    cards.push(c);
  }
  $("s-headline").replaceChildren(...cards);
  bars($("s-chart-memory"), f.memory_gb);
  table($("s-regions"), ["region", "QPS", "GPUs", "Wh/request", "gCO2e location", "gCO2e market", "gCO2e embodied", "$/M input", "$/M output"],
    r.regions.map((g) => [g.name, sig(g.qps), fmt(g.gpus, 0), sig(g.wh_per_request), sig(g.g_location), sig(g.g_market),
      sig(g.g_embodied), sig(g.usd_per_m_input), sig(g.usd_per_m_output)]));
  const p = r.plan;
  if (!p) { $("s-plan-note").textContent = ""; $("s-plan").replaceChildren(); }
  else if (p.error) { $("s-plan-note").textContent = "No plan: " + p.error; $("s-plan").replaceChildren(); }
  else {
    $("s-plan-note").textContent = "Best by " + p.objective + " of " + p.configurations + " configurations meeting the targets (searched " +
      p.searched.hardware.join("/") + " x " + p.searched.precisions.join("/") + " x TP " + p.searched.tp_sizes.join("/") + ")" +
      (p.feasible ? "." : "; " + p.binding + ".");
    table($("s-plan"), ["hardware", "precision", "TP", "GPUs", "replicas", "TTFT " + pct + " ms", "TPOT " + pct + " ms", "$/year", "$/M output", "t CO2e/year (with embodied)", "gCO2e/request (with embodied)"],
      p.ranking.map((x) => [x.hardware, x.precision, String(x.tp), fmt(x.gpus, 0), fmt(x.replicas, 0), fmt(x.ttft_p99_ms, 1),
        fmt(x.tpot_p99_ms, 1), fmt(x.usd_per_year, 0), sig(x.usd_per_m_output), sig(x.carbon_t_per_year), sig(x.g_per_request)]));
  }
  $("s-assumptions").replaceChildren(...Object.entries(r.assumptions).map(([k, v]) => el("li", k + ": " + (Array.isArray(v) ? v.join("/") : v))));
  $("s-dl-json").href = URL.createObjectURL(new Blob([JSON.stringify(r, null, 2)], { type: "application/json" }));
  $("s-share").href = location.href;
}

// marks the field the message names first (a message may mention another field in its fix)
function sShowError(msg) {
  const e = $("s-error"); e.hidden = false; e.textContent = msg;
  let first = null, at = Infinity;
  for (const f of S_FIELDS) { const m = new RegExp("\\b" + f + "\\b", "i").exec(msg); if (m && m.index < at) { first = f; at = m.index; } }
  if (first) sField(first).classList.add("invalid");
}

async function sSubmit(ev) {
  if (ev) ev.preventDefault();
  $("s-error").hidden = true;
  for (const f of S_FIELDS) sField(f).classList.remove("invalid");
  history.replaceState(null, "", "?" + sToQuery());
  try {
    const resp = await fetch("/api/serve", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(sReadForm()) });
    const body = await resp.json();
    if (!resp.ok) { sShowError(body.error ? body.error.message : "error " + resp.status); $("s-results").hidden = true; }
    else sRender(body);
  } catch (err) { sShowError("request failed: " + err); }
  document.body.dataset.serveState = "done";
}

async function sInit() {
  $("tab-train").addEventListener("click", () => showTab("train"));
  $("tab-serve").addEventListener("click", () => showTab("serve"));
  const o = await (await fetch("/api/options")).json();
  fill(sField("model"), o.models, "Llama3_70B"); fill(sField("hardware"), o.hardware, "H100");
  fill(sField("precision"), o.serving_precisions, "fp8"); fill(sField("percentile"), o.percentiles.map(String), "0.99");
  fill(sField("datacenters"), o.datacenters, "GCP_Iowa"); fill(sField("objective"), o.objectives, "cost");
  fill(sField("draft_model"), o.language_models);
  $("serve-form").addEventListener("submit", sSubmit);
  document.body.dataset.serveReady = "1";
  if (sFromQuery()) { showTab("serve"); if (new URLSearchParams(location.search).has("s_qps")) await sSubmit(); }
}
sInit();
