/**
 * Peer-to-peer file transfer over an RTCDataChannel of its own (reliable, ordered), so a large
 * file never delays room data messages. The sender announces {name, size, type, sha256}, sends
 * 64 KiB chunks while the channel's buffer is below a high-water mark (resuming on
 * bufferedamountlow), and the receiver checks the SHA-256 of what arrived and answers with the
 * result: both sides finish only on a verified hash.
 */
import { Emitter } from './emitter.js';

export type FileTransferState = 'pending' | 'transferring' | 'done' | 'failed' | 'cancelled';

export interface FileTransferEvents {
  progress: { bytes: number; size: number };
  done: { sha256: string; blob: Blob | null };
  failed: { reason: string };
  cancelled: { by: 'local' | 'remote' };
}

export const FILE_CHANNEL_PREFIX = 'file:';
export const MAX_FILE_SIZE = 1024 * 1024 * 1024; // received files are kept in memory
const CHUNK = 64 * 1024;
const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;

async function sha256Hex(data: Blob | ArrayBuffer): Promise<string> {
  const buf = data instanceof Blob ? await data.arrayBuffer() : data;
  const digest = await crypto.subtle.digest('SHA-256', buf);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

function newId(): string {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export class FileTransfer extends Emitter<FileTransferEvents> {
  state: FileTransferState = 'pending';
  bytes = 0;
  sha256 = '';
  /** The received file once verified (receiving side). */
  blob: Blob | null = null;
  /** Resolves when the hash is verified; rejects when it fails or is cancelled. */
  readonly done: Promise<FileTransfer>;
  private resolveDone!: (t: FileTransfer) => void;
  private rejectDone!: (e: Error) => void;
  private chunks: ArrayBuffer[] = [];

  private constructor(
    readonly direction: 'send' | 'receive',
    /** The other participant's sid. */
    readonly peer: string,
    readonly id: string,
    readonly name: string,
    readonly size: number,
    readonly type: string,
    private readonly channel: RTCDataChannel,
  ) {
    super();
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // Callers that only listen to events must not see an unhandled rejection.
    this.done.catch(() => undefined);
  }

  /** Sends `file` on a new channel of `pc`. */
  static send(pc: RTCPeerConnection, peer: string, file: Blob, name: string): FileTransfer {
    const id = newId();
    const channel = pc.createDataChannel(FILE_CHANNEL_PREFIX + id, { ordered: true });
    channel.binaryType = 'arraybuffer';
    const t = new FileTransfer('send', peer, id, name, file.size, file.type || 'application/octet-stream', channel);
    void t.runSender(file);
    return t;
  }

  /** Receives on a channel the other side opened (label "file:<id>"). */
  static receive(channel: RTCDataChannel, peer: string, onMeta: (t: FileTransfer) => void): void {
    channel.binaryType = 'arraybuffer';
    channel.onmessage = (e) => {
      if (typeof e.data !== 'string') return;
      let meta: Record<string, unknown>;
      try {
        meta = JSON.parse(e.data) as Record<string, unknown>;
      } catch {
        channel.close();
        return;
      }
      const size = Number(meta.size);
      if (meta.t !== 'meta' || !Number.isSafeInteger(size) || size < 0 || typeof meta.sha256 !== 'string') {
        channel.close();
        return;
      }
      const t = new FileTransfer('receive', peer, channel.label.slice(FILE_CHANNEL_PREFIX.length),
        String(meta.name ?? 'file').slice(0, 255), size, String(meta.type ?? ''), channel);
      t.sha256 = meta.sha256;
      if (size > MAX_FILE_SIZE) {
        t.fail('file larger than 1 GiB');
        return;
      }
      t.runReceiver();
      onMeta(t);
    };
  }

  /** Stops the transfer on both sides. */
  cancel(): void {
    if (this.state === 'done' || this.state === 'failed' || this.state === 'cancelled') return;
    this.finishCancelled('local');
    try {
      if (this.channel.readyState === 'open') this.channel.send(JSON.stringify({ t: 'cancel' }));
    } catch {
      /* closing anyway */
    }
    this.channel.close();
  }

  private async runSender(file: Blob): Promise<void> {
    const ch = this.channel;
    ch.bufferedAmountLowThreshold = LOW_WATER;
    ch.onclose = () => {
      if (this.state === 'pending' || this.state === 'transferring') this.finishCancelled('remote');
    };
    ch.onmessage = (e) => {
      if (typeof e.data !== 'string') return;
      const m = JSON.parse(e.data) as Record<string, unknown>;
      if (m.t === 'cancel') this.finishCancelled('remote');
      else if (m.t === 'ack' && m.ok === true && m.sha256 === this.sha256) this.finishDone();
      else if (m.t === 'ack') this.fail('the receiver computed another hash');
      ch.close();
    };
    try {
      this.sha256 = await sha256Hex(file);
      await this.opened();
      ch.send(JSON.stringify({ t: 'meta', name: this.name, size: this.size, type: this.type, sha256: this.sha256 }));
      this.state = 'transferring';
      for (let at = 0; at < this.size; at += CHUNK) {
        if (this.state !== 'transferring') return;
        if (ch.bufferedAmount > HIGH_WATER) await this.drained();
        if (this.state !== 'transferring') return;
        const chunk = await file.slice(at, Math.min(this.size, at + CHUNK)).arrayBuffer();
        ch.send(chunk);
        this.bytes = Math.max(0, at + chunk.byteLength - ch.bufferedAmount);
        this.emit('progress', { bytes: this.bytes, size: this.size });
      }
    } catch (e) {
      this.fail(e instanceof Error ? e.message : String(e));
    }
  }

  private runReceiver(): void {
    const ch = this.channel;
    this.state = 'transferring';
    ch.onclose = () => {
      if (this.state === 'transferring') this.finishCancelled('remote');
    };
    ch.onmessage = (e) => {
      if (this.state !== 'transferring') return;
      if (typeof e.data === 'string') {
        if ((JSON.parse(e.data) as Record<string, unknown>).t === 'cancel') this.finishCancelled('remote');
        return;
      }
      const chunk = e.data as ArrayBuffer;
      this.bytes += chunk.byteLength;
      if (this.bytes > this.size) return this.fail('more bytes than announced');
      this.chunks.push(chunk);
      this.emit('progress', { bytes: this.bytes, size: this.size });
      if (this.bytes === this.size) void this.verify();
    };
    if (this.size === 0) void this.verify();
  }

  private async verify(): Promise<void> {
    const blob = new Blob(this.chunks, { type: this.type });
    this.chunks = [];
    const got = await sha256Hex(blob);
    const ok = got === this.sha256;
    try {
      this.channel.send(JSON.stringify({ t: 'ack', ok, sha256: got }));
    } catch {
      /* the sender is gone; the result stands */
    }
    if (!ok) return this.fail(`hash mismatch: got ${got}`);
    this.blob = blob;
    this.finishDone();
  }

  private opened(): Promise<void> {
    const ch = this.channel;
    if (ch.readyState === 'open') return Promise.resolve();
    return new Promise((resolve, reject) => {
      ch.addEventListener('open', () => resolve(), { once: true });
      ch.addEventListener('close', () => reject(new Error('the channel closed before it opened')), { once: true });
    });
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const ch = this.channel;
      const done = (): void => {
        ch.removeEventListener('bufferedamountlow', done);
        ch.removeEventListener('close', done);
        resolve();
      };
      ch.addEventListener('bufferedamountlow', done);
      ch.addEventListener('close', done);
    });
  }

  private finishDone(): void {
    if (this.state === 'done') return;
    this.state = 'done';
    this.bytes = this.size;
    this.emit('progress', { bytes: this.size, size: this.size });
    this.emit('done', { sha256: this.sha256, blob: this.blob });
    this.resolveDone(this);
  }

  private fail(reason: string): void {
    if (this.state === 'done' || this.state === 'failed' || this.state === 'cancelled') return;
    this.state = 'failed';
    this.chunks = [];
    this.emit('failed', { reason });
    this.rejectDone(new Error(reason));
    this.channel.close();
  }

  private finishCancelled(by: 'local' | 'remote'): void {
    if (this.state === 'done' || this.state === 'failed' || this.state === 'cancelled') return;
    this.state = 'cancelled';
    this.chunks = [];
    this.emit('cancelled', { by });
    this.rejectDone(new Error(by === 'local' ? 'cancelled' : 'cancelled by the other side'));
  }
}
