"""The web view's one page: HTML, CSS and a script that polls /api/state
every second and draws queries, the selected query's stage DAG (SVG, one
column per depth, producers on the left) and the workers. No outside
assets: it works on a machine without internet access."""

PAGE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Quiver</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 16px; color: #1d2330; background: #f6f7f9; }
h1 { font-size: 20px; margin: 0 0 12px; } h2 { font-size: 15px; margin: 18px 0 6px; }
table { border-collapse: collapse; background: #fff; }
td, th { border: 1px solid #d7dbe2; padding: 4px 8px; text-align: left; }
tr.query { cursor: pointer; } tr.selected { background: #e3ecff; }
.state-running { color: #0b63ce; font-weight: 600; } .state-failed { color: #b3261e; }
.state-finished { color: #1e7b34; }
svg { background: #fff; border: 1px solid #d7dbe2; }
.stage rect.box { fill: #fbfcfe; stroke: #5b6b86; stroke-width: 1.5; rx: 6; }
.stage.done rect.box { stroke: #1e7b34; } .stage.running rect.box { stroke: #0b63ce; stroke-width: 2.5; }
rect.track { fill: #e6e9ef; } rect.progress { fill: #2e8b57; }
.stage text { font-size: 11px; fill: #1d2330; } .stage text.title { font-weight: 700; font-size: 12px; }
line.edge { stroke: #8a96ab; stroke-width: 1.5; marker-end: url(#arrow); }
#sql { font-family: monospace; white-space: pre-wrap; background: #fff; padding: 6px;
       border: 1px solid #d7dbe2; max-height: 90px; overflow: auto; }
</style></head>
<body>
<h1>Quiver <span id="updated" style="font-weight:400;font-size:12px;color:#667"></span></h1>
<h2>Queries</h2>
<table id="queries"><thead><tr><th>query</th><th>state</th><th>seconds</th><th>rows</th>
<th>SQL</th></tr></thead><tbody></tbody></table>
<h2>Stage DAG <span id="dagtitle" style="font-weight:400"></span></h2>
<div id="sql"></div>
<svg id="dag" width="900" height="160"></svg>
<h2>Workers</h2>
<table id="workers"><thead><tr><th>worker</th><th>address</th><th>state</th><th>slots</th>
<th>running</th><th>completed</th><th>failed</th><th>heartbeat age (s)</th></tr></thead>
<tbody></tbody></table>
<script>
const token = new URLSearchParams(location.search).get("token");
let selected = null;
const NS = "http://www.w3.org/2000/svg";
function el(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function human(n) {
  if (n === null || n === undefined) return "";
  const u = ["", "K", "M", "G", "T"]; let i = 0;
  while (Math.abs(n) >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return (i ? n.toFixed(1) : String(n)) + u[i];
}
function cell(row, text, cls) {
  const td = row.insertCell(); td.textContent = text; if (cls) td.className = cls; return td;
}
function drawDag(q) {
  const svg = document.getElementById("dag");
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const defs = el("defs");
  const marker = el("marker", {id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
                               markerWidth: 6, markerHeight: 6, orient: "auto"});
  marker.appendChild(el("path", {d: "M0,0 L10,5 L0,10 z", fill: "#8a96ab"}));
  defs.appendChild(marker); svg.appendChild(defs);
  document.getElementById("sql").textContent = q ? q.sql : "";
  document.getElementById("dagtitle").textContent = q ? "of " + q.query_id : "(no query)";
  if (!q || !q.dags.length) { svg.setAttribute("height", 40); return; }
  const W = 228, H = 92, GX = 56, GY = 18;
  let y0 = 10, maxX = 0;
  for (const dag of q.dags) {
    const depth = {}, byId = {};
    for (const s of dag.stages) byId[s.id] = s;
    const d = (s) => depth[s.id] !== undefined ? depth[s.id]
      : (depth[s.id] = s.inputs.length ? 1 + Math.max(...s.inputs.map(i => d(byId[i]))) : 0);
    dag.stages.forEach(d);
    const cols = {};
    for (const s of dag.stages) (cols[depth[s.id]] = cols[depth[s.id]] || []).push(s);
    const pos = {}; let rows = 0;
    for (const [c, list] of Object.entries(cols)) {
      list.forEach((s, i) => { pos[s.id] = [10 + c * (W + GX), y0 + i * (H + GY)]; });
      rows = Math.max(rows, list.length);
    }
    for (const s of dag.stages) for (const i of s.inputs) {
      const [x1, y1] = pos[i], [x2, y2] = pos[s.id];
      svg.appendChild(el("line", {class: "edge", x1: x1 + W, y1: y1 + H / 2, x2: x2, y2: y2 + H / 2}));
    }
    for (const s of dag.stages) {
      const [x, y] = pos[s.id];
      const status = s.done === s.tasks ? "done" : (s.running ? "running" : "waiting");
      const g = el("g", {class: "stage " + status, "data-stage": s.id, "data-done": s.done,
                         "data-tasks": s.tasks, transform: `translate(${x},${y})`});
      g.appendChild(el("rect", {class: "box", width: W, height: H}));
      g.appendChild(el("text", {class: "title", x: 8, y: 16},
                       `Stage ${s.id}${s.final ? " (final)" : ""} · ${s.done}/${s.tasks} tasks`));
      const ops = s.operators.length > 38 ? s.operators.slice(0, 37) + "…" : s.operators;
      g.appendChild(el("text", {x: 8, y: 32}, ops));
      g.appendChild(el("rect", {class: "track", x: 8, y: 40, width: W - 16, height: 9}));
      g.appendChild(el("rect", {class: "progress", x: 8, y: 40,
                                width: Math.round((W - 16) * (s.tasks ? s.done / s.tasks : 0)),
                                height: 9}));
      g.appendChild(el("text", {x: 8, y: 64},
                       `rows ${human(s.rows)} · bytes ${human(s.bytes)} · running ${s.running}`));
      g.appendChild(el("text", {x: 8, y: 80},
                       `spilled ${human(s.spilled)} · retried ${s.retried} · failed ${s.failed}`));
      svg.appendChild(g);
      maxX = Math.max(maxX, x + W + 10);
    }
    y0 += rows * (H + GY) + 10;
  }
  svg.setAttribute("height", y0); svg.setAttribute("width", Math.max(900, maxX));
}
function render(state) {
  document.getElementById("updated").textContent =
    "updated " + new Date(state.now * 1000).toLocaleTimeString();
  const qb = document.querySelector("#queries tbody"); qb.innerHTML = "";
  if (!selected || !state.queries.some(q => q.query_id === selected)) {
    const running = state.queries.find(q => q.state === "running");
    selected = running ? running.query_id : (state.queries[0] || {}).query_id;
  }
  for (const q of state.queries) {
    const r = qb.insertRow(); r.className = "query" + (q.query_id === selected ? " selected" : "");
    r.onclick = () => { selected = q.query_id; render(state); };
    cell(r, q.query_id); cell(r, q.state, "state-" + q.state); cell(r, q.seconds);
    cell(r, q.rows === null ? "" : q.rows);
    cell(r, q.sql.length > 80 ? q.sql.slice(0, 80) + "…" : q.sql);
  }
  drawDag(state.queries.find(q => q.query_id === selected));
  const wb = document.querySelector("#workers tbody"); wb.innerHTML = "";
  for (const w of state.workers) {
    const r = wb.insertRow();
    for (const v of [w.worker_id, w.address, w.state, w.slots, w.running, w.completed,
                     w.failed, w.heartbeat_age]) cell(r, v, v === w.state ? "state-" + v : "");
  }
}
async function poll() {
  try {
    const headers = token ? {Authorization: "Bearer " + token} : {};
    const resp = await fetch("api/state", {headers, cache: "no-store"});
    if (resp.ok) render(await resp.json());
  } catch (e) { /* the coordinator may be restarting: try again */ }
  setTimeout(poll, 1000);
}
poll();
</script></body></html>
"""
