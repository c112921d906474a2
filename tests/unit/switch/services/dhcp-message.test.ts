/**
 * The DHCP codec (RFC 2131 §2, RFC 2132): a DHCPDISCOVER laid out byte by byte as busybox
 * 1.37's udhcpc sends it, options that repeat or overload `file`, malformed messages, and the
 * replies the server builds read back.
 */
import { describe, expect, it } from 'vitest';
import {
  BOOTP_MIN_LEN,
  BOOTREPLY,
  DHCPACK,
  DHCPDISCOVER,
  DHCP_MAGIC,
  OPT_CLIENT_ID,
  OPT_DOMAIN_NAME,
  OPT_HOSTNAME,
  OPT_MAX_SIZE,
  OPT_PARAM_LIST,
  OPT_ROUTER,
  OPT_SERVER_ID,
  OPT_VENDOR_CLASS,
  addrOption,
  buildDhcp,
  byteOption,
  clientMac,
  dhcpMessageType,
  optionAddr,
  optionText,
  parseDhcp,
  textOption,
} from '../../../../src/switch/services/dhcp-message.js';

const MAC = [0x02, 0x5e, 0x1c, 0xa0, 0x33, 0x07];

/**
 * udhcpc's DISCOVER (networking/udhcp/dhcpc.c send_discover → init_packet): op 1, htype 1,
 * hlen 6, a random xid, secs 0, flags 0, chaddr, the cookie, then message type, client id
 * (type 1 + MAC), max message size 576, the parameter request list, vendor class
 * "udhcp 1.37.0", end; the options area is DHCP_OPTIONS_BUFSIZE (308) bytes of zeros after it.
 */
function udhcpcDiscover(): Uint8Array {
  const b = new Uint8Array(236 + 4 + 308);
  b.set([1, 1, 6, 0], 0);
  b.set([0x3b, 0x1f, 0x7a, 0x92], 4); // xid
  b.set(MAC, 28);
  b.set([0x63, 0x82, 0x53, 0x63], 236);
  const opts = [
    53,
    1,
    1,
    61,
    7,
    1,
    ...MAC,
    57,
    2,
    0x02,
    0x40,
    55,
    7,
    1,
    3,
    6,
    12,
    15,
    28,
    42,
    60,
    12,
    ...Buffer.from('udhcp 1.37.0'),
    255,
  ];
  b.set(opts, 240);
  return b;
}

describe('parseDhcp', () => {
  it("reads busybox udhcpc's DHCPDISCOVER", () => {
    const m = parseDhcp(udhcpcDiscover())!;
    expect(m).not.toBeNull();
    expect(m.op).toBe(1);
    expect(m.xid).toBe(0x3b1f7a92);
    expect(m.flags).toBe(0);
    expect(m.ciaddr).toBe(0);
    expect(dhcpMessageType(m)).toBe(DHCPDISCOVER);
    expect(clientMac(m)).toBe('02:5e:1c:a0:33:07');
    expect([...m.options.get(OPT_CLIENT_ID)!]).toEqual([1, ...MAC]);
    expect([...m.options.get(OPT_MAX_SIZE)!]).toEqual([0x02, 0x40]);
    expect([...m.options.get(OPT_PARAM_LIST)!]).toEqual([1, 3, 6, 12, 15, 28, 42]);
    expect(optionText(m, OPT_VENDOR_CLASS)).toBe('udhcp 1.37.0');
    expect(m.options.size).toBe(5);
  });

  it('joins an option sent twice (RFC 3396) and reads options overloaded into file (RFC 2132 §9.3)', () => {
    const b = udhcpcDiscover();
    // Replace the options: hostname in two parts, overload = 1 (file holds options).
    b.fill(0, 240);
    b.set([53, 1, 3, 12, 3, ...Buffer.from('vm-'), 52, 1, 1, 12, 1, ...Buffer.from('a'), 255], 240);
    b.set([54, 4, 10, 0, 0, 1, 255], 108); // in `file`
    const m = parseDhcp(b)!;
    expect(optionText(m, OPT_HOSTNAME)).toBe('vm-a');
    expect(optionAddr(m, OPT_SERVER_ID)).toBe(0x0a000001);
  });

  it('refuses what is not a DHCP message', () => {
    const good = udhcpcDiscover();
    expect(parseDhcp(good.subarray(0, 239))).toBeNull(); // shorter than header + cookie
    const badCookie = good.slice();
    badCookie[239] = 0x64;
    expect(parseDhcp(badCookie)).toBeNull();
    // An option whose length runs past the end of the message.
    const overrun = good.slice(0, 245);
    overrun.set([12, 40, 65, 66, 67], 240);
    expect(parseDhcp(overrun)).toBeNull();
    // A length byte missing at the very end.
    const cut = good.slice(0, 241);
    cut[240] = 12;
    expect(parseDhcp(cut)).toBeNull();
    // Garbage in the overloaded file area is refused too, not half-read.
    const badFile = good.slice();
    badFile.set([52, 1, 1, 255], 240);
    badFile.set([12, 200], 108);
    expect(parseDhcp(badFile)).toBeNull();
  });

  it('tolerates a missing end option and pads (as ISC dhclient does)', () => {
    const b = new Uint8Array(240 + 3);
    b.set([1, 1, 6], 0);
    b.set([0x63, 0x82, 0x53, 0x63], 236);
    b.set([53, 1, 1], 240);
    expect(dhcpMessageType(parseDhcp(b)!)).toBe(DHCPDISCOVER);
  });
});

describe('buildDhcp', () => {
  it('builds a reply that reads back, padded to 300 bytes, with the cookie and an end option', () => {
    const b = buildDhcp({
      op: BOOTREPLY,
      xid: 0x3b1f7a92,
      yiaddr: 0x0a000005,
      chaddr: new Uint8Array(MAC),
      options: [
        byteOption(53, DHCPACK),
        addrOption(OPT_SERVER_ID, 0x0a000001),
        addrOption(OPT_ROUTER, 0x0a000001),
        textOption(OPT_DOMAIN_NAME, 'lab'),
      ],
    });
    expect(b.length).toBe(BOOTP_MIN_LEN);
    expect(new DataView(b.buffer).getUint32(236)).toBe(DHCP_MAGIC);
    const m = parseDhcp(b)!;
    expect(m.op).toBe(BOOTREPLY);
    expect(m.yiaddr).toBe(0x0a000005);
    expect(clientMac(m)).toBe('02:5e:1c:a0:33:07');
    expect(dhcpMessageType(m)).toBe(DHCPACK);
    expect(optionText(m, OPT_DOMAIN_NAME)).toBe('lab');
    // The end option follows the last option; the rest is padding.
    const endAt = 240 + 3 + 6 + 6 + 5;
    expect(b[endAt]).toBe(255);
    expect(b.subarray(endAt + 1).every((x) => x === 0)).toBe(true);
  });

  it('splits a value longer than 255 bytes into several instances (RFC 3396 §7)', () => {
    const long = 'x'.repeat(300);
    const b = buildDhcp({
      op: BOOTREPLY,
      xid: 1,
      chaddr: new Uint8Array(MAC),
      options: [textOption(OPT_HOSTNAME, long)],
    });
    expect(b[240]).toBe(OPT_HOSTNAME);
    expect(b[241]).toBe(255);
    expect(b[240 + 2 + 255]).toBe(OPT_HOSTNAME);
    expect(b[240 + 2 + 255 + 1]).toBe(45);
    expect(optionText(parseDhcp(b)!, OPT_HOSTNAME)).toBe(long);
  });
});
