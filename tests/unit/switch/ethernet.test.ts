/**
 * ethernet.ts: address tests, VLAN parsing, MAC text form, and the stable NIC MAC generator.
 */
import { describe, expect, it } from 'vitest';
import {
  ETH_P_8021Q,
  ETH_P_ARP,
  ETH_P_IP,
  formatMac,
  innerEthertype,
  isBroadcastAt,
  isLocalUnicast,
  isMulticastAt,
  isValidUnicastAt,
  macFromSeed,
  nicMac,
  parseMac,
  payloadOffset,
  vlanId,
} from '../../../src/switch/ethernet.js';

describe('MAC text form', () => {
  it('formats and parses both separators', () => {
    const m = parseMac('02:AB:cd:00:11:22');
    expect(formatMac(m)).toBe('02:ab:cd:00:11:22');
    expect(formatMac(parseMac('02-ab-cd-00-11-22'))).toBe('02:ab:cd:00:11:22');
  });

  it('rejects malformed text with a message', () => {
    for (const bad of ['02:ab:cd:00:11', '02:ab:cd:00:11:2g', '02:ab-cd:00:11:22', '', '0200.5e00.0001']) {
      expect(() => parseMac(bad)).toThrow(/not a MAC address/);
    }
  });

  it('classifies addresses', () => {
    const bc = parseMac('ff:ff:ff:ff:ff:ff');
    expect(isBroadcastAt(bc, 0)).toBe(true);
    expect(isMulticastAt(bc, 0)).toBe(true);
    expect(isMulticastAt(parseMac('01:00:5e:00:00:01'), 0)).toBe(true);
    expect(isBroadcastAt(parseMac('01:00:5e:00:00:01'), 0)).toBe(false);
    expect(isValidUnicastAt(parseMac('02:00:00:00:00:01'), 0)).toBe(true);
    expect(isValidUnicastAt(parseMac('00:00:00:00:00:00'), 0)).toBe(false);
    expect(isValidUnicastAt(parseMac('33:33:00:00:00:01'), 0)).toBe(false);
  });
});

describe('EtherType and VLAN tags', () => {
  it('reads an untagged frame', () => {
    const f = new Uint8Array(60);
    f[12] = ETH_P_IP >> 8;
    f[13] = ETH_P_IP & 0xff;
    expect(innerEthertype(f)).toBe(ETH_P_IP);
    expect(vlanId(f)).toBe(-1);
    expect(payloadOffset(f)).toBe(14);
  });

  it('skips 802.1Q tags', () => {
    const f = new Uint8Array(64);
    f.set([ETH_P_8021Q >> 8, ETH_P_8021Q & 0xff, 0x20, 0x2a, ETH_P_ARP >> 8, ETH_P_ARP & 0xff], 12);
    expect(vlanId(f)).toBe(42);
    expect(innerEthertype(f)).toBe(ETH_P_ARP);
    expect(payloadOffset(f)).toBe(18);
  });

  it('returns -1 for truncated headers', () => {
    expect(innerEthertype(new Uint8Array(13))).toBe(-1);
    const f = new Uint8Array(16);
    f.set([0x81, 0x00, 0, 1], 12);
    expect(innerEthertype(f)).toBe(-1);
  });
});

describe('MAC generator', () => {
  it('is stable for the same seed', () => {
    expect(formatMac(nicMac('vm-a', 0))).toBe(formatMac(nicMac('vm-a', 0)));
    expect(formatMac(macFromSeed('x'))).toBe(formatMac(macFromSeed('x')));
    expect(formatMac(nicMac('vm-a', 0))).not.toBe(formatMac(nicMac('vm-a', 1)));
    expect(formatMac(nicMac('vm-a', 0, 1))).not.toBe(formatMac(nicMac('vm-a', 0)));
  });

  it('gives unique, unicast, locally administered addresses for 10,000 seeds', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const mac = nicMac(`machine-${i >> 2}`, i & 3);
      expect(mac.length).toBe(6);
      expect(mac[0]! & 0x01).toBe(0); // unicast
      expect(mac[0]! & 0x02).toBe(2); // locally administered
      expect(isLocalUnicast(mac)).toBe(true);
      seen.add(formatMac(mac));
    }
    expect(seen.size).toBe(10_000);
  });

  it('rejects a bad NIC index', () => {
    expect(() => nicMac('vm', -1)).toThrow(RangeError);
    expect(() => nicMac('vm', 1.5)).toThrow(RangeError);
  });
});
