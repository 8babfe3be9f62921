import { Emitter } from './emitter.js';
import { ErrorCode, SwitchboardError, toSwitchboardError } from './errors.js';
import type {
  ClientInfo,
  HistoryOptions,
  HistoryResult,
  PresenceResult,
  PresenceStatsResult,
  Publication,
  PublishResult,
  StreamPosition,
  SubscriptionEvents,
  SubscriptionOptions,
  SubscriptionState,
} from './types.js';

type Json = Record<string, unknown>;

/** What a Subscription needs from its Client. */
export interface SubscriptionHost {
  _connected(): boolean;
  _generation(): number;
  _internal(op: string, fields: Json): Promise<Json>;
  _reconnect(code: number, reason: string): void;
  _backoff(attempt: number): number;
  _log(...args: unknown[]): void;
  publish(channel: string, data: unknown): Promise<PublishResult>;
  history<T>(channel: string, options?: HistoryOptions): Promise<HistoryResult<T>>;
  presence(channel: string): Promise<PresenceResult>;
  presenceStats(channel: string): Promise<PresenceStatsResult>;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function toPublication<T>(v: unknown): Publication<T> | null {
  if (!isObject(v)) return null;
  const p: Publication<T> = {
    offset: typeof v.offset === 'number' ? v.offset : 0,
    time: typeof v.time === 'number' ? v.time : 0,
    data: v.data as T,
  };
  if (isObject(v.from)) p.from = toClientInfo(v.from);
  return p;
}

function toClientInfo(v: Json): ClientInfo {
  const c: ClientInfo = { client: str(v.client), user: str(v.user) };
  if (v.info !== undefined) c.info = v.info;
  return c;
}

/** Offsets start at 1; a publication without one (or with 0) is delivered without order checks. */
function positioned(offset: number): boolean {
  return offset > 0;
}

/**
 * A subscription to one channel. It stays wanted from `subscribe()` until `unsubscribe()`,
 * across reconnects: after each reconnect it resubscribes from the last position it delivered,
 * so `publication` events come exactly once and in offset order. When that is impossible it
 * says so with a `subscribed` event whose `recovered` is false.
 */
export class Subscription<T = unknown> extends Emitter<SubscriptionEvents<T>> {
  readonly channel: string;
  private readonly host: SubscriptionHost;
  private readonly opts: SubscriptionOptions;
  private _state: SubscriptionState = 'unsubscribed';
  private position: StreamPosition | null;
  private recoverable: boolean;
  private token: string | undefined;
  private tokenStale = false;
  /** Identifies the current subscribe attempt; replies to older ones are stale. */
  private attempt = 0;
  /** Pushes that arrived while a subscribe was in flight. */
  private buffer: Publication<T>[] = [];
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private retries = 0;

  /** @internal Use `client.newSubscription()`. */
  constructor(host: SubscriptionHost, channel: string, options: SubscriptionOptions) {
    super();
    this.host = host;
    this.channel = channel;
    this.opts = { recover: true, ...options };
    this.token = options.token;
    this.position = options.since ? { ...options.since } : null;
    this.recoverable = options.since !== undefined;
  }

  get state(): SubscriptionState {
    return this._state;
  }

  /** The position of the last publication delivered (or accounted for by `subscribed`). */
  get lastPosition(): StreamPosition | null {
    return this.position ? { ...this.position } : null;
  }

  /** Starts the subscription; it is sent now if connected, else as soon as the client connects. */
  subscribe(): void {
    if (this._state !== 'unsubscribed') return;
    this.retries = 0;
    this.setState('subscribing');
    this.emit('subscribing', { code: 0, reason: 'subscribe called' });
    if (this.host._connected()) void this.sendSubscribe();
  }

  /** Ends the subscription. Its position is kept: a later `subscribe()` recovers from it. */
  unsubscribe(): void {
    if (this._state === 'unsubscribed') return;
    const wasSubscribed = this._state === 'subscribed';
    this.stop();
    this.setState('unsubscribed');
    if (wasSubscribed && this.host._connected()) {
      this.host._internal('unsubscribe', { channel: this.channel }).catch(() => {});
    }
    this.emit('unsubscribed', { code: 0, reason: 'unsubscribe called' });
  }

  /** Same as `client.publish(channel, data)`. */
  publish(data: T): Promise<PublishResult> {
    return this.host.publish(this.channel, data);
  }

  /** Same as `client.history(channel, options)`. */
  history(options?: HistoryOptions): Promise<HistoryResult<T>> {
    return this.host.history<T>(this.channel, options);
  }

  /** Same as `client.presence(channel)`. */
  presence(): Promise<PresenceResult> {
    return this.host.presence(this.channel);
  }

  /** Same as `client.presenceStats(channel)`. */
  presenceStats(): Promise<PresenceStatsResult> {
    return this.host.presenceStats(this.channel);
  }

  // ---- called by the Client ----

  /** @internal */
  _onConnected(): void {
    if (this._state === 'subscribing') {
      this.clearRetry();
      void this.sendSubscribe();
    }
  }

  /** @internal The connection closed: everything in flight is void; resubscribe on the next one. */
  _onTransportLost(code: number, reason: string): void {
    this.attempt++;
    this.buffer = [];
    this.clearRetry();
    if (this._state === 'subscribed') {
      this.setState('subscribing');
      this.emit('subscribing', { code, reason });
    }
  }

  /** @internal */
  _onPush(kind: string, msg: Json): void {
    if (this._state === 'unsubscribed') return;
    switch (kind) {
      case 'pub': {
        const p = toPublication<T>(msg);
        if (!p) return;
        if (this._state === 'subscribing') this.buffer.push(p);
        else this.deliver(p);
        return;
      }
      case 'join':
      case 'leave':
        this.emit(kind, { channel: this.channel, ...toClientInfo(msg) });
        return;
      case 'unsubscribe': {
        const code = typeof msg.code === 'number' ? msg.code : 0;
        const reason = str(msg.reason) || 'unsubscribed by the server';
        this.attempt++;
        this.buffer = [];
        if (msg.resubscribe === true) {
          this.setState('subscribing');
          this.emit('subscribing', { code, reason });
          this.retryLater();
        } else {
          this.stop();
          this.setState('unsubscribed');
          this.emit('unsubscribed', { code, reason });
        }
        return;
      }
      default:
        this.host._log('unknown push', kind);
    }
  }

  // ---- internals ----

  private setState(s: SubscriptionState): void {
    if (this._state === s) return;
    const old = this._state;
    this._state = s;
    this.emit('state', { oldState: old, newState: s });
  }

  private stop(): void {
    this.attempt++;
    this.buffer = [];
    this.clearRetry();
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
  }

  private retryLater(): void {
    this.clearRetry();
    const delay = this.host._backoff(this.retries++);
    this.host._log('resubscribe', this.channel, 'in', delay, 'ms');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this._state === 'subscribing' && this.host._connected()) void this.sendSubscribe();
    }, delay);
  }

  private async sendSubscribe(): Promise<void> {
    const attempt = ++this.attempt;
    this.buffer = [];
    if (this.opts.getToken && (!this.token || this.tokenStale)) {
      try {
        const token = await this.opts.getToken({ channel: this.channel });
        if (typeof token !== 'string' || token === '') throw new Error('getToken returned no token');
        this.token = token;
        this.tokenStale = false;
      } catch (e) {
        if (attempt !== this.attempt) return;
        this.emit('error', { type: 'token', error: toSwitchboardError(e, ErrorCode.TokenUnavailable) });
        this.retryLater();
        return;
      }
      if (attempt !== this.attempt || this._state !== 'subscribing' || !this.host._connected()) return;
    }
    const fields: Json = { channel: this.channel };
    if (this.token) fields.token = this.token;
    const recovering = this.opts.recover !== false && this.recoverable && this.position !== null;
    if (recovering && this.position) fields.recover = { ...this.position };
    if (this.opts.history && this.opts.history > 0) fields.history = this.opts.history;
    const gen = this.host._generation();
    this.host._internal('subscribe', fields).then(
      (r) => {
        if (attempt === this.attempt) this.onSubscribed(r, recovering);
        else if (this._state === 'unsubscribed' && gen === this.host._generation()) {
          // unsubscribe() was called while this subscribe was in flight: undo it on the server.
          this.host._internal('unsubscribe', { channel: this.channel }).catch(() => {});
        }
      },
      (e: unknown) => {
        if (attempt === this.attempt) this.onSubscribeError(toSwitchboardError(e, ErrorCode.Internal));
      },
    );
  }

  private onSubscribed(r: Json, wasRecovering: boolean): void {
    const epoch = str(r.epoch);
    const offset = typeof r.offset === 'number' ? r.offset : 0;
    const pubs: Publication<T>[] = [];
    if (Array.isArray(r.publications)) {
      for (const v of r.publications) {
        const p = toPublication<T>(v);
        if (p) pubs.push(p);
      }
    }
    this.recoverable = r.recoverable === true;
    let recovered = wasRecovering && r.recovered === true;
    const from = this.position;
    if (recovered && from) {
      // Trust, but verify: the replay must continue exactly from our position up to `offset`.
      let last = from.offset;
      const replay = pubs.filter((p) => p.offset > from.offset);
      for (const p of replay) {
        if (p.offset !== last + 1) break;
        last = p.offset;
      }
      if (epoch !== from.epoch || last !== offset || replay.some((p, i) => p.offset !== from.offset + 1 + i)) {
        this.host._log('replay does not continue the position; treating as not recovered', this.channel);
        recovered = false;
      } else {
        pubs.splice(0, pubs.length, ...replay);
      }
    }
    const buffered = this.buffer;
    this.buffer = [];
    this.retries = 0;
    this.tokenStale = false;
    this.setState('subscribed');
    const attempt = this.attempt;
    if (recovered && from) {
      this.emit('subscribed', {
        channel: this.channel, epoch, offset, recoverable: this.recoverable,
        wasRecovering, recovered: true, publications: pubs.slice(),
      });
      this.position = { epoch, offset: from.offset };
      for (const p of pubs) {
        if (attempt !== this.attempt) return; // a handler unsubscribed
        this.deliver(p);
      }
    } else {
      this.position = { epoch, offset };
      this.emit('subscribed', {
        channel: this.channel, epoch, offset, recoverable: this.recoverable,
        wasRecovering, recovered: false, publications: pubs,
      });
    }
    if (this.position) this.position.offset = Math.max(this.position.offset, offset);
    buffered.sort((a, b) => a.offset - b.offset);
    for (const p of buffered) {
      if (attempt !== this.attempt) return;
      this.deliver(p);
    }
  }

  private onSubscribeError(err: SwitchboardError): void {
    this.emit('error', { type: 'subscribe', error: err });
    switch (err.code) {
      case ErrorCode.ConnectionLost:
        return; // resubscribed on the next connection
      case ErrorCode.Timeout:
        // The server may or may not hold the subscription: only a new connection is certain.
        this.host._reconnect(ErrorCode.Timeout, `subscribe to ${this.channel} timed out`);
        return;
      case ErrorCode.TokenExpired:
        if (this.opts.getToken) {
          this.tokenStale = true;
          this.retryLater();
          return;
        }
        break;
      case ErrorCode.AlreadySubscribed:
        void this.resubscribe(ErrorCode.AlreadySubscribed, err.reason);
        return;
      default:
        if (err.temporary) {
          this.retryLater();
          return;
        }
    }
    this.stop();
    this.setState('unsubscribed');
    this.emit('unsubscribed', { code: err.code, reason: err.reason });
  }

  /** Unsubscribes and subscribes again on the same connection, recovering from the last position. */
  private async resubscribe(code: number, reason: string): Promise<void> {
    const attempt = ++this.attempt;
    this.buffer = [];
    if (this._state === 'subscribed') {
      this.setState('subscribing');
      this.emit('subscribing', { code, reason });
    }
    try {
      await this.host._internal('unsubscribe', { channel: this.channel });
    } catch (e) {
      const err = toSwitchboardError(e, ErrorCode.Internal);
      if (attempt !== this.attempt) return;
      if (err.code === ErrorCode.Timeout) {
        this.host._reconnect(ErrorCode.Timeout, `unsubscribe from ${this.channel} timed out`);
        return;
      }
      if (err.code === ErrorCode.ConnectionLost) return;
      // Not subscribed (116) is what we wanted anyway.
    }
    if (attempt !== this.attempt || this._state !== 'subscribing') return;
    if (this.retries > 0) this.retryLater();
    else {
      this.retries++;
      void this.sendSubscribe();
    }
  }

  private deliver(p: Publication<T>): void {
    const pos = this.position;
    if (pos && positioned(p.offset) && (positioned(pos.offset) || pos.epoch !== '')) {
      if (p.offset <= pos.offset) {
        this.host._log('duplicate dropped', this.channel, p.offset);
        return;
      }
      if (p.offset > pos.offset + 1) {
        this.host._log('gap', this.channel, pos.offset, '->', p.offset);
        void this.resubscribe(ErrorCode.PositionLost, `missed publications after offset ${pos.offset}`);
        return;
      }
    }
    if (pos && positioned(p.offset)) pos.offset = p.offset;
    this.emit('publication', { channel: this.channel, ...p });
  }
}
