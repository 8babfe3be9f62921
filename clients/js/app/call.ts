// Calls in the web app: a Room of the SDK (peer-to-peer mesh) for the chat room being viewed.
// The chat stays on the WebSocket beside the call while media and files flow between browsers.
// This view owns the call stage (video grid), the control bar and the file transfers list.
import { FileTransfer, Room, SwitchboardError, type Client, type RemoteParticipant, type RemoteTrack } from '../src/switchboard.js';
import { avatar, h } from './dom.js';
import { formatBytes } from './format.js';

const CALL_ICONS = {
  mic: '<path d="M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3zM5 11a7 7 0 0 0 14 0M12 18v3" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>',
  micOff: '<path d="M9 9v3a3 3 0 0 0 5.1 2.1M15 10V6a3 3 0 0 0-5.7-1.3M5 11a7 7 0 0 0 11.5 5.4M19 11a7 7 0 0 1-.7 3M12 18v3M3 3l18 18" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>',
  cam: '<path d="M4 7h11a1 1 0 0 1 1 1v8a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V8a1 1 0 0 1 1-1zM16 10.5l5-3v9l-5-3" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"/>',
  camOff: '<path d="M16 10.5l5-3v9l-5-3M10 7h5a1 1 0 0 1 1 1v5M16 16a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V8a1 1 0 0 1 1-1h2M3 3l18 18" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/>',
  screen: '<path d="M3 5h18v11H3zM8 20h8M12 16v4M12 13V8M9.5 10.5 12 8l2.5 2.5" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/>',
  file: '<path d="M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8zM14 3v5h5M12 17v-6M9.5 13.5 12 11l2.5 2.5" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/>',
  leave: '<path d="M4.5 14.5c4.3-4 10.7-4 15 0l-2 2.3-3-1.3v-2.3a9 9 0 0 0-5 0v2.3l-3 1.3z" fill="currentColor"/>',
  call: '<path d="M4 7h11a1 1 0 0 1 1 1v8a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V8a1 1 0 0 1 1-1zM16 10.5l5-3v9l-5-3" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"/>',
};

function svg(name: keyof typeof CALL_ICONS): HTMLElement {
  const span = h('span', { class: 'icon' });
  span.innerHTML = `<svg viewBox="0 0 24 24" aria-hidden="true">${CALL_ICONS[name]}</svg>`; // constant markup
  return span;
}

export interface CallElements {
  stage: HTMLElement;
  joinButton: HTMLButtonElement;
}

/** Join-to-first-frame: from the click to the first remote video frame shown. */
export interface CallMetrics {
  joinStartedAt: number;
  firstFrameMs: number | null;
}

export class CallView {
  room: Room | null = null;
  readonly metrics: CallMetrics = { joinStartedAt: 0, firstFrameMs: null };
  private roomName = '';
  private readonly grid = h('div', { class: 'call-grid', 'data-testid': 'call-grid' });
  private readonly title = h('span', { class: 'call-title' });
  private readonly status = h('span', { class: 'call-status', role: 'status' });
  private readonly transfers = h('ul', { class: 'transfers', 'data-testid': 'transfers', 'aria-label': 'File transfers' });
  private readonly dropHint = h('div', { class: 'drop-hint', hidden: true }, 'Drop files to send them to everyone in the call');
  private readonly buttons: Record<'mic' | 'cam' | 'screen' | 'file' | 'leave', HTMLButtonElement>;
  private readonly picker = h('input', { type: 'file', multiple: true, hidden: true }) as HTMLInputElement;
  private readonly tiles = new Map<string, HTMLElement>();

  constructor(
    private readonly client: Client,
    private readonly myName: string,
    private readonly el: CallElements,
    private readonly announce: (text: string) => void,
  ) {
    const button = (key: string, label: string, icon: keyof typeof CALL_ICONS, extra = ''): HTMLButtonElement => {
      const b = h('button', { type: 'button', class: `call-button ${extra}`, 'data-testid': `call-${key}`, 'aria-label': label, title: label }, svg(icon));
      return b as HTMLButtonElement;
    };
    this.buttons = {
      mic: button('mic', 'Mute microphone', 'mic'),
      cam: button('cam', 'Turn camera off', 'cam'),
      screen: button('screen', 'Share screen', 'screen'),
      file: button('file', 'Send a file to everyone', 'file'),
      leave: button('leave', 'Leave call', 'leave', 'call-button--leave'),
    };
    const bar = h('div', { class: 'call-bar', role: 'toolbar', 'aria-label': 'Call controls' },
      this.buttons.mic, this.buttons.cam, this.buttons.screen, this.buttons.file, this.buttons.leave);
    el.stage.replaceChildren(
      h('div', { class: 'call-top' }, this.title, this.status),
      this.grid, this.dropHint, this.transfers, bar, this.picker);
    el.joinButton.replaceChildren(svg('call'), h('span', { class: 'join-label' }, 'Join call'));
    el.joinButton.addEventListener('click', () => {
      if (this.room) void this.leave();
      else void this.join();
    });
    this.bindControls();
    this.bindDrop();
  }

  /** The chat room being viewed: the call button joins its call. */
  setRoom(name: string): void {
    this.roomName = name;
    this.renderJoinButton();
  }

  async join(): Promise<void> {
    if (this.room) return;
    const relay = new URLSearchParams(location.search).get('relay') === '1';
    const room = new Room(this.client, this.roomName, relay ? { rtcConfig: { iceTransportPolicy: 'relay' } } : {});
    this.room = room;
    this.metrics.joinStartedAt = performance.now();
    this.metrics.firstFrameMs = null;
    this.bindRoom(room);
    this.el.stage.hidden = false;
    document.body.classList.add('in-call');
    this.title.textContent = `Call in #${this.roomName}`;
    this.setStatus('Connecting…');
    this.renderJoinButton();
    this.addLocalTile();
    try {
      // Camera and microphone in one prompt; a call without them still receives.
      let media: MediaStream | null = null;
      try {
        media = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
      } catch {
        this.setStatus('No camera or microphone: you can still see and hear the others.');
      }
      for (const track of media?.getTracks() ?? []) room.publishTrack(track.kind === 'audio' ? 'microphone' : 'camera', track);
      await room.join();
      this.setStatus(room.participants.size ? '' : 'Waiting for others to join…');
      this.announce(`Joined the call in #${this.roomName}`);
    } catch (e) {
      const reason = e instanceof SwitchboardError ? e.message : String(e);
      this.end();
      this.showError(`Could not join the call: ${reason}`);
    }
    this.renderControls();
  }

  async leave(): Promise<void> {
    const room = this.room;
    if (!room) return;
    await room.leave();
  }

  // ---- room events ----

  private bindRoom(room: Room): void {
    room.on('participantJoined', (p) => {
      this.participantTile(p);
      this.setStatus('');
      this.announce(`${p.name} joined the call`);
    });
    room.on('participantLeft', ({ participant }) => {
      for (const [key, tile] of this.tiles) if (key === participant.sid || key.startsWith(`${participant.sid}:`)) {
        tile.remove();
        this.tiles.delete(key);
      }
      this.layout();
      if (room.state === 'joined') this.announce(`${participant.name} left the call`);
      if (room.state === 'joined' && room.participants.size === 0) this.setStatus('Waiting for others to join…');
    });
    room.on('participantUpdated', (p) => this.renderParticipant(p));
    room.on('trackSubscribed', (t) => this.attach(t));
    room.on('trackUnsubscribed', (t) => this.detach(t));
    room.on('trackMuted', (t) => this.renderParticipant(t.participant));
    room.on('connectionQuality', ({ participant }) => this.renderParticipant(participant));
    room.on('connectionState', ({ participant }) => this.renderParticipant(participant));
    room.on('fileIncoming', (t) => this.addTransfer(t));
    room.on('localTrackPublished', () => this.renderControls());
    room.on('localTrackUnpublished', () => this.renderControls());
    room.on('left', ({ cause, reason }) => {
      this.end();
      if (cause !== 'left') this.showError(reason || 'The call ended.');
    });
    room.on('joined', ({ participants }) => {
      for (const info of participants) {
        const p = room.participants.get(info.sid);
        if (p) this.participantTile(p);
      }
    });
  }

  private end(): void {
    this.room = null;
    for (const tile of this.tiles.values()) tile.remove();
    this.tiles.clear();
    this.el.stage.hidden = true;
    document.body.classList.remove('in-call');
    this.renderJoinButton();
  }

  // ---- tiles ----

  private addLocalTile(): void {
    const video = h('video', { autoplay: true, playsinline: true, muted: true, class: 'mirror' }) as HTMLVideoElement;
    video.muted = true;
    const tile = this.makeTile('local', `${this.myName} (you)`, video);
    tile.classList.add('tile--local');
    this.grid.prepend(tile);
    this.layout();
  }

  private participantTile(p: RemoteParticipant): HTMLElement {
    let tile = this.tiles.get(p.sid);
    if (!tile) {
      const video = h('video', { autoplay: true, playsinline: true }) as HTMLVideoElement;
      tile = this.makeTile(p.sid, p.name, video);
      tile.append(h('audio', { autoplay: true }));
      this.grid.append(tile);
      this.layout();
    }
    this.renderParticipant(p);
    return tile;
  }

  private makeTile(key: string, name: string, video: HTMLVideoElement): HTMLElement {
    const tile = h('figure', { class: 'tile', 'data-testid': 'call-tile', 'data-key': key, 'data-video': 'off' },
      video,
      h('div', { class: 'tile-avatar' }, avatar(name, key)),
      h('figcaption', { class: 'tile-label' },
        h('span', { class: 'tile-mic', hidden: true, title: 'Microphone off' }, svg('micOff')),
        h('span', { class: 'tile-name' }, name),
        h('span', { class: 'tile-quality', 'data-quality': 'unknown', title: 'Connection quality' },
          h('i'), h('i'), h('i'))));
    this.tiles.set(key, tile);
    return tile;
  }

  private renderParticipant(p: RemoteParticipant): void {
    const tile = this.tiles.get(p.sid);
    if (!tile) return;
    const mic = p.tracks.find((t) => t.source === 'microphone');
    const cam = p.tracks.find((t) => t.source === 'camera');
    (tile.querySelector('.tile-mic') as HTMLElement).hidden = !(mic?.muted ?? true) || !mic;
    tile.dataset.video = cam && !cam.muted && p.streams.has(cam.stream) ? 'on' : 'off';
    const q = tile.querySelector('.tile-quality') as HTMLElement;
    q.dataset.quality = p.connectionState === 'failed' || p.connectionState === 'disconnected' ? 'lost' : p.quality;
    const route = p.stats.route === 'relay' ? ' · relayed' : '';
    q.title = `Connection: ${q.dataset.quality}${p.stats.rtt !== null ? ` · ${Math.round(p.stats.rtt * 1000)} ms` : ''}${route}`;
  }

  private attach(t: RemoteTrack): void {
    if (t.source === 'screen') {
      const key = `${t.participant.sid}:${t.stream.id}`;
      let tile = this.tiles.get(key);
      if (!tile) {
        const video = h('video', { autoplay: true, playsinline: true }) as HTMLVideoElement;
        tile = this.makeTile(key, `${t.participant.name}'s screen`, video);
        tile.classList.add('tile--screen');
        tile.dataset.video = 'on';
        this.grid.prepend(tile);
        this.layout();
      }
      (tile.querySelector('video') as HTMLVideoElement).srcObject = t.stream;
      return;
    }
    const tile = this.participantTile(t.participant);
    if (t.kind === 'audio') {
      (tile.querySelector('audio') as HTMLAudioElement).srcObject = t.stream;
      return;
    }
    const video = tile.querySelector('video') as HTMLVideoElement;
    video.srcObject = t.stream;
    this.watchFirstFrame(video);
    this.renderParticipant(t.participant);
  }

  private detach(t: RemoteTrack): void {
    if (t.source === 'screen') {
      const key = `${t.participant.sid}:${t.stream.id}`;
      this.tiles.get(key)?.remove();
      this.tiles.delete(key);
      this.layout();
      return;
    }
    this.renderParticipant(t.participant);
  }

  private watchFirstFrame(video: HTMLVideoElement): void {
    if (this.metrics.firstFrameMs !== null) return;
    const started = this.metrics.joinStartedAt;
    const mark = (): void => {
      if (this.metrics.firstFrameMs === null && this.metrics.joinStartedAt === started)
        this.metrics.firstFrameMs = performance.now() - started;
    };
    const v = video as HTMLVideoElement & { requestVideoFrameCallback?: (cb: () => void) => number };
    if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(mark);
    else video.addEventListener('loadeddata', mark, { once: true });
  }

  private layout(): void {
    const n = this.grid.children.length;
    this.grid.dataset.count = String(Math.min(n, 9));
  }

  // ---- controls ----

  private bindControls(): void {
    const { mic, cam, screen, file } = this.buttons;
    mic.addEventListener('click', () => this.toggleMute('microphone'));
    cam.addEventListener('click', () => this.toggleMute('camera'));
    screen.addEventListener('click', async () => {
      const room = this.room;
      if (!room) return;
      if (room.localTracks.has('screen')) return room.unpublish('screen');
      try {
        await room.publishScreen();
      } catch {
        /* the user closed the picker */
      }
    });
    this.buttons.leave.addEventListener('click', () => void this.leave());
    file.addEventListener('click', () => this.picker.click());
    this.picker.addEventListener('change', () => {
      this.sendFiles([...(this.picker.files ?? [])]);
      this.picker.value = '';
    });
  }

  private toggleMute(source: 'microphone' | 'camera'): void {
    const local = this.room?.localTracks.get(source);
    if (!local || !this.room) return;
    this.room.setMuted(source, !local.muted);
    this.renderControls();
  }

  private renderControls(): void {
    const room = this.room;
    const mic = room?.localTracks.get('microphone');
    const cam = room?.localTracks.get('camera');
    const screen = room?.localTracks.get('screen');
    const set = (b: HTMLButtonElement, on: boolean, available: boolean, label: string, icon: keyof typeof CALL_ICONS): void => {
      b.replaceChildren(svg(icon));
      b.setAttribute('aria-pressed', String(!on));
      b.setAttribute('aria-label', label);
      b.title = label;
      b.disabled = !available;
      b.classList.toggle('is-off', !on);
    };
    set(this.buttons.mic, !!mic && !mic.muted, !!mic, mic?.muted ? 'Unmute microphone' : 'Mute microphone', mic && !mic.muted ? 'mic' : 'micOff');
    set(this.buttons.cam, !!cam && !cam.muted, !!cam, cam?.muted ? 'Turn camera on' : 'Turn camera off', cam && !cam.muted ? 'cam' : 'camOff');
    this.buttons.screen.setAttribute('aria-pressed', String(!!screen));
    this.buttons.screen.classList.toggle('is-active', !!screen);
    this.buttons.screen.disabled = !room || !navigator.mediaDevices?.getDisplayMedia;
    const local = this.tiles.get('local');
    if (local) {
      const video = local.querySelector('video') as HTMLVideoElement;
      if (cam && video.srcObject !== cam.stream) video.srcObject = cam.stream;
      local.dataset.video = cam && !cam.muted ? 'on' : 'off';
      (local.querySelector('.tile-mic') as HTMLElement).hidden = !!mic && !mic.muted;
    }
  }

  private renderJoinButton(): void {
    const b = this.el.joinButton;
    const inCall = !!this.room;
    b.classList.toggle('is-live', inCall);
    const label = inCall ? 'Leave call' : `Join the call in #${this.roomName}`;
    b.setAttribute('aria-label', label);
    b.title = label;
    (b.querySelector('.join-label') as HTMLElement).textContent = inCall ? 'Leave call' : 'Join call';
  }

  private setStatus(text: string): void {
    this.status.textContent = text;
  }

  private showError(text: string): void {
    this.announce(text);
    const toast = h('div', { class: 'call-toast', role: 'alert', 'data-testid': 'call-error' }, text);
    document.body.append(toast);
    setTimeout(() => toast.remove(), 8000);
  }

  // ---- files ----

  private bindDrop(): void {
    const stage = this.el.stage;
    let depth = 0;
    stage.addEventListener('dragenter', (e) => {
      if (!e.dataTransfer?.types.includes('Files')) return;
      e.preventDefault();
      depth++;
      this.dropHint.hidden = false;
    });
    stage.addEventListener('dragover', (e) => {
      if (e.dataTransfer?.types.includes('Files')) e.preventDefault();
    });
    stage.addEventListener('dragleave', () => {
      if (--depth <= 0) {
        depth = 0;
        this.dropHint.hidden = true;
      }
    });
    stage.addEventListener('drop', (e) => {
      e.preventDefault();
      depth = 0;
      this.dropHint.hidden = true;
      this.sendFiles([...(e.dataTransfer?.files ?? [])]);
    });
  }

  /** Sends each file to every participant of the call. */
  sendFiles(files: File[]): FileTransfer[] {
    const room = this.room;
    const out: FileTransfer[] = [];
    if (!room || files.length === 0) return out;
    if (room.participants.size === 0) {
      this.showError('Nobody else is in the call yet.');
      return out;
    }
    for (const f of files)
      for (const p of room.participants.values()) {
        try {
          const t = room.sendFile(p.sid, f);
          this.addTransfer(t);
          out.push(t);
        } catch (e) {
          this.showError(`Could not send ${f.name} to ${p.name}: ${String(e)}`);
        }
      }
    return out;
  }

  private addTransfer(t: FileTransfer): void {
    const peer = this.room?.participants.get(t.peer)?.name ?? 'someone';
    const bar = h('progress', { max: String(t.size || 1), value: '0' }) as HTMLProgressElement;
    const state = h('span', { class: 'transfer-state' }, '0%');
    const cancel = h('button', { type: 'button', class: 'ghost-button transfer-cancel' }, 'Cancel') as HTMLButtonElement;
    const item = h('li', { class: 'transfer', 'data-testid': 'transfer', 'data-state': 'transferring' },
      h('div', { class: 'transfer-head' },
        h('span', { class: 'transfer-name', title: t.name }, t.name),
        h('span', { class: 'transfer-peer' }, `${t.direction === 'send' ? 'to' : 'from'} ${peer} · ${formatBytes(t.size)}`)),
      h('div', { class: 'transfer-row' }, bar, state, cancel));
    this.transfers.prepend(item);
    cancel.addEventListener('click', () => t.cancel());
    t.on('progress', ({ bytes, size }) => {
      bar.value = bytes;
      state.textContent = `${size ? Math.floor((bytes / size) * 100) : 100}%`;
    });
    t.on('done', ({ blob }) => {
      item.dataset.state = 'done';
      cancel.remove();
      state.textContent = 'Verified';
      state.title = `SHA-256 ${t.sha256}`;
      if (blob) {
        const link = h('a', { class: 'transfer-save', href: URL.createObjectURL(blob), download: t.name }, 'Save');
        item.querySelector('.transfer-row')?.append(link);
        this.announce(`Received ${t.name} from ${peer}`);
      }
    });
    t.on('failed', ({ reason }) => {
      item.dataset.state = 'failed';
      cancel.remove();
      state.textContent = 'Failed';
      state.title = reason;
    });
    t.on('cancelled', ({ by }) => {
      item.dataset.state = 'cancelled';
      cancel.remove();
      state.textContent = by === 'local' ? 'Cancelled' : 'Cancelled by sender';
    });
  }
}
