// Rooms: channels chat:<room>. Which room is in view (the URL hash), which rooms the user has
// joined (remembered in storage), and the room list in the sidebar.
import type { ClientInfo, Subscription } from '../src/switchboard.js';
import { h, icon } from './dom.js';
import { normalizeRoom } from './format.js';
import { STORAGE, load, save } from './storage.js';
import type { ChatData, RoomStore } from './store.js';

export const DEFAULT_ROOM = 'lobby';

export interface Room {
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

export function roomFromHash(): string | null {
  const m = /(?:^#|&)room=([^&]*)/.exec(location.hash);
  if (!m) return null;
  try {
    return normalizeRoom(decodeURIComponent(m[1] ?? ''));
  } catch {
    return null;
  }
}

export function savedRooms(): string[] {
  try {
    const v = JSON.parse(load(STORAGE.rooms) ?? '[]') as unknown;
    if (Array.isArray(v)) return v.map((r) => (typeof r === 'string' ? normalizeRoom(r) : null)).filter((r): r is string => !!r);
  } catch {
    /* ignore a damaged entry */
  }
  return [];
}

export function saveRooms(names: Iterable<string>): void {
  save(STORAGE.rooms, JSON.stringify([...names]));
}

/** The sidebar's room list: the default room first, then by name, each but the default leavable. */
export function renderRoomList(list: HTMLElement, rooms: Iterable<Room>, activeRoom: Room, onLeave: (name: string) => void): void {
  const items = [...rooms].sort((a, b) => (a.name === DEFAULT_ROOM ? -1 : b.name === DEFAULT_ROOM ? 1 : a.name.localeCompare(b.name)));
  list.replaceChildren(
    ...items.map((room) => {
      const active = room === activeRoom;
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
        leave.addEventListener('click', () => onLeave(room.name));
        li.append(leave);
      }
      return li;
    }),
  );
}
