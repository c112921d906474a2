/**
 * The DHCP message format (RFC 2131 §2, "Protocol Summary", Figure 1) and its options (RFC 2132):
 * parse what a client sends, build what the server answers. BOOTP's fixed 236-byte header, the
 * magic cookie 99.130.83.99 (RFC 2131 §3), then options as code/length/value (RFC 2132 §2).
 *
 * Input is whatever a guest put on the wire: every length is checked against the buffer, and a
 * message that does not hold together is refused (null) rather than half-parsed.
 * Addresses are host-order u32 (as in the kernel's stack); bytes on the wire are big-endian.
 */

/** op (RFC 2131 §2). */
export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
/** htype for Ethernet (RFC 1700 ARP hardware types). */
export const HTYPE_ETHER = 1;

/** UDP ports (RFC 2131 §4.1). */
export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;

/** The fixed BOOTP header up to the options (RFC 2131 §2: op … file) and the magic cookie after it. */
export const DHCP_FIXED_LEN = 236;
export const DHCP_MAGIC = 0x63825363;
export const DHCP_OPTIONS_OFF = DHCP_FIXED_LEN + 4;
/**
 * Replies are padded to BOOTP's minimum of 300 bytes (RFC 1542 §2.1: some relay agents and
 * clients drop shorter messages; ISC dhcpd and dnsmasq pad too).
 */
export const BOOTP_MIN_LEN = 300;
/** The broadcast bit of `flags` (RFC 2131 §2, Figure 2). */
export const BOOTP_BROADCAST = 0x8000;

/** DHCP message types, option 53 (RFC 2132 §9.6). */
export const DHCPDISCOVER = 1;
export const DHCPOFFER = 2;
export const DHCPREQUEST = 3;
export const DHCPDECLINE = 4;
export const DHCPACK = 5;
export const DHCPNAK = 6;
export const DHCPRELEASE = 7;
export const DHCPINFORM = 8;

export const DHCP_TYPE_NAMES: Record<number, string> = {
  1: 'DISCOVER',
  2: 'OFFER',
  3: 'REQUEST',
  4: 'DECLINE',
  5: 'ACK',
  6: 'NAK',
  7: 'RELEASE',
  8: 'INFORM',
};

/** Option codes (RFC 2132). */
export const OPT_PAD = 0;
export const OPT_SUBNET_MASK = 1;
export const OPT_ROUTER = 3;
export const OPT_DNS = 6;
export const OPT_HOSTNAME = 12;
export const OPT_DOMAIN_NAME = 15;
export const OPT_BROADCAST = 28;
export const OPT_REQUESTED_IP = 50;
export const OPT_LEASE_TIME = 51;
export const OPT_OVERLOAD = 52;
export const OPT_MESSAGE_TYPE = 53;
export const OPT_SERVER_ID = 54;
export const OPT_PARAM_LIST = 55;
export const OPT_MESSAGE = 56;
export const OPT_MAX_SIZE = 57;
export const OPT_RENEWAL_TIME = 58;
export const OPT_REBINDING_TIME = 59;
export const OPT_VENDOR_CLASS = 60;
export const OPT_CLIENT_ID = 61;
export const OPT_END = 255;

export interface DhcpMessage {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: number;
  yiaddr: number;
  siaddr: number;
  giaddr: number;
  /** The 16-byte chaddr field; the client's hardware address is its first `hlen` bytes. */
  chaddr: Uint8Array;
  /** sname and file as raw fields (options may live there when option 52 says so). */
  sname: Uint8Array;
  file: Uint8Array;
  /**
   * Options by code. An option that appears more than once is concatenated in order (RFC 3396
   * §5, "long encoded options"), which is also how RFC 2131 §4.1 treats the overload areas.
   */
  options: Map<number, Uint8Array>;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function putU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/**
 * Reads an option area (RFC 2132 §2): pad (0) and end (255) are one byte, every other option is
 * code, length, value. Returns false when an option runs past the area (a malformed message).
 * A missing end option is tolerated at the end of the area, as ISC dhclient and dnsmasq do.
 */
function readOptions(b: Uint8Array, start: number, end: number, into: Map<number, Uint8Array>): boolean {
  let o = start;
  while (o < end) {
    const code = b[o]!;
    if (code === OPT_PAD) {
      o++;
      continue;
    }
    if (code === OPT_END) return true;
    if (o + 2 > end) return false;
    const len = b[o + 1]!;
    if (o + 2 + len > end) return false;
    const value = b.subarray(o + 2, o + 2 + len);
    const prev = into.get(code);
    if (prev) {
      const joined = new Uint8Array(prev.length + len);
      joined.set(prev);
      joined.set(value, prev.length);
      into.set(code, joined);
    } else into.set(code, value.slice());
    o += 2 + len;
  }
  return true;
}

/**
 * Parses a DHCP message (a UDP payload), or returns null when it is not one: shorter than the
 * fixed header and cookie, a wrong cookie, or options that overrun the message. Option overload
 * (RFC 2132 §9.3) is honoured: with option 52 set, `file` and/or `sname` hold more options,
 * read after the main area as RFC 2131 §4.1 orders them.
 */
export function parseDhcp(b: Uint8Array): DhcpMessage | null {
  if (b.length < DHCP_OPTIONS_OFF) return null;
  if (u32(b, DHCP_FIXED_LEN) !== DHCP_MAGIC) return null;
  const m: DhcpMessage = {
    op: b[0]!,
    htype: b[1]!,
    hlen: b[2]!,
    hops: b[3]!,
    xid: u32(b, 4),
    secs: (b[8]! << 8) | b[9]!,
    flags: (b[10]! << 8) | b[11]!,
    ciaddr: u32(b, 12),
    yiaddr: u32(b, 16),
    siaddr: u32(b, 20),
    giaddr: u32(b, 24),
    chaddr: b.slice(28, 44),
    sname: b.slice(44, 108),
    file: b.slice(108, 236),
    options: new Map(),
  };
  if (!readOptions(b, DHCP_OPTIONS_OFF, b.length, m.options)) return null;
  const overload = m.options.get(OPT_OVERLOAD);
  if (overload && overload.length === 1) {
    // 1: file holds options, 2: sname does, 3: both (file first, RFC 2131 §4.1).
    const v = overload[0]!;
    if (v & 1 && !readOptions(m.file, 0, m.file.length, m.options)) return null;
    if (v & 2 && !readOptions(m.sname, 0, m.sname.length, m.options)) return null;
  }
  return m;
}

/** The DHCP message type (option 53), or 0 for a plain BOOTP message. */
export function dhcpMessageType(m: DhcpMessage): number {
  const t = m.options.get(OPT_MESSAGE_TYPE);
  return t && t.length === 1 ? t[0]! : 0;
}

/** An option holding one IPv4 address (50 requested address, 54 server identifier), or null. */
export function optionAddr(m: DhcpMessage, code: number): number | null {
  const v = m.options.get(code);
  return v && v.length === 4 ? u32(v, 0) : null;
}

/** An option as text (12 host name, 15 domain name, 60 vendor class), NULs at the end dropped, or null. */
export function optionText(m: DhcpMessage, code: number): string | null {
  const v = m.options.get(code);
  if (!v) return null;
  let n = v.length;
  while (n > 0 && v[n - 1] === 0) n--;
  return Buffer.from(v.subarray(0, n)).toString('latin1');
}

/** The client's hardware address as "aa:bb:cc:dd:ee:ff" (Ethernet only: htype 1, hlen 6), or null. */
export function clientMac(m: DhcpMessage): string | null {
  if (m.htype !== HTYPE_ETHER || m.hlen !== 6) return null;
  return Array.from(m.chaddr.subarray(0, 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** One option to put in a message. */
export type DhcpOption = [code: number, value: Uint8Array];

export function addrOption(code: number, addr: number): DhcpOption {
  const v = new Uint8Array(4);
  putU32(v, 0, addr);
  return [code, v];
}

export function u32Option(code: number, n: number): DhcpOption {
  const v = new Uint8Array(4);
  putU32(v, 0, n >>> 0);
  return [code, v];
}

export function textOption(code: number, text: string): DhcpOption {
  return [code, new Uint8Array(Buffer.from(text, 'latin1'))];
}

export function byteOption(code: number, n: number): DhcpOption {
  return [code, new Uint8Array([n])];
}

/** The fields of a message to build; what is not given is zero. */
export interface DhcpFields {
  op: number;
  xid: number;
  secs?: number;
  flags?: number;
  ciaddr?: number;
  yiaddr?: number;
  siaddr?: number;
  giaddr?: number;
  htype?: number;
  hlen?: number;
  /** Up to 16 bytes; for Ethernet the 6-byte MAC. */
  chaddr: Uint8Array;
  options: DhcpOption[];
}

/**
 * Builds a message: the fixed header, the cookie, the options in the order given (values longer
 * than 255 bytes split into several instances, RFC 3396 §7), the end option, padding to 300 bytes.
 */
export function buildDhcp(f: DhcpFields): Uint8Array {
  let optLen = 1; // the end option
  for (const [, v] of f.options) optLen += Math.max(1, Math.ceil(v.length / 255)) * 2 + v.length;
  const b = new Uint8Array(Math.max(BOOTP_MIN_LEN, DHCP_OPTIONS_OFF + optLen));
  b[0] = f.op;
  b[1] = f.htype ?? HTYPE_ETHER;
  b[2] = f.hlen ?? Math.min(16, f.chaddr.length);
  putU32(b, 4, f.xid);
  b[8] = ((f.secs ?? 0) >> 8) & 0xff;
  b[9] = (f.secs ?? 0) & 0xff;
  b[10] = ((f.flags ?? 0) >> 8) & 0xff;
  b[11] = (f.flags ?? 0) & 0xff;
  putU32(b, 12, f.ciaddr ?? 0);
  putU32(b, 16, f.yiaddr ?? 0);
  putU32(b, 20, f.siaddr ?? 0);
  putU32(b, 24, f.giaddr ?? 0);
  b.set(f.chaddr.subarray(0, 16), 28);
  putU32(b, DHCP_FIXED_LEN, DHCP_MAGIC);
  let o = DHCP_OPTIONS_OFF;
  for (const [code, v] of f.options) {
    let at = 0;
    do {
      const n = Math.min(255, v.length - at);
      b[o++] = code;
      b[o++] = n;
      b.set(v.subarray(at, at + n), o);
      o += n;
      at += n;
    } while (at < v.length);
  }
  b[o] = OPT_END;
  return b;
}
