// DOM helpers shared by the app's views: element construction, avatars and the inline icons.
import { hue, initials } from './format.js';

type Attrs = Record<string, string | number | boolean | null | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
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

export function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el;
}

export function avatar(name: string, key: string, size: 'sm' | 'md' = 'md'): HTMLElement {
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

export function icon(name: keyof typeof ICONS): HTMLElement {
  const span = h('span', { class: 'icon' });
  span.innerHTML = ICONS[name]; // constant markup, no user data
  return span;
}
