// Who is in the room in view: the people list in the sidebar (one entry per user, "you" first)
// and the "N people online" line in the header. A room's list comes from a presence request on
// (re)subscribe and is kept current by join/leave pushes.
import type { Client, ClientInfo } from '../src/switchboard.js';
import { avatar, h } from './dom.js';
import { myAuthor, type Identity } from './identity.js';
import type { Room } from './rooms.js';
import { authorOf, displayName } from './store.js';

export interface PresenceElements {
  list: HTMLElement;
  count: HTMLElement;
  meta: HTMLElement;
}

export class PresenceView {
  private readonly client: Client;
  private readonly me: Identity;
  private readonly el: PresenceElements;
  private readonly active: () => Room;
  /** Leaves pushed while a room's presence request is out: the reply must not bring them back. */
  private leaves = new Map<Room, Set<string>>();

  constructor(client: Client, me: Identity, el: PresenceElements, active: () => Room) {
    this.client = client;
    this.me = me;
    this.el = el;
    this.active = active;
  }

  noteLeave(room: Room, client: string): void {
    this.leaves.get(room)?.add(client);
  }

  refresh(room: Room): void {
    const leaves = new Set<string>();
    this.leaves.set(room, leaves);
    const joinedBefore = new Map(room.presence);
    this.client.presence(room.channel).then(
      (r) => {
        if (this.leaves.get(room) !== leaves) return;
        this.leaves.delete(room);
        const next = new Map<string, ClientInfo>();
        for (const c of r.clients) if (!leaves.has(c.client)) next.set(c.client, c);
        // Joins that arrived while the request was out are kept.
        for (const [id, c] of room.presence) if (!joinedBefore.has(id) && !leaves.has(id)) next.set(id, c);
        room.presence = next;
        if (room === this.active()) this.render();
      },
      () => {
        /* presence off or not allowed: the list stays as the join/leave pushes make it */
      },
    );
  }

  render(): void {
    const room = this.active();
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
      const a = myAuthor(this.me, myClient);
      people.set(a.key, { name: this.me.name, color: a.colorKey, me: true, count: 1 });
    }
    const sorted = [...people.values()].sort((a, b) => Number(b.me) - Number(a.me) || a.name.localeCompare(b.name));
    this.el.list.replaceChildren(
      ...sorted.map((p) =>
        h('li', { class: 'person', 'data-testid': 'presence-item' },
          h('span', { class: 'person-avatar' }, avatar(p.name, p.color, 'sm'), h('span', { class: 'presence-dot', 'aria-hidden': 'true' })),
          h('span', { class: 'person-name' }, p.name),
          p.me ? h('span', { class: 'person-tag' }, 'you') : null,
        ),
      ),
    );
    if (sorted.length === 0) {
      this.el.list.append(h('li', { class: 'person person--empty' }, this.client.state === 'connected' ? 'Nobody here yet' : 'Offline'));
    }
    this.el.list.classList.toggle('people--stale', this.client.state !== 'connected');
    this.el.count.textContent = String(sorted.length);
    this.el.meta.textContent = sorted.length === 1 ? '1 person online' : `${sorted.length} people online`;
  }
}
