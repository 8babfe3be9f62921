// Interop test: Chromium's WebRTC stack against Switchboard's STUN/TURN. Each page connects to the
// hub over WebSocket, takes the ICE servers the connect reply hands it (this server's URLs and a
// TURN credential minted for the client), and:
//   1. gathers candidates: a server-reflexive one from our STUN and relay ones from our TURN
//      (UDP and TCP transports);
//   2. opens a data channel to a second page with iceTransportPolicy 'relay', so every byte goes
//      through our TURN relay on loopback, and exchanges messages both ways.
// Signalling between the two pages is passed through this script (the hub's own signalling is
// a later issue). Usage: node tests/interop/turn_chromium_test.mjs --switchboard PATH
//
// A server-reflexive candidate only exists when the server sees another address than the
// browser's own, so the script re-runs itself in a private network namespace (unshare --net, as
// root) where an nftables rule source-NATs the browser's packets to the STUN/TURN port from
// 127.0.0.1 to 127.0.0.2: a NAT on loopback that touches nothing outside the namespace.
import { launchChromium } from './lib/chromium.mjs';
import { Switchboard, killAll } from './lib/switchboard_proc.mjs';
import { parseArgs, binaryUsable, Report, runInPrivateNetns, withTimeout } from './lib/common.mjs';

const TURN_PORT = 3478; // free inside the private namespace

runInPrivateNetns([
  'nft add table ip sbnat',
  "nft add chain ip sbnat post '{ type nat hook postrouting priority 100; }'",
  `nft add rule ip sbnat post ip saddr 127.0.0.1 ip daddr 127.0.0.1 udp dport ${TURN_PORT} snat to 127.0.0.2`,
]);

const R = new Report();
const args = parseArgs();
let browser = null;
let server = null;

// Runs in the page: the hub's connect reply, then WebRTC helpers on window.T.
function pageLib() {
  window.T = {
    async iceServers(wsUrl) {
      const ws = new WebSocket(wsUrl, 'switchboard.v1.json');
      await new Promise((res, rej) => { ws.onopen = res; ws.onerror = () => rej(new Error('ws error')); });
      const reply = new Promise((res) => { ws.onmessage = (e) => res(JSON.parse(e.data.split('\n')[0])); });
      ws.send(JSON.stringify({ id: 1, op: 'connect' }));
      const r = await reply;
      window.T.ws = ws; // stays open: the credential is the connection's
      return r.result.ice_servers;
    },
    async gather(iceServers) {
      const pc = new RTCPeerConnection({ iceServers });
      pc.createDataChannel('probe');
      const cands = [];
      const done = new Promise((res) => {
        pc.onicecandidate = (e) => { if (e.candidate) cands.push(e.candidate.candidate); else res(); };
      });
      await pc.setLocalDescription(await pc.createOffer());
      await Promise.race([done, new Promise((r) => setTimeout(r, 8000))]);
      pc.close();
      return cands;
    },
    // The relay-only peer connection; candidates and descriptions go out through the caller.
    start(iceServers, offerer) {
      const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: 'relay' });
      window.T.pc = pc;
      window.T.cands = [];
      window.T.got = [];
      pc.onicecandidate = (e) => { if (e.candidate) window.T.cands.push(e.candidate.toJSON()); };
      const attach = (ch) => {
        window.T.ch = ch;
        ch.onmessage = (e) => window.T.got.push(e.data);
        window.T.open = new Promise((res) => { if (ch.readyState === 'open') res(); else ch.onopen = res; });
      };
      if (offerer) attach(pc.createDataChannel('chat', { ordered: true }));
      else {
        window.T.open = new Promise((res) => {
          pc.ondatachannel = (e) => { attach(e.channel); window.T.open.then ? window.T.ch.onopen = res : res(); if (e.channel.readyState === 'open') res(); };
        });
      }
    },
    async offer() { await window.T.pc.setLocalDescription(await window.T.pc.createOffer()); return window.T.pc.localDescription.toJSON(); },
    async answer(offer) {
      await window.T.pc.setRemoteDescription(offer);
      await window.T.pc.setLocalDescription(await window.T.pc.createAnswer());
      return window.T.pc.localDescription.toJSON();
    },
    async accept(answer) { await window.T.pc.setRemoteDescription(answer); },
    takeCandidates() { return window.T.cands.splice(0); },
    async addCandidates(list) { for (const c of list) await window.T.pc.addIceCandidate(c); },
    async waitOpen(ms) {
      await Promise.race([window.T.open, new Promise((_, rej) => setTimeout(() => rej(new Error('channel did not open')), ms))]);
    },
    send(n, tag) { for (let i = 0; i < n; i++) window.T.ch.send(`${tag}-${i}`); },
    received() { return window.T.got.slice(); },
    async selectedPair() {
      const stats = await window.T.pc.getStats();
      let pair = null;
      stats.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId); });
      if (!pair) stats.forEach((s) => { if (s.type === 'candidate-pair' && s.state === 'succeeded' && s.nominated) pair = s; });
      if (!pair) return null;
      const local = stats.get(pair.localCandidateId), remote = stats.get(pair.remoteCandidateId);
      return { local: local && local.candidateType, remote: remote && remote.candidateType, relayProtocol: local && local.relayProtocol };
    },
  };
}

async function newPage(url) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(url + '/healthz');
  await page.evaluate(pageLib);
  return page;
}

async function metric(name) {
  const r = await server.get('/metrics');
  const line = r.body.toString().split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{') && l.includes(name));
  return line ? Number(line.trim().split(' ').pop()) : NaN;
}

async function main() {
  if (!binaryUsable(args.switchboard)) throw new Error(`no switchboard binary at ${args.switchboard}`);
  R.watchdog(args.budget, async () => { if (browser) await browser.close(); });
  // No --turn-allow-peer: relay-only pages reach each other's relayed addresses, which are the
  // server's own, by default.
  server = await new Switchboard(args.switchboard, ['--turn-secret', 'chromium-test',
    '--turn-listen', `127.0.0.1:${TURN_PORT}`]).start();
  browser = await launchChromium('sb-turn-chromium-', [
    '--allow-loopback-in-peer-connection', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
  ]);
  const a = await newPage(server.httpUrl);
  const b = await newPage(server.httpUrl);
  const iceA = await a.evaluate((u) => window.T.iceServers(u), server.wsUrl + '/connection');
  const iceB = await b.evaluate((u) => window.T.iceServers(u), server.wsUrl + '/connection');
  const turnEntry = (iceA || []).find((s) => s.credential);
  R.check('the hub hands the page STUN and TURN servers with a credential', turnEntry && turnEntry.urls.length >= 2, JSON.stringify(iceA));

  const cands = await withTimeout(a.evaluate((ice) => window.T.gather(ice), iceA), 15000, 'gathering');
  const types = cands.map((c) => / typ (\w+)/.exec(c)?.[1]);
  R.check('Chromium gathers a server-reflexive candidate from our STUN (the NATed address)',
    cands.some((c) => c.includes(' typ srflx') && c.includes('127.0.0.2')), cands.join(' | '));
  const relays = cands.filter((c) => c.includes(' typ relay'));
  R.check('Chromium gathers relay candidates from our TURN', relays.length >= 1, cands.join(' | '));
  R.check('relay candidates over both UDP and TCP to the server',
    relays.some((c) => / udp /i.test(c) && c.includes('127.0.0.1')) && relays.length >= 2, relays.join(' | '));

  const before = await metric('switchboard_turn_relayed_packets_total{direction="to_peer"}');
  await a.evaluate((ice) => window.T.start(ice, true), iceA);
  await b.evaluate((ice) => window.T.start(ice, false), iceB);
  const offer = await a.evaluate(() => window.T.offer());
  const answer = await b.evaluate((o) => window.T.answer(o), offer);
  await a.evaluate((s) => window.T.accept(s), answer);
  // Trickle: pass candidates across until the channel opens.
  let opened = false;
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline && !opened) {
    const ca = await a.evaluate(() => window.T.takeCandidates());
    const cb = await b.evaluate(() => window.T.takeCandidates());
    if (ca.length) await b.evaluate((l) => window.T.addCandidates(l), ca);
    if (cb.length) await a.evaluate((l) => window.T.addCandidates(l), cb);
    opened = await a.evaluate(() => window.T.waitOpen(300).then(() => true, () => false));
  }
  R.check('a relay-only data channel opens between two pages', opened);
  if (opened) {
    await b.evaluate(() => window.T.waitOpen(5000));
    await a.evaluate(() => window.T.send(50, 'a'));
    await b.evaluate(() => window.T.send(50, 'b'));
    let gotA = [], gotB = [];
    for (let i = 0; i < 50 && (gotA.length < 50 || gotB.length < 50); i++) {
      await new Promise((r) => setTimeout(r, 100));
      gotA = await a.evaluate(() => window.T.received());
      gotB = await b.evaluate(() => window.T.received());
    }
    const want = (tag) => Array.from({ length: 50 }, (_, i) => `${tag}-${i}`);
    R.check('every message arrives, in order, both ways', JSON.stringify(gotB) === JSON.stringify(want('a')) &&
      JSON.stringify(gotA) === JSON.stringify(want('b')), `a got ${gotA.length}, b got ${gotB.length}`);
    const pair = await a.evaluate(() => window.T.selectedPair());
    R.check('the selected pair is relay to relay', pair && pair.local === 'relay' && pair.remote === 'relay', JSON.stringify(pair));
    const after = await metric('switchboard_turn_relayed_packets_total{direction="to_peer"}');
    R.check('the server counted the relayed packets', after - before >= 100, `${before} -> ${after}`);
  }
}

main()
  .catch((e) => R.check('test ran', false, e.stack || String(e)))
  .finally(async () => {
    try { if (browser) await browser.close(); } catch { /* gone */ }
    if (browser) (await import('node:fs')).rmSync(browser.userDataDir, { recursive: true, force: true });
    try { if (server) await server.stop(); } catch { /* gone */ }
    killAll();
    R.summary();
    process.exit(R.exitCode);
  });
