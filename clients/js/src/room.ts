/**
 * Room: a WebRTC call over the hub connection. Signalling travels on the client's WebSocket
 * (room_join, signal, room_tracks; docs/protocol.md "Rooms"); media and data flow peer to peer
 * in a full mesh, one PeerLink per remote participant.
 *
 * ```ts
 * const room = new Room(client, 'standup');
 * room.on('trackSubscribed', ({ participant, stream, source }) => show(participant, stream, source));
 * await room.join();
 * await room.publishCamera();
 * await room.publishMicrophone();
 * room.send({ hello: 'all' });
 * await room.sendFile(someone.sid, file).done;
 * ```
 *
 * Who offers: the participant that joins makes the first offer to each one already there; after
 * that either side renegotiates when its tracks change (perfect negotiation, the participant
 * with the smaller id is polite).
 */
import type { Client } from './client.js';
import { Emitter } from './emitter.js';
import { FILE_CHANNEL_PREFIX, FileTransfer } from './file-transfer.js';
import { PeerLink, type PeerHost, type SignalKind } from './peer.js';
import type {
  ConnectionQuality,
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
import type { IceServer } from './types.js';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function participantInfo(v: unknown): ParticipantInfo {
  const p = isObject(v) ? v : {};
  const g = isObject(p.grants) ? p.grants : {};
  return {
    sid: String(p.sid ?? ''),
    identity: String(p.identity ?? ''),
    info: p.info ?? null,
    metadata: p.metadata ?? null,
    grants: { publish: g.publish !== false, subscribe: g.subscribe !== false, data: g.data !== false },
    tracks: Array.isArray(p.tracks) ? (p.tracks.filter(isObject) as unknown as TrackInfo[]) : [],
    joined: Number(p.joined ?? 0),
  };
}

function displayName(p: ParticipantInfo): string {
  const info = p.info;
  if (isObject(info) && typeof info.name === 'string' && info.name) return info.name;
  return p.identity;
}

export class Room extends Emitter<RoomEvents> implements PeerHost {
  /** Remote participants by sid. */
  readonly participants = new Map<string, RemoteParticipant>();
  /** This side's tracks by source. */
  readonly localTracks = new Map<TrackSource, LocalTrack>();
  /** Files being sent or received. */
  readonly transfers = new Set<FileTransfer>();
  private _state: RoomState = 'idle';
  private _local: ParticipantInfo | null = null;
  private _chat = '';
  private iceServers: IceServer[] = [];
  private peers = new Map<string, PeerLink>();
  private offConnected: (() => void) | null = null;
  private offNetwork: (() => void) | null = null;

  constructor(
    readonly client: Client,
    readonly name: string,
    private readonly options: RoomOptions = {},
  ) {
    super();
  }

  get state(): RoomState {
    return this._state;
  }

  /** This participant as the room sees it (null until joined). */
  get localParticipant(): ParticipantInfo | null {
    return this._local;
  }

  /** The hub channel of the room's chat: subscribe and publish to it like any channel. */
  get chatChannel(): string {
    return this._chat || `room:${this.name}`;
  }

  /** Joins the room and connects to everyone in it. Rejects with the server's error (e.g. 117 room full). */
  async join(): Promise<void> {
    if (this._state === 'joining' || this._state === 'joined') return;
    this._state = 'joining';
    this.client._roomHandler(this.name, (kind, msg) => this.onPush(kind, msg));
    try {
      await this.sendJoin();
    } catch (e) {
      this._state = 'idle';
      this.client._roomHandler(this.name, null);
      throw e;
    }
    this.watchNetwork();
    // A new connection is a new participant: join again after a reconnect.
    this.offConnected = this.client.on('connected', () => {
      if (this._state !== 'joined') return;
      this.dropPeers('disconnected');
      this.sendJoin().catch((e: Error) => this.emit('error', { error: e, during: 'rejoin' }));
    });
  }

  /** Leaves the room: closes every peer connection and stops the local tracks. */
  async leave(): Promise<void> {
    if (this._state !== 'joined' && this._state !== 'joining') return;
    const call = this.client._call('room_leave', { room: this.name }).catch(() => undefined);
    this.finish('left', 'left the room');
    await call;
  }

  // ---- publishing ----

  publishCamera(constraints: MediaTrackConstraints | boolean = true): Promise<LocalTrack> {
    return this.publishFrom('camera', () => navigator.mediaDevices.getUserMedia({ video: constraints }));
  }

  publishMicrophone(constraints: MediaTrackConstraints | boolean = true): Promise<LocalTrack> {
    return this.publishFrom('microphone', () => navigator.mediaDevices.getUserMedia({ audio: constraints }));
  }

  /** Shares the screen (a window or tab, as the browser lets the user pick). */
  async publishScreen(): Promise<LocalTrack> {
    const t = await this.publishFrom('screen', () => navigator.mediaDevices.getDisplayMedia({ video: true, audio: false }));
    // The browser's own "Stop sharing" ends the track.
    t.track.addEventListener('ended', () => this.unpublish('screen'));
    return t;
  }

  /** Publishes a track you already have (a canvas capture, a processed stream, ...). */
  publishTrack(source: TrackSource, track: MediaStreamTrack): LocalTrack {
    if (this._local && !this._local.grants.publish) throw new Error('this participant may not publish media');
    this.unpublish(source);
    const local: LocalTrack = { source, track, stream: new MediaStream([track]), muted: false };
    this.localTracks.set(source, local);
    for (const [sid, peer] of this.peers) if (this.participants.get(sid)?.grants.subscribe) peer.addTrack(track, local.stream);
    this.announceTracks();
    this.emit('localTrackPublished', local);
    return local;
  }

  unpublish(source: TrackSource): void {
    const local = this.localTracks.get(source);
    if (!local) return;
    this.localTracks.delete(source);
    for (const peer of this.peers.values()) peer.removeTrack(local.track);
    local.track.stop();
    this.announceTracks();
    this.emit('localTrackUnpublished', local);
  }

  /** Mutes (sends silence or black) or unmutes a source; the others are told. */
  setMuted(source: TrackSource, muted: boolean): void {
    const local = this.localTracks.get(source);
    if (!local || local.muted === muted) return;
    local.muted = muted;
    local.track.enabled = !muted;
    this.announceTracks();
  }

  // ---- data ----

  /**
   * Sends a data message (any JSON) to one participant or to all, over the peer-to-peer data
   * channels. Returns how many participants it was sent to (those whose channel is open).
   */
  send(data: unknown, to?: string): number {
    if (this._local && !this._local.grants.data) throw new Error('this participant may not send data');
    const text = JSON.stringify({ t: 'msg', d: data });
    let n = 0;
    for (const [sid, peer] of this.peers) if ((to === undefined || to === sid) && peer.send(text)) n++;
    return n;
  }

  /** Sends a file to one participant over a data channel of its own; see FileTransfer. */
  sendFile(to: string, file: Blob, name = (file as File).name ?? 'file'): FileTransfer {
    if (this._local && !this._local.grants.data) throw new Error('this participant may not send data');
    const peer = this.peers.get(to);
    if (!peer) throw new Error('no connection to that participant');
    const t = FileTransfer.send(peer.pc, to, file, name);
    this.track(t);
    return t;
  }

  /** Restarts ICE towards one participant or all (e.g. after a network change). */
  restartIce(sid?: string): void {
    for (const [s, peer] of this.peers) if (sid === undefined || s === sid) peer.restartIce();
  }

  /** The peer connection to a participant (for getStats and the like). */
  peerConnection(sid: string): RTCPeerConnection | null {
    return this.peers.get(sid)?.pc ?? null;
  }

  // ---- PeerHost ----

  /** @internal */
  signal(to: string, kind: SignalKind, data: unknown): void {
    this.client._call('signal', { room: this.name, to, kind, data }).catch((e: Error) => {
      this.log('signal refused', kind, e);
      if (kind !== 'candidate') this.emit('error', { error: e, during: `signal ${kind}` });
    });
  }

  /** @internal */
  onTrack(peer: PeerLink, track: MediaStreamTrack, stream: MediaStream | null): void {
    const p = this.participants.get(peer.sid);
    if (!p || !stream) return;
    p.streams.set(stream.id, stream);
    const remote = this.remoteTrack(p, track, stream);
    track.addEventListener('ended', () => this.emit('trackUnsubscribed', remote));
    stream.addEventListener('removetrack', (e) => {
      if ((e as MediaStreamTrackEvent).track === track) {
        if (stream.getTracks().length === 0) p.streams.delete(stream.id);
        this.emit('trackUnsubscribed', remote);
      }
    });
    this.emit('trackSubscribed', remote);
  }

  /** @internal */
  onData(peer: PeerLink, text: string): void {
    const p = this.participants.get(peer.sid);
    if (!p || !p.grants.data) return; // a participant without the data grant is not heard
    let m: unknown;
    try {
      m = JSON.parse(text);
    } catch {
      return;
    }
    if (isObject(m) && m.t === 'msg') this.emit('data', { from: p, data: m.d });
  }

  /** @internal */
  onDataChannel(peer: PeerLink, channel: RTCDataChannel): void {
    const p = this.participants.get(peer.sid);
    if (!channel.label.startsWith(FILE_CHANNEL_PREFIX) || !p || !p.grants.data) {
      channel.close();
      return;
    }
    FileTransfer.receive(channel, peer.sid, (t) => {
      this.track(t);
      this.emit('fileIncoming', t);
    });
  }

  /** @internal */
  onState(peer: PeerLink, state: RTCPeerConnectionState): void {
    const p = this.participants.get(peer.sid);
    if (!p) return;
    p.connectionState = state;
    this.emit('connectionState', { participant: p, state });
  }

  /** @internal */
  onQuality(peer: PeerLink, quality: ConnectionQuality, stats: QualityStats): void {
    const p = this.participants.get(peer.sid);
    if (!p) return;
    p.quality = quality;
    p.stats = stats;
    this.emit('connectionQuality', { participant: p, quality, stats });
  }

  /** @internal */
  log(...args: unknown[]): void {
    this.client._log('room', this.name, ...args);
  }

  // ---- internals ----

  private async publishFrom(source: TrackSource, get: () => Promise<MediaStream>): Promise<LocalTrack> {
    if (this._local && !this._local.grants.publish) throw new Error('this participant may not publish media');
    const stream = await get();
    const track = stream.getTracks()[0];
    if (!track) throw new Error(`no ${source} track`);
    return this.publishTrack(source, track);
  }

  private async sendJoin(): Promise<void> {
    const fields: Json = { room: this.name };
    if (this.options.token) fields.token = this.options.token;
    if (this.options.metadata !== undefined) fields.metadata = this.options.metadata;
    const r = await this.client._call('room_join', fields);
    this._local = participantInfo(r.participant);
    this._chat = String(r.chat ?? `room:${this.name}`);
    this.iceServers = Array.isArray(r.ice_servers) ? (r.ice_servers as IceServer[]) : this.client.iceServers;
    this._state = 'joined';
    if (!this._local.grants.publish) for (const s of [...this.localTracks.keys()]) this.unpublish(s);
    if (this.localTracks.size > 0) this.announceTracks();
    const others = Array.isArray(r.participants) ? r.participants.map(participantInfo) : [];
    for (const info of others) this.addParticipant(info, false);
    this.emit('joined', {
      room: this.name,
      participant: this._local,
      participants: others,
      chat: this._chat,
      meshLimit: Number(r.mesh_limit ?? 0),
      iceServers: this.iceServers,
    });
    // The newcomer offers to everyone already here.
    for (const info of others) this.peerFor(info.sid);
  }

  private onPush(kind: string, msg: Json): void {
    if (this._state !== 'joined') return;
    switch (kind) {
      case 'room_join': {
        const info = participantInfo(msg.participant);
        if (info.sid && info.sid !== this._local?.sid) this.addParticipant(info, true);
        break;
      }
      case 'room_leave': {
        const sid = String(msg.sid ?? '');
        const p = this.participants.get(sid);
        if (!p) break;
        this.closePeer(sid);
        this.participants.delete(sid);
        this.emit('participantLeft', { participant: p, cause: String(msg.cause ?? 'left') });
        break;
      }
      case 'room_update': {
        const info = participantInfo(msg.participant);
        const p = this.participants.get(info.sid);
        if (p) this.update(p, info);
        break;
      }
      case 'signal': {
        const from = String(msg.from ?? '');
        if (!this.participants.has(from)) break;
        this.peerFor(from).onSignal(String(msg.kind ?? ''), msg.data);
        break;
      }
      case 'room_left':
        this.finish(String(msg.cause ?? 'closed'), String(msg.reason ?? ''));
        break;
    }
  }

  private addParticipant(info: ParticipantInfo, announce: boolean): RemoteParticipant {
    const p: RemoteParticipant = {
      ...info,
      name: displayName(info),
      streams: new Map(),
      connectionState: 'new',
      quality: 'unknown',
      stats: { rtt: null, loss: 0, bitrate: 0, route: null },
    };
    this.participants.set(info.sid, p);
    if (announce) this.emit('participantJoined', p);
    return p;
  }

  private update(p: RemoteParticipant, info: ParticipantInfo): void {
    const before = new Map(p.tracks.map((t) => [t.stream, t.muted]));
    p.metadata = info.metadata;
    p.tracks = info.tracks;
    p.grants = info.grants;
    this.emit('participantUpdated', p);
    for (const t of p.tracks) {
      const was = before.get(t.stream);
      const stream = p.streams.get(t.stream);
      if (was === undefined || was === t.muted || !stream) continue;
      for (const track of stream.getTracks())
        this.emit('trackMuted', { ...this.remoteTrack(p, track, stream), muted: t.muted });
    }
  }

  private remoteTrack(p: RemoteParticipant, track: MediaStreamTrack, stream: MediaStream): RemoteTrack {
    const info = p.tracks.find((t) => t.stream === stream.id);
    const kind = track.kind === 'audio' ? 'audio' : 'video';
    return { participant: p, track, stream, kind, source: info?.source ?? (kind === 'audio' ? 'microphone' : 'camera') };
  }

  private peerFor(sid: string): PeerLink {
    let peer = this.peers.get(sid);
    if (peer) return peer;
    const config: RTCConfiguration = { ...this.options.rtcConfig };
    if (!config.iceServers) config.iceServers = this.iceServers;
    peer = new PeerLink(sid, (this._local?.sid ?? '') < sid, config, this);
    this.peers.set(sid, peer);
    const remote = this.participants.get(sid);
    // Tracks go before any remote offer is applied, so they ride on the offer's m-lines.
    if (remote?.grants.subscribe) for (const local of this.localTracks.values()) peer.addTrack(local.track, local.stream);
    return peer;
  }

  /** A network change (back online, another interface) calls for new candidates: ICE restart. */
  private watchNetwork(): void {
    if (typeof window === 'undefined' || this.offNetwork) return;
    const restart = (): void => {
      if (this._state === 'joined') this.restartIce();
    };
    window.addEventListener('online', restart);
    const connection = (navigator as Navigator & { connection?: EventTarget }).connection;
    connection?.addEventListener('change', restart);
    this.offNetwork = () => {
      window.removeEventListener('online', restart);
      connection?.removeEventListener('change', restart);
    };
  }

  private announceTracks(): void {
    if (this._state !== 'joined') return;
    const tracks: TrackInfo[] = [...this.localTracks.values()].map((t) => ({
      stream: t.stream.id,
      kind: t.track.kind === 'audio' ? 'audio' : 'video',
      source: t.source,
      muted: t.muted,
    }));
    this.client._call('room_tracks', { room: this.name, tracks }).catch((e: Error) => this.log('room_tracks refused', e));
  }

  private track(t: FileTransfer): void {
    this.transfers.add(t);
    const drop = (): void => {
      setTimeout(() => this.transfers.delete(t), 0);
    };
    t.on('done', drop);
    t.on('failed', drop);
    t.on('cancelled', drop);
  }

  private closePeer(sid: string): void {
    const peer = this.peers.get(sid);
    if (!peer) return;
    this.peers.delete(sid);
    peer.close();
    for (const t of this.transfers) if (t.peer === sid) t.cancel();
  }

  private dropPeers(cause: string): void {
    for (const [sid, p] of [...this.participants]) {
      this.closePeer(sid);
      this.participants.delete(sid);
      this.emit('participantLeft', { participant: p, cause });
    }
  }

  private finish(cause: string, reason: string): void {
    if (this._state === 'left') return;
    this._state = 'left';
    this.dropPeers(cause);
    for (const s of [...this.localTracks.keys()]) this.unpublish(s);
    this.offConnected?.();
    this.offConnected = null;
    this.offNetwork?.();
    this.offNetwork = null;
    this.client._roomHandler(this.name, null);
    this.emit('left', { cause, reason });
  }
}
