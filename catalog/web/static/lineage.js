// The lineage page: fetches lineage from /graphql, lays it out with ELK (layered, left to right, in a
// web worker) and draws it with cytoscape.js (canvas: zoom, pan and 500+ nodes stay smooth).
// Tests read window.lineage and body[data-ready] ("loading", "true" or "error").
"use strict";

const elk = new ELK({ workerUrl: "/static/vendor/elk-worker.min.js" });
const FIELD_FETCHES = 6;  // column lineage requests in flight at once
const LARGE_GRAPH = 300;  // nodes from which the layout trades some crossings for speed
const state = { nodes: new Map(), edges: new Map(), columnEdges: new Map(), columnsAsked: new Set(), start: null,
                partial: false };
const $ = id => document.getElementById(id);

async function gql(query, variables) {
  const response = await fetch("/graphql", { method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify({ query, variables }) });
  const body = await response.json();
  if (body.errors) throw new Error(body.errors.map(e => e.message).join("; "));
  return body.data;
}

const LINEAGE = `query($id: String!, $dir: LineageDirection!, $depth: Int!) {
  lineage(nodeId: $id, direction: $dir, depth: $depth, first: 2000) {
    nodes { id type depth namespace name dataset { fields { id name type } classifications { state special } } }
    edges { origin destination impliedBy } isPartial } }`;
const COLUMNS = `query($id: String!, $dir: LineageDirection!, $depth: Int!) {
  columnLineage(nodeId: $id, direction: $dir, depth: $depth) {
    nodes { id name namespace datasetId }
    edges { origin destination transformationType transformationSubtype masking } isPartial } }`;
const SEARCH = `query($q: String!) { search(query: $q, types: [DATASET, JOB, FIELD], first: 20) {
  type id name namespace datasetId } }`;

function directions() {
  const d = $("direction").value;
  return d === "BOTH" ? ["UPSTREAM", "DOWNSTREAM"] : [d];
}

// Personal data: "special" (Art. 9), "personal", or "" (none found, or every finding rejected).
function personalData(dataset) {
  const held = (dataset ? dataset.classifications : []).filter(c => c.state !== "REJECTED");
  return held.some(c => c.special) ? "special" : held.length ? "personal" : "";
}

function addNode(n) {
  const known = state.nodes.get(n.id);
  const fields = n.dataset ? n.dataset.fields : (known ? known.fields : []);
  const personal = n.dataset ? personalData(n.dataset) : (known ? known.personal : "");
  state.nodes.set(n.id, { id: n.id, type: n.type, namespace: n.namespace, name: n.name, fields, personal });
}

// Adds the dataset and job lineage around nodeId.
async function expand(nodeId, depth) {
  const results = await Promise.all(directions().map(dir => gql(LINEAGE, { id: nodeId, dir, depth })));
  for (const { lineage } of results) {
    lineage.nodes.forEach(addNode);
    for (const e of lineage.edges) state.edges.set(e.origin + ">" + e.destination, e);
    state.partial = state.partial || lineage.isPartial;
  }
}

function addColumnEdges(edges) {
  for (const e of edges) state.columnEdges.set(e.origin + ">" + e.destination, e);
}

// Column lineage one hop upstream of every drawn column not asked yet, a few requests at a time.
async function loadColumns() {
  const fields = [...state.nodes.values()].flatMap(n => n.fields.map(f => f.id))
    .filter(id => !state.columnsAsked.has(id));
  fields.forEach(id => state.columnsAsked.add(id));
  let next = 0;
  async function worker() {
    while (next < fields.length) {
      const id = fields[next++];
      const { columnLineage } = await gql(COLUMNS, { id, dir: "UPSTREAM", depth: 1 });
      addColumnEdges(columnLineage.edges);
    }
  }
  await Promise.all(Array.from({ length: FIELD_FETCHES }, worker));
}

// A column as the start: its column lineage, each column inside its dataset.
async function expandField(fieldId, depth) {
  for (const dir of directions()) {
    const { columnLineage } = await gql(COLUMNS, { id: fieldId, dir, depth });
    for (const f of columnLineage.nodes) {
      const name = f.datasetId.slice(("dataset:" + f.namespace + ":").length);
      const dataset = state.nodes.get(f.datasetId) ||
        { id: f.datasetId, type: "DATASET", namespace: f.namespace, name, fields: [], personal: "" };
      if (!dataset.fields.some(x => x.id === f.id)) dataset.fields.push({ id: f.id, name: f.name, type: null });
      state.nodes.set(f.datasetId, dataset);
    }
    addColumnEdges(columnLineage.edges);
    state.partial = state.partial || columnLineage.isPartial;
  }
}

function sizeOf(label, min) { return Math.max(min, Math.min(260, 7 * label.length + 24)); }

// ELK positions every node; with columns shown, datasets are compound nodes holding their columns.
async function layout(showFields) {
  const children = [...state.nodes.values()].map(n => {
    const node = { id: n.id, width: sizeOf(n.name, 120), height: 42 };
    if (showFields && n.fields.length) {
      node.children = n.fields.map(f => ({ id: f.id, width: sizeOf(f.name, 90), height: 22 }));
      node.layoutOptions = { "elk.padding": "[top=30,left=8,bottom=8,right=8]", "elk.algorithm": "layered",
                             "elk.direction": "DOWN", "elk.spacing.nodeNode": "4" };
      delete node.width; delete node.height;
    }
    return node;
  });
  const ids = new Set([...state.nodes.keys(), ...(showFields ? [...state.nodes.values()].flatMap(
    n => n.fields.map(f => f.id)) : [])]);
  const edges = [...state.edges.values()].filter(e => ids.has(e.origin) && ids.has(e.destination));
  const columnEdges = showFields ? [...state.columnEdges.values()].filter(
    e => ids.has(e.origin) && ids.has(e.destination)) : [];
  const graph = await elk.layout({
    id: "root", children,
    edges: [...edges, ...columnEdges].map((e, i) => ({ id: "e" + i, sources: [e.origin], targets: [e.destination] })),
    layoutOptions: { "elk.algorithm": "layered", "elk.direction": "RIGHT", "elk.hierarchyHandling": "INCLUDE_CHILDREN",
                     "elk.layered.spacing.nodeNodeBetweenLayers": "70", "elk.spacing.nodeNode": "18",
                     "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
                     // Fewer crossing-minimisation sweeps on big graphs: about half the time to draw 2,000 nodes.
                     "elk.layered.thoroughness": children.length > LARGE_GRAPH ? "1" : "7" },
  });
  const positions = new Map();
  (function place(nodes, dx, dy) {
    for (const n of nodes || []) {
      positions.set(n.id, { x: dx + n.x + n.width / 2, y: dy + n.y + n.height / 2, w: n.width, h: n.height });
      place(n.children, dx + n.x, dy + n.y);
    }
  })(graph.children, 0, 0);
  // ELK routes edges around the nodes; keep its bend points for the dataset and job edges (drawn in the root).
  const bends = new Map();
  graph.edges.forEach((e, i) => {
    const points = (e.sections || []).flatMap(section => section.bendPoints || []);
    if (i < edges.length && points.length) bends.set(edges[i].origin + ">" + edges[i].destination, points);
  });
  return { positions, edges, columnEdges, bends };
}

// Bend points as cytoscape segments: each as a weight along the line between the node centres and a
// distance off it.
function segments(source, target, points) {
  const dx = target.x - source.x, dy = target.y - source.y, length = Math.hypot(dx, dy) || 1;
  return {
    weights: points.map(p => ((p.x - source.x) * dx + (p.y - source.y) * dy) / (length * length)),
    distances: points.map(p => ((p.y - source.y) * dx - (p.x - source.x) * dy) / length),
  };
}

const STYLE = [
  { selector: "node", style: { label: "data(label)", "font-size": 12, "text-valign": "center", "text-halign": "center",
      "text-wrap": "ellipsis", "text-max-width": "data(w)", shape: "round-rectangle", width: "data(w)",
      height: "data(h)",
      "background-color": "#fff", "border-width": 1.5, "min-zoomed-font-size": 7, color: "#1f2937" } },
  { selector: "node.dataset", style: { "border-color": "#2563eb" } },
  { selector: "node.job", style: { "border-color": "#d97706", "background-color": "#fffbeb" } },
  { selector: "node.dataset:parent", style: { "text-valign": "top", "text-margin-y": -4, "font-weight": 600,
      "background-color": "#f8fafc", padding: 6 } },
  { selector: "node.personal", style: { "background-color": "#ffe4e6", "border-color": "#e11d48" } },
  { selector: "node.special", style: { "background-color": "#fecaca", "border-color": "#b91c1c",
      "border-style": "double", "border-width": 4 } },
  { selector: "node.field", style: { "border-color": "#7c3aed", "font-size": 11, "border-width": 1 } },
  { selector: "node.start", style: { "border-width": 4 } },
  { selector: "edge", style: { width: 1.5, "line-color": "#94a3b8", "target-arrow-color": "#94a3b8",
      "target-arrow-shape": "triangle", "curve-style": "bezier", "arrow-scale": 0.8 } },
  { selector: "edge.routed", style: { "curve-style": "segments", "segment-weights": "data(weights)",
      "segment-distances": "data(distances)", "edge-distances": "node-position" } },
  { selector: "edge.implied", style: { "line-style": "dotted", width: 2 } },
  { selector: "edge.column", style: { "line-color": "#a78bfa", "target-arrow-color": "#a78bfa", "line-style": "dashed",
      width: 1.2 } },
  { selector: "edge.masking", style: { "line-color": "#059669", "target-arrow-color": "#059669" } },
  { selector: ".faded", style: { opacity: 0.15 } },
  { selector: "node.path", style: { "border-width": 3, "background-color": "#eff6ff" } },
  { selector: "edge.path", style: { width: 3, "line-color": "#1d4ed8", "target-arrow-color": "#1d4ed8", opacity: 1 } },
];

async function draw() {
  const showFields = $("columns").checked || (state.start || "").startsWith("datasetField:");
  const { positions, edges, columnEdges, bends } = await layout(showFields);
  const elements = [];
  for (const n of state.nodes.values()) {
    const p = positions.get(n.id);
    const compound = showFields && n.fields.length;
    elements.push({ group: "nodes", data: { id: n.id, label: n.name, w: p.w, h: p.h, kind: n.type,
      personal: n.personal }, position: compound ? undefined : { x: p.x, y: p.y },
      classes: [n.type.toLowerCase(), n.personal, n.id === state.start ? "start" : ""].join(" ") });
    if (compound) {
      for (const f of n.fields) {
        const q = positions.get(f.id);
        elements.push({ group: "nodes", data: { id: f.id, parent: n.id, label: f.name, w: q.w, h: q.h, kind: "FIELD" },
          position: { x: q.x, y: q.y }, classes: "field" + (f.id === state.start ? " start" : "") });
      }
    }
  }
  edges.forEach(e => {
    const points = bends.get(e.origin + ">" + e.destination);
    const routed = points ? segments(positions.get(e.origin), positions.get(e.destination), points) : null;
    elements.push({ group: "edges", data: { id: "d:" + e.origin + ">" + e.destination, source: e.origin,
      target: e.destination, ...(routed ? { weights: routed.weights, distances: routed.distances } : {}) },
      classes: (e.impliedBy ? "implied" : "") + (routed ? " routed" : "") });
  });
  columnEdges.forEach(e => elements.push({ group: "edges", data: { id: "c:" + e.origin + ">" + e.destination,
    source: e.origin, target: e.destination, info: e }, classes: "column" + (e.masking ? " masking" : "") }));
  const view = cy ? { zoom: cy.zoom(), pan: cy.pan() } : null;
  if (!cy) {
    cy = cytoscape({ container: $("graph"), style: STYLE, minZoom: 0.05, maxZoom: 3,
                     boxSelectionEnabled: false, autoungrabify: true });
    cy.on("tap", "node", event => select(event.target));
    cy.on("tap", event => { if (event.target === cy) clearHighlight(); });
  }
  cy.elements().remove();
  cy.add(elements);
  cy.layout({ name: "preset", fit: false }).run();
  if (view && state.keepView) { cy.zoom(view.zoom); cy.pan(view.pan); } else { fit(); }
  if (state.selected && cy.getElementById(state.selected).length) highlight(cy.getElementById(state.selected));
  $("status").textContent = `${state.nodes.size} nodes, ${state.edges.size} edges` +
    (showFields ? `, ${columnEdges.length} column edges` : "") +
    (state.partial ? " (partial: a limit was reached)" : "");
}

// The whole graph in view, but never blown up past life size (a three-node graph stays readable).
function fit() {
  cy.fit(undefined, 30);
  if (cy.zoom() > 1) { cy.zoom(1); cy.center(); }
}

function clearHighlight() { cy.elements().removeClass("faded path"); }

// The selected node's paths: everything upstream and downstream of it stays lit.
function highlight(node) {
  const lit = node.union(node.predecessors()).union(node.successors());
  const withParents = lit.union(lit.parents());
  cy.elements().addClass("faded").removeClass("path");
  withParents.removeClass("faded");
  lit.addClass("path");
  node.children().removeClass("faded");
}

function details(node) {
  const kind = node.data("kind"), id = node.id();
  const page = kind === "JOB" ? "/job?id=" + encodeURIComponent(id)
    : "/dataset?id=" + encodeURIComponent(kind === "FIELD" ? node.parent().id() : id);
  const column = dir => `/lineage?nodeId=${encodeURIComponent(id)}&direction=${dir}&depth=10`;
  const lines = [`<p class="kind ${kind.toLowerCase()}">${kind.toLowerCase()}</p>`,
    `<h3>${escape(node.data("label"))}</h3>`, `<p class="hint">${escape(id)}</p><ul>`,
    `<li><a id="open-page" href="${page}">open its page</a></li>`];
  if (kind === "FIELD") {
    lines.push(`<li><a id="column-upstream" href="${column("UPSTREAM")}">this column's upstream</a></li>`);
    lines.push(`<li><a href="${column("DOWNSTREAM")}">its downstream</a></li>`);
  }
  const held = { personal: "holds personal data", special: "holds special category data (Art. 9)" }[
    node.data("personal")];
  if (held) lines.push(`</ul><p class="pill${node.data("personal") === "special" ? " special" : ""}">${held}</p><ul>`);
  lines.push(`</ul><p class="hint">${node.predecessors("node").length} upstream, ` +
             `${node.successors("node").length} downstream on this page</p>`);
  $("details").innerHTML = lines.join("");
}

function escape(text) { const d = document.createElement("div"); d.textContent = text; return d.innerHTML; }

function select(node) {
  state.selected = node.id();
  details(node);
  highlight(node);
  if (node.data("kind") !== "FIELD") run(() => expand(node.id(), 1), true);
}

async function run(step, keepView) {
  try {
    document.body.dataset.ready = "loading";
    $("status").textContent = "loading…";
    await step();
    if ($("columns").checked) await loadColumns();
    state.keepView = Boolean(keepView);
    await draw();
    document.body.dataset.renders = String(Number(document.body.dataset.renders || 0) + 1);
    document.body.dataset.ready = "true";
  } catch (err) {
    $("status").textContent = "error: " + err.message;
    document.body.dataset.ready = "error";
  }
}

async function pick(text) {
  const { search } = await gql(SEARCH, { q: text });
  const heading = search.length ? "Pick one:" : "Nothing matches " + escape(text) + ".";
  $("details").innerHTML = `<p>${heading}</p><div id="picks"></div>`;
  for (const hit of search) {
    const a = document.createElement("a");
    a.href = "#"; a.className = "pick";
    a.textContent = `${hit.type.toLowerCase()} · ${hit.name}` + (hit.namespace ? ` (${hit.namespace})` : "");
    a.addEventListener("click", event => { event.preventDefault(); $("nodeId").value = hit.id; show(); });
    $("picks").appendChild(a);
  }
}

function show() {
  const nodeId = $("nodeId").value.trim();
  if (!nodeId) {
    $("details").innerHTML = '<p class="hint">Type the name of a dataset, job or column above (or its id), or open ' +
      'a dataset from <a href="/datasets">Datasets</a> and follow its "Lineage" link.</p>';
    return;
  }
  if (!/^(dataset|job|datasetField):/.test(nodeId)) {
    run(() => pick(nodeId).then(() => { throw new Error("not a node id: pick a search result"); }));
    return;
  }
  const depth = parseInt($("depth").value, 10) || 2;
  state.nodes.clear(); state.edges.clear(); state.columnEdges.clear(); state.columnsAsked.clear();
  state.start = nodeId; state.partial = false; state.selected = null;
  const params = new URLSearchParams({ nodeId, depth, direction: $("direction").value });
  if ($("columns").checked) params.set("columns", "1");
  history.replaceState(null, "", "?" + params);
  run(() => nodeId.startsWith("datasetField:") ? expandField(nodeId, depth) : expand(nodeId, depth));
}

let cy = null;
window.lineage = {
  nodeIds: () => cy ? cy.nodes().map(n => n.id()) : [],
  edgeCount: selector => cy ? cy.edges(selector || "").length : 0,
  // Where a node is drawn, in CSS pixels from the graph's top-left corner (for tests that click it).
  position: id => { const n = cy.getElementById(id); return n.length ? n.renderedPosition() : null; },
  highlighted: () => cy ? cy.elements(".path").map(e => e.id()) : [],
  zoom: () => cy ? cy.zoom() : null,
  withPersonalData: () => cy ? cy.nodes(".personal, .special").map(n => n.id()) : [],
  focus: id => {
    const node = cy.getElementById(id);
    cy.zoom({ level: 1.2, position: node.position() });
    cy.center(node);
  },
  // Model-space boxes of the nodes outside compounds and of the compounds themselves (to check for overlaps).
  boxes: () => cy ? cy.nodes().orphans().map(n => ({ id: n.id(), ...n.boundingBox({ includeLabels: false }) })) : [],
};
$("controls").addEventListener("submit", event => { event.preventDefault(); show(); });
$("fit").addEventListener("click", () => cy && fit());
for (const [id, factor] of [["zoom-in", 1.5], ["zoom-out", 1 / 1.5]]) {
  $(id).addEventListener("click", () => cy && cy.zoom({ level: cy.zoom() * factor,
    renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } }));
}
show();
