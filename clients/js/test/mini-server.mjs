// A small in-memory stand-in for the Switchboard hub, speaking protocol v1 JSON over a real
// WebSocket (the `ws` package). Tests use it to drive the client over real sockets; it also
// serves a directory of static files, so the chat app can be tried in a browser against it.
// It implements only what the protocol page describes and keeps no state across restarts.
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { WebSocketServer } from 'ws';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

/** Namespace options, as the server's embedded defaults are described for the demo. */
const NAMESPACES = {
  chat: { history: 1000, presence: true, joinLeave: true, publish: true, anonymous: true },
  typing: { history: 0, presence: false, joinLeave: false, publish: true, anonymous: true },
};

function randomId(n = 8) {
  const abc = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let s = '';
  for (let i = 0; i < n; i++) s += abc[Math.floor(Math.random() * abc.length)];
  return s;
}

export async function startMiniServer({ port = 0, staticDir = null, ping = 25 } = {}) {
  const channels = new Map();
  const conns = new Set();

  const channel = (name) => {
    let ch = channels.get(name);
    if (!ch) {
      ch = { epoch: randomId(6), offset: 0, history: [], subscribers: new Set() };
      channels.set(name, ch);
    }
    return ch;
  };
  const namespace = (name) => NAMESPACES[name.includes(':') ? name.slice(0, name.indexOf(':')) : ''];

  const publish = (name, data, from) => {
    const ns = namespace(name);
    const ch = channel(name);
    const p = { offset: ++ch.offset, time: Date.now(), data };
    if (from) p.from = from;
    if (ns.history > 0) {
      ch.history.push(p);
      if (ch.history.length > ns.history) ch.history.shift();
    }
    const frame = JSON.stringify({ push: 'pub', channel: name, ...p });
    for (const c of ch.subscribers) c.ws.send(frame);
    return p;
  };

  const clientInfo = (c) => {
    const info = { client: c.id, user: c.user };
    if (c.name) info.info = { name: c.name };
    return info;
  };

  const broadcast = (name, push, except) => {
    const frame = JSON.stringify(push);
    for (const c of channel(name).subscribers) if (c !== except) c.ws.send(frame);
  };

  const leaveAll = (c) => {
    for (const name of c.subs) {
      const ch = channel(name);
      ch.subscribers.delete(c);
      if (namespace(name).joinLeave) broadcast(name, { push: 'leave', channel: name, ...clientInfo(c) });
    }
    c.subs.clear();
  };

  const handle = (c, cmd) => {
    const err = (code, reason) => ({ id: cmd.id, error: { code, reason } });
    const ok = (result) => ({ id: cmd.id, result });
    if (cmd.op === 'connect') {
      if (c.connected) return err(115, 'already connected');
      c.connected = true;
      c.user = '';
      c.name = typeof cmd.name === 'string' ? cmd.name : '';
      if (typeof cmd.token === 'string') {
        // Test tokens are unsigned JWTs: only the payload is read.
        try {
          const payload = JSON.parse(Buffer.from(cmd.token.split('.')[1], 'base64url').toString());
          c.user = String(payload.sub);
          if (payload.info?.name) c.name = payload.info.name;
        } catch {
          return err(114, 'invalid token');
        }
      }
      return ok({ client: c.id, user: c.user, expires: 0, ping, version: 'mini' });
    }
    if (!c.connected) return err(101, 'unauthorized');
    const name = cmd.channel;
    const ns = typeof name === 'string' ? namespace(name) : undefined;
    switch (cmd.op) {
      case 'ping':
        return ok({});
      case 'subscribe': {
        if (!ns) return err(102, 'unknown namespace');
        if (c.subs.has(name)) return err(105, 'already subscribed');
        const ch = channel(name);
        const result = { epoch: ch.epoch, offset: ch.offset, recoverable: ns.history > 0, publications: [] };
        let recovered = false;
        if (cmd.recover && ns.history > 0) {
          const { epoch, offset } = cmd.recover;
          const first = ch.history[0]?.offset ?? ch.offset + 1;
          recovered = epoch === ch.epoch && offset >= first - 1 && offset <= ch.offset;
          result.recovered = recovered;
          if (recovered) result.publications = ch.history.filter((p) => p.offset > offset);
        }
        if (!recovered && cmd.history > 0) result.publications = ch.history.slice(-cmd.history);
        c.subs.add(name);
        ch.subscribers.add(c);
        if (ns.joinLeave) broadcast(name, { push: 'join', channel: name, ...clientInfo(c) }, c);
        return ok(result);
      }
      case 'unsubscribe': {
        if (!c.subs.has(name)) return err(116, 'not subscribed');
        c.subs.delete(name);
        channel(name).subscribers.delete(c);
        if (ns.joinLeave) broadcast(name, { push: 'leave', channel: name, ...clientInfo(c) });
        return ok({});
      }
      case 'publish': {
        if (!ns) return err(102, 'unknown namespace');
        if (!ns.publish) return err(103, 'permission denied');
        const p = publish(name, cmd.data, clientInfo(c));
        return ok({ epoch: channel(name).epoch, offset: p.offset });
      }
      case 'history': {
        if (!ns) return err(102, 'unknown namespace');
        const ch = channel(name);
        let pubs = ch.history;
        if (cmd.since) {
          if (cmd.since.epoch !== ch.epoch) return err(112, 'position unrecoverable');
          pubs = pubs.filter((p) => p.offset > cmd.since.offset);
          if (typeof cmd.limit === 'number') pubs = pubs.slice(0, cmd.limit);
        } else if (typeof cmd.limit === 'number') {
          pubs = cmd.limit === 0 ? [] : pubs.slice(-cmd.limit);
          if (cmd.reverse) pubs = [...pubs].reverse();
        }
        return ok({ epoch: ch.epoch, offset: ch.offset, publications: pubs });
      }
      case 'presence':
        if (!ns) return err(102, 'unknown namespace');
        if (!ns.presence) return err(108, 'not available');
        return ok({ clients: [...channel(name).subscribers].map(clientInfo) });
      case 'presence_stats': {
        if (!ns?.presence) return err(108, 'not available');
        const subs = [...channel(name).subscribers];
        return ok({ clients: subs.length, users: new Set(subs.map((s) => s.user || s.id)).size });
      }
      default:
        return err(104, 'unknown op');
    }
  };

  const server = http.createServer(async (req, res) => {
    if (!staticDir) {
      res.writeHead(404).end();
      return;
    }
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(staticDir, path.endsWith('/') ? join(path, 'index.html') : path);
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  const wss = new WebSocketServer({
    server,
    path: '/connection',
    handleProtocols: (protocols) => (protocols.has('switchboard.v1.json') ? 'switchboard.v1.json' : false),
  });
  wss.on('connection', (ws) => {
    const c = { id: randomId(), ws, connected: false, user: '', name: '', subs: new Set() };
    conns.add(c);
    ws.on('message', (data, isBinary) => {
      if (isBinary) return ws.close(4500, 'bad request');
      const replies = [];
      for (const line of data.toString().split('\n')) {
        if (!line.trim()) continue;
        let cmd;
        try {
          cmd = JSON.parse(line);
        } catch {
          return ws.close(4500, 'bad request');
        }
        if (typeof cmd !== 'object' || cmd === null || !Number.isInteger(cmd.id) || cmd.id < 1) {
          return ws.close(4500, 'bad request');
        }
        replies.push(JSON.stringify(handle(c, cmd)));
      }
      if (replies.length) ws.send(replies.join('\n'));
    });
    ws.on('close', () => {
      conns.delete(c);
      leaveAll(c);
    });
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actualPort = server.address().port;
  return {
    port: actualPort,
    url: `ws://127.0.0.1:${actualPort}/connection`,
    httpUrl: `http://127.0.0.1:${actualPort}/`,
    /** Publishes as the server API would (no `from`). */
    publish: (name, data) => publish(name, data, null),
    /** Cuts every connection without a close frame (as a crash or a network loss would). */
    dropAll: () => {
      for (const c of conns) c.ws.terminate();
    },
    /** Closes every connection with a close code, after a `disconnect` push. */
    disconnectAll: (code, reason) => {
      for (const c of conns) {
        c.ws.send(JSON.stringify({ push: 'disconnect', code, reason, reconnect: code < 4500 }));
        c.ws.close(code, reason);
      }
    },
    /** Forgets a channel's history (a new epoch), as a restart of a memory namespace would. */
    resetChannel: (name) => {
      const ch = channel(name);
      ch.epoch = randomId(6);
      ch.offset = 0;
      ch.history = [];
    },
    connections: () => conns.size,
    close: () =>
      new Promise((resolve) => {
        for (const c of conns) c.ws.terminate();
        wss.close();
        server.close(() => resolve());
      }),
  };
}

// `node test/mini-server.mjs [port] [staticDir]` runs it by hand.
if (import.meta.url === `file://${process.argv[1]}`) {
  const s = await startMiniServer({ port: Number(process.argv[2] ?? 8090), staticDir: process.argv[3] ?? null });
  console.log(`mini server on ${s.httpUrl} (WebSocket ${s.url})`);
}
