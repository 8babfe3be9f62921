import { Emitter } from './emitter.js';
import { decodeBinaryPub } from './binary-pub.js';
import { CloseCode, ErrorCode, SwitchboardError, toSwitchboardError } from './errors.js';
import { Subscription } from './subscription.js';
import {
  SUBPROTOCOL,
  type ClientEvents,
  type ClientOptions,
  type ClientState,
  type ConnectedContext,
  type HistoryOptions,
  type HistoryResult,
  type IceServer,
  type PresenceResult,
  type PresenceStatsResult,
  type PublishResult,
  type SubscriptionOptions,
  type WebSocketConstructor,
} from './types.js';

/** The parts of a WebSocket this client uses (browser WebSocket, `ws`, undici all have them). */
interface WebSocketLike {
  readonly readyState: number;
  binaryType?: string;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code?: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

type Json = Record<string, unknown>;

const OPEN = 1;
const MAX_ID = 4294967295;
/** Frames the client writes are split so that none grows past this many bytes (roughly). */
const MAX_BATCH_CHARS = 256 * 1024;

interface Call {
  op: string;
  fields: Json;
  resolve: (result: Json) => void;
  reject: (error: SwitchboardError) => void;
  timer: ReturnType<typeof setTimeout> | null;
  /** App commands that are safe to send again after a reconnect (reads). */
  resendable: boolean;
  /** Internal commands belong to one transport and are never queued. */
  internal: boolean;
  id: number;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown, fallback = 0): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

function str(v: unknown, fallback = ''): string {
  return typeof v === 'string' ? v : fallback;
}

/** Truncates to at most `max` UTF-8 bytes without cutting a character. */
function truncateUtf8(s: string, max: number): string {
  let bytes = 0;
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + n > max) break;
    bytes += n;
    out += ch;
  }
  return out;
}

/**
 * A connection to a Switchboard server. It connects on `connect()`, reconnects by itself with
 * exponential backoff and jitter, keeps its subscriptions across reconnects (recovering missed
 * publications), refreshes its token before it expires and detects dead connections with pings.
 */
export class Client extends Emitter<ClientEvents> {
  readonly url: string;
  private readonly opts: Required<
    Pick<ClientOptions, 'minReconnectDelay' | 'maxReconnectDelay' | 'timeout' | 'maxQueueSize'>
  > &
    ClientOptions;
  private readonly WS: WebSocketConstructor | undefined;
  private readonly logger: ((...args: unknown[]) => void) | null;

  private _state: ClientState = 'disconnected';
  private ws: WebSocketLike | null = null;
  /** Incremented for every transport and every connect()/disconnect(): stale callbacks check it. */
  private generation = 0;
  private nextId = 1;
  private inflight = new Map<number, Call>();
  private queue: Call[] = [];
  private outbox: string[] = [];
  private flushScheduled = false;
  private subs = new Map<string, Subscription>();
  private roomHandlers = new Map<string, (kind: string, msg: Json) => void>();

  private token: string | undefined;
  private tokenStale = false;
  private attempts = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private connectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setTimeout> | null = null;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private refreshAttempts = 0;
  /** A `disconnect` push seen on the current transport: it explains the close that follows. */
  private disconnectPush: { code: number; reason: string; reconnect: boolean } | null = null;
  private info: ConnectedContext | null = null;
  private onlineListener: (() => void) | null = null;

  constructor(url: string, options: ClientOptions = {}) {
    super();
    this.url = url;
    this.opts = {
      minReconnectDelay: 500,
      maxReconnectDelay: 20000,
      timeout: 10000,
      maxQueueSize: 256,
      ...options,
    };
    // Options given explicitly as undefined fall back to the defaults too.
    this.opts.minReconnectDelay = options.minReconnectDelay ?? 500;
    this.opts.maxReconnectDelay = Math.max(options.maxReconnectDelay ?? 20000, this.opts.minReconnectDelay);
    this.opts.timeout = options.timeout ?? 10000;
    this.opts.maxQueueSize = options.maxQueueSize ?? 256;
    this.token = options.token;
    this.WS =
      options.websocket ??
      ((globalThis as { WebSocket?: WebSocketConstructor }).WebSocket as WebSocketConstructor | undefined);
    const debug = options.debug;
    this.logger =
      typeof debug === 'function'
        ? debug
        : debug
          ? (...args: unknown[]) => console.debug('[switchboard]', ...args)
          : null;
  }

  /** 'disconnected', 'connecting' (including the waits between attempts) or 'connected'. */
  get state(): ClientState {
    return this._state;
  }

  /** The server-assigned id of the current connection, or null when not connected. */
  get clientId(): string | null {
    return this._state === 'connected' && this.info ? this.info.client : null;
  }

  /**
   * The STUN/TURN servers of the current connection, with TURN credentials minted for it, for
   * `new RTCPeerConnection({ iceServers })`; [] when not connected or the server runs none.
   */
  get iceServers(): IceServer[] {
    return this._state === 'connected' && this.info ? this.info.iceServers.map((s) => ({ ...s, urls: [...s.urls] })) : [];
  }

  /** The connected user (`""` when anonymous), or null when not connected. */
  get user(): string | null {
    return this._state === 'connected' && this.info ? this.info.user : null;
  }

  /**
   * Starts connecting (and reconnecting whenever the connection is lost). While the client waits
   * between attempts, calling it again makes the next attempt at once.
   */
  connect(): void {
    if (this._state === 'connected') return;
    if (this._state === 'connecting') {
      if (this.reconnectTimer !== null) {
        clearTimeout(this.reconnectTimer);
        this.reconnectTimer = null;
        this.openTransport();
      }
      return;
    }
    this.attempts = 0;
    this.watchOnline(true);
    this.setState('connecting');
    this.emit('connecting', { code: 0, reason: 'connect called' });
    this.openTransport();
  }

  /** Closes the connection and stops reconnecting. Subscriptions are kept and resume on connect(). */
  disconnect(): void {
    if (this._state === 'disconnected') return;
    this.enterDisconnected(ErrorCode.ClientDisconnected, 'disconnect called');
  }

  /** Resolves once connected; rejects after `timeout` ms or when the client stops. */
  ready(timeout = this.opts.timeout): Promise<void> {
    if (this._state === 'connected') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const offs: Array<() => void> = [];
      const done = (err?: SwitchboardError) => {
        clearTimeout(timer);
        for (const off of offs) off();
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(() => done(new SwitchboardError(ErrorCode.Timeout, 'timeout waiting for connection')), timeout);
      offs.push(this.on('connected', () => done()));
      offs.push(
        this.on('disconnected', (ctx) => done(new SwitchboardError(ErrorCode.ClientDisconnected, ctx.reason))),
      );
    });
  }

  // ---- subscriptions ----

  /**
   * Creates a subscription to `channel` (call `subscribe()` on it). One subscription per channel:
   * creating a second one for the same channel throws.
   */
  newSubscription<T = unknown>(channel: string, options: SubscriptionOptions = {}): Subscription<T> {
    if (this.subs.has(channel)) throw new Error(`switchboard: a subscription to ${channel} already exists`);
    const sub = new Subscription<T>(this, channel, options);
    this.subs.set(channel, sub as Subscription);
    return sub;
  }

  getSubscription<T = unknown>(channel: string): Subscription<T> | null {
    return (this.subs.get(channel) as Subscription<T> | undefined) ?? null;
  }

  /** Unsubscribes (if needed) and forgets the subscription, so the channel can be subscribed anew. */
  removeSubscription(sub: Subscription<unknown> | null | undefined): void {
    if (!sub) return;
    sub.unsubscribe();
    if (this.subs.get(sub.channel) === sub) this.subs.delete(sub.channel);
  }

  subscriptions(): Subscription[] {
    return [...this.subs.values()];
  }

  // ---- commands ----

  /**
   * Publishes `data` to `channel`. Resolves with the publication's position once the server has
   * committed it. Rejects at once with NotConnected (2) when the client is not connected, and
   * is never sent again by the client: see `SwitchboardError.maybeCommitted` for failures after
   * sending.
   */
  publish(channel: string, data: unknown): Promise<PublishResult> {
    if (this._state !== 'connected') {
      return Promise.reject(new SwitchboardError(ErrorCode.NotConnected, 'not connected'));
    }
    return this.call('publish', { channel, data }, false).then((r) => ({
      epoch: str(r.epoch),
      offset: num(r.offset),
    }));
  }

  /** Reads a channel's history. Waits for a connection if there is none (within `timeout`). */
  history<T = unknown>(channel: string, options: HistoryOptions = {}): Promise<HistoryResult<T>> {
    const fields: Json = { channel };
    if (options.limit !== undefined) fields.limit = options.limit;
    if (options.since) fields.since = { epoch: options.since.epoch, offset: options.since.offset };
    if (options.reverse) fields.reverse = true;
    return this.call('history', fields, true).then((r) => ({
      epoch: str(r.epoch),
      offset: num(r.offset),
      publications: Array.isArray(r.publications) ? (r.publications as HistoryResult<T>['publications']) : [],
    }));
  }

  /** The clients subscribed to `channel` (namespaces with presence). */
  presence(channel: string): Promise<PresenceResult> {
    return this.call('presence', { channel }, true).then((r) => ({
      clients: Array.isArray(r.clients) ? (r.clients as PresenceResult['clients']) : [],
    }));
  }

  /** How many clients and distinct users are subscribed to `channel`. */
  presenceStats(channel: string): Promise<PresenceStatsResult> {
    return this.call('presence_stats', { channel }, true).then((r) => ({
      clients: num(r.clients),
      users: num(r.users),
    }));
  }

  // ---- SubscriptionHost (used by Subscription; not part of the public API) ----

  /** @internal */
  _connected(): boolean {
    return this._state === 'connected';
  }

  /** @internal */
  _generation(): number {
    return this.generation;
  }

  /** @internal Sends a command on the current connection; rejects with ConnectionLost if it closes. */
  _internal(op: string, fields: Json): Promise<Json> {
    if (this._state !== 'connected' || !this.ws) {
      return Promise.reject(new SwitchboardError(ErrorCode.ConnectionLost, 'not connected'));
    }
    return this.send(op, fields, true, false);
  }

  /** @internal An app command (queued while not connected) for the Room API. */
  _call(op: string, fields: Json): Promise<Json> {
    return this.call(op, fields, false);
  }

  /** @internal Routes the pushes of one room (room_*, signal) to its Room; null removes. */
  _roomHandler(room: string, handler: ((kind: string, msg: Json) => void) | null): void {
    if (handler) this.roomHandlers.set(room, handler);
    else this.roomHandlers.delete(room);
  }

  /** @internal Drops the current connection and reconnects (used when a subscription's state is unknown). */
  _reconnect(code: number, reason: string): void {
    if (!this.ws) return;
    this.transportFailed(code, reason);
  }

  /** @internal */
  _backoff(attempt: number): number {
    return this.backoff(attempt);
  }

  /** @internal */
  _timeout(): number {
    return this.opts.timeout;
  }

  /** @internal */
  _log(...args: unknown[]): void {
    this.logger?.(...args);
  }

  // ---- internals ----

  private setState(s: ClientState): void {
    if (this._state === s) return;
    const old = this._state;
    this._state = s;
    this.log('state', old, '->', s);
    this.emit('state', { oldState: old, newState: s });
  }

  private log(...args: unknown[]): void {
    this.logger?.(...args);
  }

  /** Delay before attempt n: min + a random share of min·2ⁿ, capped at max (full jitter). */
  private backoff(attempt: number): number {
    const { minReconnectDelay: min, maxReconnectDelay: max } = this.opts;
    const ceiling = Math.min(max, min * 2 ** Math.min(attempt, 30));
    return Math.min(max, Math.round(min + Math.random() * ceiling));
  }

  private watchOnline(on: boolean): void {
    const w = globalThis as unknown as {
      addEventListener?: (t: string, f: () => void) => void;
      removeEventListener?: (t: string, f: () => void) => void;
      document?: unknown;
    };
    if (typeof w.addEventListener !== 'function' || w.document === undefined) return;
    if (on && !this.onlineListener) {
      this.onlineListener = () => {
        // The browser says the network is back: skip the rest of the backoff wait.
        if (this._state === 'connecting' && this.reconnectTimer !== null) this.connect();
      };
      w.addEventListener('online', this.onlineListener);
    } else if (!on && this.onlineListener) {
      w.removeEventListener?.('online', this.onlineListener);
      this.onlineListener = null;
    }
  }

  private async openTransport(): Promise<void> {
    const gen = ++this.generation;
    this.disconnectPush = null;
    if (this.opts.getToken && (!this.token || this.tokenStale)) {
      let token: string;
      try {
        token = await this.opts.getToken();
        if (typeof token !== 'string' || token === '') throw new Error('getToken returned no token');
      } catch (e) {
        if (gen !== this.generation) return;
        const err = toSwitchboardError(e, ErrorCode.TokenUnavailable);
        this.log('getToken failed', err);
        this.emit('error', { type: 'token', error: err });
        this.scheduleReconnect(ErrorCode.TokenUnavailable, err.message);
        return;
      }
      if (gen !== this.generation) return;
      this.token = token;
      this.tokenStale = false;
    }
    if (!this.WS) {
      this.enterDisconnected(ErrorCode.Transport, 'no WebSocket implementation: pass the websocket option');
      return;
    }
    let ws: WebSocketLike;
    try {
      ws = new this.WS(this.url, SUBPROTOCOL) as WebSocketLike;
    } catch (e) {
      const err = toSwitchboardError(e, ErrorCode.Transport);
      this.emit('error', { type: 'transport', error: err });
      this.enterDisconnected(ErrorCode.Transport, err.message);
      return;
    }
    this.ws = ws;
    this.log('opening', this.url);
    try {
      ws.binaryType = 'arraybuffer';
    } catch {
      /* not settable on every implementation */
    }
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.sendConnect();
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.receive(ws, ev.data);
    };
    ws.onerror = () => {
      // Always followed by onclose, which carries the code.
      if (this.ws !== ws) return;
      this.log('transport error');
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.transportClosed(num(ev?.code, CloseCode.Abnormal), str(ev?.reason));
    };
    this.connectTimer = setTimeout(() => {
      this.connectTimer = null;
      if (this.ws === ws) this.transportFailed(ErrorCode.Timeout, 'connect timeout');
    }, this.opts.timeout);
  }

  private sendConnect(): void {
    const fields: Json = {};
    if (this.token) fields.token = this.token;
    if (this.opts.name) fields.name = truncateUtf8(this.opts.name, 64);
    if (this.opts.binaryPubs) fields.binary_pubs = true;
    const ws = this.ws;
    this.send('connect', fields, true, false).then(
      (r) => {
        if (this.ws !== ws) return;
        this.onConnected(r);
      },
      (err: SwitchboardError) => {
        if (this.ws !== ws) return;
        this.onConnectError(err);
      },
    );
  }

  private onConnected(r: Json): void {
    if (this.connectTimer !== null) {
      clearTimeout(this.connectTimer);
      this.connectTimer = null;
    }
    this.info = {
      client: str(r.client),
      user: str(r.user),
      expires: num(r.expires),
      ping: num(r.ping),
      version: str(r.version),
      iceServers: iceServers(r.ice_servers),
    };
    this.attempts = 0;
    this.refreshAttempts = 0;
    this.setState('connected');
    this.schedulePing();
    this.scheduleRefresh();
    // Resubscribe first (one frame), then the commands that waited for the connection.
    for (const sub of this.subs.values()) sub._onConnected();
    const queued = this.queue;
    this.queue = [];
    for (const call of queued) this.transmit(call);
    this.emit('connected', { ...this.info });
  }

  private onConnectError(err: SwitchboardError): void {
    this.emit('error', { type: 'connect', error: err });
    if (err.code === ErrorCode.TokenExpired && this.opts.getToken) {
      this.tokenStale = true;
      this.transportFailed(err.code, err.reason);
    } else if (err.temporary) {
      this.transportFailed(err.code, err.reason);
    } else {
      // Unauthorized, invalid token, bad request...: trying again will not help.
      this.enterDisconnected(err.code, err.reason);
    }
  }

  /** The connection is to be given up by the client (timeout, bad frame): reconnect. */
  private transportFailed(code: number, reason: string): void {
    const ws = this.ws;
    if (!ws) return;
    this.detach();
    try {
      ws.close(CloseCode.Normal, reason.slice(0, 100));
    } catch {
      /* already closed */
    }
    this.afterTransportLoss(code, reason, true);
  }

  /** The WebSocket closed (the server's close code, or 1006). */
  private transportClosed(code: number, reason: string): void {
    const push = this.disconnectPush;
    this.detach();
    if (push) {
      code = push.code;
      reason = push.reason || reason;
    }
    let reconnect = push ? push.reconnect : !(code >= 4500 && code <= 4999);
    if (code === CloseCode.TokenExpired) {
      if (this.opts.getToken) this.tokenStale = true;
      else reconnect = false;
    }
    this.log('closed', code, reason, reconnect ? '(reconnecting)' : '(not reconnecting)');
    this.afterTransportLoss(code, reason || 'connection closed', reconnect);
  }

  private detach(): void {
    const ws = this.ws;
    if (ws) {
      ws.onopen = null;
      ws.onmessage = null;
      ws.onerror = null;
      ws.onclose = null;
    }
    this.ws = null;
    this.generation++;
    this.outbox = [];
    this.info = null;
    this.disconnectPush = null;
    this.clearTimers();
  }

  private clearTimers(): void {
    for (const t of [this.connectTimer, this.pingTimer, this.refreshTimer, this.reconnectTimer]) {
      if (t !== null) clearTimeout(t);
    }
    this.connectTimer = this.pingTimer = this.refreshTimer = this.reconnectTimer = null;
  }

  private afterTransportLoss(code: number, reason: string, reconnect: boolean): void {
    // Commands on the lost connection: reads go back to the queue, the rest fail.
    const lost = [...this.inflight.values()].sort((a, b) => a.id - b.id);
    this.inflight.clear();
    const requeue: Call[] = [];
    for (const call of lost) {
      if (call.resendable) requeue.push(call);
      else this.settle(call, new SwitchboardError(ErrorCode.ConnectionLost, 'connection lost'));
    }
    this.queue = requeue.concat(this.queue);
    for (const sub of this.subs.values()) sub._onTransportLost(code, reason);
    if (!reconnect) {
      this.enterDisconnected(code, reason);
      return;
    }
    if (this._state !== 'connecting') {
      this.setState('connecting');
      this.emit('connecting', { code, reason });
    }
    this.scheduleReconnect(code, reason);
  }

  private scheduleReconnect(code: number, reason: string): void {
    if (this._state !== 'connecting') return;
    const attempt = this.attempts++;
    const delay = this.backoff(attempt);
    this.log('reconnect in', delay, 'ms, attempt', attempt);
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.openTransport();
    }, delay);
    this.emit('reconnecting', { attempt, delay, code, reason });
  }

  private enterDisconnected(code: number, reason: string): void {
    if (this.ws) {
      const ws = this.ws;
      this.detach();
      try {
        ws.close(CloseCode.Normal, 'client disconnect');
      } catch {
        /* already closed */
      }
      for (const call of [...this.inflight.values()]) {
        this.settle(call, new SwitchboardError(ErrorCode.ConnectionLost, 'connection closed'));
      }
      this.inflight.clear();
      for (const sub of this.subs.values()) sub._onTransportLost(code, reason);
    } else {
      this.generation++;
      this.clearTimers();
    }
    this.watchOnline(false);
    const queued = this.queue;
    this.queue = [];
    for (const call of queued) this.settle(call, new SwitchboardError(ErrorCode.ClientDisconnected, reason));
    if (this._state === 'disconnected') return;
    this.setState('disconnected');
    this.emit('disconnected', { code, reason });
  }

  // ---- commands and frames ----

  /** An app command: queued while not connected, bounded by the timeout from now. */
  private call(op: string, fields: Json, resendable: boolean): Promise<Json> {
    return this.send(op, fields, false, resendable);
  }

  private send(op: string, fields: Json, internal: boolean, resendable: boolean): Promise<Json> {
    return new Promise<Json>((resolve, reject) => {
      const call: Call = { op, fields, resolve, reject, timer: null, resendable, internal, id: 0 };
      if (!internal && this._state !== 'connected') {
        if (this.queue.length >= this.opts.maxQueueSize) {
          reject(new SwitchboardError(ErrorCode.QueueFull, 'too many commands waiting for a connection'));
          return;
        }
        this.queue.push(call);
      } else {
        this.transmit(call);
      }
      call.timer = setTimeout(() => {
        call.timer = null;
        if (call.id) this.inflight.delete(call.id);
        const i = this.queue.indexOf(call);
        if (i >= 0) this.queue.splice(i, 1);
        this.log('timeout', op, call.id || '(queued)');
        reject(new SwitchboardError(ErrorCode.Timeout, `${op} timed out`));
      }, this.opts.timeout);
    });
  }

  private settle(call: Call, err: SwitchboardError | null, result?: Json): void {
    if (call.timer !== null) {
      clearTimeout(call.timer);
      call.timer = null;
    }
    if (err) call.reject(err);
    else call.resolve(result ?? {});
  }

  private allocateId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id >= MAX_ID ? 1 : id + 1;
      if (!this.inflight.has(id)) return id;
    }
  }

  private transmit(call: Call): void {
    call.id = this.allocateId();
    this.inflight.set(call.id, call);
    const frame = JSON.stringify({ id: call.id, op: call.op, ...call.fields });
    this.outbox.push(frame);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // Everything sent in this tick leaves in one frame.
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN || this.outbox.length === 0) return;
    const out = this.outbox;
    this.outbox = [];
    let batch: string[] = [];
    let size = 0;
    for (const cmd of out) {
      if (batch.length > 0 && size + cmd.length + 1 > MAX_BATCH_CHARS) {
        this.write(ws, batch.join('\n'));
        batch = [];
        size = 0;
      }
      batch.push(cmd);
      size += cmd.length + 1;
    }
    if (batch.length > 0) this.write(ws, batch.join('\n'));
  }

  private write(ws: WebSocketLike, frame: string): void {
    this.log('send', frame);
    try {
      ws.send(frame);
    } catch (e) {
      this.log('send failed', e);
    }
  }

  private receive(ws: WebSocketLike, data: unknown): void {
    let text: string;
    if (this.opts.binaryPubs && typeof data !== 'string' && (data instanceof ArrayBuffer || ArrayBuffer.isView(data))) {
      const bytes =
        data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const msg = decodeBinaryPub(bytes);
      if (!msg) {
        this.protocolError('unreadable binary pub push');
        return;
      }
      this.log('recv binary pub', msg);
      this.push('pub', msg);
      return;
    }
    if (typeof data === 'string') text = data;
    else if (data instanceof ArrayBuffer) text = new TextDecoder().decode(data);
    else if (ArrayBuffer.isView(data)) text = new TextDecoder().decode(data);
    else {
      this.protocolError('binary frame of an unknown kind');
      return;
    }
    this.log('recv', text);
    for (const line of text.split('\n')) {
      if (this.ws !== ws) return; // a handler disconnected, or the frame was bad
      if (line.trim() === '') continue;
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        this.protocolError('frame is not JSON');
        return;
      }
      if (!isObject(msg)) {
        this.protocolError('frame holds something other than an object');
        return;
      }
      if (typeof msg.id === 'number' && msg.id > 0) this.reply(msg.id, msg);
      else if (typeof msg.push === 'string') this.push(msg.push, msg);
      // Anything else is from a newer server: ignored.
    }
  }

  private protocolError(reason: string): void {
    const err = new SwitchboardError(ErrorCode.BadFrame, reason);
    this.emit('error', { type: 'protocol', error: err });
    this.transportFailed(ErrorCode.BadFrame, reason);
  }

  private reply(id: number, msg: Json): void {
    const call = this.inflight.get(id);
    if (!call) return; // timed out already
    this.inflight.delete(id);
    if (isObject(msg.error)) {
      this.settle(call, new SwitchboardError(num(msg.error.code, ErrorCode.Internal), str(msg.error.reason, 'error')));
    } else {
      this.settle(call, null, isObject(msg.result) ? msg.result : {});
    }
  }

  private push(kind: string, msg: Json): void {
    if (kind === 'disconnect') {
      this.disconnectPush = {
        code: num(msg.code, CloseCode.DisconnectedByServer),
        reason: str(msg.reason),
        reconnect: typeof msg.reconnect === 'boolean' ? msg.reconnect : !(num(msg.code) >= 4500),
      };
      return;
    }
    if (kind === 'signal' || kind.startsWith('room_')) {
      const handler = this.roomHandlers.get(str(msg.room));
      if (handler) handler(kind, msg);
      else this.log('push for a room not joined', kind, msg.room);
      return;
    }
    const channel = str(msg.channel);
    const sub = this.subs.get(channel);
    if (!sub) {
      this.log('push for a channel without subscription', kind, channel);
      return;
    }
    sub._onPush(kind, msg);
  }

  // ---- keep-alive and token refresh ----

  private schedulePing(): void {
    const interval = this.info?.ping ?? 0;
    if (interval <= 0) return;
    const gen = this.generation;
    this.pingTimer = setTimeout(() => {
      this.pingTimer = null;
      if (gen !== this.generation || !this.ws) return;
      this.send('ping', {}, true, false).then(
        () => {
          if (gen === this.generation) this.schedulePing();
        },
        (err: SwitchboardError) => {
          if (gen !== this.generation) return;
          if (err.code === ErrorCode.Timeout) this.transportFailed(ErrorCode.Timeout, 'no reply to ping');
          else this.schedulePing();
        },
      );
    }, interval * 1000);
  }

  private scheduleRefresh(): void {
    const expires = this.info?.expires ?? 0;
    if (expires <= 0 || !this.opts.getToken) return;
    const left = expires * 1000 - Date.now();
    // Refresh 30 s before expiry (half the remaining lifetime for short-lived tokens); retries
    // back off, and stop when the token ran out (the server then closes with 4002).
    let delay = Math.max(0, left - Math.min(30000, left / 2));
    if (this.refreshAttempts > 0) {
      if (left <= 0) return; // too late: the server closes with 4002 and the reconnect gets a new token
      delay = Math.min(this.backoff(this.refreshAttempts - 1), left);
    }
    const gen = this.generation;
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      if (gen === this.generation) void this.refresh(gen);
    }, delay);
  }

  private async refresh(gen: number): Promise<void> {
    const getToken = this.opts.getToken;
    if (!getToken) return;
    let token: string;
    try {
      token = await getToken();
      if (typeof token !== 'string' || token === '') throw new Error('getToken returned no token');
    } catch (e) {
      if (gen !== this.generation) return;
      this.emit('error', { type: 'token', error: toSwitchboardError(e, ErrorCode.TokenUnavailable) });
      this.refreshAttempts++;
      this.scheduleRefresh();
      return;
    }
    if (gen !== this.generation || !this.ws) return;
    this.token = token;
    try {
      const r = await this.send('refresh', { token }, true, false);
      if (gen !== this.generation || !this.info) return;
      this.info.expires = num(r.expires);
      // The TURN credential ends with the old token: the reply brings a new one.
      if (r.ice_servers !== undefined) this.info.iceServers = iceServers(r.ice_servers);
      this.refreshAttempts = 0;
      this.log('token refreshed, expires', this.info.expires);
    } catch (e) {
      if (gen !== this.generation) return;
      const err = toSwitchboardError(e, ErrorCode.Internal);
      this.emit('error', { type: 'refresh', error: err });
      if (err.code === ErrorCode.InvalidToken || err.code === ErrorCode.PermissionDenied) {
        // Not a token this connection can use: keep trying, the app may fix what getToken returns.
        this.tokenStale = true;
      }
      this.refreshAttempts++;
    }
    if (gen === this.generation) this.scheduleRefresh();
  }
}

/** The connect/refresh reply's ice_servers, keeping only well-formed entries. */
function iceServers(v: unknown): IceServer[] {
  if (!Array.isArray(v)) return [];
  const out: IceServer[] = [];
  for (const e of v) {
    if (typeof e !== 'object' || e === null) continue;
    const o = e as Record<string, unknown>;
    const urls = Array.isArray(o.urls) ? o.urls.filter((u): u is string => typeof u === 'string') : [];
    if (urls.length === 0) continue;
    const s: IceServer = { urls };
    if (typeof o.username === 'string') s.username = o.username;
    if (typeof o.credential === 'string') s.credential = o.credential;
    out.push(s);
  }
  return out;
}
