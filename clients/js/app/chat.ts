// The chat web app served at "/": rooms (channels chat:<room>), presence, typing indicators
// (channels typing:<room>), pending/failed messages with retry, and a connection banner.
// This file starts the app and ties the parts together: the rooms and their subscriptions,
// sending, the header and the sidebar's open/close. The parts render themselves: messages.ts,
// presence.ts, typing.ts, banner.ts, rooms.ts (room list), identity.ts (who the user is).
import {
  Client,
  ErrorCode,
  SwitchboardError,
  type ClientInfo,
  type Publication,
} from '../src/switchboard.js';
import { ConnectionBanner } from './banner.js';
import { CallView } from './call.js';
import { $, h, icon } from './dom.js';
import { normalizeRoom } from './format.js';
import { forgetIdentity, isMine, myAuthor, readIdentity, renderMeCard, showWelcome, type Identity } from './identity.js';
import { Announcer, MessageView } from './messages.js';
import { PresenceView } from './presence.js';
import { DEFAULT_ROOM, renderRoomList, roomFromHash, savedRooms, saveRooms, type Room } from './rooms.js';
import { RoomStore, newCid, type ChatData } from './store.js';
import { TypingIndicator } from './typing.js';

const HISTORY = 100;
const MAX_TEXT = 4000;

class ChatApp {
  private readonly client: Client;
  private readonly me: Identity;
  private readonly rooms = new Map<string, Room>();
  private active!: Room;
  private noticeTimer: ReturnType<typeof setTimeout> | null = null;

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

  private readonly messages: MessageView;
  private readonly announcer: Announcer;
  private readonly presence: PresenceView;
  private readonly typing: TypingIndicator;
  private readonly call: CallView;

  constructor(me: Identity) {
    this.me = me;
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/connection`;
    this.client = new Client(url, {
      token: me.token ?? undefined,
      name: me.token ? 'Switchboard web' : me.name,
    });
    const el = this.el;
    this.messages = new MessageView(el, {
      retry: (cid) => this.retry(cid),
      discard: (cid) => this.discard(cid),
      jumped: () => el.input.focus(),
    });
    this.announcer = new Announcer(el.announcer, () => this.active.name);
    this.presence = new PresenceView(this.client, me, { list: el.presenceList, count: el.presenceCount, meta: el.roomMeta }, () => this.active);
    this.typing = new TypingIndicator(this.client, el.typing, (from) => this.isMine(from));
    this.call = new CallView(this.client, me.name, { stage: $('call-stage'), joinButton: $('call-button') as HTMLButtonElement },
      (text) => this.announcer.announce(text));
    // For debugging from the console (and the browser tests): the client and the call.
    (window as unknown as { switchboard: unknown }).switchboard = { client: this.client, call: this.call };
    this.bindClient();
    this.bindUi();
    const initial = roomFromHash() ?? DEFAULT_ROOM;
    for (const r of [DEFAULT_ROOM, ...savedRooms(), initial]) this.ensureRoom(r);
    this.activate(initial);
    renderMeCard(el.meCard, me, () => this.signOut());
    this.client.connect();
  }

  // ----- connection -----

  private bindClient(): void {
    // The banner's listeners go first, so on each event the banner renders before the people.
    new ConnectionBanner(this.client, this.el.banner, () => this.signOut());
    this.client.on('connected', () => this.presence.render());
    this.client.on('state', () => this.presence.render());
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
      this.presence.refresh(room);
      if (room === this.active) this.renderMessages({ scroll: !ctx.wasRecovering ? 'bottom' : undefined });
    });
    sub.on('publication', (p) => this.onPublication(room, p));
    sub.on('join', (c) => {
      room.presence.set(c.client, c);
      if (room === this.active) this.presence.render();
    });
    sub.on('leave', (c) => {
      room.presence.delete(c.client);
      this.presence.noteLeave(room, c.client);
      if (room === this.active) this.presence.render();
    });
    sub.on('unsubscribed', (ctx) => {
      if (ctx.code !== 0) {
        room.error = ctx.code === ErrorCode.PermissionDenied ? 'You don’t have access to this room.' : `This room is not available: ${ctx.reason}.`;
        if (room === this.active) this.renderMessages();
      }
    });
    sub.subscribe();
    saveRooms(this.rooms.keys());
    return room;
  }

  private activate(name: string): void {
    const room = this.ensureRoom(name);
    if (this.active === room) return;
    this.active = room;
    room.unread = 0;
    this.typing.watch(name);
    this.messages.clear();
    this.renderRooms();
    this.renderHeader();
    this.call.setRoom(name);
    this.presence.render();
    this.renderMessages({ scroll: 'bottom' });
    this.typing.render();
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
    saveRooms(this.rooms.keys());
    if (this.active === room) {
      location.hash = `room=${DEFAULT_ROOM}`;
      this.activate(DEFAULT_ROOM);
    } else this.renderRooms();
  }

  // ----- messages -----

  private onPublication(room: Room, p: Publication<ChatData>): void {
    const msg = room.store.addPublication(p);
    if (!msg) return;
    this.typing.forget(msg.author.key);
    const mine = this.isMine(p.from);
    if (room === this.active) {
      if (!mine) this.announcer.announce(`${msg.author.name}: ${msg.text}`);
      this.renderMessages({ scroll: mine ? 'bottom' : undefined, added: mine ? 0 : 1 });
      this.typing.render();
    } else if (!mine) {
      room.unread++;
      this.renderRooms();
      this.renderTitle();
    }
  }

  private isMine(from: ClientInfo | undefined): boolean {
    return isMine(this.me, this.client.clientId, from);
  }

  private send(text: string): void {
    const room = this.active;
    const cid = newCid();
    room.store.addPending(cid, text, myAuthor(this.me, this.client.clientId));
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
    this.messages.render(this.active, opts);
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

  // ----- sidebar, header, title -----

  private renderRooms(): void {
    renderRoomList(this.el.roomList, this.rooms.values(), this.active, (name) => this.leave(name));
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

  private signOut(): void {
    this.client.disconnect();
    forgetIdentity();
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
    const { input, composer, newRoomForm, newRoomInput, menuButton, scrim } = this.el;
    input.maxLength = MAX_TEXT;
    composer.addEventListener('submit', (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (!text || this.active.error) return;
      input.value = '';
      this.updateComposer();
      this.typing.sentMessage();
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
      if (input.value.trim() !== '') this.typing.send(this.active.name);
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

function start(me: Identity): void {
  $('app').hidden = false;
  new ChatApp(me);
  ($('composer-input') as HTMLTextAreaElement).focus();
}

const identity = readIdentity();
if (identity) start(identity);
else showWelcome(start);
