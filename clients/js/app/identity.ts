// Who the user is: a token (from the URL or storage) or a guest name asked for by the welcome
// form; which messages and connections are the user's own; the "me" card in the sidebar.
import type { ClientInfo } from '../src/switchboard.js';
import { $, avatar, h, icon } from './dom.js';
import { decodeToken } from './format.js';
import { STORAGE, load, save } from './storage.js';
import { authorOf, colorKey, type Author } from './store.js';

const MAX_NAME = 32;

export interface Identity {
  token: string | null;
  /** Display name: the token's info.name or sub, or the name typed in the welcome form. */
  name: string;
  /** The token's sub, or "" for guests. */
  user: string;
}

export function readIdentity(): Identity | null {
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

/** Forgets the stored token and guest name (signing out). */
export function forgetIdentity(): void {
  save(STORAGE.token, null);
  save(STORAGE.name, null);
}

/** Shows the welcome form and calls `onReady` once the guest has entered a name. */
export function showWelcome(onReady: (me: Identity) => void): void {
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
    onReady({ token: null, name: name.slice(0, MAX_NAME), user: '' });
  });
  input.addEventListener('input', () => input.setCustomValidity(''));
}

/** Whether `from` is this user: the same user id, or (for guests) this connection. */
export function isMine(me: Identity, myClientId: string | null, from: ClientInfo | undefined): boolean {
  if (!from) return false;
  if (me.user !== '' && from.user === me.user) return true;
  return from.client !== '' && from.client === myClientId;
}

export function myAuthor(me: Identity, myClientId: string | null): Author {
  const id = myClientId ?? 'me';
  return authorOf({ client: id, user: me.user, info: { name: me.name } });
}

export function renderMeCard(el: HTMLElement, me: Identity, onSignOut: () => void): void {
  const label = me.token ? 'Sign out' : 'Change name';
  const signOut = h('button', { type: 'button', class: 'icon-button me-action', 'aria-label': label, title: label }, icon(me.token ? 'logout' : 'edit'));
  signOut.addEventListener('click', onSignOut);
  el.replaceChildren(
    avatar(me.name, colorKey(me.user, me.name)),
    h('span', { class: 'me-text' }, h('span', { class: 'me-name' }, me.name), h('span', { class: 'me-sub' }, me.token ? `@${me.user}` : 'Guest')),
    signOut,
  );
}
