/**
 * Error codes. Codes below 100 are raised by this client itself; codes 100 and up are the
 * server's (see the protocol's "Errors" table) and arrive in an `error` reply.
 */
export const ErrorCode = {
  /** The command (or the connection attempt, or a ping) got no reply within `timeout`. */
  Timeout: 1,
  /** `publish` was called while the client was not connected; nothing was sent. */
  NotConnected: 2,
  /** The connection closed after the command was sent; it may or may not have taken effect. */
  ConnectionLost: 3,
  /** `disconnect()` was called, or the client stopped reconnecting, while the command waited. */
  ClientDisconnected: 4,
  /** Too many commands were waiting for a connection (`maxQueueSize`). */
  QueueFull: 5,
  /** The subscription is not subscribed (or was removed). */
  NotSubscribedLocally: 6,
  /** The server sent a frame that is not valid protocol JSON; the client reconnects. */
  BadFrame: 7,
  /** A `getToken` callback threw or returned no token. */
  TokenUnavailable: 8,
  /** The WebSocket could not be created (bad URL, no WebSocket implementation). */
  Transport: 9,
  /** A subscription saw a gap in offsets and resubscribes to recover the lost position. */
  PositionLost: 10,

  Internal: 100,
  Unauthorized: 101,
  UnknownChannel: 102,
  PermissionDenied: 103,
  UnknownOp: 104,
  AlreadySubscribed: 105,
  LimitExceeded: 106,
  BadRequest: 107,
  NotAvailable: 108,
  TokenExpired: 109,
  TooManyRequests: 110,
  PublicationTooLarge: 111,
  Unrecoverable: 112,
  ServerBusy: 113,
  InvalidToken: 114,
  AlreadyConnected: 115,
  NotSubscribed: 116,
} as const;

/** WebSocket close codes the server uses (protocol "Disconnects"), plus the two standard ones the client acts on. */
export const CloseCode = {
  Normal: 1000,
  ServerShutdown: 1001,
  Abnormal: 1006,
  DisconnectedByServer: 4000,
  SlowConsumer: 4001,
  TokenExpired: 4002,
  ServerBusy: 4003,
  ConnectTimeout: 4004,
  BadRequest: 4500,
  InvalidToken: 4501,
  DisconnectedNoReconnect: 4502,
  TooManyConnections: 4504,
} as const;

const TEMPORARY: ReadonlySet<number> = new Set([
  ErrorCode.Timeout,
  ErrorCode.ConnectionLost,
  ErrorCode.Internal,
  ErrorCode.TooManyRequests,
  ErrorCode.ServerBusy,
]);

/** Every promise of this library rejects with a SwitchboardError. */
export class SwitchboardError extends Error {
  /** A code from {@link ErrorCode}: below 100 from this client, 100 and up from the server. */
  readonly code: number;
  /** A short human-readable reason (the server's `reason` for server errors). */
  readonly reason: string;

  constructor(code: number, reason: string) {
    super(`${reason} (code ${code})`);
    this.name = 'SwitchboardError';
    this.code = code;
    this.reason = reason;
  }

  /** True when the same command may succeed if tried again later. */
  get temporary(): boolean {
    return TEMPORARY.has(this.code);
  }

  /**
   * True when a publish that failed with this error may nevertheless have been committed by the
   * server (the reply was lost or late). Retrying such a publish may store it twice.
   */
  get maybeCommitted(): boolean {
    return this.code === ErrorCode.Timeout || this.code === ErrorCode.ConnectionLost;
  }
}

export function toSwitchboardError(e: unknown, fallbackCode: number): SwitchboardError {
  if (e instanceof SwitchboardError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new SwitchboardError(fallbackCode, message);
}
