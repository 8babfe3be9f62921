// localStorage access that never throws: without storage (private mode) the app still works
// for the visit, it just remembers nothing.
export const STORAGE = { token: 'switchboard.token', name: 'switchboard.name', rooms: 'switchboard.rooms' };

export function load(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

export function save(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    /* storage unavailable (private mode): the app still works for this visit */
  }
}
