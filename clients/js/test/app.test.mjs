// The chat app's pure logic: the message store's dedupe and ordering, and the formatters.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  RoomStore,
  authorOf,
  displayName,
  newCid,
  initials,
  hue,
  dayLabel,
  normalizeRoom,
  linkify,
  decodeToken,
  typingText,
} from '../dist/test/app-logic.js';

const from = { user: '', client: 'c1', info: { name: 'Ann' } };
const pub = (offset, text, cid, f = from) => ({ offset, time: 1_700_000_000_000 + offset, data: cid ? { text, cid } : { text }, from: f });
const view = (store) => store.list().map((m) => [m.offset, m.text, m.status]);

describe('RoomStore', () => {
  test('orders confirmed messages by offset whatever the arrival order', () => {
    const s = new RoomStore();
    s.addPublication(pub(3, 'c'));
    s.addPublication(pub(1, 'a'));
    s.addPublication(pub(2, 'b'));
    assert.deepEqual(view(s).map((v) => v[0]), [1, 2, 3]);
  });

  test('the same offset shows once', () => {
    const s = new RoomStore();
    assert.ok(s.addPublication(pub(1, 'a', 'x')));
    assert.equal(s.addPublication(pub(1, 'a', 'x')), null);
    assert.equal(s.size, 1);
  });

  test('the same cid committed twice (a retry after a lost ack) shows once, at its first offset', () => {
    const s = new RoomStore();
    s.addPublication(pub(5, 'hello', 'dup'));
    assert.equal(s.addPublication(pub(7, 'hello', 'dup')), null);
    s.addPublication(pub(6, 'other', 'o'));
    assert.deepEqual(view(s), [[5, 'hello', 'confirmed'], [6, 'other', 'confirmed']]);
  });

  test('a pending message is replaced by its publication', () => {
    const s = new RoomStore();
    s.addPublication(pub(1, 'a'));
    s.addPending('mine', 'hi', authorOf(from));
    assert.deepEqual(view(s), [[1, 'a', 'confirmed'], [null, 'hi', 'sending']]);
    s.addPublication(pub(2, 'hi', 'mine'));
    assert.deepEqual(view(s), [[1, 'a', 'confirmed'], [2, 'hi', 'confirmed']]);
    assert.equal(s.getPending('mine'), undefined);
    assert.equal(s.setPendingStatus('mine', 'failed'), false, 'a late failure does not resurrect it');
  });

  test('pending messages stay after confirmed ones, in the order written; failed ones can be retried', () => {
    const s = new RoomStore();
    s.addPending('p1', 'one', authorOf(from));
    s.addPending('p2', 'two', authorOf(from));
    s.setPendingStatus('p1', 'failed');
    s.addPublication(pub(9, 'theirs'));
    assert.deepEqual(view(s), [[9, 'theirs', 'confirmed'], [null, 'one', 'failed'], [null, 'two', 'sending']]);
    s.setPendingStatus('p1', 'sending');
    s.addPublication(pub(10, 'one', 'p1'));
    assert.deepEqual(view(s), [[9, 'theirs', 'confirmed'], [10, 'one', 'confirmed'], [null, 'two', 'sending']]);
  });

  test('reset replaces confirmed messages and keeps pending ones', () => {
    const s = new RoomStore();
    s.addPublication(pub(1, 'old', 'a'));
    s.addPending('p', 'mine', authorOf(from));
    s.reset([pub(1, 'new epoch')]);
    assert.deepEqual(view(s), [[1, 'new epoch', 'confirmed'], [null, 'mine', 'sending']]);
    assert.equal(s.isConfirmed('a'), false);
  });

  test('publications that are not chat messages are ignored', () => {
    const s = new RoomStore();
    assert.equal(s.addPublication({ offset: 1, time: 1, data: { typing: true } }), null);
    assert.equal(s.addPublication({ offset: 2, time: 1, data: 'text' }), null);
    assert.equal(s.addPublication({ offset: 0, time: 1, data: { text: 'no offset' } }), null);
    assert.equal(s.size, 0);
  });

  test('a server-API publication (no from) is shown by "Server"', () => {
    const s = new RoomStore();
    s.addPublication({ offset: 1, time: 1, data: { text: 'maintenance at 5' } });
    assert.equal(s.list()[0].author.name, 'Server');
  });
});

describe('names and formats', () => {
  test('display names: info.name, else user id, else Guest', () => {
    assert.equal(displayName({ client: 'c', user: 'u1', info: { name: ' Alice ' } }), 'Alice');
    assert.equal(displayName({ client: 'c', user: 'u1' }), 'u1');
    assert.equal(displayName({ client: 'c', user: '' }), 'Guest');
  });

  test('authors group by user, or by connection for guests; colours follow user or name', () => {
    assert.equal(authorOf({ client: 'c', user: 'u1' }).key, 'u:u1');
    const guest = authorOf({ client: 'c9', user: '', info: { name: 'Sam' } });
    assert.equal(guest.key, 'c:c9');
    assert.equal(guest.colorKey, 'n:Sam');
  });

  test('initials and a stable hue', () => {
    assert.equal(initials('Ada Lovelace'), 'AL');
    assert.equal(initials('bob'), 'B');
    assert.equal(initials('mary-jane watson parker'), 'MP');
    assert.equal(initials('  '), '?');
    assert.equal(initials('élodie durand'), 'ÉD');
    assert.equal(hue('x'), hue('x'));
    assert.ok(hue('x') >= 0 && hue('x') < 360);
  });

  test('day labels', () => {
    const now = new Date(2025, 10, 26, 15, 0).getTime();
    assert.equal(dayLabel(new Date(2025, 10, 26, 0, 5).getTime(), now), 'Today');
    assert.equal(dayLabel(new Date(2025, 10, 25, 23, 55).getTime(), now), 'Yesterday');
    assert.match(dayLabel(new Date(2025, 10, 20).getTime(), now), /20/);
    assert.match(dayLabel(new Date(2024, 10, 20).getTime(), now), /2024/);
  });

  test('room names', () => {
    assert.equal(normalizeRoom('  Design Team '), 'design-team');
    assert.equal(normalizeRoom('#random'), 'random');
    assert.equal(normalizeRoom('a:b#c'), 'abc');
    assert.equal(normalizeRoom('!!!'), null);
    assert.equal(normalizeRoom('-x'), null);
    assert.equal(normalizeRoom('x'.repeat(80)).length, 40);
  });

  test('links are split out without trailing punctuation', () => {
    assert.deepEqual(linkify('see https://example.com/a?b=1. ok'), [
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
      { kind: 'text', text: '. ok' },
    ]);
    assert.deepEqual(linkify('javascript:alert(1)'), [{ kind: 'text', text: 'javascript:alert(1)' }]);
    assert.deepEqual(linkify('<b>x</b>'), [{ kind: 'text', text: '<b>x</b>' }]);
  });

  test('token claims are read for display', () => {
    const payload = Buffer.from(JSON.stringify({ sub: 'alice', info: { name: 'Alice Ä' } })).toString('base64url');
    assert.deepEqual(decodeToken(`h.${payload}.s`), { sub: 'alice', info: { name: 'Alice Ä' } });
    assert.equal(decodeToken('garbage'), null);
    assert.equal(decodeToken('a.###.c'), null);
  });

  test('typing text', () => {
    assert.equal(typingText([]), '');
    assert.equal(typingText(['Alice']), 'Alice is typing…');
    assert.equal(typingText(['Alice', 'Bob']), 'Alice and Bob are typing…');
    assert.equal(typingText(['A', 'B', 'C', 'D', 'E']), 'A, B and 3 others are typing…');
  });

  test('cids are random and distinct', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newCid()));
    assert.equal(ids.size, 1000);
    assert.match(newCid(), /^[0-9a-f]{20}$/);
  });
});
