/**
 * Switchboard client: real-time messaging over WebSocket (protocol v1, JSON).
 *
 * ```ts
 * import { Client } from 'switchboard-client';
 * const client = new Client('wss://example.com/connection', { getToken });
 * const sub = client.newSubscription('chat:lobby', { history: 50 });
 * sub.on('publication', (p) => render(p));
 * sub.subscribe();
 * client.connect();
 * ```
 */
export { Client } from './client.js';
export { Subscription } from './subscription.js';
export { SwitchboardError, ErrorCode, CloseCode } from './errors.js';
export { Emitter } from './emitter.js';
export { Room } from './room.js';
export { FileTransfer, MAX_FILE_SIZE } from './file-transfer.js';
export type { FileTransferEvents, FileTransferState } from './file-transfer.js';
export type {
  ConnectionQuality,
  DataContext,
  Grants,
  JoinedContext,
  LeftContext,
  LocalTrack,
  ParticipantInfo,
  QualityStats,
  RemoteParticipant,
  RemoteTrack,
  RoomEvents,
  RoomOptions,
  RoomState,
  TrackInfo,
  TrackSource,
} from './room-types.js';
export { SUBPROTOCOL } from './types.js';
export type {
  ClientEvents,
  ClientInfo,
  ClientOptions,
  ClientState,
  ConnectedContext,
  DisconnectContext,
  ErrorContext,
  HistoryOptions,
  HistoryResult,
  IceServer,
  JoinLeaveContext,
  PresenceResult,
  PresenceStatsResult,
  Publication,
  PublicationContext,
  PublishResult,
  ReconnectingContext,
  StateContext,
  StreamPosition,
  SubscribedContext,
  SubscriptionEvents,
  SubscriptionOptions,
  SubscriptionState,
  WebSocketConstructor,
} from './types.js';
