/**
 * NETLINK_ROUTE (net/core/rtnetlink.c with the IPv4 parts of net/ipv4/devinet.c,
 * net/ipv4/fib_frontend.c, net/ipv4/route.c and net/core/neighbour.c): links, IPv4
 * addresses, routes and ARP neighbours as `ip` (busybox or iproute2) reads and changes them,
 * and the multicast notifications that follow each change.
 *
 * rtnetlink_rcv_msg dispatches on the message type: GET with NLM_F_DUMP runs the type's
 * dumpit (all messages built now and sent in batches by af_netlink as the reader drains its
 * queue), anything else its doit. Changes need CAP_NET_ADMIN (root). The changes themselves
 * are the core's (devChangeFlags, inetAddAddr, fibAddRoute, neighUpdate …); the core tells
 * ns.listeners, and rtnlNotify turns each event into an RTM_NEW / RTM_DEL message for the
 * group's members, carrying the port id and sequence number of the request that caused it.
 *
 * Layouts: include/uapi/linux/{netlink,rtnetlink,if_link,if_addr,neighbour}.h.
 */
import * as E from '../../errno.js';
import type { NetNs, NetEvent } from '../netns.js';
import { IFF_LOOPBACK, IFF_PROMISC, type InIfAddr, type NetDevice, type NetDeviceStats } from '../core/netdevice.js';
import { devChangeFlags, devSetMac, devSetMtu, IFNAMSIZ } from '../core/dev.js';
import { NUD_VALID, neighDelete, neighUpdate, type Neighbour } from '../core/neighbour.js';
import {
  fibAddRoute,
  fibDelRoute,
  RT_TABLE_MAIN,
  RT_TABLE_UNSPEC,
  RTN_BROADCAST,
  RTN_LOCAL,
  RTN_MULTICAST,
  RTN_NAT,
  RTN_UNICAST,
  type FibRoute,
} from '../ipv4/fib.js';
import { ipRouteOutput } from '../ipv4/route.js';
import { inetAddAddr, inetDelAddr } from '../ipv4/devinet.js';
import { prefixMask } from '../ipv4/inet_addr.js';
import { AF_INET, AF_UNSPEC } from '../uapi.js';
import {
  NETLINK_DUMP_STARTED,
  NETLINK_ROUTE,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_ECHO,
  NLM_F_EXCL,
  NLM_F_MULTI,
  NLM_F_REPLACE,
  NLMSG_HDRLEN,
  NlMsgBuilder,
  netlinkBroadcast,
  netlinkCapable,
  netlinkDumpStart,
  netlinkHasListeners,
  netlinkKernelCreate,
  netlinkReply,
  nlaParse,
  type NlRequest,
} from './af_netlink.js';

// Message types (rtnetlink.h).
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;
/** RTM_MAX: ((__RTM_MAX + 3) & ~3) - 1 with RTM_GETTUNNEL (122) the last type. */
const RTM_MAX = 123;

// Multicast groups (enum rtnetlink_groups) and their legacy bit masks.
export const RTNLGRP_LINK = 1;
export const RTNLGRP_NEIGH = 3;
export const RTNLGRP_IPV4_IFADDR = 5;
export const RTNLGRP_IPV4_ROUTE = 7;
/** __RTNLGRP_MAX - 1. */
const RTNLGRP_MAX = 36;
export const RTMGRP_LINK = 1;
export const RTMGRP_NEIGH = 4;
export const RTMGRP_IPV4_IFADDR = 0x10;
export const RTMGRP_IPV4_ROUTE = 0x40;

// IFLA_* (if_link.h).
export const IFLA_ADDRESS = 1;
export const IFLA_BROADCAST = 2;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_QDISC = 6;
export const IFLA_STATS = 7;
export const IFLA_MASTER = 10;
export const IFLA_TXQLEN = 13;
export const IFLA_MAP = 14;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKMODE = 17;
export const IFLA_LINKINFO = 18;
export const IFLA_IFALIAS = 20;
export const IFLA_STATS64 = 23;
export const IFLA_GROUP = 27;
export const IFLA_EXT_MASK = 29;
export const IFLA_PROMISCUITY = 30;
export const IFLA_NUM_TX_QUEUES = 31;
export const IFLA_NUM_RX_QUEUES = 32;
export const IFLA_CARRIER = 33;
export const IFLA_PROTO_DOWN = 39;
export const IFLA_MIN_MTU = 50;
export const IFLA_MAX_MTU = 51;
export const IFLA_ALT_IFNAME = 53;
export const IFLA_ALLMULTI = 61;

// IFA_* (if_addr.h).
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_BROADCAST = 4;
export const IFA_CACHEINFO = 6;
export const IFA_FLAGS = 8;
export const IFA_F_PERMANENT = 0x80;
/** INFINITY_LIFE_TIME. */
const INFINITY_LIFE_TIME = 0xffffffff;

// RTA_* (rtnetlink.h).
export const RTA_DST = 1;
export const RTA_SRC = 2;
export const RTA_IIF = 3;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_METRICS = 8;
export const RTA_MULTIPATH = 9;
export const RTA_CACHEINFO = 12;
export const RTA_TABLE = 15;
export const RTA_UID = 25;
/** RT_TABLE_COMPAT: what rtm_table says for a table id that does not fit its byte. */
const RT_TABLE_COMPAT = 252;
export const RTM_F_CLONED = 0x200;
// rt_flags of a cached route (RTCF_*, in the high bits of rtm_flags for `ip route get`).
const RTCF_BROADCAST = 0x10000000;
const RTCF_MULTICAST = 0x20000000;
const RTCF_LOCAL = 0x80000000;

// NDA_* (neighbour.h).
export const NDA_DST = 1;
export const NDA_LLADDR = 2;
export const NDA_CACHEINFO = 3;
export const NDA_PROBES = 4;

// Fixed headers.
const IFINFOMSG_LEN = 16;
const IFADDRMSG_LEN = 8;
const RTMSG_LEN = 12;
const NDMSG_LEN = 12;

const HDR = NLMSG_HDRLEN;

function u32(b: Uint8Array | undefined): number | null {
  if (!b || b.length < 4) return null;
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
}

/** An IPv4 address attribute (network order) as a host-order u32. */
function inAddr(b: Uint8Array | undefined): number | null {
  if (!b || b.length < 4) return null;
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

/** nla_strscpy: a string attribute up to its NUL. */
function str(b: Uint8Array | undefined): string | null {
  if (!b) return null;
  const z = b.indexOf(0);
  return new TextDecoder().decode(z >= 0 ? b.subarray(0, z) : b);
}

function payload(req: NlRequest): DataView {
  return new DataView(req.msg.buffer, req.msg.byteOffset + HDR, req.msg.length - HDR);
}

/** The port id and sequence number of the request being handled, for the notifications it causes. */
let current: { portid: number; seq: number; echo: NlRequest | null } | null = null;

// ---------------------------------------------------------------------------------------
// Links (rtnl_fill_ifinfo, rtnl_dump_ifinfo, rtnl_getlink, rtnl_setlink, rtnl_newlink).

/** struct rtnl_link_stats64 field order (the 32-bit struct rtnl_link_stats has the first 24 of them). */
const STATS_ORDER: (keyof NetDeviceStats | null)[] = [
  'rxPackets',
  'txPackets',
  'rxBytes',
  'txBytes',
  'rxErrors',
  'txErrors',
  'rxDropped',
  'txDropped',
  'multicast',
  'collisions',
  'rxLengthErrors',
  'rxOverErrors',
  'rxCrcErrors',
  'rxFrameErrors',
  'rxFifoErrors',
  'rxMissedErrors',
  'txAbortedErrors',
  'txCarrierErrors',
  'txFifoErrors',
  null, // tx_heartbeat_errors
  null, // tx_window_errors
  'rxCompressed',
  'txCompressed',
  null, // rx_nohandler
  null, // rx_otherhost_dropped (64-bit struct only)
];

function statsBytes(s: NetDeviceStats, wide: boolean): Uint8Array {
  const n = wide ? 25 : 24;
  const b = new Uint8Array(n * (wide ? 8 : 4));
  const dv = new DataView(b.buffer);
  for (let i = 0; i < n; i++) {
    const k = STATS_ORDER[i];
    const v = k ? s[k] : 0;
    if (wide) {
      dv.setUint32(i * 8, v >>> 0, true);
      dv.setUint32(i * 8 + 4, Math.floor(v / 2 ** 32) >>> 0, true);
    } else dv.setUint32(i * 4, v >>> 0, true);
  }
  return b;
}

/** rtnl_fill_ifinfo: one RTM_NEWLINK/DELLINK message for `dev`. */
function fillIfinfo(dev: NetDevice, type: number, flags: number, seq: number, pid: number, change: number): Uint8Array {
  const m = new NlMsgBuilder(type, flags, seq, pid);
  const h = m.reserve(IFINFOMSG_LEN);
  h.setUint8(0, AF_UNSPEC);
  h.setUint16(2, dev.type, true);
  h.setInt32(4, dev.ifindex, true);
  // dev_get_flags: the core keeps IFF_RUNNING and IFF_LOWER_UP in dev.flags as linkwatch would.
  h.setUint32(8, dev.flags >>> 0, true);
  h.setUint32(12, change >>> 0, true);
  m.str(IFLA_IFNAME, dev.name);
  m.u32(IFLA_TXQLEN, dev.txQueueLen);
  m.u8(IFLA_OPERSTATE, dev.operState);
  m.u8(IFLA_LINKMODE, 0);
  m.u32(IFLA_MTU, dev.mtu);
  m.u32(IFLA_MIN_MTU, dev.minMtu);
  m.u32(IFLA_MAX_MTU, dev.maxMtu);
  m.u32(IFLA_GROUP, 0);
  m.u32(IFLA_PROMISCUITY, dev.flags & IFF_PROMISC ? 1 : 0);
  m.u32(IFLA_ALLMULTI, 0);
  m.u32(IFLA_NUM_TX_QUEUES, 1);
  m.u32(IFLA_NUM_RX_QUEUES, 1);
  m.u8(IFLA_CARRIER, dev.carrier ? 1 : 0);
  m.u8(IFLA_PROTO_DOWN, 0);
  m.str(IFLA_QDISC, dev.qdiscName);
  if (dev.alias) m.str(IFLA_IFALIAS, dev.alias);
  // struct rtnl_link_ifmap: mem_start, mem_end, base_addr (u64), irq (u16), dma, port (u8), padded to 32.
  m.attr(IFLA_MAP, new Uint8Array(32));
  m.attr(IFLA_ADDRESS, dev.addr.slice());
  m.attr(IFLA_BROADCAST, dev.broadcast.slice());
  m.attr(IFLA_STATS64, statsBytes(dev.stats, true));
  m.attr(IFLA_STATS, statsBytes(dev.stats, false));
  return m.finish();
}

/** The device a link request names: ifi_index, else IFLA_IFNAME (or IFLA_ALT_IFNAME). */
function linkDev(ns: NetNs, index: number, attrs: Map<number, Uint8Array>): NetDevice | null {
  if (index > 0) return ns.devByIndex(index);
  const name = str(attrs.get(IFLA_IFNAME)) ?? str(attrs.get(IFLA_ALT_IFNAME));
  return name ? ns.devByName(name) : null;
}

/** rtnl_dump_ifinfo: every device in ifindex order. */
function dumpLinks(req: NlRequest): number {
  const msgs: Uint8Array[] = [];
  const devs = [...req.ns.devices.values()].sort((a, b) => a.ifindex - b.ifindex);
  for (const dev of devs) msgs.push(fillIfinfo(dev, RTM_NEWLINK, NLM_F_MULTI, req.seq, req.nlk.portid, 0));
  return netlinkDumpStart(req, msgs);
}

/** The ifinfomsg of a request, or null when too short. */
function ifinfo(req: NlRequest): { index: number; flags: number; change: number } | null {
  if (req.msg.length < HDR + IFINFOMSG_LEN) return null;
  const p = payload(req);
  return { index: p.getInt32(4, true), flags: p.getUint32(8, true), change: p.getUint32(12, true) };
}

/** rtnl_getlink: one device. */
function getLink(req: NlRequest): number {
  const ifm = ifinfo(req);
  if (!ifm) return -E.EINVAL;
  const attrs = nlaParse(req.msg, HDR + IFINFOMSG_LEN, req.msg.length);
  const dev = linkDev(req.ns, ifm.index, attrs);
  if (!dev) return -E.ENODEV;
  netlinkReply(req, fillIfinfo(dev, RTM_NEWLINK, 0, req.seq, req.nlk.portid, 0));
  return 0;
}

/** dev_change_name: a down device gets a new, valid, unused name. */
function devChangeName(dev: NetDevice, name: string): number {
  if (name === dev.name) return 0;
  if (name.length === 0 || name.length >= IFNAMSIZ || name === '.' || name === '..' || /[/:\s]/.test(name))
    return -E.EINVAL;
  if (dev.isUp) return -E.EBUSY;
  if (dev.ns?.devByName(name)) return -E.EEXIST;
  dev.name = name;
  dev.ns?.notify({ kind: 'link', op: 'new', dev });
  return 0;
}

/** do_setlink: address, mtu, name, alias, flags, txqlen, in Linux's order; the first failure stops it. */
function doSetlink(
  req: NlRequest,
  dev: NetDevice,
  ifm: { index: number; flags: number; change: number },
  attrs: Map<number, Uint8Array>,
): number {
  const addr = attrs.get(IFLA_ADDRESS);
  if (addr) {
    if (addr.length < dev.addr.length) return -E.EINVAL;
    const e = devSetMac(dev, addr.slice(0, dev.addr.length));
    if (e < 0) return e;
  }
  const mtu = attrs.get(IFLA_MTU);
  if (mtu) {
    const v = u32(mtu);
    if (v === null) return -E.ERANGE;
    const e = devSetMtu(dev, v);
    if (e < 0) return e;
  }
  const name = str(attrs.get(IFLA_IFNAME));
  if (ifm.index > 0 && name) {
    const e = devChangeName(dev, name);
    if (e < 0) return e;
  }
  const alias = attrs.get(IFLA_IFALIAS);
  if (alias) {
    const a = str(alias) ?? '';
    if (a.length >= 256) return -E.EINVAL;
    dev.alias = a;
    req.ns.notify({ kind: 'link', op: 'new', dev });
  }
  if (ifm.flags || ifm.change) {
    // rtnl_dev_combine_flags: only the bits in ifi_change change (all of them when it is 0).
    const flags = ifm.change ? (ifm.flags & ifm.change) | (dev.flags & ~ifm.change) : ifm.flags;
    const e = devChangeFlags(dev, flags);
    if (e < 0) return e;
  }
  const txq = attrs.get(IFLA_TXQLEN);
  if (txq) {
    const v = u32(txq);
    if (v === null) return -E.ERANGE;
    if (v !== dev.txQueueLen) {
      // dev_change_tx_queue_len: the value is an unsigned int that must fit the int field.
      if (v > 0x7fffffff) return -E.ERANGE;
      dev.txQueueLen = v;
      req.ns.notify({ kind: 'link', op: 'new', dev });
    }
  }
  return 0;
}

/** rtnl_setlink. */
function setLink(req: NlRequest): number {
  const ifm = ifinfo(req);
  if (!ifm) return -E.EINVAL;
  const attrs = nlaParse(req.msg, HDR + IFINFOMSG_LEN, req.msg.length);
  const dev = linkDev(req.ns, ifm.index, attrs);
  if (!dev) return -E.ENODEV;
  return doSetlink(req, dev, ifm, attrs);
}

/**
 * rtnl_newlink: an existing device is changed as by setlink (unless NLM_F_EXCL); creating a
 * device needs a link kind (IFLA_LINKINFO: veth, bridge …), and this kernel has none.
 */
function newLink(req: NlRequest): number {
  const ifm = ifinfo(req);
  if (!ifm) return -E.EINVAL;
  const attrs = nlaParse(req.msg, HDR + IFINFOMSG_LEN, req.msg.length);
  const dev = linkDev(req.ns, ifm.index, attrs);
  if (dev) {
    if (req.flags & NLM_F_EXCL) return -E.EEXIST;
    if (attrs.has(IFLA_LINKINFO)) return -E.EOPNOTSUPP;
    return doSetlink(req, dev, ifm, attrs);
  }
  if (!(req.flags & NLM_F_CREATE)) return -E.ENODEV;
  return -E.EOPNOTSUPP;
}

/** rtnl_dellink: only devices with rtnl_link_ops (virtual ones) can be deleted; ours are all hardware or lo. */
function delLink(req: NlRequest): number {
  const ifm = ifinfo(req);
  if (!ifm) return -E.EINVAL;
  const attrs = nlaParse(req.msg, HDR + IFINFOMSG_LEN, req.msg.length);
  const dev = linkDev(req.ns, ifm.index, attrs);
  if (!dev) return -E.ENODEV;
  return -E.EOPNOTSUPP;
}

// ---------------------------------------------------------------------------------------
// IPv4 addresses (inet_fill_ifaddr, inet_dump_ifaddr, inet_rtm_newaddr, inet_rtm_deladdr).

/** ifa_cstamp / ifa_tstamp (monotonic ns): when rtnetlink first saw the address or its last change. */
const addrStamps = new WeakMap<InIfAddr, { c: number; t: number }>();

function stampOf(ns: NetNs, ifa: InIfAddr): { c: number; t: number } {
  let s = addrStamps.get(ifa);
  if (!s) {
    const now = ns.env.nowNs();
    s = { c: now, t: now };
    addrStamps.set(ifa, s);
  }
  return s;
}

/** inet_fill_ifaddr. */
function fillIfaddr(
  ns: NetNs,
  dev: NetDevice,
  ifa: InIfAddr,
  type: number,
  flags: number,
  seq: number,
  pid: number,
): Uint8Array {
  const m = new NlMsgBuilder(type, flags, seq, pid);
  const h = m.reserve(IFADDRMSG_LEN);
  h.setUint8(0, AF_INET);
  h.setUint8(1, ifa.prefixLen);
  h.setUint8(2, ifa.flags & 0xff);
  h.setUint8(3, ifa.scope);
  h.setUint32(4, dev.ifindex, true);
  if (ifa.address) m.inAddr(IFA_ADDRESS, ifa.address);
  if (ifa.local) m.inAddr(IFA_LOCAL, ifa.local);
  if (ifa.broadcast) m.inAddr(IFA_BROADCAST, ifa.broadcast);
  if (ifa.label) m.str(IFA_LABEL, ifa.label);
  m.u32(IFA_FLAGS, ifa.flags);
  // put_cacheinfo: lifetimes left (seconds) and the stamps in hundredths of a second since boot.
  const st = stampOf(ns, ifa);
  const now = ns.env.nowNs();
  let preferred = INFINITY_LIFE_TIME;
  let valid = INFINITY_LIFE_TIME;
  if (!(ifa.flags & IFA_F_PERMANENT)) {
    const age = Math.floor((now - st.t) / 1e9);
    if (ifa.validLft !== INFINITY_LIFE_TIME) valid = Math.max(0, ifa.validLft - age);
    if (ifa.preferredLft !== INFINITY_LIFE_TIME) preferred = Math.max(0, ifa.preferredLft - age);
  }
  const ci = new Uint8Array(16);
  const cv = new DataView(ci.buffer);
  cv.setUint32(0, preferred >>> 0, true);
  cv.setUint32(4, valid >>> 0, true);
  cv.setUint32(8, Math.floor(st.c / 1e7) >>> 0, true);
  cv.setUint32(12, Math.floor(st.t / 1e7) >>> 0, true);
  m.attr(IFA_CACHEINFO, ci);
  return m.finish();
}

/** The family byte of a GET request (rtgenmsg or the full struct), 0 when absent. */
function reqFamily(req: NlRequest): number {
  return req.msg.length > HDR ? req.msg[HDR]! : AF_UNSPEC;
}

/** inet_dump_ifaddr (via rtnl_dump_all for AF_UNSPEC); strict requests may name one device. */
function dumpAddrs(req: NlRequest): number {
  const fam = reqFamily(req);
  const msgs: Uint8Array[] = [];
  let only = 0;
  if (req.nlk.strict) {
    if (req.msg.length < HDR + IFADDRMSG_LEN) return -E.EINVAL;
    only = payload(req).getUint32(4, true);
    if (only && !req.ns.devByIndex(only)) return -E.ENODEV;
  }
  if (fam === AF_UNSPEC || fam === AF_INET) {
    const devs = [...req.ns.devices.values()].sort((a, b) => a.ifindex - b.ifindex);
    for (const dev of devs) {
      if (only && dev.ifindex !== only) continue;
      for (const ifa of dev.ip4?.addrs ?? [])
        msgs.push(fillIfaddr(req.ns, dev, ifa, RTM_NEWADDR, NLM_F_MULTI, req.seq, req.nlk.portid));
    }
  }
  return netlinkDumpStart(req, msgs);
}

/** rtm_to_ifaddr + inet_rtm_newaddr (`ip addr add`). */
function newAddr(req: NlRequest): number {
  if (req.msg.length < HDR + IFADDRMSG_LEN) return -E.EINVAL;
  const p = payload(req);
  const prefixLen = p.getUint8(1);
  const ifaFlags = p.getUint8(2);
  const scope = p.getUint8(3);
  const index = p.getUint32(4, true);
  const attrs = nlaParse(req.msg, HDR + IFADDRMSG_LEN, req.msg.length);
  if (prefixLen > 32) return -E.EINVAL;
  const local = inAddr(attrs.get(IFA_LOCAL));
  if (local === null) return -E.EINVAL;
  const dev = req.ns.devByIndex(index);
  if (!dev) return -E.ENODEV;
  const broadcast = inAddr(attrs.get(IFA_BROADCAST));
  const label = str(attrs.get(IFA_LABEL)) ?? dev.name;
  const flags = u32(attrs.get(IFA_FLAGS)) ?? ifaFlags;
  let validLft = INFINITY_LIFE_TIME;
  let preferredLft = INFINITY_LIFE_TIME;
  const ci = attrs.get(IFA_CACHEINFO);
  if (ci) {
    if (ci.length < 16) return -E.ERANGE;
    const cv = new DataView(ci.buffer, ci.byteOffset, 16);
    preferredLft = cv.getUint32(0, true);
    validLft = cv.getUint32(4, true);
    if (!validLft || preferredLft > validLft) return -E.EINVAL;
  }
  // find_matching_ifa: the same local address in the same subnet.
  const mask = prefixMask(prefixLen);
  const old = dev.ip4?.addrs.find(
    (a) => a.local === local && a.prefixLen === prefixLen && ((a.address ^ local) & mask) === 0,
  );
  if (old) {
    if (req.flags & NLM_F_EXCL || !(req.flags & NLM_F_REPLACE)) return -E.EEXIST;
    // A replace keeps the address and takes the new lifetimes (inet_rtm_newaddr's update path).
    old.validLft = validLft;
    old.preferredLft = preferredLft;
    const st = stampOf(req.ns, old);
    st.t = req.ns.env.nowNs();
    req.ns.notify({ kind: 'addr', op: 'new', dev, addr: old });
    return 0;
  }
  const address = inAddr(attrs.get(IFA_ADDRESS)) ?? local;
  const opts: Parameters<typeof inetAddAddr>[2] = { address, local, prefixLen, label, scope, flags };
  if (broadcast !== null) opts.broadcast = broadcast;
  const e = inetAddAddr(req.ns, dev, opts);
  if (e < 0) return e;
  if (ci) {
    const added = dev.ip4?.addrs.find((a) => a.local === local && a.prefixLen === prefixLen);
    if (added) {
      added.validLft = validLft;
      added.preferredLft = preferredLft;
    }
  }
  return 0;
}

/** inet_rtm_deladdr (`ip addr del`): the first address matching every attribute given. */
function delAddr(req: NlRequest): number {
  if (req.msg.length < HDR + IFADDRMSG_LEN) return -E.EINVAL;
  const p = payload(req);
  const prefixLen = p.getUint8(1);
  const index = p.getUint32(4, true);
  const attrs = nlaParse(req.msg, HDR + IFADDRMSG_LEN, req.msg.length);
  const dev = req.ns.devByIndex(index);
  if (!dev || !dev.ip4) return -E.ENODEV;
  const local = inAddr(attrs.get(IFA_LOCAL));
  const label = str(attrs.get(IFA_LABEL));
  const address = inAddr(attrs.get(IFA_ADDRESS));
  for (const ifa of dev.ip4.addrs) {
    if (local !== null && local !== ifa.local) continue;
    if (label !== null && label !== ifa.label) continue;
    if (
      address !== null &&
      (prefixLen !== ifa.prefixLen || ((address ^ ifa.address) & prefixMask(ifa.prefixLen)) !== 0)
    )
      continue;
    return inetDelAddr(req.ns, dev, ifa.local, ifa.prefixLen);
  }
  return -E.EADDRNOTAVAIL;
}

// ---------------------------------------------------------------------------------------
// Routes (fib_dump_info, inet_dump_fib, inet_rtm_newroute/delroute, inet_rtm_getroute).

/** fib_dump_info: one route. */
function fillRoute(r: FibRoute, type: number, flags: number, seq: number, pid: number): Uint8Array {
  const m = new NlMsgBuilder(type, flags, seq, pid);
  const h = m.reserve(RTMSG_LEN);
  h.setUint8(0, AF_INET);
  h.setUint8(1, r.prefixLen);
  h.setUint8(2, 0);
  h.setUint8(3, r.tos);
  h.setUint8(4, r.table < 256 ? r.table : RT_TABLE_COMPAT);
  h.setUint8(5, r.protocol);
  h.setUint8(6, r.scope);
  h.setUint8(7, r.type);
  h.setUint32(8, r.flags >>> 0, true);
  m.u32(RTA_TABLE, r.table);
  if (r.prefixLen) m.inAddr(RTA_DST, r.dst);
  if (r.priority) m.u32(RTA_PRIORITY, r.priority);
  if (r.prefsrc) m.inAddr(RTA_PREFSRC, r.prefsrc);
  if (r.gateway) m.inAddr(RTA_GATEWAY, r.gateway);
  if (r.dev) m.u32(RTA_OIF, r.dev.ifindex);
  return m.finish();
}

/**
 * The order fib_table_dump walks: tables by their hash bucket (id & 0xff, so main before
 * local), and in a table the trie's key order — ascending prefix, longer prefixes of the same
 * key first — keeping the table's own order (tos, metric) among equal prefixes.
 */
function fibDumpOrder(ns: NetNs, table: number): FibRoute[] {
  const ids = table ? [table] : ns.fib.tableIds().sort((a, b) => (a & 0xff) - (b & 0xff) || a - b);
  const out: FibRoute[] = [];
  for (const id of ids) {
    const rs = ns.fib.routes(id);
    const keyed = rs.map((r, i) => ({ r, i }));
    keyed.sort((x, y) => x.r.dst - y.r.dst || y.r.prefixLen - x.r.prefixLen || x.i - y.i);
    for (const k of keyed) out.push(k.r);
  }
  return out;
}

/**
 * inet_dump_fib: every table (main before local), or, for a strict request, what its rtmsg
 * and RTA_TABLE/RTA_OIF select. A request for cached (RTM_F_CLONED) routes gets none: this
 * kernel has no route cache to list.
 */
function dumpRoutes(req: NlRequest): number {
  const fam = reqFamily(req);
  const msgs: Uint8Array[] = [];
  let table = 0;
  let protocol = 0;
  let rtype = 0;
  let oif = 0;
  let cloned = false;
  if (req.msg.length >= HDR + RTMSG_LEN) {
    const p = payload(req);
    cloned = (p.getUint32(8, true) & RTM_F_CLONED) !== 0;
    if (req.nlk.strict) {
      table = p.getUint8(4);
      protocol = p.getUint8(5);
      rtype = p.getUint8(7);
      const attrs = nlaParse(req.msg, HDR + RTMSG_LEN, req.msg.length);
      table = u32(attrs.get(RTA_TABLE)) ?? table;
      oif = u32(attrs.get(RTA_OIF)) ?? 0;
    }
  } else if (req.nlk.strict) return -E.EINVAL;
  if ((fam === AF_UNSPEC || fam === AF_INET) && !cloned) {
    for (const r of fibDumpOrder(req.ns, table)) {
      if (protocol && r.protocol !== protocol) continue;
      if (rtype && r.type !== rtype) continue;
      if (oif && r.dev?.ifindex !== oif) continue;
      msgs.push(fillRoute(r, RTM_NEWROUTE, NLM_F_MULTI, req.seq, req.nlk.portid));
    }
  }
  return netlinkDumpStart(req, msgs);
}

interface RtmReq {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
  attrs: Map<number, Uint8Array>;
}

function rtmsg(req: NlRequest): RtmReq | null {
  if (req.msg.length < HDR + RTMSG_LEN) return null;
  const p = payload(req);
  return {
    family: p.getUint8(0),
    dstLen: p.getUint8(1),
    srcLen: p.getUint8(2),
    tos: p.getUint8(3),
    table: p.getUint8(4),
    protocol: p.getUint8(5),
    scope: p.getUint8(6),
    type: p.getUint8(7),
    flags: p.getUint32(8, true),
    attrs: nlaParse(req.msg, HDR + RTMSG_LEN, req.msg.length),
  };
}

/** rtm_to_fib_config: the route a NEWROUTE/DELROUTE describes, or -errno. */
function rtmToFib(req: NlRequest, rt: RtmReq): FibRoute | number {
  if (rt.type > RTN_NAT || rt.dstLen > 32) return -E.EINVAL;
  if (rt.attrs.has(RTA_MULTIPATH)) return -E.EOPNOTSUPP; // multipath nexthops are not kept by this FIB
  const a = rt.attrs;
  const dst = a.has(RTA_DST) ? inAddr(a.get(RTA_DST)) : 0;
  if (dst === null) return -E.EINVAL;
  let dev: NetDevice | null = null;
  const oif = a.has(RTA_OIF) ? u32(a.get(RTA_OIF)) : 0;
  if (oif === null) return -E.EINVAL;
  if (oif) {
    dev = req.ns.devByIndex(oif);
    if (!dev) return -E.ENODEV;
  }
  const gateway = a.has(RTA_GATEWAY) ? inAddr(a.get(RTA_GATEWAY)) : 0;
  const prefsrc = a.has(RTA_PREFSRC) ? inAddr(a.get(RTA_PREFSRC)) : 0;
  const priority = a.has(RTA_PRIORITY) ? u32(a.get(RTA_PRIORITY)) : 0;
  if (gateway === null || prefsrc === null || priority === null) return -E.EINVAL;
  const table = u32(a.get(RTA_TABLE)) ?? rt.table;
  return {
    table,
    dst,
    prefixLen: rt.dstLen,
    type: rt.type,
    scope: rt.scope,
    protocol: rt.protocol,
    gateway,
    dev,
    prefsrc,
    priority,
    tos: rt.tos,
    // Only the user-settable nexthop flag (RTNH_F_ONLINK) comes from the request.
    flags: rt.flags & 4,
  };
}

/** inet_rtm_newroute → fib_table_insert, with NLM_F_CREATE/EXCL/REPLACE as fib_table_insert reads them. */
function newRoute(req: NlRequest): number {
  const rt = rtmsg(req);
  if (!rt) return -E.EINVAL;
  const r = rtmToFib(req, rt);
  if (typeof r === 'number') return r;
  if (r.table === RT_TABLE_UNSPEC) r.table = RT_TABLE_MAIN;
  const exists = req.ns.fib
    .routes(r.table)
    .some((x) => x.dst === r.dst && x.prefixLen === r.prefixLen && x.tos === r.tos && x.priority === r.priority);
  if (exists) {
    if (req.flags & NLM_F_EXCL) return -E.EEXIST;
    if (!(req.flags & NLM_F_REPLACE)) return -E.EEXIST; // an append of the same key: this FIB keeps one alias per key
  } else if (!(req.flags & NLM_F_CREATE)) return -E.ENOENT;
  return fibAddRoute(req.ns, r, (req.flags & NLM_F_REPLACE) !== 0);
}

/** inet_rtm_delroute → fib_table_delete (zero fields and scope NOWHERE match anything). */
function delRoute(req: NlRequest): number {
  const rt = rtmsg(req);
  if (!rt) return -E.EINVAL;
  const r = rtmToFib(req, rt);
  if (typeof r === 'number') return r;
  const m: Partial<FibRoute> = {
    dst: r.dst,
    prefixLen: r.prefixLen,
    table: r.table === RT_TABLE_UNSPEC ? RT_TABLE_MAIN : r.table,
    type: r.type,
    // RT_SCOPE_NOWHERE (what `ip route del` sends) matches any scope.
    scope: r.scope,
    protocol: r.protocol,
    gateway: r.gateway,
    priority: r.priority,
    prefsrc: r.prefsrc,
    tos: r.tos,
  };
  if (r.dev) m.dev = r.dev;
  return fibDelRoute(req.ns, m);
}

/**
 * inet_rtm_getroute (`ip route get`): route the destination as an output of this host and
 * answer with the result, marked RTM_F_CLONED. Input routes (RTA_IIF) are not simulated.
 */
function getRoute(req: NlRequest): number {
  const rt = rtmsg(req);
  if (!rt) return -E.EINVAL;
  const a = rt.attrs;
  if (a.has(RTA_IIF) && (u32(a.get(RTA_IIF)) ?? 0) !== 0) return -E.EOPNOTSUPP;
  const daddr = a.has(RTA_DST) ? inAddr(a.get(RTA_DST)) : 0;
  const saddr = a.has(RTA_SRC) ? inAddr(a.get(RTA_SRC)) : 0;
  const oif = a.has(RTA_OIF) ? u32(a.get(RTA_OIF)) : 0;
  if (daddr === null || saddr === null || oif === null) return -E.EINVAL;
  const q: { daddr: number; saddr?: number; oif?: number; tos?: number } = { daddr };
  if (saddr) q.saddr = saddr;
  if (oif) q.oif = oif;
  if (rt.tos) q.tos = rt.tos;
  const res = ipRouteOutput(req.ns, q);
  if (typeof res === 'number') return res;
  const m = new NlMsgBuilder(RTM_NEWROUTE, 0, req.seq, req.nlk.portid);
  const h = m.reserve(RTMSG_LEN);
  const local = res.type === RTN_LOCAL;
  let rtcf = 0;
  if (local) rtcf |= RTCF_LOCAL;
  if (res.type === RTN_BROADCAST) rtcf |= RTCF_BROADCAST;
  if (res.type === RTN_MULTICAST) rtcf |= RTCF_MULTICAST;
  // With no policy rules the local table is merged into main (fib_lookup's fast path since
  // Linux 4.1), so the answer's table is main even for a local destination.
  const table = RT_TABLE_MAIN;
  h.setUint8(0, AF_INET);
  h.setUint8(1, 32);
  h.setUint8(2, saddr ? 32 : 0);
  h.setUint8(3, rt.tos);
  h.setUint8(4, table);
  h.setUint8(5, 0);
  h.setUint8(6, 0);
  h.setUint8(7, res.type || RTN_UNICAST);
  h.setUint32(8, (rtcf | RTM_F_CLONED) >>> 0, true);
  m.u32(RTA_TABLE, table);
  m.inAddr(RTA_DST, daddr);
  if (saddr) m.inAddr(RTA_SRC, saddr);
  if (res.dev) m.u32(RTA_OIF, res.dev.ifindex);
  if (!saddr && res.src) m.inAddr(RTA_PREFSRC, res.src);
  if (res.gateway) m.inAddr(RTA_GATEWAY, res.gateway);
  m.u32(RTA_UID, req.task.cred.uid);
  // struct rta_cacheinfo: a fresh lookup has no cache history (all zero).
  m.attr(RTA_CACHEINFO, new Uint8Array(32));
  netlinkReply(req, m.finish());
  return 0;
}

// ---------------------------------------------------------------------------------------
// Neighbours (neigh_fill_info, neigh_dump_info, neigh_add, neigh_delete, neigh_get).

/** jiffies_to_clock_t of an age: hundredths of a second. */
const clockT = (ageNs: number): number => Math.max(0, Math.floor(ageNs / 1e7)) >>> 0;

/** neigh_fill_info. */
function fillNeigh(ns: NetNs, n: Neighbour, type: number, flags: number, seq: number, pid: number): Uint8Array {
  const m = new NlMsgBuilder(type, flags, seq, pid);
  const h = m.reserve(NDMSG_LEN);
  h.setUint8(0, AF_INET);
  h.setInt32(4, n.dev.ifindex, true);
  h.setUint16(8, n.state, true);
  h.setUint8(10, n.flags);
  h.setUint8(11, n.dev.flags & IFF_LOOPBACK ? RTN_LOCAL : RTN_UNICAST);
  m.inAddr(NDA_DST, n.ip);
  if (n.state & NUD_VALID && n.lladdr) m.attr(NDA_LLADDR, n.lladdr.slice());
  const now = ns.env.nowNs();
  const ci = new Uint8Array(16);
  const cv = new DataView(ci.buffer);
  cv.setUint32(0, clockT(now - n.confirmedNs), true);
  cv.setUint32(4, clockT(now - n.usedNs), true);
  cv.setUint32(8, clockT(now - n.updatedNs), true);
  cv.setUint32(12, 1, true); // ndm_refcnt - 1 as neigh_fill_info reports: the table's reference plus this dump's
  m.attr(NDA_CACHEINFO, ci);
  m.u32(NDA_PROBES, n.probes);
  return m.finish();
}

/** neigh_dump_info for the ARP table (family AF_INET or AF_UNSPEC); a strict request may name one device. */
function dumpNeighs(req: NlRequest): number {
  const fam = reqFamily(req);
  const msgs: Uint8Array[] = [];
  let only = 0;
  if (req.nlk.strict) {
    if (req.msg.length < HDR + NDMSG_LEN) return -E.EINVAL;
    only = payload(req).getInt32(4, true);
  }
  if ((fam === AF_UNSPEC || fam === AF_INET) && req.ns.arp) {
    for (const n of req.ns.arp.entries()) {
      if (only && n.dev.ifindex !== only) continue;
      msgs.push(fillNeigh(req.ns, n, RTM_NEWNEIGH, NLM_F_MULTI, req.seq, req.nlk.portid));
    }
  }
  return netlinkDumpStart(req, msgs);
}

interface NdReq {
  family: number;
  ifindex: number;
  state: number;
  flags: number;
  attrs: Map<number, Uint8Array>;
}

function ndmsg(req: NlRequest): NdReq | null {
  if (req.msg.length < HDR + NDMSG_LEN) return null;
  const p = payload(req);
  return {
    family: p.getUint8(0),
    ifindex: p.getInt32(4, true),
    state: p.getUint16(8, true),
    flags: p.getUint8(10),
    attrs: nlaParse(req.msg, HDR + NDMSG_LEN, req.msg.length),
  };
}

/** The device and address of a neighbour request, or -errno. */
function neighTarget(req: NlRequest, nd: NdReq): { dev: NetDevice; ip: number } | number {
  if (nd.family !== AF_INET) return -E.EAFNOSUPPORT;
  const dst = nd.attrs.get(NDA_DST);
  if (!dst) return -E.EINVAL;
  const ip = inAddr(dst);
  if (ip === null) return -E.EINVAL;
  if (!nd.ifindex) return -E.EINVAL;
  const dev = req.ns.devByIndex(nd.ifindex);
  if (!dev) return -E.ENODEV;
  return { dev, ip };
}

/** neigh_add (`ip neigh add|replace|change`). */
function newNeigh(req: NlRequest): number {
  const nd = ndmsg(req);
  if (!nd) return -E.EINVAL;
  const t = neighTarget(req, nd);
  if (typeof t === 'number') return t;
  const ll = nd.attrs.get(NDA_LLADDR);
  if (ll && ll.length < t.dev.addr.length) return -E.EINVAL;
  const had = req.ns.arp.lookup(t.ip, t.dev);
  if (!had) {
    if (!(req.flags & NLM_F_CREATE)) return -E.ENOENT;
  } else if (req.flags & NLM_F_EXCL) return -E.EEXIST;
  // Without NLM_F_REPLACE an existing entry keeps its link-layer address (no NEIGH_UPDATE_F_OVERRIDE).
  const lladdr = ll
    ? had && had.lladdr && !(req.flags & NLM_F_REPLACE)
      ? had.lladdr
      : ll.slice(0, t.dev.addr.length)
    : null;
  return neighUpdate(req.ns, t.ip, t.dev, lladdr, nd.state);
}

/** neigh_delete. */
function delNeigh(req: NlRequest): number {
  const nd = ndmsg(req);
  if (!nd) return -E.EINVAL;
  const t = neighTarget(req, nd);
  if (typeof t === 'number') return t;
  return neighDelete(req.ns, t.ip, t.dev);
}

/** neigh_get: one entry. */
function getNeigh(req: NlRequest): number {
  const nd = ndmsg(req);
  if (!nd) return -E.EINVAL;
  const t = neighTarget(req, nd);
  if (typeof t === 'number') return t;
  const n = req.ns.arp.lookup(t.ip, t.dev);
  if (!n) return -E.ENOENT;
  netlinkReply(req, fillNeigh(req.ns, n, RTM_NEWNEIGH, 0, req.seq, req.nlk.portid));
  return 0;
}

// ---------------------------------------------------------------------------------------
// Dispatch and notifications.

interface RtnlLink {
  doit?: (req: NlRequest) => number;
  dumpit?: (req: NlRequest) => number;
}

/** rtnl_msg_handlers as rtnetlink_init, devinet_init, ip_fib_init, ip_rt_init and neigh_init register them. */
const handlers = new Map<number, RtnlLink>([
  [RTM_NEWLINK, { doit: newLink }],
  [RTM_DELLINK, { doit: delLink }],
  [RTM_GETLINK, { doit: getLink, dumpit: dumpLinks }],
  [RTM_SETLINK, { doit: setLink }],
  [RTM_NEWADDR, { doit: newAddr }],
  [RTM_DELADDR, { doit: delAddr }],
  [RTM_GETADDR, { dumpit: dumpAddrs }],
  [RTM_NEWROUTE, { doit: newRoute }],
  [RTM_DELROUTE, { doit: delRoute }],
  [RTM_GETROUTE, { doit: getRoute, dumpit: dumpRoutes }],
  [RTM_NEWNEIGH, { doit: newNeigh }],
  [RTM_DELNEIGH, { doit: delNeigh }],
  [RTM_GETNEIGH, { doit: getNeigh, dumpit: dumpNeighs }],
]);

/** rtnetlink_rcv_msg. */
function rtnetlinkRcvMsg(req: NlRequest): number {
  const type = req.type;
  if (type > RTM_MAX) return -E.EOPNOTSUPP;
  // All messages carry at least the family byte; an empty one is ignored.
  if (req.msg.length < HDR + 1) return 0;
  const kind = (type - RTM_NEWLINK) & 3;
  const isGet = kind === 2;
  if (!isGet && !netlinkCapable(req.task)) return -E.EPERM;
  const h = handlers.get(type);
  if (isGet && req.flags & NLM_F_DUMP) {
    if (!h?.dumpit) return -E.EOPNOTSUPP;
    return h.dumpit(req);
  }
  if (!h?.doit) return -E.EOPNOTSUPP;
  const saved = current;
  current = { portid: req.nlk.portid, seq: req.seq, echo: req.flags & NLM_F_ECHO ? req : null };
  try {
    return h.doit(req);
  } finally {
    current = saved;
  }
}

/** rtnl_notify: to the group's members, and back to an NLM_F_ECHO requester. */
function rtnlNotify(ns: NetNs, group: number, build: (seq: number, pid: number) => Uint8Array): void {
  const echo = current?.echo ?? null;
  if (!echo && !netlinkHasListeners(ns, NETLINK_ROUTE, group)) return;
  const msg = build(current?.seq ?? 0, current?.portid ?? 0);
  netlinkBroadcast(ns, NETLINK_ROUTE, msg, group, 0, echo ? echo.nlk.portid : -1);
  if (echo) netlinkReply(echo, msg);
}

/** The listener a namespace gets when its first rtnetlink socket opens: each NetEvent as a notification. */
function rtnlEvent(ns: NetNs, ev: NetEvent): void {
  switch (ev.kind) {
    case 'link': {
      const t = ev.op === 'new' ? RTM_NEWLINK : RTM_DELLINK;
      rtnlNotify(ns, RTNLGRP_LINK, (seq, pid) => fillIfinfo(ev.dev, t, 0, seq, pid, 0));
      return;
    }
    case 'addr': {
      const t = ev.op === 'new' ? RTM_NEWADDR : RTM_DELADDR;
      if (ev.op === 'new') stampOf(ns, ev.addr).t = ns.env.nowNs();
      rtnlNotify(ns, RTNLGRP_IPV4_IFADDR, (seq, pid) => fillIfaddr(ns, ev.dev, ev.addr, t, 0, seq, pid));
      return;
    }
    case 'route': {
      const t = ev.op === 'new' ? RTM_NEWROUTE : RTM_DELROUTE;
      rtnlNotify(ns, RTNLGRP_IPV4_ROUTE, (seq, pid) => fillRoute(ev.route, t, 0, seq, pid));
      return;
    }
    case 'neigh': {
      const t = ev.op === 'new' ? RTM_NEWNEIGH : RTM_DELNEIGH;
      rtnlNotify(ns, RTNLGRP_NEIGH, (seq, pid) => fillNeigh(ns, ev.neigh, t, 0, seq, pid));
      return;
    }
  }
}

/** rtnetlink_net_init: the kernel side of NETLINK_ROUTE. Anyone may listen (NL_CFG_F_NONROOT_RECV). */
netlinkKernelCreate(NETLINK_ROUTE, {
  groups: RTNLGRP_MAX,
  nonrootRecv: true,
  rcvMsg: rtnetlinkRcvMsg,
  netInit(ns) {
    ns.listeners.push((ev) => rtnlEvent(ns, ev));
  },
});

export { NETLINK_DUMP_STARTED };
