// The chat web app served at "/": rooms (channels chat:<room>), presence, typing indicators
// (channels typing:<room>), pending/failed messages with retry, and a connection banner.
import {
  Client,
  ErrorCode,
  SwitchboardError,
  type ClientInfo,
  type Publication,
  type Subscription,
} from '../src/switchboard.js';
import {
  dayKey,
  dayLabel,
  decodeToken,
  formatFull,
  formatTime,
  hue,
  initials,
  linkify,
  normalizeRoom,
  typingText,
} from './format.js';
import { RoomStore, authorOf, colorKey, displayName, newCid, type Author, type ChatData, type ChatMessage } from './store.js';

const STORAGE = { token: 'switchboard.token', name: 'switchboard.name', rooms: 'switchboard.rooms' };
const DEFAULT_ROOM = 'lobby';
const HISTORY = 100;
const GROUP_WINDOW_MS = 5 * 60 * 1000;
const TYPING_SEND_EVERY_MS = 2000;
const TYPING_SHOW_MS = 4000;
const BACK_ONLINE_MS = 3000;
const MAX_TEXT = 4000;
const MAX_NAME = 32;

// ---------- small DOM helpers ----------

type Attrs = Record<string, string | number | boolean | null | undefined>;

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Array<Node | string | null | undefined | false>
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el;
}

function load(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function save(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    /* storage unavailable (private mode): the app still works for this visit */
  }
}

function avatar(name: string, key: string, size: 'sm' | 'md' = 'md'): HTMLElement {
  const el = h('span', { class: `avatar avatar--${size}`, 'aria-hidden': 'true' }, initials(name));
  const hh = hue(key);
  el.style.setProperty('--hue', String(hh));
  // Yellows and greens are light at the same lightness: darken them so white initials stay readable.
  if (hh >= 40 && hh <= 180) el.style.setProperty('--dim', hh >= 60 && hh <= 140 ? '14%' : '9%');
  return el;
}

const ICONS = {
  hash: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M10 3 8 21M16 3l-2 18M4 8.5h17M3 15.5h17" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/></svg>',
  close: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 6l12 12M18 6 6 18" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/></svg>',
  alert: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 8v5m0 3.5v.01M10.3 3.9 2.4 17.5A2 2 0 0 0 4.1 20.5h15.8a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/></svg>',
  logout: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M15 4h3a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-3M10 17l-5-5 5-5M5 12h11" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/></svg>',
  edit: '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 20h4L19 9a2.8 2.8 0 0 0-4-4L4 16v4zM13.5 6.5l4 4" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/></svg>',
  chat: '<svg viewBox="0 0 48 48" aria-hidden="true"><rect x="6" y="9" width="30" height="22" rx="7" fill="currentColor" opacity=".18"/><path d="M14 31v7l8-7" fill="currentColor" opacity=".18"/><rect x="16" y="17" width="26" height="18" rx="6" fill="currentColor" opacity=".35"/><path d="M34 35v6l-7-6" fill="currentColor" opacity=".35"/><circle cx="23" cy="26" r="1.8" fill="currentColor"/><circle cx="29" cy="26" r="1.8" fill="currentColor"/><circle cx="35" cy="26" r="1.8" fill="currentColor"/></svg>',
};

function icon(name: keyof typeof ICONS): HTMLElement {
  const span = h('span', { class: 'icon' });
  span.innerHTML = ICONS[name]; // constant markup, no user data
  return span;
}

// ---------- identity ----------

interface Identity {
  token: string | null;
  /** Display name: the token's info.name or sub, or the name typed in the welcome form. */
  name: string;
  /** The token's sub, or "" for guests. */
  user: string;
}

function readIdentity(): Identity | null {
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get('token');
  if (fromUrl) {
    save(STORAGE.token, fromUrl);
    // Keep the token out of the address bar (and out of links people copy).
    params.delete('token');
    const query = params.toString();
    history.replaceState(null, '', `${location.pathname}${query ? `?${query}` : ''}${location.hash}`);
  }
  const token = fromUrl ?? load(STORAGE.token);
  if (token) {
    const claims = decodeToken(token);
    const user = typeof claims?.sub === 'string' ? claims.sub : '';
    const name = typeof claims?.info?.name === 'string' && claims.info.name ? claims.info.name : user || 'Me';
    return { token, name, user };
  }
  const name = load(STORAGE.name);
  return name ? { token: null, name, user: '' } : null;
}

// ---------- rooms ----------

interface Room {
  name: string;
  channel: string;
  store: RoomStore;
  sub: Subscription<ChatData>;
  loaded: boolean;
  unread: number;
  /** Connected clients by connection id. */
  presence: Map<string, ClientInfo>;
  error: string | null;
  notice: string | null;
}

function roomFromHash(): string | null {
  const m = /(?:^#|&)room=([^&]*)/.exec(location.hash);
  if (!m) return null;
  try {
    return normalizeRoom(decodeURIComponent(m[1] ?? ''));
  } catch {
    return null;
  }
}

function savedRooms(): string[] {
  try {
    const v = JSON.parse(load(STORAGE.rooms) ?? '[]') as unknown;
    if (Array.isArray(v)) return v.map((r) => (typeof r === 'string' ? normalizeRoom(r) : null)).filter((r): r is string => !!r);
  } catch {
    /* ignore a damaged entry */
  }
  return [];
}

// ---------- the app ----------

class ChatApp {
  private readonly client: Client;
  private readonly me: Identity;
  private readonly rooms = new Map<string, Room>();
  private active!: Room;
  private typingSub: Subscription<{ typing?: boolean }> | null = null;
  private typers = new Map<string, { name: string; until: number }>();
  private typingTimer: ReturnType<typeof setTimeout> | null = null;
  private lastTypingSent = 0;
  private everConnected = false;
  private retryAt = 0;
  private backOnlineUntil = 0;
  private bannerTicker: ReturnType<typeof setInterval> | null = null;
  private stopReason: { code: number; reason: string } | null = null;
  private announceQueue: string[] = [];
  private announceTimer: ReturnType<typeof setTimeout> | null = null;
  private noticeTimer: ReturnType<typeof setTimeout> | null = null;
  private unseenBelow = 0;

  private readonly el = {
    shell: $('app'),
    roomList: $('room-list'),
    newRoomForm: $('new-room-form') as HTMLFormElement,
    newRoomInput: $('new-room-input') as HTMLInputElement,
    presenceList: $('presence-list'),
    presenceCount: $('presence-count'),
    meCard: $('me'),
    roomTitle: $('room-title'),
    roomMeta: $('room-meta'),
    menuButton: $('menu-button'),
    scrim: $('scrim'),
    banner: $('connection-banner'),
    notice: $('room-notice'),
    scroller: $('messages'),
    list: $('message-list'),
    emptyState: $('empty-state'),
    jump: $('jump-latest') as HTMLButtonElement,
    typing: $('typing-indicator'),
    composer: $('composer') as HTMLFormElement,
    input: $('composer-input') as HTMLTextAreaElement,
    send: $('composer-send') as HTMLButtonElement,
    inputLabel: $('composer-label'),
    announcer: $('announcer'),
  };

  constructor(me: Identity) {
    this.me = me;
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/connection`;
    this.client = new Client(url, {
      token: me.token ?? undefined,
      name: me.token ? 'Switchboard web' : me.name,
    });
    this.bindClient();
    this.bindUi();
    const initial = roomFromHash() ?? DEFAULT_ROOM;
    for (const r of [DEFAULT_ROOM, ...savedRooms(), initial]) this.ensureRoom(r);
    this.activate(initial);
    this.renderMe();
    this.client.connect();
  }

  // ----- connection -----

  private bindClient(): void {
    const c = this.client;
    c.on('connected', () => {
      this.retryAt = 0;
      this.stopReason = null;
      if (this.everConnected) this.backOnlineUntil = Date.now() + BACK_ONLINE_MS;
      this.everConnected = true;
      this.renderBanner();
      this.renderPresence();
      if (this.backOnlineUntil) setTimeout(() => this.renderBanner(), BACK_ONLINE_MS + 50);
    });
    c.on('reconnecting', (ctx) => {
      this.retryAt = Date.now() + ctx.delay;
      this.renderBanner();
    });
    c.on('state', () => {
      this.renderBanner();
      this.renderPresence();
    });
    c.on('disconnected', (ctx) => {
      this.stopReason = ctx.code === ErrorCode.ClientDisconnected ? null : ctx;
      this.renderBanner();
    });
  }

  private renderBanner(): void {
    const b = this.el.banner;
    const now = Date.now();
    const state = this.client.state;
    let view: 'connected' | 'connecting' | 'disconnected';
    // `spoken` is what the live region says; `shown` may add a countdown that changes every
    // second, which is hidden from screen readers so they are not told each tick.
    let spoken: string;
    let countdown = '';
    let action: { label: string; run: () => void } | null = null;
    let visible = true;
    if (state === 'connected') {
      view = 'connected';
      visible = now < this.backOnlineUntil;
      spoken = visible ? 'Back online' : 'Connected';
    } else if (state === 'connecting') {
      const wait = this.retryAt - now;
      if (wait > 0) {
        view = 'disconnected';
        spoken = this.everConnected ? 'Connection lost. Reconnecting…' : 'Can’t connect to the server. Retrying…';
        countdown = `${this.everConnected ? 'Offline. Reconnecting' : 'Can’t connect. Retrying'} in ${Math.ceil(wait / 1000)} s…`;
        action = { label: 'Retry now', run: () => this.client.connect() };
      } else {
        view = 'connecting';
        spoken = this.everConnected ? 'Reconnecting…' : 'Connecting…';
      }
    } else {
      view = 'disconnected';
      const r = this.stopReason;
      if (r && (r.code === ErrorCode.TokenExpired || r.code === 4002 || r.code === 4501 || r.code === ErrorCode.InvalidToken)) {
        spoken = 'Your session has expired or is not valid. Sign in again to keep chatting.';
        action = { label: 'Sign out', run: () => this.signOut() };
      } else {
        spoken = r ? `Disconnected: ${r.reason}.` : 'Disconnected.';
        action = { label: 'Reconnect', run: () => this.client.connect() };
      }
    }
    b.dataset.state = view;
    b.classList.toggle('banner--visible', visible);
    const sig = `${view}|${visible}|${spoken}|${action?.label ?? ''}`;
    if (b.dataset.sig !== sig) {
      b.dataset.sig = sig;
      const content = h('div', { class: 'banner-inner' },
        h('span', { class: 'banner-dot', 'aria-hidden': 'true' }),
        h('span', { class: 'banner-text' }, h('span', { class: countdown ? 'sr-only' : '' }, spoken), h('span', { class: 'banner-countdown', 'aria-hidden': 'true' })),
      );
      if (action) {
        const a = action;
        const btn = h('button', { type: 'button', class: 'banner-action', tabindex: visible ? undefined : -1 }, a.label);
        btn.addEventListener('click', a.run);
        content.append(btn);
      }
      b.replaceChildren(content);
    }
    const cd = b.querySelector('.banner-countdown');
    if (cd && cd.textContent !== countdown) cd.textContent = countdown;
    const ticking = state !== 'connected' || visible;
    if (ticking && this.bannerTicker === null) this.bannerTicker = setInterval(() => this.renderBanner(), 250);
    if (!ticking && this.bannerTicker !== null) {
      clearInterval(this.bannerTicker);
      this.bannerTicker = null;
    }
    document.documentElement.dataset.connection = view;
  }

  // ----- rooms -----

  private ensureRoom(name: string): Room {
    const existing = this.rooms.get(name);
    if (existing) return existing;
    const channel = `chat:${name}`;
    const sub = this.client.newSubscription<ChatData>(channel, { history: HISTORY });
    const room: Room = { name, channel, store: new RoomStore(), sub, loaded: false, unread: 0, presence: new Map(), error: null, notice: null };
    this.rooms.set(name, room);
    sub.on('subscribed', (ctx) => {
      room.error = null;
      if (!ctx.recovered) {
        room.store.reset(ctx.publications);
        if (ctx.wasRecovering) this.showNotice(room, `You were away for a while, so #${name} was reloaded. Older messages may be missing.`);
      }
      room.loaded = true;
      this.refreshPresence(room);
      if (room === this.active) this.renderMessages({ scroll: !ctx.wasRecovering ? 'bottom' : undefined });
    });
    sub.on('publication', (p) => this.onPublication(room, p));
    sub.on('join', (c) => {
      room.presence.set(c.client, c);
      if (room === this.active) this.renderPresence();
    });
    sub.on('leave', (c) => {
      room.presence.delete(c.client);
      this.presenceLeaves.get(room)?.add(c.client);
      if (room === this.active) this.renderPresence();
    });
    sub.on('unsubscribed', (ctx) => {
      if (ctx.code !== 0) {
        room.error = ctx.code === ErrorCode.PermissionDenied ? 'You don’t have access to this room.' : `This room is not available: ${ctx.reason}.`;
        if (room === this.active) this.renderMessages();
      }
    });
    sub.subscribe();
    this.persistRooms();
    return room;
  }

  private persistRooms(): void {
    save(STORAGE.rooms, JSON.stringify([...this.rooms.keys()]));
  }

  private activate(name: string): void {
    const room = this.ensureRoom(name);
    if (this.active === room) return;
    this.active = room;
    room.unread = 0;
    this.unseenBelow = 0;
    // Typing indicators only for the room in view.
    if (this.typingSub) this.client.removeSubscription(this.typingSub);
    this.typers.clear();
    this.typingSub = this.client.newSubscription<{ typing?: boolean }>(`typing:${name}`);
    this.typingSub.on('publication', (p) => this.onTyping(p));
    this.typingSub.subscribe();
    this.el.list.replaceChildren();
    this.renderRooms();
    this.renderHeader();
    this.renderPresence();
    this.renderMessages({ scroll: 'bottom' });
    this.renderTyping();
    this.renderTitle();
    this.el.input.value = '';
    this.updateComposer();
    if (location.hash !== `#room=${name}`) history.replaceState(null, '', `#room=${name}`);
  }

  private leave(name: string): void {
    const room = this.rooms.get(name);
    if (!room || name === DEFAULT_ROOM) return;
    this.client.removeSubscription(room.sub);
    this.rooms.delete(name);
    this.persistRooms();
    if (this.active === room) {
      location.hash = `room=${DEFAULT_ROOM}`;
      this.activate(DEFAULT_ROOM);
    } else this.renderRooms();
  }

  // ----- messages -----

  private onPublication(room: Room, p: Publication<ChatData>): void {
    const msg = room.store.addPublication(p);
    if (!msg) return;
    this.typers.delete(msg.author.key);
    const mine = this.isMine(p.from);
    if (room === this.active) {
      if (!mine) this.announce(`${msg.author.name}: ${msg.text}`);
      this.renderMessages({ scroll: mine ? 'bottom' : undefined, added: mine ? 0 : 1 });
      this.renderTyping();
    } else if (!mine) {
      room.unread++;
      this.renderRooms();
      this.renderTitle();
    }
  }

  private isMine(from: ClientInfo | undefined): boolean {
    if (!from) return false;
    if (this.me.user !== '' && from.user === this.me.user) return true;
    return from.client !== '' && from.client === this.client.clientId;
  }

  private myAuthor(): Author {
    const id = this.client.clientId ?? 'me';
    return authorOf({ client: id, user: this.me.user, info: { name: this.me.name } });
  }

  private send(text: string): void {
    const room = this.active;
    const cid = newCid();
    room.store.addPending(cid, text, this.myAuthor());
    this.renderMessages({ scroll: 'bottom' });
    this.publish(room, cid, text);
  }

  private publish(room: Room, cid: string, text: string): void {
    this.client.publish(room.channel, { text, cid }).then(
      () => {
        // Shown as pending until its publication arrives (it replaces the pending copy).
      },
      (e: unknown) => {
        const err = e instanceof SwitchboardError ? e : null;
        if (room.store.setPendingStatus(cid, 'failed')) {
          const m = room.store.getPending(cid);
          if (m) m.error = err?.code === ErrorCode.NotConnected ? 'offline' : err ? err.reason : 'error';
          if (room === this.active) this.renderMessages();
        }
      },
    );
  }

  private retry(cid: string): void {
    const room = this.active;
    const m = room.store.getPending(cid);
    if (!m) return;
    room.store.setPendingStatus(cid, 'sending');
    this.renderMessages();
    // The same cid: if the first attempt was committed after all, the message still shows once.
    this.publish(room, cid, m.text);
  }

  private discard(cid: string): void {
    this.active.store.removePending(cid);
    this.renderMessages();
    this.el.input.focus();
  }

  private renderMessages(opts: { scroll?: 'bottom'; added?: number } = {}): void {
    const room = this.active;
    const scroller = this.el.scroller;
    const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
    const messages = room.store.list();
    const list = this.el.list;

    this.el.emptyState.replaceChildren();
    this.el.emptyState.hidden = true;
    if (room.error) {
      this.showEmpty(icon('alert'), 'Can’t open this room', room.error);
      list.replaceChildren();
    } else if (!room.loaded && messages.length === 0) {
      this.el.emptyState.hidden = false;
      this.el.emptyState.append(
        h('div', { class: 'skeleton', 'aria-label': 'Loading messages', role: 'status' }, ...[0, 1, 2].map(() =>
          h('div', { class: 'skeleton-row' }, h('span', { class: 'skeleton-avatar' }), h('span', { class: 'skeleton-lines' }, h('span', {}), h('span', {}))),
        )),
      );
    } else if (messages.length === 0) {
      this.showEmpty(icon('chat'), `Welcome to #${room.name}`, 'No messages yet. Say hello and get the conversation going.');
    }

    const rows: HTMLElement[] = [];
    const existing = new Map<string, HTMLElement>();
    for (const child of Array.from(list.children) as HTMLElement[]) existing.set(child.dataset.key ?? '', child);
    let prev: ChatMessage | null = null;
    for (const m of messages) {
      const day = dayKey(m.time);
      if (!prev || dayKey(prev.time) !== day) {
        const label = dayLabel(m.time);
        rows.push(this.reuse(existing, `d${day}`, label, () =>
          h('li', { class: 'day-separator', role: 'separator', 'aria-label': label }, h('span', {}, label)),
        ));
        prev = null;
      }
      const first = !prev || prev.author.key !== m.author.key || m.time - prev.time > GROUP_WINDOW_MS || (prev.status === 'confirmed') !== (m.status === 'confirmed');
      const sig = [m.status, first, m.text, m.author.name, formatTime(m.time), m.offset ?? '', m.error ?? ''].join('\u0001');
      rows.push(this.reuse(existing, m.key, sig, () => this.buildMessage(m, first)));
      prev = m;
    }
    // Put the rows in order, moving only what moved.
    rows.forEach((row, i) => {
      if (list.children[i] !== row) list.insertBefore(row, list.children[i] ?? null);
    });
    while (list.children.length > rows.length) list.lastElementChild?.remove();

    if (opts.scroll === 'bottom' || atBottom) {
      scroller.scrollTop = scroller.scrollHeight;
      this.unseenBelow = 0;
    } else if (opts.added) {
      this.unseenBelow += opts.added;
    }
    this.renderJump();
  }

  private showEmpty(art: HTMLElement, title: string, text: string): void {
    this.el.emptyState.hidden = false;
    this.el.emptyState.append(h('div', { class: 'empty-art' }, art), h('h2', {}, title), h('p', {}, text));
  }

  private reuse(existing: Map<string, HTMLElement>, key: string, sig: string, build: () => HTMLElement): HTMLElement {
    const old = existing.get(key);
    if (old && old.dataset.sig === sig) return old;
    const el = build();
    el.dataset.key = key;
    el.dataset.sig = sig;
    if (old) old.replaceWith(el);
    return el;
  }

  private buildMessage(m: ChatMessage, first: boolean): HTMLElement {
    const li = h('li', {
      class: `msg${first ? ' msg--first' : ''} msg--${m.status}`,
      'data-testid': 'message',
      'data-offset': m.offset ?? undefined,
      'data-cid': m.cid ?? undefined,
      'data-status': m.status,
    });
    const time = h('time', { datetime: new Date(m.time).toISOString(), title: formatFull(m.time) }, formatTime(m.time));
    const gutter = h('div', { class: 'msg-gutter' });
    if (first) gutter.append(avatar(m.author.name, m.author.colorKey));
    else gutter.append(h('time', { class: 'msg-hover-time', datetime: new Date(m.time).toISOString(), title: formatFull(m.time), 'aria-hidden': 'true' }, formatTime(m.time)));
    const body = h('div', { class: 'msg-body' });
    if (first) {
      body.append(h('div', { class: 'msg-meta' }, h('span', { class: 'msg-author' }, m.author.name), time));
    } else {
      body.append(h('span', { class: 'sr-only' }, `${m.author.name}, ${formatTime(m.time)}: `));
    }
    const text = h('div', { class: 'msg-text', 'data-testid': 'message-text' });
    for (const part of linkify(m.text)) {
      text.append(part.kind === 'link' ? h('a', { href: part.href, target: '_blank', rel: 'noopener noreferrer' }, part.text) : part.text);
    }
    body.append(text);
    if (m.status === 'sending') {
      body.append(h('div', { class: 'msg-status', 'aria-live': 'polite' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Sending…'));
    } else if (m.status === 'failed') {
      const status = h('div', { class: 'msg-status msg-status--failed', role: 'alert' },
        icon('alert'),
        h('span', {}, m.error === 'offline' ? 'Not sent — no connection.' : `Not sent — ${m.error ?? 'error'}.`),
        h('button', { type: 'button', class: 'link-button', 'data-action': 'retry', 'data-cid': m.cid ?? '' }, 'Retry'),
        h('span', { 'aria-hidden': 'true' }, '·'),
        h('button', { type: 'button', class: 'link-button link-button--muted', 'data-action': 'discard', 'data-cid': m.cid ?? '' }, 'Discard'),
      );
      body.append(status);
    }
    li.append(gutter, body);
    return li;
  }

  private renderJump(): void {
    const show = this.unseenBelow > 0;
    this.el.jump.hidden = !show;
    this.el.jump.textContent = show ? `${this.unseenBelow} new message${this.unseenBelow === 1 ? '' : 's'} ↓` : '';
  }

  private showNotice(room: Room, text: string): void {
    room.notice = text;
    if (room !== this.active) return;
    this.el.notice.textContent = text;
    this.el.notice.hidden = false;
    if (this.noticeTimer !== null) clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => {
      room.notice = null;
      this.el.notice.hidden = true;
    }, 8000);
  }

  private announce(text: string): void {
    this.announceQueue.push(text.length > 200 ? `${text.slice(0, 200)}…` : text);
    if (this.announceTimer !== null) return;
    this.announceTimer = setTimeout(() => {
      this.announceTimer = null;
      const q = this.announceQueue;
      this.announceQueue = [];
      const msg = q.length <= 2 ? q.join('. ') : `${q.length} new messages in #${this.active.name}`;
      this.el.announcer.replaceChildren(h('p', {}, msg));
    }, 600);
  }

  // ----- presence -----

  private presenceLeaves = new Map<Room, Set<string>>();

  private refreshPresence(room: Room): void {
    const leaves = new Set<string>();
    this.presenceLeaves.set(room, leaves);
    const joinedBefore = new Map(room.presence);
    this.client.presence(room.channel).then(
      (r) => {
        if (this.presenceLeaves.get(room) !== leaves) return;
        this.presenceLeaves.delete(room);
        const next = new Map<string, ClientInfo>();
        for (const c of r.clients) if (!leaves.has(c.client)) next.set(c.client, c);
        // Joins that arrived while the request was out are kept.
        for (const [id, c] of room.presence) if (!joinedBefore.has(id) && !leaves.has(id)) next.set(id, c);
        room.presence = next;
        if (room === this.active) this.renderPresence();
      },
      () => {
        /* presence off or not allowed: the list stays as the join/leave pushes make it */
      },
    );
  }

  private renderPresence(): void {
    const room = this.active;
    const people = new Map<string, { name: string; color: string; me: boolean; count: number }>();
    const myClient = this.client.clientId;
    for (const c of room.presence.values()) {
      const a = authorOf(c);
      const me = (this.me.user !== '' && c.user === this.me.user) || c.client === myClient;
      const p = people.get(a.key);
      if (p) {
        p.count++;
        p.me ||= me;
      } else people.set(a.key, { name: displayName(c), color: a.colorKey, me, count: 1 });
    }
    // Until the first presence reply, show at least ourselves when connected.
    if (myClient && ![...people.values()].some((p) => p.me)) {
      const a = this.myAuthor();
      people.set(a.key, { name: this.me.name, color: a.colorKey, me: true, count: 1 });
    }
    const sorted = [...people.values()].sort((a, b) => Number(b.me) - Number(a.me) || a.name.localeCompare(b.name));
    this.el.presenceList.replaceChildren(
      ...sorted.map((p) =>
        h('li', { class: 'person', 'data-testid': 'presence-item' },
          h('span', { class: 'person-avatar' }, avatar(p.name, p.color, 'sm'), h('span', { class: 'presence-dot', 'aria-hidden': 'true' })),
          h('span', { class: 'person-name' }, p.name),
          p.me ? h('span', { class: 'person-tag' }, 'you') : null,
        ),
      ),
    );
    if (sorted.length === 0) {
      this.el.presenceList.append(h('li', { class: 'person person--empty' }, this.client.state === 'connected' ? 'Nobody here yet' : 'Offline'));
    }
    this.el.presenceList.classList.toggle('people--stale', this.client.state !== 'connected');
    this.el.presenceCount.textContent = String(sorted.length);
    this.el.roomMeta.textContent = sorted.length === 1 ? '1 person online' : `${sorted.length} people online`;
  }

  // ----- typing -----

  private onTyping(p: Publication<{ typing?: boolean }>): void {
    if (!p.data || p.data.typing !== true || !p.from || this.isMine(p.from)) return;
    const a = authorOf(p.from);
    this.typers.set(a.key, { name: a.name, until: Date.now() + TYPING_SHOW_MS });
    this.renderTyping();
  }

  private renderTyping(): void {
    const now = Date.now();
    let next = Infinity;
    for (const [k, t] of this.typers) {
      if (t.until <= now) this.typers.delete(k);
      else next = Math.min(next, t.until);
    }
    const text = typingText([...this.typers.values()].map((t) => t.name));
    const el = this.el.typing;
    if (el.dataset.text !== text) {
      el.dataset.text = text;
      el.replaceChildren(...(text ? [h('span', { class: 'typing-dots', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')), h('span', {}, text)] : []));
      el.classList.toggle('typing--active', text !== '');
    }
    if (this.typingTimer !== null) clearTimeout(this.typingTimer);
    this.typingTimer = next === Infinity ? null : setTimeout(() => this.renderTyping(), next - now + 20);
  }

  private sendTyping(): void {
    const now = Date.now();
    if (now - this.lastTypingSent < TYPING_SEND_EVERY_MS || this.client.state !== 'connected') return;
    this.lastTypingSent = now;
    this.client.publish(`typing:${this.active.name}`, { typing: true }).catch(() => {});
  }

  // ----- sidebar, header, title -----

  private renderRooms(): void {
    const items = [...this.rooms.values()].sort((a, b) => (a.name === DEFAULT_ROOM ? -1 : b.name === DEFAULT_ROOM ? 1 : a.name.localeCompare(b.name)));
    this.el.roomList.replaceChildren(
      ...items.map((room) => {
        const active = room === this.active;
        const link = h('a', {
          class: 'room-link',
          href: `#room=${room.name}`,
          'data-testid': 'room-item',
          'data-room': room.name,
          'aria-current': active ? 'page' : undefined,
        },
          icon('hash'),
          h('span', { class: 'room-name' }, room.name),
          room.unread > 0 ? h('span', { class: 'badge', 'aria-label': `${room.unread} unread` }, room.unread > 99 ? '99+' : String(room.unread)) : null,
        );
        const leavable = room.name !== DEFAULT_ROOM;
        const li = h('li', { class: `room${active ? ' room--active' : ''}${room.unread ? ' room--unread' : ''}${leavable ? ' room--leavable' : ''}` }, link);
        if (leavable) {
          const leave = h('button', { type: 'button', class: 'room-leave', 'aria-label': `Leave #${room.name}`, title: 'Leave room' }, icon('close'));
          leave.addEventListener('click', () => this.leave(room.name));
          li.append(leave);
        }
        return li;
      }),
    );
  }

  private renderHeader(): void {
    this.el.roomTitle.replaceChildren(icon('hash'), h('span', {}, this.active.name));
    this.el.inputLabel.textContent = `Message #${this.active.name}`;
    this.el.input.placeholder = `Message #${this.active.name}`;
    this.el.scroller.setAttribute('aria-label', `Messages in #${this.active.name}`);
    const notice = this.active.notice;
    this.el.notice.hidden = !notice;
    this.el.notice.textContent = notice ?? '';
  }

  private renderTitle(): void {
    let unread = 0;
    for (const r of this.rooms.values()) unread += r.unread;
    document.title = `${unread ? `(${unread}) ` : ''}#${this.active.name} · Switchboard`;
  }

  private renderMe(): void {
    const label = this.me.token ? 'Sign out' : 'Change name';
    const signOut = h('button', { type: 'button', class: 'icon-button me-action', 'aria-label': label, title: label }, icon(this.me.token ? 'logout' : 'edit'));
    signOut.addEventListener('click', () => this.signOut());
    this.el.meCard.replaceChildren(
      avatar(this.me.name, colorKey(this.me.user, this.me.name)),
      h('span', { class: 'me-text' }, h('span', { class: 'me-name' }, this.me.name), h('span', { class: 'me-sub' }, this.me.token ? `@${this.me.user}` : 'Guest')),
      signOut,
    );
  }

  private signOut(): void {
    this.client.disconnect();
    save(STORAGE.token, null);
    save(STORAGE.name, null);
    location.reload();
  }

  private setNav(open: boolean): void {
    this.el.shell.classList.toggle('nav-open', open);
    this.el.menuButton.setAttribute('aria-expanded', String(open));
    this.el.scrim.hidden = !open;
    if (open) (this.el.roomList.querySelector('a') as HTMLElement | null)?.focus();
  }

  // ----- composer and events -----

  private updateComposer(): void {
    const text = this.el.input.value.trim();
    this.el.send.disabled = text === '' || this.active.error !== null;
    const input = this.el.input;
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
  }

  private bindUi(): void {
    const { input, composer, list, newRoomForm, newRoomInput, scroller, jump, menuButton, scrim } = this.el;
    input.maxLength = MAX_TEXT;
    composer.addEventListener('submit', (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (!text || this.active.error) return;
      input.value = '';
      this.updateComposer();
      this.lastTypingSent = 0;
      this.send(text);
      input.focus();
    });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        composer.requestSubmit();
      }
    });
    input.addEventListener('input', () => {
      this.updateComposer();
      if (input.value.trim() !== '') this.sendTyping();
    });
    list.addEventListener('click', (e) => {
      const btn = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-action]');
      if (!btn?.dataset.cid) return;
      if (btn.dataset.action === 'retry') this.retry(btn.dataset.cid);
      else if (btn.dataset.action === 'discard') this.discard(btn.dataset.cid);
    });
    newRoomForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const name = normalizeRoom(newRoomInput.value);
      if (!name) {
        newRoomInput.setCustomValidity('Use letters, digits, "-" or "_".');
        newRoomInput.reportValidity();
        return;
      }
      newRoomInput.value = '';
      this.setNav(false);
      location.hash = `room=${name}`;
    });
    newRoomInput.addEventListener('input', () => newRoomInput.setCustomValidity(''));
    window.addEventListener('hashchange', () => {
      const name = roomFromHash();
      if (name) this.activate(name);
      this.setNav(false);
      input.focus();
    });
    scroller.addEventListener('scroll', () => {
      if (this.unseenBelow && scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40) {
        this.unseenBelow = 0;
        this.renderJump();
      }
    });
    jump.addEventListener('click', () => {
      scroller.scrollTo({ top: scroller.scrollHeight, behavior: 'smooth' });
      this.unseenBelow = 0;
      this.renderJump();
      input.focus();
    });
    menuButton.addEventListener('click', () => this.setNav(!this.el.shell.classList.contains('nav-open')));
    scrim.addEventListener('click', () => this.setNav(false));
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.el.shell.classList.contains('nav-open')) {
        this.setNav(false);
        menuButton.focus();
      }
    });
    // Day labels ("Today") go stale at midnight.
    setInterval(() => this.renderMessages(), 60_000);
  }
}

// ---------- start ----------

function showWelcome(): void {
  const welcome = $('welcome');
  const form = $('welcome-form') as HTMLFormElement;
  const input = $('name-input') as HTMLInputElement;
  input.maxLength = MAX_NAME;
  welcome.hidden = false;
  input.focus();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const name = input.value.trim().replace(/\s+/g, ' ');
    if (!name) {
      input.setCustomValidity('Please enter a name.');
      input.reportValidity();
      return;
    }
    save(STORAGE.name, name.slice(0, MAX_NAME));
    welcome.hidden = true;
    start({ token: null, name: name.slice(0, MAX_NAME), user: '' });
  });
  input.addEventListener('input', () => input.setCustomValidity(''));
}

function start(me: Identity): void {
  $('app').hidden = false;
  new ChatApp(me);
  ($('composer-input') as HTMLTextAreaElement).focus();
}

const identity = readIdentity();
if (identity) start(identity);
else showWelcome();
