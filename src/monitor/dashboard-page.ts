/**
 * The dashboard's page and its script, as served. Plain DOM and uPlot; the script polls /api/state
 * and writes numbers with textContent (never HTML), so nothing the server says is run as markup.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>NeuralLog Redis</title>
<link rel="stylesheet" href="/uplot.css">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f5f6f8; color: #1d2330; }
  header { background: #1d2330; color: #fff; padding: 10px 20px; display: flex; gap: 20px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  #status.down { color: #ff8a80; } #status.up { color: #9be79b; }
  main { padding: 16px 20px; display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 12px; }
  .tile { background: #fff; border-radius: 6px; padding: 10px 14px; box-shadow: 0 1px 2px #0002; }
  .tile h2 { font-size: 12px; text-transform: uppercase; color: #667; margin: 0 0 4px; font-weight: 600; }
  .tile .v { font-size: 22px; font-weight: 600; }
  .tile .s { color: #667; font-size: 12px; }
  .wide { grid-column: span 2; } .full { grid-column: 1 / -1; }
  .bar { height: 8px; background: #e3e6ec; border-radius: 4px; margin-top: 6px; }
  .bar > div { height: 8px; background: #3b7dd8; border-radius: 4px; width: 0; }
  table { border-collapse: collapse; width: 100%; font-size: 12px; }
  td, th { text-align: left; padding: 2px 6px; border-bottom: 1px solid #eee; }
  .bad { color: #c62828; font-weight: 600; }
</style>
</head>
<body>
<header><h1>NeuralLog Redis</h1><span id="target"></span><span id="status">connecting</span><span id="server"></span></header>
<main>
  <section class="tile"><h2>Memory</h2><div class="v" id="memory">-</div><div class="s" id="memory-of"></div><div class="bar"><div id="memory-bar"></div></div></section>
  <section class="tile"><h2>Commands / s</h2><div class="v" id="ops">-</div><div class="s">over the last poll</div></section>
  <section class="tile"><h2>Hit ratio</h2><div class="v" id="hit-ratio">-</div><div class="s">keyspace hits / lookups</div></section>
  <section class="tile"><h2>Clients</h2><div class="v" id="clients">-</div></section>
  <section class="tile"><h2>Keys</h2><div class="v" id="keys">-</div></section>
  <section class="tile"><h2>Evictions</h2><div class="v" id="evicted">-</div><div class="s" id="policy"></div></section>
  <section class="tile wide"><h2>Persistence</h2><div id="persistence" class="s"></div></section>
  <section class="tile wide"><h2>Newest backup</h2><div id="backup" class="s">no backup directory given (--backups DIR)</div></section>
  <section class="tile wide"><h2>NeuralLog data (sampled in the background)</h2><table><thead><tr><th>family</th><th>keys</th><th>memory</th></tr></thead><tbody id="families"></tbody></table><div class="s" id="families-note"></div></section>
  <section class="tile wide"><h2>Replication</h2><div id="replication" class="s"></div></section>
  <section class="tile full" id="nodes-tile" hidden><h2>Every node of the topology</h2><table><thead><tr><th>node</th><th>role</th><th>shard</th><th>state</th><th>memory</th><th>commands/s</th><th>link / lag</th></tr></thead><tbody id="nodes"></tbody></table></section>
  <section class="tile full"><h2>Commands per second and memory, last hour</h2><div id="chart-ops"></div><div id="chart-memory"></div></section>
  <section class="tile wide"><h2>Slow log (command names only)</h2><table><thead><tr><th>id</th><th>when</th><th>command</th><th>ms</th></tr></thead><tbody id="slowlog"></tbody></table></section>
  <section class="tile wide"><h2>Latency events</h2><table><thead><tr><th>event</th><th>when</th><th>latest ms</th><th>max ms</th></tr></thead><tbody id="latency"></tbody></table></section>
</main>
<script src="/uplot.js"></script>
<script src="/dashboard.js"></script>
</body>
</html>
`;

export const DASHBOARD_JS = `'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const set = (id, text) => { $(id).textContent = text; };
  const bytes = (n) => n >= 1073741824 ? (n / 1073741824).toFixed(2) + ' GiB' : n >= 1048576 ? (n / 1048576).toFixed(1) + ' MiB' : (n / 1024).toFixed(0) + ' KiB';
  const ago = (seconds) => seconds < 120 ? Math.round(seconds) + ' s ago' : seconds < 7200 ? Math.round(seconds / 60) + ' min ago' : (seconds / 3600).toFixed(1) + ' h ago';
  const when = (unix) => unix ? ago(Date.now() / 1000 - unix) : 'never';
  function rows(id, list, cells) {
    const body = $(id);
    body.replaceChildren(...list.map((item) => {
      const tr = document.createElement('tr');
      for (const text of cells(item)) { const td = document.createElement('td'); td.textContent = String(text); tr.append(td); }
      return tr;
    }));
  }
  let charts;
  function draw(history) {
    const t = history.map((p) => p.t / 1000);
    const ops = history.map((p) => p.opsPerSecond);
    const mem = history.map((p) => p.usedMemory / 1048576);
    const width = Math.max(300, $('chart-ops').parentElement.clientWidth - 30);
    if (!charts) {
      charts = [
        new uPlot({ width, height: 160, series: [{}, { label: 'commands/s', stroke: '#3b7dd8', width: 2 }], axes: [{}, { size: 60 }] }, [t, ops], $('chart-ops')),
        new uPlot({ width, height: 160, series: [{}, { label: 'used memory (MiB)', stroke: '#d8843b', width: 2 }], axes: [{}, { size: 60 }] }, [t, mem], $('chart-memory')),
      ];
    } else {
      charts[0].setData([t, ops]);
      charts[1].setData([t, mem]);
    }
  }
  function render(s) {
    const srv = s.server;
    set('target', s.target);
    $('status').className = srv.up ? 'up' : 'down';
    set('status', srv.up ? 'up' : 'down: ' + (srv.error || 'no answer'));
    set('server', srv.up ? srv.engine + ' ' + srv.version + ', ' + srv.role + ', up ' + ago(srv.uptimeSeconds).replace(' ago', '') : '');
    const last = s.history.length ? s.history[s.history.length - 1] : undefined;
    set('memory', bytes(srv.usedMemory));
    set('memory-of', srv.maxmemory ? 'of ' + bytes(srv.maxmemory) + ' maxmemory' : 'no maxmemory set');
    $('memory-bar').style.width = srv.maxmemory ? Math.min(100, 100 * srv.usedMemory / srv.maxmemory).toFixed(1) + '%' : '0';
    set('ops', last && last.opsPerSecond !== null ? Math.round(last.opsPerSecond).toLocaleString('en') : '-');
    set('hit-ratio', last && last.hitRatio !== null ? (100 * last.hitRatio).toFixed(1) + ' %' : '-');
    set('clients', String(srv.clients));
    set('keys', srv.keys.toLocaleString('en'));
    set('evicted', srv.evictedKeys.toLocaleString('en'));
    $('evicted').className = srv.evictedKeys > 0 ? 'v bad' : 'v';
    set('policy', 'policy ' + srv.maxmemoryPolicy);
    const p = srv.persistence;
    set('persistence', 'last RDB save ' + when(p.lastSaveTime) + ' (' + p.lastBgsaveStatus + '), ' + p.changesSinceSave + ' changes since; AOF ' + (p.aofEnabled ? 'on, last write ' + p.aofLastWriteStatus + (p.aofRewriteInProgress ? ', rewriting' : '') : 'off'));
    const b = s.backups;
    if (b) set('backup', b.newest ? b.newest.file + ': ' + ago(b.newest.ageSeconds) + ', ' + bytes(b.newest.storedBytes) + ', ' + (b.newest.verified ? 'verified' : 'NOT verified: ' + (b.newest.problem || '?')) + ' (' + b.count + ' in ' + b.dir + ')' : 'none in ' + b.dir);
    const r = srv.replication;
    set('replication', r.role === 'slave' ? 'replica of ' + r.masterHost + ':' + r.masterPort + ', link ' + r.masterLinkStatus : r.role + ', ' + r.connectedReplicas + ' replica(s) connected');
    const f = s.families;
    if (f) {
      rows('families', ['logs', 'indexes', 'rules', 'patterns', 'other'], (name) => [name, f.keys[name].toLocaleString('en'), name === 'other' ? '' : bytes(f.memoryBytes[name])]);
      set('families-note', f.complete ? 'counted by a whole SCAN walk (' + f.walks + ' so far); memory estimated from sampled keys' : 'first walk in progress: extrapolated from DBSIZE');
    }
    if (s.nodes) {
      $('nodes-tile').hidden = false;
      rows('nodes', s.nodes, (n) => [
        n.name ? n.name + ' ' + n.address : n.address,
        n.role,
        n.shard,
        n.up === null ? 'not scraped yet' : n.up ? 'up' : 'DOWN: ' + (n.error || 'no answer'),
        n.usedMemory === undefined ? '' : bytes(n.usedMemory),
        n.opsPerSecond === undefined ? '' : n.opsPerSecond.toLocaleString('en'),
        (n.link || '') + (n.lagBytes === undefined ? '' : ', lag ' + n.lagBytes + ' B'),
      ]);
    }
    rows('slowlog', s.slowlog, (e) => [e.id, when(e.at), e.command, (e.microseconds / 1000).toFixed(1)]);
    rows('latency', s.latency, (e) => [e.event, when(e.at), e.latestMs, e.maxMs]);
    draw(s.history);
  }
  async function tick() {
    try {
      const response = await fetch('/api/state', { cache: 'no-store' });
      if (response.ok) render(await response.json());
      else set('status', 'monitor answered ' + response.status);
    } catch (e) {
      $('status').className = 'down';
      set('status', 'monitor unreachable');
    }
  }
  tick();
  setInterval(tick, 2000);
})();
`;
