/**
 * One peer-to-peer link of a mesh room: an RTCPeerConnection to one remote participant, with
 * perfect negotiation (either side may renegotiate at any time; on glare the polite side yields),
 * ICE restart when the connection fails or stays disconnected, a reliable data channel for room
 * data messages, and connection quality read from getStats.
 */
import type { ConnectionQuality, QualityStats } from './room-types.js';

export type SignalKind = 'offer' | 'answer' | 'candidate';

/** What a link needs from its room. */
export interface PeerHost {
  signal(to: string, kind: SignalKind, data: unknown): void;
  onTrack(peer: PeerLink, track: MediaStreamTrack, stream: MediaStream | null): void;
  onData(peer: PeerLink, text: string): void;
  onDataChannel(peer: PeerLink, channel: RTCDataChannel): void;
  onState(peer: PeerLink, state: RTCPeerConnectionState): void;
  onQuality(peer: PeerLink, quality: ConnectionQuality, stats: QualityStats): void;
  log(...args: unknown[]): void;
}

/** The negotiated data channel every link has (same id on both sides: no extra round trip). */
const DATA_CHANNEL_ID = 0;
/** A link that stays 'disconnected' this long gets an ICE restart. */
const DISCONNECTED_RESTART_MS = 2500;
const QUALITY_INTERVAL_MS = 2000;

export class PeerLink {
  readonly pc: RTCPeerConnection;
  readonly data: RTCDataChannel;
  quality: ConnectionQuality = 'unknown';
  stats: QualityStats = { rtt: null, loss: 0, bitrate: 0, route: null };
  private makingOffer = false;
  private ignoreOffer = false;
  private settingRemoteAnswer = false;
  private chain: Promise<void> = Promise.resolve();
  private senders = new Map<MediaStreamTrack, RTCRtpSender>();
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  private qualityTimer: ReturnType<typeof setInterval> | null = null;
  private last = { at: 0, bytes: 0, packets: 0, lost: 0 };
  private closed = false;

  constructor(
    readonly sid: string,
    /** On glare the polite side rolls back its own offer and takes the other's. */
    readonly polite: boolean,
    config: RTCConfiguration,
    private readonly host: PeerHost,
  ) {
    const pc = new RTCPeerConnection(config);
    this.pc = pc;
    this.data = pc.createDataChannel('switchboard', { negotiated: true, id: DATA_CHANNEL_ID });
    this.data.onmessage = (e) => {
      if (typeof e.data === 'string') host.onData(this, e.data);
    };
    pc.ondatachannel = (e) => host.onDataChannel(this, e.channel);
    pc.ontrack = (e) => host.onTrack(this, e.track, e.streams[0] ?? null);
    pc.onicecandidate = (e) => {
      if (e.candidate) host.signal(sid, 'candidate', e.candidate.toJSON());
    };
    pc.onnegotiationneeded = async () => {
      try {
        this.makingOffer = true;
        await pc.setLocalDescription();
        if (pc.localDescription) host.signal(sid, 'offer', pc.localDescription.toJSON());
      } catch (e) {
        host.log('offer failed', sid, e);
      } finally {
        this.makingOffer = false;
      }
    };
    pc.onconnectionstatechange = () => this.onConnectionState();
    this.qualityTimer = setInterval(() => void this.sample(), QUALITY_INTERVAL_MS);
  }

  /** Sends a track (its stream's id tells the other side which source it is). */
  addTrack(track: MediaStreamTrack, stream: MediaStream): void {
    if (this.closed || this.senders.has(track)) return;
    this.senders.set(track, this.pc.addTrack(track, stream));
  }

  removeTrack(track: MediaStreamTrack): void {
    const sender = this.senders.get(track);
    if (!sender || this.closed) return;
    this.senders.delete(track);
    this.pc.removeTrack(sender);
  }

  /** Replaces a sent track without renegotiating (e.g. switching cameras). */
  async replaceTrack(old: MediaStreamTrack, track: MediaStreamTrack): Promise<void> {
    const sender = this.senders.get(old);
    if (!sender) return;
    await sender.replaceTrack(track);
    this.senders.delete(old);
    this.senders.set(track, sender);
  }

  /** A signal from the remote side, handled strictly in arrival order. */
  onSignal(kind: string, data: unknown): void {
    this.chain = this.chain.then(() => this.handleSignal(kind, data)).catch((e) => this.host.log('signal failed', this.sid, e));
  }

  /** Starts an ICE restart (a new offer with fresh credentials). */
  restartIce(): void {
    if (this.closed) return;
    this.host.log('ICE restart', this.sid);
    this.pc.restartIce();
  }

  send(text: string): boolean {
    if (this.data.readyState !== 'open') return false;
    this.data.send(text);
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    if (this.qualityTimer !== null) clearInterval(this.qualityTimer);
    this.pc.close();
  }

  private async handleSignal(kind: string, data: unknown): Promise<void> {
    if (this.closed) return;
    const pc = this.pc;
    if (kind === 'candidate') {
      try {
        if (data) await pc.addIceCandidate(data as RTCIceCandidateInit);
      } catch (e) {
        // Candidates of an offer this side ignored fail to apply; anything else is worth a log.
        if (!this.ignoreOffer) this.host.log('candidate failed', this.sid, e);
      }
      return;
    }
    const description = data as RTCSessionDescriptionInit;
    const readyForOffer = !this.makingOffer && (pc.signalingState === 'stable' || this.settingRemoteAnswer);
    const collision = description.type === 'offer' && !readyForOffer;
    this.ignoreOffer = !this.polite && collision;
    if (this.ignoreOffer) return;
    this.settingRemoteAnswer = description.type === 'answer';
    await pc.setRemoteDescription(description);
    this.settingRemoteAnswer = false;
    if (description.type === 'offer') {
      await pc.setLocalDescription();
      if (pc.localDescription) this.host.signal(this.sid, 'answer', pc.localDescription.toJSON());
    }
  }

  private onConnectionState(): void {
    const state = this.pc.connectionState;
    this.host.onState(this, state);
    if (this.restartTimer !== null) {
      clearTimeout(this.restartTimer);
      this.restartTimer = null;
    }
    if (state === 'failed') {
      this.setQuality('lost');
      this.restartIce();
    } else if (state === 'disconnected') {
      this.setQuality('lost');
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (this.pc.connectionState === 'disconnected') this.restartIce();
      }, DISCONNECTED_RESTART_MS);
    } else if (state === 'connected') {
      void this.sample();
    }
  }

  private setQuality(q: ConnectionQuality): void {
    if (q === this.quality) return;
    this.quality = q;
    this.host.onQuality(this, q, { ...this.stats });
  }

  /** Reads getStats: round-trip time and route of the selected pair, loss and bitrate received. */
  private async sample(): Promise<void> {
    if (this.closed || this.pc.connectionState !== 'connected') return;
    let report: RTCStatsReport;
    try {
      report = await this.pc.getStats();
    } catch {
      return;
    }
    let pair: Record<string, unknown> | null = null;
    let bytes = 0;
    let packets = 0;
    let lost = 0;
    const byId = new Map<string, Record<string, unknown>>();
    report.forEach((s: Record<string, unknown>) => {
      byId.set(String(s.id), s);
      if (s.type === 'transport' && typeof s.selectedCandidatePairId === 'string') pair = report.get(s.selectedCandidatePairId) ?? pair;
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded' && !pair) pair = s;
      if (s.type === 'inbound-rtp') {
        packets += Number(s.packetsReceived ?? 0);
        lost += Math.max(0, Number(s.packetsLost ?? 0));
        bytes += Number(s.bytesReceived ?? 0);
      }
    });
    const now = performance.now();
    const dt = (now - this.last.at) / 1000;
    const dPackets = packets - this.last.packets;
    const dLost = lost - this.last.lost;
    const rtt = pair && typeof (pair as Record<string, unknown>).currentRoundTripTime === 'number'
      ? ((pair as Record<string, unknown>).currentRoundTripTime as number) : null;
    const local = pair ? byId.get(String((pair as Record<string, unknown>).localCandidateId)) : undefined;
    this.stats = {
      rtt,
      loss: dPackets + dLost > 0 ? dLost / (dPackets + dLost) : 0,
      bitrate: this.last.at && dt > 0 ? Math.round(((bytes - this.last.bytes) * 8) / dt) : 0,
      route: local ? (String(local.candidateType) as QualityStats['route']) : null,
    };
    this.last = { at: now, bytes, packets, lost };
    const r = rtt ?? 0;
    const l = this.stats.loss;
    this.setQuality(r < 0.15 && l < 0.02 ? 'excellent' : r < 0.4 && l < 0.08 ? 'good' : 'poor');
  }
}
