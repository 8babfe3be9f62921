import type { SwitchboardError } from './errors.js';

/** The subprotocol this client offers in `Sec-WebSocket-Protocol`. */
export const SUBPROTOCOL = 'switchboard.v1.json';

export type ClientState = 'disconnected' | 'connecting' | 'connected';
export type SubscriptionState = 'unsubscribed' | 'subscribing' | 'subscribed';

/**
 * The WebSocket constructor to use: the browser's `WebSocket`, or in Node any class with the
 * same shape (Node 22's global `WebSocket`, the `ws` package's `WebSocket`, undici's).
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => unknown;

/** Who published, joined or left: the connection's id, its user (`""` when anonymous), and its info. */
export interface ClientInfo {
  client: string;
  user: string;
  info?: unknown;
}

/** A position in a channel's stream: the publication with `offset` in history `epoch`. */
export interface StreamPosition {
  epoch: string;
  offset: number;
}

export interface Publication<T = unknown> {
  /** Position in the channel, increasing by exactly 1 per publication within an epoch. */
  offset: number;
  /** Server time in Unix milliseconds when the offset was assigned. */
  time: number;
  data: T;
  /** Absent for publications made through the server API. */
  from?: ClientInfo;
}

export interface ClientOptions {
  /** Connection JWT. Without `token` and `getToken` the connection is anonymous. */
  token?: string;
  /**
   * Returns a fresh connection token. Called when there is no token yet, before the token
   * expires (then sent with `refresh`), and after the server closed with 4002 (token expired).
   */
  getToken?: () => Promise<string>;
  /** Free text naming the client software (max 64 bytes); anonymous users are shown by it. */
  name?: string;
  /** WebSocket implementation; defaults to `globalThis.WebSocket`. */
  websocket?: WebSocketConstructor;
  /** Smallest delay before a reconnect attempt, in ms. Default 500. */
  minReconnectDelay?: number;
  /** Largest delay before a reconnect attempt, in ms. Default 20000. */
  maxReconnectDelay?: number;
  /** How long a command, a connection attempt or a ping may wait for its reply, in ms. Default 10000. */
  timeout?: number;
  /** How many commands may wait for a connection before new ones are rejected. Default 256. */
  maxQueueSize?: number;
  /** Log protocol traffic: `true` logs with console.debug, a function receives the arguments. */
  debug?: boolean | ((...args: unknown[]) => void);
  /**
   * Ask the server for publications as binary frames (docs/protocol.md, "Binary pub pushes"):
   * about 40% fewer bytes per publication for high-rate channels. The events are the same.
   */
  binaryPubs?: boolean;
}

export interface SubscriptionOptions {
  /** Subscription JWT, for namespaces with `subscribe_token`. */
  token?: string;
  /** Returns a fresh subscription token; called when there is none or the last one expired. */
  getToken?: (ctx: { channel: string }) => Promise<string>;
  /**
   * Ask for the newest N publications when subscribing without a position to recover from, or
   * when recovery fails. They come in the `subscribed` event's `publications`.
   */
  history?: number;
  /** Resubscribe with the last seen position after a reconnect or a gap. Default true. */
  recover?: boolean;
  /** Start from this position on the first subscribe, as if it had been seen already. */
  since?: StreamPosition;
}

/**
 * An ICE server as the server hands it out with the connection (its own STUN and TURN, with a
 * TURN credential minted for this client); pass the list to `new RTCPeerConnection({ iceServers })`.
 */
export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

export interface ConnectedContext {
  /** Server-assigned id of this connection (changes with every reconnect). */
  client: string;
  /** The token's `sub`, or `""` for an anonymous connection. */
  user: string;
  /** Token expiry in Unix seconds; 0 means never. */
  expires: number;
  /** Interval in seconds at which this client pings the server. */
  ping: number;
  /** Server version. */
  version: string;
  /** STUN/TURN servers for WebRTC ([] when the server runs none); renewed with each refresh. */
  iceServers: IceServer[];
}

/**
 * Why the client left the connected state or stopped. `code` is a WebSocket close code
 * (1000-4999) when the connection closed, a server error code (100-199) when the `connect`
 * command failed, or a client code (below 100, see ErrorCode) when the client decided.
 */
export interface DisconnectContext {
  code: number;
  reason: string;
}

export interface ReconnectingContext extends DisconnectContext {
  /** 0 for the first retry after a connection was lost or refused. */
  attempt: number;
  /** Milliseconds until the next attempt. */
  delay: number;
}

export interface StateContext<S> {
  oldState: S;
  newState: S;
}

export interface ErrorContext {
  type: 'transport' | 'connect' | 'token' | 'refresh' | 'protocol' | 'subscribe';
  error: SwitchboardError;
}

export interface ClientEvents {
  state: StateContext<ClientState>;
  connecting: DisconnectContext;
  connected: ConnectedContext;
  disconnected: DisconnectContext;
  reconnecting: ReconnectingContext;
  error: ErrorContext;
}

export interface PublicationContext<T = unknown> extends Publication<T> {
  channel: string;
}

export interface JoinLeaveContext extends ClientInfo {
  channel: string;
}

export interface SubscribedContext<T = unknown> {
  channel: string;
  /** The channel's position when the subscription started: everything up to it is accounted for. */
  epoch: string;
  offset: number;
  /** Whether the namespace keeps history (and so positions can be recovered). */
  recoverable: boolean;
  /** Whether this subscribe tried to recover a previous position. */
  wasRecovering: boolean;
  /**
   * True: `publications` are exactly the ones missed since the last seen position, and they
   * are also delivered as `publication` events right after this event — do not apply them twice.
   * False: the app's view of the channel is stale (or this is the first subscribe); rebuild it
   * from `publications` (the newest `history` ones, oldest first), which are NOT delivered as
   * `publication` events. Every later `publication` event follows `offset`.
   */
  recovered: boolean;
  publications: Publication<T>[];
}

export interface SubscriptionEvents<T = unknown> {
  state: StateContext<SubscriptionState>;
  subscribing: DisconnectContext;
  subscribed: SubscribedContext<T>;
  unsubscribed: DisconnectContext;
  publication: PublicationContext<T>;
  join: JoinLeaveContext;
  leave: JoinLeaveContext;
  error: ErrorContext;
}

export interface PublishResult {
  epoch: string;
  offset: number;
}

export interface HistoryOptions {
  /** How many publications at most; 0 returns only the position. */
  limit?: number;
  /** Return publications after this position (oldest first); error 112 if no longer in history. */
  since?: StreamPosition;
  /** Without `since`: newest first instead of oldest first. */
  reverse?: boolean;
}

export interface HistoryResult<T = unknown> {
  epoch: string;
  offset: number;
  publications: Publication<T>[];
}

export interface PresenceResult {
  clients: ClientInfo[];
}

export interface PresenceStatsResult {
  clients: number;
  users: number;
}
