import { describe, expect, it } from 'vitest';
import { DataCipher } from '../../src/crypto/data-cipher.js';

const K1 = 'unit-data-key-one-0123456789abcdef-0123456789';
const K2 = 'unit-data-key-two-fedcba9876543210-9876543210';
const ROW = 'session_entries:7d1c1f6e-4a43-4d57-9a53-0c3f1b0d9a11';
const OTHER_ROW = 'session_entries:0b5f2b9e-61f3-4c7e-8d0a-5b0c7f5a2e22';
const SECRET_TEXT = 'I have been sleeping badly since the divorce, about three hours a night.';

/** `enc1:<key id>:<iv>.<tag>.<ciphertext>`, every part base64url. */
const FORMAT = /^enc1:([0-9a-f]{12}):([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/;

/** Replaces one base64url character of the ciphertext part with a different one. */
function flipCiphertext(stored: string): string {
  const dot = stored.lastIndexOf('.');
  const index = dot + 1;
  const replacement = stored[index] === 'A' ? 'B' : 'A';
  return `${stored.slice(0, index)}${replacement}${stored.slice(index + 1)}`;
}

describe('DataCipher', () => {
  it('round-trips text, in the versioned enc1 format, without the plaintext in the stored value', () => {
    const cipher = new DataCipher(K1);
    const stored = cipher.encrypt(SECRET_TEXT, ROW);
    const match = FORMAT.exec(stored);
    expect(match).not.toBeNull();
    expect(match![1]).toBe(cipher.currentKeyId);
    expect(stored).not.toContain(SECRET_TEXT);
    expect(stored).not.toContain('divorce');
    expect(cipher.decrypt(stored, ROW)).toBe(SECRET_TEXT);
  });

  it('round-trips unicode, long text and an empty string', () => {
    const cipher = new DataCipher(K1);
    for (const text of ['Überforderung 😔 — 不安 — ¿qué hago?', 'x'.repeat(10_000), '', 'a:b:c.d.e']) {
      expect(cipher.decrypt(cipher.encrypt(text, ROW), ROW)).toBe(text);
    }
  });

  it('uses a fresh IV every time: the same text encrypts differently', () => {
    const cipher = new DataCipher(K1);
    const first = cipher.encrypt(SECRET_TEXT, ROW);
    const second = cipher.encrypt(SECRET_TEXT, ROW);
    expect(first).not.toBe(second);
    expect(FORMAT.exec(first)![2]).not.toBe(FORMAT.exec(second)![2]);
    expect(cipher.decrypt(first, ROW)).toBe(SECRET_TEXT);
    expect(cipher.decrypt(second, ROW)).toBe(SECRET_TEXT);
  });

  it('binds a ciphertext to its row: another row context does not decrypt it', () => {
    const cipher = new DataCipher(K1);
    const stored = cipher.encrypt(SECRET_TEXT, ROW);
    expect(() => cipher.decrypt(stored, OTHER_ROW)).toThrow();
    expect(() => cipher.decrypt(stored, '')).toThrow();
    expect(() => cipher.decrypt(stored, 'session_feedback:7d1c1f6e-4a43-4d57-9a53-0c3f1b0d9a11')).toThrow();
    expect(cipher.decrypt(stored, ROW)).toBe(SECRET_TEXT);
  });

  it('detects tampering with the ciphertext, the tag or the iv', () => {
    const cipher = new DataCipher(K1);
    const stored = cipher.encrypt(SECRET_TEXT, ROW);
    const [, keyId, iv, tag, body] = FORMAT.exec(stored)!;
    expect(() => cipher.decrypt(flipCiphertext(stored), ROW)).toThrow();
    const otherTag = `${tag![0] === 'A' ? 'B' : 'A'}${tag!.slice(1)}`;
    expect(() => cipher.decrypt(`enc1:${keyId}:${iv}.${otherTag}.${body}`, ROW)).toThrow();
    const otherIv = `${iv![0] === 'A' ? 'B' : 'A'}${iv!.slice(1)}`;
    expect(() => cipher.decrypt(`enc1:${keyId}:${otherIv}.${tag}.${body}`, ROW)).toThrow();
    expect(() => cipher.decrypt(`enc1:${keyId}:${iv}.${tag}`, ROW)).toThrow();
  });

  it('refuses values that are not in the encrypted format', () => {
    const cipher = new DataCipher(K1);
    for (const stored of [SECRET_TEXT, '', 'enc1:', 'enc1:abc', `enc2:${cipher.currentKeyId}:a.b.c`]) {
      expect(() => cipher.decrypt(stored, ROW)).toThrow();
    }
  });

  it('fails on an unknown key id, naming the missing previous key, and never returns plaintext', () => {
    const underK1 = new DataCipher(K1).encrypt(SECRET_TEXT, ROW);
    const onlyK2 = new DataCipher(K2);
    expect(() => onlyK2.decrypt(underK1, ROW)).toThrow(/no data key .*DATA_ENCRYPTION_KEYS_PREVIOUS/);
    // A value relabelled with the current key id is not readable either: the key really differs.
    const relabelled = underK1.replace(/^enc1:[0-9a-f]{12}:/, `enc1:${onlyK2.currentKeyId}:`);
    expect(() => onlyK2.decrypt(relabelled, ROW)).toThrow();
  });

  it('derives a stable key id per key that does not reveal the key, different for different keys', () => {
    const one = new DataCipher(K1);
    expect(new DataCipher(K1).currentKeyId).toBe(one.currentKeyId);
    expect(new DataCipher(K2).currentKeyId).not.toBe(one.currentKeyId);
    expect(one.currentKeyId).toMatch(/^[0-9a-f]{12}$/);
    expect(K1).not.toContain(one.currentKeyId);
    expect(Buffer.from(K1).toString('hex')).not.toContain(one.currentKeyId);
  });

  it('reads values under previous keys and writes under the current one', () => {
    const oldStored = new DataCipher(K1).encrypt(SECRET_TEXT, ROW);
    const rotated = new DataCipher(K2, [K1]);
    expect(rotated.decrypt(oldStored, ROW)).toBe(SECRET_TEXT);
    const fresh = rotated.encrypt(SECRET_TEXT, ROW);
    expect(rotated.keyIdOf(fresh)).toBe(new DataCipher(K2).currentKeyId);
    expect(new DataCipher(K2).decrypt(fresh, ROW)).toBe(SECRET_TEXT);
    expect(() => new DataCipher(K1).decrypt(fresh, ROW)).toThrow(/no data key/);
  });

  it('keyIdOf and needsRotation tell which values are due for re-encryption', () => {
    const k1 = new DataCipher(K1);
    const rotated = new DataCipher(K2, [K1]);
    const old = k1.encrypt(SECRET_TEXT, ROW);
    const current = rotated.encrypt(SECRET_TEXT, ROW);
    expect(rotated.keyIdOf(old)).toBe(k1.currentKeyId);
    expect(rotated.keyIdOf(current)).toBe(rotated.currentKeyId);
    expect(rotated.keyIdOf(SECRET_TEXT)).toBeUndefined();
    expect(rotated.needsRotation(old)).toBe(true);
    expect(rotated.needsRotation(current)).toBe(false);
    // Text stored before encryption existed is due too.
    expect(rotated.needsRotation(SECRET_TEXT)).toBe(true);
    expect(k1.needsRotation(old)).toBe(false);
    expect(k1.needsRotation(current)).toBe(true);
  });
});
