// The connection banner: a floating pill that says when the connection is lost, counts down to
// the next attempt with "Retry now", says "Back online" for a moment after reconnecting, and
// offers "Sign out" when the server refused the token.
import { ErrorCode, type Client } from '../src/switchboard.js';
import { h } from './dom.js';

const BACK_ONLINE_MS = 3000;

export class ConnectionBanner {
  private readonly client: Client;
  private readonly el: HTMLElement;
  private readonly signOut: () => void;
  private everConnected = false;
  private retryAt = 0;
  private backOnlineUntil = 0;
  private ticker: ReturnType<typeof setInterval> | null = null;
  private stopReason: { code: number; reason: string } | null = null;

  /** Listens to `client`'s connection events itself; `signOut` is the action offered when the token is refused. */
  constructor(client: Client, el: HTMLElement, signOut: () => void) {
    this.client = client;
    this.el = el;
    this.signOut = signOut;
    client.on('connected', () => {
      this.retryAt = 0;
      this.stopReason = null;
      if (this.everConnected) this.backOnlineUntil = Date.now() + BACK_ONLINE_MS;
      this.everConnected = true;
      this.render();
      if (this.backOnlineUntil) setTimeout(() => this.render(), BACK_ONLINE_MS + 50);
    });
    client.on('reconnecting', (ctx) => {
      this.retryAt = Date.now() + ctx.delay;
      this.render();
    });
    client.on('state', () => this.render());
    client.on('disconnected', (ctx) => {
      this.stopReason = ctx.code === ErrorCode.ClientDisconnected ? null : ctx;
      this.render();
    });
  }

  render(): void {
    const b = this.el;
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
    if (ticking && this.ticker === null) this.ticker = setInterval(() => this.render(), 250);
    if (!ticking && this.ticker !== null) {
      clearInterval(this.ticker);
      this.ticker = null;
    }
    document.documentElement.dataset.connection = view;
  }
}
