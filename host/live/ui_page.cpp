#include "telemetry.h"

namespace ava::live {

// Plain HTML/CSS/JS, served from the binary: works offline on a device, no build step, no CDN. Every value
// shown comes from the host's own JSON (/analyzers, /streams) and is set as text, never as markup: pipeline
// and node names are the clients'.
std::string_view ui_page() noexcept
{
    static constexpr std::string_view page = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ava-extension-host</title>
<link rel="icon" href="data:,">
<style>
body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; } th, td { padding: .25em .8em; border-bottom: 1px solid #ddd; text-align: left; }
th { background: #f4f4f4; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
#view img { max-width: 100%; border: 1px solid #888; margin-top: .5em; }
#status { color: #888; font-size: .9em; }
</style>
</head>
<body>
<h1>ava-extension-host</h1>
<div id="status">loading…</div>
<h2>Analyzers</h2>
<table id="analyzers"><thead><tr><th>name</th><th>version</th><th>state</th><th>fps</th><th>frames</th><th>analysis p50 ms</th><th>analysis p99 ms</th></tr></thead><tbody></tbody></table>
<h2>Routes</h2>
<table id="routes"><thead><tr><th>analyzer</th><th>HTTP path</th><th>extension configuration</th><th>pipeline</th></tr></thead><tbody></tbody></table>
<h2>Live streams</h2>
<table id="streams"><thead><tr><th>id</th><th>protocol</th><th>pipeline</th><th>node</th><th>analyzer</th><th>route</th><th>frames</th><th>fps</th><th>in flight</th><th>errors</th><th>started</th><th>view</th></tr></thead><tbody></tbody></table>
<div id="view"></div>
<p><a href="/metrics">metrics</a> · <a href="/analyzers">analyzers (JSON)</a> · <a href="/streams">streams (JSON)</a> · <a href="/readyz">readiness</a></p>
<script>
"use strict";
const previous = {};
function cell(row, value, numeric) {
  const td = row.insertCell();
  td.textContent = value === null || value === undefined ? "" : String(value);
  if (numeric) td.className = "n";
  return td;
}
function fill(id, items, render) {
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren();
  for (const item of items) render(body.insertRow(), item);
}
function watch(id) {
  const view = document.getElementById("view");
  view.replaceChildren();
  const title = document.createElement("div");
  title.textContent = "stream " + id + " (annotated, at most 5 frames per second)";
  const img = document.createElement("img");
  img.src = "/streams/" + encodeURIComponent(id) + "/view";
  img.alt = "stream " + id;
  view.append(title, img);
}
async function refresh() {
  try {
    const [analyzers, streams] = await Promise.all([
      fetch("/analyzers").then(r => r.json()), fetch("/streams").then(r => r.json())]);
    const now = Date.now();
    const times = {};
    for (const a of streams.analyzers) times[a.name] = a;
    fill("analyzers", analyzers.analyzers, (row, a) => {
      const t = times[a.name] || {frames: 0, analysisP50Ms: 0, analysisP99Ms: 0};
      const before = previous[a.name];
      const fps = before ? (t.frames - before.frames) * 1000 / Math.max(1, now - before.at) : 0;
      previous[a.name] = {frames: t.frames, at: now};
      cell(row, a.name); cell(row, a.version); cell(row, a.state);
      cell(row, fps.toFixed(1), true); cell(row, t.frames, true);
      cell(row, t.analysisP50Ms.toFixed(2), true); cell(row, t.analysisP99Ms.toFixed(2), true);
    });
    fill("routes", analyzers.routeTable.routes, (row, r) => {
      cell(row, r.analyzer); cell(row, r.httpPath); cell(row, r.extensionConfiguration); cell(row, r.pipeline);
    });
    fill("streams", streams.streams, (row, s) => {
      cell(row, s.id); cell(row, s.protocol); cell(row, s.pipeline); cell(row, s.node); cell(row, s.analyzer);
      cell(row, s.route); cell(row, s.frames, true); cell(row, s.fps.toFixed(1), true); cell(row, s.inFlight, true);
      cell(row, s.errors, true); cell(row, s.started);
      const link = document.createElement("a");
      link.href = s.view; link.textContent = "watch";
      link.addEventListener("click", event => { event.preventDefault(); watch(s.id); });
      row.insertCell().append(link);
    });
    document.getElementById("status").textContent = "updated " + new Date().toLocaleTimeString() +
      " · default analyzer " + analyzers.routeTable.defaultAnalyzer + " on " + analyzers.routeTable.defaultPath;
  } catch (error) {
    document.getElementById("status").textContent = "cannot reach the host: " + error;
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
)HTML";
    return page;
}

} // namespace ava::live
