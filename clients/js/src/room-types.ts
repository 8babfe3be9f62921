/** Types of the Room API (WebRTC rooms over the hub connection; docs/protocol.md, "Rooms"). */
import type { IceServer } from './types.js';

export type TrackSource = 'camera' | 'microphone' | 'screen' | 'screen-audio';
export type RoomState = 'idle' | 'joining' | 'joined' | 'left';
/** From getStats every two seconds: round-trip time and loss of what this side receives. */
export type ConnectionQuality = 'unknown' | 'excellent' | 'good' | 'poor' | 'lost';

export interface QualityStats {
  /** Seconds, of the selected candidate pair; null before the first measurement. */
  rtt: number | null;
  /** Fraction of RTP packets lost over the last interval (0-1). */
  loss: number;
  /** Bits per second received over the last interval. */
  bitrate: number;
  /** How this side reaches the peer: 'host' (direct), 'srflx'/'prflx' (through a NAT), 'relay' (TURN). */
  route: 'host' | 'srflx' | 'prflx' | 'relay' | null;
}

export interface Grants {
  publish: boolean;
  subscribe: boolean;
  data: boolean;
}

/** A published track as announced to the room (room_tracks). */
export interface TrackInfo {
  /** The id of the MediaStream the track travels in (one stream per source). */
  stream: string;
  kind: 'audio' | 'video';
  source: TrackSource;
  muted: boolean;
}

export interface ParticipantInfo {
  /** Participant id: unique per join. */
  sid: string;
  /** The room token's subject, or the connection's user or client id. */
  identity: string;
  /** What the token or the connection says about it (e.g. {"name": "Ann"}). */
  info: unknown;
  metadata: unknown;
  grants: Grants;
  tracks: TrackInfo[];
  joined: number;
}

export interface RemoteTrack {
  participant: RemoteParticipant;
  track: MediaStreamTrack;
  stream: MediaStream;
  source: TrackSource;
  kind: 'audio' | 'video';
}

export interface RemoteParticipant extends ParticipantInfo {
  /** Display name: info.name, else the identity. */
  name: string;
  /** Tracks received from it, by stream id. */
  streams: Map<string, MediaStream>;
  connectionState: RTCPeerConnectionState | 'new';
  quality: ConnectionQuality;
  stats: QualityStats;
}

export interface LocalTrack {
  source: TrackSource;
  track: MediaStreamTrack;
  stream: MediaStream;
  muted: boolean;
}

export interface RoomOptions {
  /** A room token (switchboard token --room, or your back end); needed when the server requires one. */
  token?: string;
  /** Any JSON the others see (up to 1 KiB). */
  metadata?: unknown;
  /** Extra RTCConfiguration (e.g. iceTransportPolicy: 'relay'); iceServers default to the server's. */
  rtcConfig?: RTCConfiguration;
}

export interface JoinedContext {
  room: string;
  participant: ParticipantInfo;
  participants: ParticipantInfo[];
  /** The hub channel of the room's chat (members only). */
  chat: string;
  meshLimit: number;
  iceServers: IceServer[];
}

export interface LeftContext {
  /** left (by this side), kicked, closed, replaced (same identity joined elsewhere), disconnected */
  cause: string;
  reason: string;
}

export interface DataContext {
  from: RemoteParticipant;
  data: unknown;
}

export interface RoomEvents {
  joined: JoinedContext;
  left: LeftContext;
  participantJoined: RemoteParticipant;
  participantLeft: { participant: RemoteParticipant; cause: string };
  participantUpdated: RemoteParticipant;
  trackSubscribed: RemoteTrack;
  trackUnsubscribed: RemoteTrack;
  /** A remote track's announced mute state changed. */
  trackMuted: RemoteTrack & { muted: boolean };
  localTrackPublished: LocalTrack;
  localTrackUnpublished: LocalTrack;
  data: DataContext;
  /** A file offered by a participant; it is being received (call cancel() to refuse). */
  fileIncoming: import('./file-transfer.js').FileTransfer;
  connectionState: { participant: RemoteParticipant; state: RTCPeerConnectionState };
  connectionQuality: { participant: RemoteParticipant; quality: ConnectionQuality; stats: QualityStats };
  error: { error: Error; during: string };
}
