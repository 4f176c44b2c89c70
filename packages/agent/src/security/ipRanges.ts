import ipaddr from 'ipaddr.js';

export type IpRange = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Parses "10.0.0.0/8, 2001:db8::/32, 203.0.113.7" (a bare address is a /32 or /128). */
export function parseIpRanges(raw: string): IpRange[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      try {
        if (item.includes('/')) return ipaddr.parseCIDR(item) as IpRange;
        const addr = ipaddr.parse(item);
        return [addr, addr.kind() === 'ipv4' ? 32 : 128] as IpRange;
      } catch {
        throw new Error(`"${item}" is not an IP address or CIDR range`);
      }
    })
    .map(([addr, bits]) => {
      // ::ffff:10.0.0.0/104 means the same as 10.0.0.0/8: keep one form.
      if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
        return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96] as IpRange;
      }
      return [addr, bits] as IpRange;
    });
}

/** True when ip (v4, v6 or v4-mapped v6) falls in any range. */
export function ipInRanges(ip: string, ranges: readonly IpRange[]): boolean {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(ip); // unwraps ::ffff:a.b.c.d to IPv4
  } catch {
    return false;
  }
  return ranges.some(([range, bits]) =>
    addr.kind() === 'ipv4'
      ? range.kind() === 'ipv4' && (addr as ipaddr.IPv4).match(range as ipaddr.IPv4, bits)
      : range.kind() === 'ipv6' && (addr as ipaddr.IPv6).match(range as ipaddr.IPv6, bits),
  );
}
