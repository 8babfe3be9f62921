// The binary form of pub pushes (docs/protocol.md, "Binary pub pushes").
type Json = Record<string, unknown>;

const utf8 = new TextDecoder();

/**
 * A binary pub push (docs/protocol.md, "Binary pub pushes") as the JSON push it stands for, or
 * null when it is not one: a 28-byte big-endian head (kind 1, lengths of channel, client, user
 * and info, offset, time), those strings, then the data's JSON text.
 */
export function decodeBinaryPub(b: Uint8Array): Json | null {
  if (b.length < 28 || b[0] !== 1 || b[3] !== 0) return null;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const clen = b[1] ?? 0;
  const klen = b[2] ?? 0;
  const ulen = view.getUint32(4);
  const ilen = view.getUint32(8);
  const offset = Number(view.getBigUint64(12));
  const time = Number(view.getBigInt64(20));
  let at = 28;
  if (clen + klen + ulen + ilen > b.length - at) return null;
  const take = (n: number) => {
    const s = utf8.decode(b.subarray(at, at + n));
    at += n;
    return s;
  };
  const channel = take(clen);
  const client = take(klen);
  const user = take(ulen);
  const info = take(ilen);
  try {
    const msg: Json = { push: 'pub', channel, offset, time, data: JSON.parse(utf8.decode(b.subarray(at))) };
    if (klen > 0) {
      const from: Json = { user, client };
      if (ilen > 0) from.info = JSON.parse(info);
      msg.from = from;
    }
    return msg;
  } catch {
    return null;
  }
}
