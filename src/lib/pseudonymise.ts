import { isIPv4, isIPv6 } from 'node:net';

function expandIPv6(address: string): string[] {
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const missing = address.includes('::') ? 8 - left.length - right.length : 0;
  return [...left, ...Array<string>(missing).fill('0'), ...right];
}

/** An address cut to its network: /24 for IPv4, /48 for IPv6 (SPEC §6), for exports and logs. */
export function pseudonymiseIp(address: string | null | undefined): string | null {
  if (!address) return null;
  const mapped = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIPv4(mapped)) return `${mapped.split('.').slice(0, 3).join('.')}.0/24`;
  if (isIPv6(address)) {
    const groups = expandIPv6(address.split('%')[0] ?? address).slice(0, 3);
    return `${groups.map((group) => group.replace(/^0+(?=.)/, '')).join(':')}::/48`;
  }
  return null;
}
