// Typing indicators (channels typing:<room>): "Ann is typing…" under the messages of the room in
// view, and the user's own {"typing": true}, sent at most every 2 s while typing.
import type { Client, ClientInfo, Publication, Subscription } from '../src/switchboard.js';
import { h } from './dom.js';
import { typingText } from './format.js';
import { authorOf } from './store.js';

const TYPING_SEND_EVERY_MS = 2000;
const TYPING_SHOW_MS = 4000;

type TypingData = { typing?: boolean };

export class TypingIndicator {
  private readonly client: Client;
  private readonly el: HTMLElement;
  private readonly isMine: (from: ClientInfo | undefined) => boolean;
  private sub: Subscription<TypingData> | null = null;
  private typers = new Map<string, { name: string; until: number }>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastSent = 0;

  constructor(client: Client, el: HTMLElement, isMine: (from: ClientInfo | undefined) => boolean) {
    this.client = client;
    this.el = el;
    this.isMine = isMine;
  }

  /** Shows who types in `room` from now on. Typing indicators only for the room in view. */
  watch(room: string): void {
    if (this.sub) this.client.removeSubscription(this.sub);
    this.typers.clear();
    this.sub = this.client.newSubscription<TypingData>(`typing:${room}`);
    this.sub.on('publication', (p) => this.onTyping(p));
    this.sub.subscribe();
  }

  /** Their message arrived: they are no longer typing it. */
  forget(authorKey: string): void {
    this.typers.delete(authorKey);
  }

  /** The user sent a message: the next keystroke says "typing" again at once. */
  sentMessage(): void {
    this.lastSent = 0;
  }

  private onTyping(p: Publication<TypingData>): void {
    if (!p.data || p.data.typing !== true || !p.from || this.isMine(p.from)) return;
    const a = authorOf(p.from);
    this.typers.set(a.key, { name: a.name, until: Date.now() + TYPING_SHOW_MS });
    this.render();
  }

  render(): void {
    const now = Date.now();
    let next = Infinity;
    for (const [k, t] of this.typers) {
      if (t.until <= now) this.typers.delete(k);
      else next = Math.min(next, t.until);
    }
    const text = typingText([...this.typers.values()].map((t) => t.name));
    const el = this.el;
    if (el.dataset.text !== text) {
      el.dataset.text = text;
      el.replaceChildren(...(text ? [h('span', { class: 'typing-dots', 'aria-hidden': 'true' }, h('i'), h('i'), h('i')), h('span', {}, text)] : []));
      el.classList.toggle('typing--active', text !== '');
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = next === Infinity ? null : setTimeout(() => this.render(), next - now + 20);
  }

  /** Says the user is typing in `room`, at most every TYPING_SEND_EVERY_MS. */
  send(room: string): void {
    const now = Date.now();
    if (now - this.lastSent < TYPING_SEND_EVERY_MS || this.client.state !== 'connected') return;
    this.lastSent = now;
    this.client.publish(`typing:${room}`, { typing: true }).catch(() => {});
  }
}
