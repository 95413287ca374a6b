// The monitor page (cmd/ropeserver's /monitor/): a ROPE client of the
// server that serves it. The tree is the client's mirror of the media
// objects (spec/media-v1.md), which changes by notifications; the figures
// come from the Monitor object (package monitor), one "monitor.figures"
// notification per interval after Monitor.subscribe. Nothing here polls.
// The token of a server started with -token comes from ?access_token=…
// (the page's own URL) or #token=….
import { RopeClient } from '../../ropeclient/js/src/index.js';

const $ = (id) => document.getElementById(id);
const HISTORY_MS = 5 * 60 * 1000; // the charts show the last five minutes
const MAX_CHILDREN = 200; // rows one node shows; the rest are counted
const transportTypes = new Set(['WebRtcTransport', 'PlainTransport', 'PipeTransport', 'DirectTransport']);
const routerTypes = new Set(['Router', 'MafaldaRouter']);
const shown = new Set(['Worker', ...routerTypes, 'WebRtcServer', ...transportTypes, 'Producer', 'Consumer', 'DataProducer', 'DataConsumer']);

const params = new URLSearchParams(location.search);
const token = params.get('access_token') || new URLSearchParams(location.hash.slice(1)).get('token') || undefined;
const wsURL = new URL('/', location.href);
wsURL.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';

const client = new RopeClient(wsURL.href, { token, shared: false });
let figures = null; // the latest Figures
let figuresCount = 0;
const history = []; // {t, cpu, wcpu, recv, send}
const collapsed = new Set(); // ids the user folded
const expanded = new Set(); // ids the user unfolded (transports start folded)
const rows = new Map(); // id → {el, figs}
let structureDirty = true;
let renderTimer = 0;

// ---- formatting ----
function rate(bps) {
  if (!bps) return '0';
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(1)} Mb/s`;
  if (bps >= 1e3) return `${(bps / 1e3).toFixed(0)} kb/s`;
  return `${bps} b/s`;
}
function bytes(n) {
  if (!n) return '0';
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(0)} KiB`;
  return `${n} B`;
}
function count(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)} k`;
  return String(n ?? 0);
}
function span(text, cls) {
  const s = document.createElement('span');
  s.textContent = text;
  if (cls) s.className = cls;
  return s;
}

// ---- the tree (from the mirror) ----
function childrenOf(o) {
  return o.children.filter((c) => shown.has(c.type));
}
function isOpen(o) {
  if (collapsed.has(o.id)) return false;
  if (expanded.has(o.id)) return true;
  return !transportTypes.has(o.type) || o.children.length <= 4; // big transports start folded
}
function label(o) {
  const a = o.appData || {};
  const who = typeof a.name === 'string' ? a.name : typeof a.peerId === 'string' ? a.peerId : '';
  switch (o.type) {
    case 'Worker': return `pid ${o.props.pid ?? '?'}${o.props.died ? ' (died)' : ''}`;
    case 'Router': case 'MafaldaRouter': return roomName(o.id) ?? 'router';
    case 'PoolWorker': return `pid ${o.props.pid} (Mafalda's ${o.props.workerId})`;
    case 'Producer': return `${o.props.kind ?? ''} ${o.props.type ?? ''}${o.props.paused ? ' paused' : ''}`;
    case 'Consumer': {
      const p = client.object(o.props.producerId);
      const from = p ? ownerName(p) : '';
      return `${o.props.kind ?? ''}${from ? ` from ${from}` : ''}${o.props.paused || o.props.producerPaused ? ' paused' : ''}`;
    }
    case 'DataProducer': case 'DataConsumer': return o.props.label || '';
    default: return who;
  }
}
function ownerName(o) {
  for (let x = o; x; x = x.parentObject) {
    const a = x.appData || {};
    if (typeof a.name === 'string') return a.name;
    if (typeof a.peerId === 'string') return a.peerId;
  }
  return '';
}
function roomName(routerId) {
  const rooms = client.object('demo')?.props?.rooms;
  return Array.isArray(rooms) ? rooms.find((r) => r.routerId === routerId)?.name : undefined;
}

function makeRow(o, depth, kids) {
  const el = document.createElement('div');
  el.className = 'row';
  el.setAttribute('role', 'treeitem');
  el.dataset.id = o.id;
  el.dataset.type = o.type;
  const name = document.createElement('span');
  name.className = 'name';
  name.style.paddingLeft = `${depth * 1.2}em`;
  const toggle = span(kids ? (isOpen(o) ? '▾' : '▸') : '', 'toggle');
  if (kids) {
    toggle.addEventListener('click', () => {
      if (isOpen(o)) { collapsed.add(o.id); expanded.delete(o.id); } else { expanded.add(o.id); collapsed.delete(o.id); }
      structureDirty = true;
      schedule();
    });
  }
  name.append(toggle, span(o.type, 'type'), span(label(o), 'label'), span(o.id.slice(0, 8), 'id'));
  if (kids && !isOpen(o)) name.append(span(` (${kids})`, 'id'));
  const figs = document.createElement('span');
  figs.className = 'figs';
  el.append(name, figs);
  return { el, figs, o };
}

function buildTree() {
  const tree = $('tree');
  const frag = document.createDocumentFragment();
  rows.clear();
  const server = client.object('monitor')?.props?.server ?? {};
  const top = { id: '@server', type: 'Server', children: [], appData: {}, props: {} };
  const srow = makeRow(top, 0, 0);
  srow.el.querySelector('.label').textContent = server.id || location.host;
  frag.append(srow.el);
  rows.set('@server', srow);
  const walk = (o, depth) => {
    const kids = childrenOf(o);
    const r = makeRow(o, depth, kids.length);
    frag.append(r.el);
    rows.set(o.id, r);
    if (!isOpen(o)) return;
    kids.slice(0, MAX_CHILDREN).forEach((k) => walk(k, depth + 1));
    if (kids.length > MAX_CHILDREN) {
      const more = document.createElement('div');
      more.className = 'more';
      more.style.paddingLeft = `${(depth + 1) * 1.2 + 1}em`;
      more.textContent = `… ${kids.length - MAX_CHILDREN} more`;
      frag.append(more);
    }
  };
  // Mafalda's workers (not ROPE objects), then every shown object whose
  // parent is not shown: workers, and MafaldaRouters (rooms spanning them).
  for (const w of figures?.pool ?? []) {
    const r = makeRow({ id: `@pool/${w.id}`, type: 'PoolWorker', children: [], appData: {}, props: { pid: w.pid, workerId: w.id } }, 1, 0);
    frag.append(r.el);
    rows.set(r.o.id, r);
  }
  for (const o of client.objects) {
    if (shown.has(o.type) && !(o.parentObject && shown.has(o.parentObject.type))) walk(o, 1);
  }
  for (const s of figures?.servers ?? []) {
    if (s.self) continue;
    const r = makeRow({ id: `@server/${s.id}`, type: 'Server', children: [], appData: { name: s.id }, props: {} }, 0, 0);
    if (s.url) {
      const a = document.createElement('a');
      const u = new URL(s.url);
      u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
      u.pathname = '/monitor/';
      a.href = u.href;
      a.textContent = ' open';
      r.el.querySelector('.name').append(a);
    }
    r.figs.append(span(`${s.workers ?? 0} workers`, 'wide'), span(`load ${(s.load ?? 0).toFixed(2)}`, 'wide'));
    frag.append(r.el);
  }
  tree.replaceChildren(frag);
  structureDirty = false;
}

// fill writes one row's figures (from the latest Figures and the mirror).
function fill(r) {
  const f = figures?.objects?.[r.o.id] ?? {};
  const o = r.o;
  const out = [];
  const score = (s) => span(`score ${s}`, s <= 5 ? 'bad' : s < 9 ? 'warn' : '');
  switch (o.type) {
    case 'Server': {
      const s = figures?.server;
      if (!s) break;
      out.push(span(`cpu ${s.cpu.toFixed(1)}%`), span(`${s.conns} conns`), span(`queue ${s.queuedMessages}`, 'wide'), span(`replay ${bytes(s.replayBytes)}`, 'wide'));
      break;
    }
    case 'PoolWorker': {
      const w = figures?.pool?.find((x) => `@pool/${x.id}` === o.id) ?? {};
      out.push(span(w.cpu === undefined ? 'cpu –' : `cpu ${w.cpu.toFixed(1)}%`), span(`mem ${bytes(w.mem)}`, 'wide'));
      break;
    }
    case 'Worker':
      out.push(span(f.cpu === undefined ? 'cpu –' : `cpu ${f.cpu.toFixed(1)}%`), span(`mem ${bytes(f.mem)}`, 'wide'));
      break;
    case 'MafaldaRouter':
    case 'Router': {
      let recv = 0; let send = 0; let consumers = 0; let producers = 0;
      for (const t of o.children) {
        if (!transportTypes.has(t.type)) continue;
        const tf = figures?.objects?.[t.id] ?? {};
        recv += tf.recv ?? 0; send += tf.send ?? 0;
        for (const c of t.children) { if (c.type === 'Consumer') consumers++; else if (c.type === 'Producer') producers++; }
      }
      out.push(span(`${producers} prod`), span(`${consumers} cons`), span(`in ${rate(recv)}`, 'wide'), span(`out ${rate(send)}`, 'wide'));
      break;
    }
    case 'Producer':
      out.push(span(`in ${rate(f.recv)}`, 'wide'));
      if (f.score !== undefined) out.push(score(f.score));
      out.push(span(`lost ${f.lost ?? 0}`, f.loss > 0.05 ? 'bad' : ''));
      break;
    case 'Consumer': {
      out.push(span(`out ${rate(f.send)}`, 'wide'));
      if (f.score !== undefined) out.push(score(f.score));
      out.push(span(`loss ${((f.loss ?? 0) * 100).toFixed(1)}%`, f.loss > 0.05 ? 'bad' : ''));
      if (f.rtt !== undefined) out.push(span(`rtt ${f.rtt.toFixed(0)} ms`));
      const cur = o.props.currentLayers; const pref = o.props.preferredLayers;
      if (cur || pref) out.push(span(`layer ${cur ? cur.spatialLayer : '–'}/${pref ? pref.spatialLayer : '–'}`, 'wide'));
      break;
    }
    default:
      if (transportTypes.has(o.type)) {
        out.push(span(`in ${rate(f.recv)}`, 'wide'), span(`out ${rate(f.send)}`, 'wide'));
        if (f.aob !== undefined) out.push(span(`avail ${rate(f.aob)}`, 'wide'));
      }
  }
  r.figs.replaceChildren(...out);
}

// ---- the totals, charts and rooms (from the figures) ----
function totals() {
  const f = figures;
  if (!f) return;
  const t = f.totals;
  const stats = [
    ['workers', t.workers], ['routers', t.routers], ['transports', t.transports], ['producers', t.producers],
    ['consumers', t.consumers], ['in', rate(t.recvBitrate)], ['out', rate(t.sendBitrate)],
    ['forwarded packets', count(t.forwardedPackets)], ['forwarded', bytes(t.forwardedBytes)],
    ['NACKs in/out', `${count(t.nacksReceived)}/${count(t.nacksSent)}`], ['PLIs in/out', `${count(t.plisReceived)}/${count(t.plisSent)}`],
    ['key frames in/out', `${count(t.keyFramesReceived)}/${count(t.keyFramesSent)}`],
    ['workers cpu', `${t.workersCpu.toFixed(1)}%`], ['server cpu', `${f.server.cpu.toFixed(1)}%`],
    ['connections', f.server.conns], ['collect', `${f.collectMs.toFixed(1)} ms`],
  ];
  if (f.omitted) stats.push(['figures omitted', f.omitted]);
  $('totals').replaceChildren(...stats.map(([k, v]) => {
    const d = document.createElement('div');
    d.className = 'stat';
    d.dataset.stat = k;
    const b = document.createElement('b');
    b.textContent = String(v);
    d.append(b, span(k));
    return d;
  }));
}

// chart draws series (arrays of values at the times ts, Unix ms) over
// the last HISTORY_MS (or since the first point, when the page is
// younger: at least 30 s), the newest at the right edge.
function chart(canvas, ts, series, colors, fmt) {
  const ctx = canvas.getContext('2d');
  const w = canvas.width; const h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const top = Math.max(1, ...series.flat());
  const end = ts.length ? ts[ts.length - 1] : 0;
  const span = ts.length ? Math.min(HISTORY_MS, Math.max(30_000, end - ts[0])) : HISTORY_MS;
  ctx.strokeStyle = '#e4e6ec';
  ctx.fillStyle = '#889';
  ctx.font = '10px system-ui';
  for (let i = 0; i <= 2; i++) {
    const y = 4 + (h - 8) * (i / 2);
    ctx.beginPath(); ctx.moveTo(0, y); ctx.lineTo(w, y); ctx.stroke();
    ctx.fillText(fmt(top * (1 - i / 2)), 4, y + (i === 2 ? -2 : 10));
  }
  series.forEach((s, k) => {
    ctx.strokeStyle = colors[k];
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    s.forEach((v, i) => {
      const x = w - ((end - ts[i]) / span) * w;
      const y = h - 4 - (h - 8) * (v / top);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
  });
}

function charts() {
  const ts = history.map((p) => p.t);
  chart($('loadchart'), ts, [history.map((p) => p.cpu), history.map((p) => p.wcpu)], ['#2a6fdb', '#d9822b'], (v) => `${v.toFixed(0)}%`);
  chart($('ratechart'), ts, [history.map((p) => p.recv), history.map((p) => p.send)], ['#2a6fdb', '#d9822b'], rate);
}

// rooms lists each router with transports as a room: its people (by the
// appData name or peerId of their transports) and their streams.
function rooms() {
  const out = [];
  for (const r of client.objects) {
    if (!routerTypes.has(r.type)) continue;
    const people = new Map();
    for (const t of r.children) {
      if (!transportTypes.has(t.type)) continue;
      const who = ownerName(t) || (t.type === 'PipeTransport' ? 'pipe' : `transport ${t.id.slice(0, 8)}`);
      let p = people.get(who);
      if (!p) people.set(who, (p = { produces: [], consumes: 0, worst: 10, recv: 0, send: 0 }));
      const tf = figures?.objects?.[t.id] ?? {};
      p.recv += tf.recv ?? 0; p.send += tf.send ?? 0;
      for (const c of t.children) {
        const f = figures?.objects?.[c.id] ?? {};
        if (c.type === 'Producer') p.produces.push(`${c.props.kind} ${rate(f.recv)}${f.score !== undefined ? ` score ${f.score}` : ''}`);
        if (c.type === 'Consumer') { p.consumes++; if (f.score !== undefined) p.worst = Math.min(p.worst, f.score); }
      }
    }
    if (people.size === 0) continue;
    const div = document.createElement('div');
    div.className = 'room';
    div.dataset.router = r.id;
    const h = document.createElement('h3');
    h.textContent = `${roomName(r.id) ?? `router ${r.id.slice(0, 8)}`} · ${people.size} ${people.size === 1 ? 'person' : 'people'}`;
    div.append(h);
    let n = 0;
    for (const [who, p] of people) {
      if (n++ >= MAX_CHILDREN) { div.append(span(`… ${people.size - MAX_CHILDREN} more`, 'more')); break; }
      const row = document.createElement('div');
      row.className = 'person';
      row.append(span(who, 'who'), span(p.produces.length ? `sends ${p.produces.join(', ')}` : 'sends nothing', 'stream'),
        span(`receives ${p.consumes}${p.consumes ? ` (worst score ${p.worst})` : ''}`, p.worst <= 5 ? 'bad' : 'stream'));
      div.append(row);
    }
    out.push(div);
  }
  $('rooms').replaceChildren(...(out.length ? out : [span('no room has a transport', 'more')]));
}

// ---- rendering, at most four times a second ----
function schedule() {
  if (renderTimer) return;
  renderTimer = setTimeout(() => {
    renderTimer = 0;
    requestAnimationFrame(render);
  }, 250);
}
let renderMs = 0;
let maxRenderMs = 0;
function render() {
  const start = performance.now();
  if (structureDirty) buildTree();
  for (const r of rows.values()) fill(r);
  totals();
  rooms();
  charts();
  renderMs = performance.now() - start;
  maxRenderMs = Math.max(maxRenderMs, renderMs);
}

function onFigures(f) {
  const poolChanged = (f.pool?.length ?? 0) !== (figures?.pool?.length ?? 0);
  figures = f;
  figuresCount++;
  history.push({ t: f.t, cpu: f.server.cpu, wcpu: f.totals.workersCpu, recv: f.totals.recvBitrate, send: f.totals.sendBitrate });
  while (history.length > 0 && history[0].t < f.t - HISTORY_MS) history.shift();
  if (f.servers?.length || poolChanged) structureDirty = true;
  schedule();
}

// ---- the connection ----
const status = (text, live) => {
  $('status').textContent = text;
  $('status').className = live ? 'live' : '';
};
async function subscribe() {
  try {
    onFigures(await client.call('monitor', 'subscribe'));
    status('live', true);
  } catch (err) {
    status(`cannot subscribe: ${err.message}`, false);
  }
}
client.addEventListener('connected', () => { subscribe(); structureDirty = true; schedule(); });
client.addEventListener('disconnected', () => status('reconnecting…', false));
client.addEventListener('close', () => status('disconnected', false));
client.addEventListener('notification', (e) => { if (e.detail.method === 'monitor.figures') onFigures(e.detail.params); });
for (const ev of ['objectCreated', 'objectClosed']) {
  client.addEventListener(ev, (e) => { if (shown.has(e.detail.object.type) || e.detail.object.id === 'demo') { structureDirty = true; schedule(); } });
}
client.addEventListener('objectUpdated', (e) => {
  const o = e.detail.object;
  if (o.id === 'demo' || o.type === 'Worker' || (o.type === 'Producer' && 'paused' in (e.detail.props ?? {}))) structureDirty = true;
  schedule();
});
client.ready().then(() => {
  const server = client.object('monitor')?.props?.server;
  $('server').textContent = server?.id ? `server ${server.id}` : location.host;
}).catch((err) => status(`cannot connect: ${err.message}`, false));

/** What the tests read: the rendered tree and the latest figures. */
window.monitor = {
  state() {
    return {
      status: $('status').textContent,
      figuresCount,
      figuresTime: figures?.t ?? 0,
      renderMs,
      maxRenderMs,
      objects: client.objects.length,
      totals: figures?.totals ?? null,
      rows: [...$('tree').querySelectorAll('.row')].map((el) => ({
        id: el.dataset.id, type: el.dataset.type, figs: el.querySelector('.figs').textContent,
      })),
      rooms: [...$('rooms').querySelectorAll('.room h3')].map((h) => h.textContent),
    };
  },
  expandAll() {
    for (const o of client.objects) if (shown.has(o.type)) { expanded.add(o.id); collapsed.delete(o.id); }
    structureDirty = true;
    schedule();
  },
};
