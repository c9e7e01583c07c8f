import { isIPv6 } from 'node:net';
import { describe, expect, it } from 'vitest';
import { pseudonymiseIp } from '../../src/crypto/pseudonymise.js';

/** The canonical (RFC 5952) text of an IPv6 address, from the WHATWG URL parser. */
function canonicalIPv6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/**
 * Asserts an IPv6 /48 network equal to `network`, whatever valid spelling the function
 * chose for it (`2001:db8:0::` and `2001:db8::` name the same network).
 */
function expectNetwork48(result: string | null, network: string) {
  expect(result).not.toBeNull();
  const match = /^(.+)\/48$/.exec(result!);
  expect(match, `${result} is not a /48`).not.toBeNull();
  const prefix = match![1]!;
  expect(isIPv6(prefix), `${prefix} is not an IPv6 address`).toBe(true);
  expect(canonicalIPv6(prefix)).toBe(canonicalIPv6(network));
}

describe('pseudonymiseIp', () => {
  it('cuts IPv4 addresses to their /24', () => {
    expect(pseudonymiseIp('192.168.1.77')).toBe('192.168.1.0/24');
    expect(pseudonymiseIp('127.0.0.1')).toBe('127.0.0.0/24');
    expect(pseudonymiseIp('203.0.113.255')).toBe('203.0.113.0/24');
    expect(pseudonymiseIp('10.0.0.0')).toBe('10.0.0.0/24');
    expect(pseudonymiseIp('8.8.8.8')).not.toContain('8.8.8.8/');
  });

  it('cuts IPv4-mapped IPv6 addresses (as Node reports IPv4 clients on dual-stack sockets) to the IPv4 /24', () => {
    expect(pseudonymiseIp('::ffff:127.0.0.1')).toBe('127.0.0.0/24');
    expect(pseudonymiseIp('::ffff:203.0.113.45')).toBe('203.0.113.0/24');
  });

  it('cuts full IPv6 addresses to their /48', () => {
    expectNetwork48(pseudonymiseIp('2001:0db8:85a3:0042:1000:8a2e:0370:7334'), '2001:db8:85a3::');
    expectNetwork48(pseudonymiseIp('2a00:1450:4001:82a:0:0:0:200e'), '2a00:1450:4001::');
    expectNetwork48(pseudonymiseIp('2001:db8:0:0:1:2:3:4'), '2001:db8::');
  });

  it('cuts compressed IPv6 forms to their /48, wherever the :: is', () => {
    expectNetwork48(pseudonymiseIp('2001:db8:abcd:12::1'), '2001:db8:abcd::');
    expectNetwork48(pseudonymiseIp('2001:db8::1'), '2001:db8::');
    expectNetwork48(pseudonymiseIp('2001::1'), '2001::');
    expectNetwork48(pseudonymiseIp('2001:db8:1234::'), '2001:db8:1234::');
    expectNetwork48(pseudonymiseIp('fe80::1ff:fe23:4567:890a'), 'fe80::');
    expectNetwork48(pseudonymiseIp('::1'), '::');
    expectNetwork48(pseudonymiseIp('::'), '::');
    expectNetwork48(pseudonymiseIp('::1:2:3:4:5'), '::');
    expectNetwork48(pseudonymiseIp('1:2::'), '1:2::');
    expectNetwork48(pseudonymiseIp('1::4:5:6:7:8'), '1::');
  });

  it('strips a zone index and never leaks the interface part of the address', () => {
    const result = pseudonymiseIp('fe80::1ff:fe23:4567:890a%eth0');
    expectNetwork48(result, 'fe80::');
    expect(result).not.toContain('eth0');
    expect(result).not.toContain('890a');
  });

  it('never keeps bits beyond the network part', () => {
    const cases: [string, string[]][] = [
      ['2001:db8:abcd:1234:5678:9abc:def0:1357', ['1234', '5678', '9abc', 'def0', '1357']],
      ['192.168.1.77', ['.77']],
      ['::ffff:198.51.100.201', ['201']],
    ];
    for (const [address, hidden] of cases) {
      const result = pseudonymiseIp(address)!;
      for (const part of hidden) expect(result, `${address} -> ${result}`).not.toContain(part);
    }
  });

  it('answers null for no address and for anything that is not an address', () => {
    for (const input of [null, undefined, '', 'not-an-ip', 'localhost', '1.2.3', '999.1.1.1', '1.2.3.4.5', '1.2.3.4/24', '2001:db8:1:2:3:4:5:6:7', '2001:::1', '::ffff:999.1.1.1', 'unknown', ' 1.2.3.4']) {
      expect(pseudonymiseIp(input), String(input)).toBeNull();
    }
  });

  // An IPv4 suffix inside IPv6 is two groups, and a mapped prefix is recognised however it is spelled.
  it('handles embedded-IPv4 IPv6 forms, in any case and spelled out in full', () => {
    expectNetwork48(pseudonymiseIp('1::2:3:4:5:1.2.3.4'), '1:0:2::');
    expect(pseudonymiseIp('::FFFF:10.1.2.3')).toBe('10.1.2.0/24');
    expect(pseudonymiseIp('0:0:0:0:0:ffff:10.1.2.3')).toBe('10.1.2.0/24');
  });
});
