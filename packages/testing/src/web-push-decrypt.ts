/**
 * Decrypts a Web Push message as a browser does, with node:crypto only (not web-push's own code, so
 * a test checks web-push against the RFCs rather than against itself): the aes128gcm content coding
 * (RFC 8188) keyed per RFC 8291. The body starts `salt(16) | rs(4) | idlen(1) | keyid`, where keyid
 * is the sender's ephemeral P-256 key; the key and nonce come from ECDH with the subscription's key
 * and HKDF with its auth secret.
 */
import { createDecipheriv, hkdfSync, type ECDH } from 'node:crypto';

const TAG_BYTES = 16;

function hkdf(ikm: Buffer, salt: Buffer, info: Buffer, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, length));
}

/** The plaintext; throws saying what is wrong with a body that does not decrypt. */
export function decryptWebPush(body: Buffer, subscriptionKey: ECDH, authSecret: Buffer): Buffer {
  if (body.length < 21) throw new Error('shorter than the aes128gcm header');
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20] ?? 0;
  if (idLength !== 65) throw new Error(`keyid is ${idLength} bytes, expected the sender's 65-byte P-256 key`);
  if (recordSize < TAG_BYTES + 2) throw new Error(`record size ${recordSize} too small`);
  const senderKey = body.subarray(21, 21 + idLength);
  const records = body.subarray(21 + idLength);
  if (records.length === 0) throw new Error('no record');

  const receiverPublic = subscriptionKey.getPublicKey();
  const sharedSecret = subscriptionKey.computeSecret(senderKey);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), receiverPublic, senderKey]);
  const ikm = hkdf(sharedSecret, authSecret, keyInfo, 32);
  const contentKey = hkdf(ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16);
  const nonceBase = hkdf(ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12);

  const parts: Buffer[] = [];
  const count = Math.ceil(records.length / recordSize);
  for (let seq = 0; seq < count; seq += 1) {
    const record = records.subarray(seq * recordSize, (seq + 1) * recordSize);
    const nonce = Buffer.from(nonceBase);
    // The record's sequence number XORs the end of the nonce (RFC 8188 §2.3; here < 2^32 records).
    nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ seq) >>> 0, 8);
    const decipher = createDecipheriv('aes-128-gcm', contentKey, nonce);
    decipher.setAuthTag(record.subarray(record.length - TAG_BYTES));
    const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - TAG_BYTES)), decipher.final()]);
    // Padding: a delimiter (2 on the last record, 1 before) followed by zeros.
    let end = padded.length - 1;
    while (end >= 0 && padded[end] === 0) end -= 1;
    const delimiter = padded[end];
    const last = seq === count - 1;
    if (delimiter !== (last ? 2 : 1)) throw new Error(`record ${seq}: padding delimiter ${delimiter ?? 'missing'}`);
    parts.push(padded.subarray(0, end));
  }
  return Buffer.concat(parts);
}
