// The demo page: a join form, a grid of video tiles (the own camera first),
// who is speaking, and a chat. <body data-signal="rope"> signals over ROPE
// to the media server that serves the page (cmd/ropeserver's /demo/);
// data-signal="ws" over JSON to the app server that serves it
// (examples/node-room, at data-ws-path). URL parameters: room, name,
// autojoin=1, w and h (camera size), simulcast=0; #token=… is the ROPE
// token of a server started with -token alone (a server that verifies
// signed tokens gives the page a participant token for its room).
import { Room, newPeerId } from './room.js';
import { RopeSignal } from './signal-rope.js';
import { WsSignal } from './signal-ws.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const tiles = new Map(); // peer id → {el, video, audio, label}
let room = null;
const chatLog = [];
const speakers = [];

function signal() {
  const mode = document.body.dataset.signal || 'rope';
  const ws = new URL(location.href);
  ws.protocol = ws.protocol === 'https:' ? 'wss:' : 'ws:';
  ws.search = '';
  ws.hash = '';
  if (mode === 'ws') {
    ws.pathname = document.body.dataset.wsPath || '/ws';
    return new WsSignal(ws.href);
  }
  ws.pathname = document.body.dataset.ropePath || '/';
  const token = new URLSearchParams(location.hash.slice(1)).get('token') || undefined;
  return new RopeSignal(ws.href, { token });
}

function tile(peerId, name, own) {
  let t = tiles.get(peerId);
  if (t) return t;
  const el = document.createElement('figure');
  el.className = own ? 'tile own' : 'tile';
  el.dataset.peerId = peerId;
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  video.muted = true;
  const audio = document.createElement('audio');
  audio.autoplay = true;
  const label = document.createElement('figcaption');
  label.textContent = own ? `${name} (you)` : name;
  const layer = document.createElement('span');
  layer.className = 'layer';
  label.append(layer);
  el.append(video, audio, label);
  if (!own) {
    el.title = 'click: lower / higher simulcast layer';
    let low = false;
    el.addEventListener('click', () => {
      low = !low;
      room?.preferLayer(peerId, low ? 0 : 2).catch((err) => console.error(err));
    });
  }
  $('tiles').append(el);
  t = { el, video, audio, label, layer, tracks: {} };
  tiles.set(peerId, t);
  return t;
}

function addChat(line) {
  chatLog.push(line);
  const li = document.createElement('li');
  const who = document.createElement('b');
  who.textContent = `${line.name}: `;
  li.append(who, document.createTextNode(line.text));
  if (line.own) li.className = 'own';
  $('chatlog').append(li);
  li.scrollIntoView({ block: 'nearest' });
}

async function join(roomName, name) {
  $('join').hidden = true;
  $('room').hidden = false;
  $('roomname').textContent = roomName;
  const width = Number(params.get('w')) || 640;
  const height = Number(params.get('h')) || 360;
  room = new Room(signal(), { peerId: newPeerId(), name, width, height, simulcast: params.get('simulcast') !== '0' });
  room.addEventListener('peer', (e) => tile(e.detail.peerId, e.detail.name, false));
  room.addEventListener('peerleft', (e) => {
    tiles.get(e.detail.peerId)?.el.remove();
    tiles.delete(e.detail.peerId);
  });
  room.addEventListener('track', (e) => {
    const t = tile(e.detail.peerId, e.detail.peerId, false);
    t.tracks[e.detail.kind] = e.detail.track;
    const el = e.detail.kind === 'video' ? t.video : t.audio;
    el.srcObject = new MediaStream([e.detail.track]);
  });
  room.addEventListener('trackended', (e) => {
    const t = tiles.get(e.detail.peerId);
    if (t) (e.detail.kind === 'video' ? t.video : t.audio).srcObject = null;
  });
  room.addEventListener('speaker', (e) => {
    speakers.push(e.detail.peerId);
    for (const [id, t] of tiles) t.el.classList.toggle('speaking', id === e.detail.peerId);
  });
  room.addEventListener('layers', (e) => {
    const t = tiles.get(e.detail.peerId);
    if (t) t.layer.textContent = e.detail.spatialLayer === undefined ? '' : ` · layer ${e.detail.spatialLayer}`;
  });
  room.addEventListener('chat', (e) => addChat(e.detail));
  room.addEventListener('closed', () => { $('status').textContent = 'disconnected'; });
  const own = tile(room.peerId, name, true);
  $('status').textContent = 'joining…';
  try {
    await room.join(roomName);
  } catch (err) {
    $('status').textContent = `could not join: ${err.message}`;
    throw err;
  }
  own.video.srcObject = room.localStream;
  $('status').textContent = 'joined';
}

/** What the tests read: per remote peer, the decoded video and the audio received. */
async function stats() {
  const peers = [];
  for (const [peerId, t] of tiles) {
    if (peerId === room?.peerId) continue;
    const s = { peerId, name: t.label.textContent, width: t.video.videoWidth, height: t.video.videoHeight, framesDecoded: 0, audioPackets: 0 };
    for (const c of room.consumers.values()) {
      if (c.peerId !== peerId) continue;
      (await c.consumer.getStats()).forEach((r) => {
        if (r.type !== 'inbound-rtp') return;
        if (r.kind === 'video') s.framesDecoded = r.framesDecoded || 0;
        if (r.kind === 'audio') s.audioPackets = r.packetsReceived || 0;
      });
    }
    const rect = t.video.getBoundingClientRect();
    s.rect = { x: rect.x, y: rect.y, width: rect.width, height: rect.height };
    peers.push(s);
  }
  const chatPeers = room ? [...room.dataConsumers.values()].filter((d) => d.readyState === 'open').length : 0;
  return { peerId: room?.peerId, status: $('status').textContent, peers, chatPeers, chat: chatLog.slice(), speakers: [...new Set(speakers)] };
}

/** What the tests read of the ROPE mirror (signal-rope.js only): the room's router and every object held. */
function mirror() {
  const c = room?.signal?.client;
  if (!c) return null;
  return {
    routerId: room.signal.router?.id,
    objects: c.objects.map((o) => ({ id: o.id, type: o.type, parent: o.parent, peerId: o.appData?.peerId })),
  };
}

window.demo = { join, stats, mirror, chat: (text) => room.chat(text), get room() { return room; } };

$('joinform').addEventListener('submit', (e) => {
  e.preventDefault();
  join($('roominput').value.trim() || 'lobby', $('nameinput').value.trim() || 'guest').catch((err) => console.error(err));
});
$('chatform').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('chatinput').value.trim();
  if (!text) return;
  try {
    room.chat(text);
    $('chatinput').value = '';
  } catch (err) {
    $('status').textContent = err.message;
  }
});
$('leave').addEventListener('click', () => {
  room?.leave().finally(() => location.reload());
});
addEventListener('pagehide', () => { room?.leave(); });

$('roominput').value = params.get('room') || 'lobby';
$('nameinput').value = params.get('name') || `guest-${Math.floor(Math.random() * 1000)}`;
if (params.get('autojoin') === '1') $('joinform').requestSubmit();
