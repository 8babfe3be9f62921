/** A minimal typed event emitter. `on` and `once` return a function that removes the listener. */
export class Emitter<Events extends object> {
  private listeners = new Map<keyof Events, Set<(ctx: never) => void>>();

  on<K extends keyof Events>(event: K, listener: (ctx: Events[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    const fn = listener as (ctx: never) => void;
    set.add(fn);
    return () => {
      this.listeners.get(event)?.delete(fn);
    };
  }

  once<K extends keyof Events>(event: K, listener: (ctx: Events[K]) => void): () => void {
    const off = this.on(event, (ctx) => {
      off();
      listener(ctx);
    });
    return off;
  }

  off<K extends keyof Events>(event?: K, listener?: (ctx: Events[K]) => void): void {
    if (event === undefined) this.listeners.clear();
    else if (listener === undefined) this.listeners.delete(event);
    else this.listeners.get(event)?.delete(listener as (ctx: never) => void);
  }

  /**
   * Calls every listener. A listener that throws does not stop the others nor the client's own
   * processing: the exception is rethrown asynchronously so it still reaches the console or
   * the process's uncaught-exception handler.
   */
  protected emit<K extends keyof Events>(event: K, ctx: Events[K]): void {
    const set = this.listeners.get(event);
    if (!set || set.size === 0) return;
    for (const fn of [...set]) {
      try {
        (fn as (ctx: Events[K]) => void)(ctx);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }
}
