// The message list of the room in view: day separators, messages grouped by author with avatars,
// pending and failed messages (Retry/Discard), the loading and empty states, the "N new
// messages" button while scrolled up, and the screen-reader announcements of new messages.
import { avatar, h, icon } from './dom.js';
import { dayKey, dayLabel, formatFull, formatTime, linkify } from './format.js';
import type { Room } from './rooms.js';
import type { ChatMessage } from './store.js';

const GROUP_WINDOW_MS = 5 * 60 * 1000;

export interface MessageElements {
  scroller: HTMLElement;
  list: HTMLElement;
  emptyState: HTMLElement;
  jump: HTMLButtonElement;
}

/** What the list's buttons ask of the app. */
export interface MessageActions {
  retry(cid: string): void;
  discard(cid: string): void;
  /** After "N new messages" scrolled to the end. */
  jumped(): void;
}

export class MessageView {
  private readonly el: MessageElements;
  private unseenBelow = 0;

  constructor(el: MessageElements, actions: MessageActions) {
    this.el = el;
    const { list, scroller, jump } = el;
    list.addEventListener('click', (e) => {
      const btn = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-action]');
      if (!btn?.dataset.cid) return;
      if (btn.dataset.action === 'retry') actions.retry(btn.dataset.cid);
      else if (btn.dataset.action === 'discard') actions.discard(btn.dataset.cid);
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
      actions.jumped();
    });
  }

  /** Empties the list for another room (render() then fills it). */
  clear(): void {
    this.unseenBelow = 0;
    this.el.list.replaceChildren();
  }

  /** Renders `room`'s messages, reusing the rows that did not change. */
  render(room: Room, opts: { scroll?: 'bottom'; added?: number } = {}): void {
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
}

/** Reads new messages out through the live region, batched so a burst is one announcement. */
export class Announcer {
  private readonly el: HTMLElement;
  /** The room in view when the announcement is made (a burst names it). */
  private readonly roomName: () => string;
  private queue: string[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(el: HTMLElement, roomName: () => string) {
    this.el = el;
    this.roomName = roomName;
  }

  announce(text: string): void {
    this.queue.push(text.length > 200 ? `${text.slice(0, 200)}…` : text);
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const q = this.queue;
      this.queue = [];
      const msg = q.length <= 2 ? q.join('. ') : `${q.length} new messages in #${this.roomName()}`;
      this.el.replaceChildren(h('p', {}, msg));
    }, 600);
  }
}
