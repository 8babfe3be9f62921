// FileTransfer over a pair of in-memory data channels: the protocol (meta, chunks, ack), flow
// control (the sender waits for bufferedamountlow above its high-water mark), verification,
// cancellation from either side, and refusals.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { FileTransfer } from '../dist/switchboard.js';

/** Two connected fake RTCDataChannels. Sent data is queued in `bufferedAmount` until pump(). */
class FakeChannel extends EventTarget {
  constructor(label) {
    super();
    this.label = label;
    this.readyState = 'connecting';
    this.bufferedAmount = 0;
    this.bufferedAmountLowThreshold = 0;
    this.binaryType = 'blob';
    this.queue = [];
    this.peer = null;
    this.onmessage = null;
    this.onclose = null;
    this.sent = 0;
  }
  send(data) {
    if (this.readyState !== 'open') throw new Error('InvalidStateError');
    const size = typeof data === 'string' ? data.length : data.byteLength;
    this.bufferedAmount += size;
    this.sent++;
    this.queue.push(data);
    this.maxBuffered = Math.max(this.maxBuffered ?? 0, this.bufferedAmount);
  }
  /** Delivers what is queued to the peer, lowering bufferedAmount. */
  pump() {
    const q = this.queue;
    this.queue = [];
    for (const data of q) {
      const size = typeof data === 'string' ? data.length : data.byteLength;
      const before = this.bufferedAmount;
      this.bufferedAmount -= size;
      if (before > this.bufferedAmountLowThreshold && this.bufferedAmount <= this.bufferedAmountLowThreshold)
        this.dispatchEvent(new Event('bufferedamountlow'));
      if (this.peer.readyState === 'open') {
        const copy = typeof data === 'string' ? data : data.slice(0);
        this.peer.onmessage?.({ data: copy });
      }
    }
  }
  open() {
    this.readyState = 'open';
    this.dispatchEvent(new Event('open'));
  }
  close() {
    if (this.readyState === 'closed') return;
    // Like SCTP: what was sent before close() is delivered before the close.
    if (this.readyState === 'open') this.pump();
    this.readyState = 'closed';
    this.onclose?.();
    this.dispatchEvent(new Event('close'));
    if (this.peer.readyState !== 'closed') this.peer.close();
  }
}

function pair(label) {
  const a = new FakeChannel(label);
  const b = new FakeChannel(label);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** A fake peer connection whose createDataChannel returns one end; the other end goes to `onRemote`. */
function fakePc(onRemote) {
  return {
    createDataChannel(label) {
      const [local, remote] = pair(label);
      queueMicrotask(() => {
        local.open();
        remote.open();
        onRemote(remote);
      });
      return local;
    },
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function run(bytes, { tamper = null, cancelAt = null, cancelBy = 'sender' } = {}) {
  let remote = null;
  const pc = fakePc((ch) => { remote = ch; });
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 31 + 7) & 0xff;
  const sender = FileTransfer.send(pc, 'peer-b', new Blob([data]), 'data.bin');
  let receiver = null;
  const events = { sendProgress: 0, recvProgress: 0 };
  sender.on('progress', () => events.sendProgress++);
  while (!remote) await sleep(1);
  FileTransfer.receive(remote, 'peer-a', (t) => {
    receiver = t;
    t.on('progress', () => events.recvProgress++);
  });
  const local = remote.peer;
  // Pump both directions until both ends settle.
  for (let i = 0; i < 2000; i++) {
    if (tamper && local.queue.length > 3) tamper(local.queue);
    local.pump();
    remote.pump();
    if (cancelAt !== null && receiver && receiver.bytes >= cancelAt) {
      (cancelBy === 'sender' ? sender : receiver).cancel();
      cancelAt = null;
    }
    const settled = (t) => t && ['done', 'failed', 'cancelled'].includes(t.state);
    if (settled(sender) && settled(receiver)) break;
    await sleep(0);
  }
  return { sender, receiver, events, local, data };
}

describe('FileTransfer', () => {
  test('a file arrives whole, both sides agree on the SHA-256, progress is reported', async () => {
    const { sender, receiver, events, local, data } = await run(5 * 1024 * 1024 + 123);
    assert.equal(sender.state, 'done');
    assert.equal(receiver.state, 'done');
    assert.equal(receiver.name, 'data.bin');
    assert.equal(receiver.size, data.length);
    assert.deepEqual(new Uint8Array(await receiver.blob.arrayBuffer()), data);
    assert.match(sender.sha256, /^[0-9a-f]{64}$/);
    assert.equal(receiver.sha256, sender.sha256);
    assert.ok(events.sendProgress > 10 && events.recvProgress > 10);
    // Flow control: never much more than the 4 MiB high-water mark in flight.
    assert.ok(local.maxBuffered <= 4 * 1024 * 1024 + 64 * 1024 + 1024, `max buffered ${local.maxBuffered}`);
    await sender.done;
    await receiver.done;
  });

  test('an empty file is a transfer too', async () => {
    const { sender, receiver } = await run(0);
    assert.equal(sender.state, 'done');
    assert.equal(receiver.state, 'done');
    assert.equal(receiver.blob.size, 0);
  });

  test('corrupted bytes fail the hash on both sides', async () => {
    let done = false;
    const { sender, receiver } = await run(300 * 1024, {
      tamper: (q) => {
        if (done) return;
        const i = q.findIndex((x) => typeof x !== 'string');
        if (i >= 0) {
          new Uint8Array(q[i])[5] ^= 0xff;
          done = true;
        }
      },
    });
    assert.equal(receiver.state, 'failed');
    assert.equal(sender.state, 'failed');
    await assert.rejects(sender.done, /hash/);
    await assert.rejects(receiver.done, /hash mismatch/);
  });

  test('the sender can cancel', async () => {
    const { sender, receiver } = await run(2 * 1024 * 1024, { cancelAt: 256 * 1024, cancelBy: 'sender' });
    assert.equal(sender.state, 'cancelled');
    assert.equal(receiver.state, 'cancelled');
    await assert.rejects(receiver.done, /cancelled/);
  });

  test('the receiver can cancel', async () => {
    const { sender, receiver } = await run(2 * 1024 * 1024, { cancelAt: 256 * 1024, cancelBy: 'receiver' });
    assert.equal(receiver.state, 'cancelled');
    assert.equal(sender.state, 'cancelled');
  });

  test('a channel whose first message is not a file announcement is closed', async () => {
    const [a, b] = pair('file:x');
    a.open();
    b.open();
    let offered = false;
    FileTransfer.receive(b, 'peer', () => { offered = true; });
    a.send('not json');
    a.pump();
    assert.equal(b.readyState, 'closed');
    assert.equal(offered, false);
  });

  test('a file announced over 1 GiB is refused', async () => {
    const [a, b] = pair('file:y');
    a.open();
    b.open();
    let offered = false;
    FileTransfer.receive(b, 'peer', () => { offered = true; });
    a.send(JSON.stringify({ t: 'meta', name: 'huge', size: 2 ** 31, type: '', sha256: '0'.repeat(64) }));
    a.pump();
    assert.equal(offered, false);
    assert.equal(b.readyState, 'closed');
  });
});
