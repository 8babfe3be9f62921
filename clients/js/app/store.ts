// The messages of one room: confirmed publications ordered by offset, and the user's own
// messages that are not confirmed yet. Every message appears once: publications are keyed by
// offset, and a client message id (cid) that was committed twice (a retry after a lost ack)
// shows once, at its first offset.
import type { ClientInfo, Publication } from '../src/switchboard.js';

export interface Author {
  /** Groups consecutive messages: the user id, or the connection id for guests. */
  key: string;
  /** Picks the avatar colour: the user id, or the name for guests (stable across reconnects). */
  colorKey: string;
  name: string;
  user: string;
}

export type MessageStatus = 'confirmed' | 'sending' | 'failed';

export interface ChatMessage {
  /** Stable across re-renders: `o<offset>` for confirmed, `c<cid>` for pending. */
  key: string;
  cid: string | null;
  offset: number | null;
  text: string;
  /** Unix ms: the server's time for confirmed messages, the local time for pending ones. */
  time: number;
  author: Author;
  status: MessageStatus;
  /** Why a failed message was not sent ("offline", or the server's reason). */
  error?: string;
}

export interface ChatData {
  text: string;
  cid?: string;
}

export function isChatData(v: unknown): v is ChatData {
  return typeof v === 'object' && v !== null && typeof (v as ChatData).text === 'string';
}

/** The display name of a client: `info.name` if it has one, else its user id, else "Guest". */
export function displayName(c: ClientInfo | undefined): string {
  const info = c?.info as { name?: unknown } | undefined;
  if (info && typeof info.name === 'string' && info.name.trim() !== '') return info.name.trim();
  if (c?.user) return c.user;
  return 'Guest';
}

export function authorOf(c: ClientInfo | undefined): Author {
  if (!c) return { key: 'server', colorKey: 'server', name: 'Server', user: '' };
  const name = displayName(c);
  return { key: c.user ? `u:${c.user}` : `c:${c.client}`, colorKey: colorKey(c.user, name), name, user: c.user };
}

export function colorKey(user: string, name: string): string {
  return user ? `u:${user}` : `n:${name}`;
}

export class RoomStore {
  private confirmed = new Map<number, ChatMessage>();
  private byCid = new Map<string, number>();
  private pending = new Map<string, ChatMessage>();
  private sorted: ChatMessage[] | null = null;

  /** Adds a publication; returns the message if it is new and shown, null otherwise. */
  addPublication(p: Publication): ChatMessage | null {
    if (!isChatData(p.data) || !(p.offset > 0)) return null;
    if (this.confirmed.has(p.offset)) return null;
    const cid = typeof p.data.cid === 'string' && p.data.cid !== '' ? p.data.cid : null;
    if (cid !== null && this.byCid.has(cid)) return null;
    const msg: ChatMessage = {
      key: `o${p.offset}`,
      cid,
      offset: p.offset,
      text: p.data.text,
      time: p.time || Date.now(),
      author: authorOf(p.from),
      status: 'confirmed',
    };
    this.confirmed.set(p.offset, msg);
    if (cid !== null) {
      this.byCid.set(cid, p.offset);
      this.pending.delete(cid);
    }
    this.sorted = null;
    return msg;
  }

  /** Replaces every confirmed message (the room was reloaded); pending ones stay. */
  reset(pubs: Publication[]): void {
    this.confirmed.clear();
    this.byCid.clear();
    this.sorted = null;
    for (const p of pubs) this.addPublication(p);
  }

  addPending(cid: string, text: string, author: Author): ChatMessage {
    const msg: ChatMessage = { key: `c${cid}`, cid, offset: null, text, time: Date.now(), author, status: 'sending' };
    this.pending.set(cid, msg);
    this.sorted = null;
    return msg;
  }

  /** Sets a pending message's status; false if it is no longer pending (already confirmed). */
  setPendingStatus(cid: string, status: 'sending' | 'failed'): boolean {
    const msg = this.pending.get(cid);
    if (!msg) return false;
    msg.status = status;
    this.sorted = null;
    return true;
  }

  removePending(cid: string): void {
    if (this.pending.delete(cid)) this.sorted = null;
  }

  getPending(cid: string): ChatMessage | undefined {
    return this.pending.get(cid);
  }

  isConfirmed(cid: string): boolean {
    return this.byCid.has(cid);
  }

  /** Confirmed messages by offset, then pending ones in the order they were written. */
  list(): ChatMessage[] {
    if (!this.sorted) {
      const confirmed = [...this.confirmed.values()].sort((a, b) => (a.offset ?? 0) - (b.offset ?? 0));
      this.sorted = confirmed.concat([...this.pending.values()]);
    }
    return this.sorted;
  }

  get size(): number {
    return this.confirmed.size + this.pending.size;
  }
}

/** A random id for a message, unique enough to recognise one's own publications. */
export function newCid(): string {
  const bytes = new Uint8Array(10);
  crypto.getRandomValues(bytes);
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
