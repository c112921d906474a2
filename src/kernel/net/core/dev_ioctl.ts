/**
 * Interface ioctls on any socket (net/core/dev_ioctl.c dev_ioctl / dev_ifconf, and the
 * AF_INET ones inet_ioctl passes on: net/ipv4/devinet.c devinet_ioctl, net/ipv4/fib_frontend.c
 * ip_rt_ioctl, net/ipv4/arp.c arp_ioctl). What busybox ifconfig, route, arp and udhcpc use.
 *
 * Layouts on riscv64 (LP64): struct ifreq is 40 bytes (ifr_name[16] + a 24-byte union whose
 * largest member is struct ifmap), struct ifconf 16 (int ifc_len, pad, pointer), struct
 * rtentry 120, struct arpreq 68.
 *
 * socket.ts calls devIoctl before the family's ioctl; null means "not a device ioctl", and
 * the family handles the command (SIOCINQ, SIOCOUTQ, SIOCGSTAMP …).
 */
import * as E from '../../errno.js';
import { copyFromUser, copyToUser, putUser32, strncpyFromUser } from '../../mm/uaccess.js';
import type { Task } from '../../sched/task.js';
import type { Socket } from '../socket.js';
import type { NetNs } from '../netns.js';
import { AF_INET, AF_PACKET } from '../uapi.js';
import {
  IFF_BROADCAST,
  IFF_LOWER_UP,
  IFF_POINTOPOINT,
  IFF_RUNNING,
  IF_OPER_UNKNOWN,
  IF_OPER_UP,
  type InIfAddr,
  type NetDevice,
} from './netdevice.js';
import { devChangeFlags, devSetMac, devSetMtu, IFNAMSIZ } from './dev.js';
import { inetAddAddr, inetDelAddr, inetAddrType } from '../ipv4/devinet.js';
import {
  fibAddRoute,
  fibDelRoute,
  makeRoute,
  RTF_GATEWAY,
  RTF_HOST,
  RTF_REJECT,
  RTN_UNICAST,
  RTN_UNREACHABLE,
  RTPROT_BOOT,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  type FibRoute,
} from '../ipv4/fib.js';
import { neighDelete, neighUpdate, NUD_NOARP, NUD_PERMANENT, NUD_STALE, NUD_VALID } from './neighbour.js';
import { ipRouteOutput } from '../ipv4/route.js';
import { maskLen, prefixMask, readAddr, writeAddr } from '../ipv4/inet_addr.js';

// include/uapi/linux/sockios.h.
export const SIOCADDRT = 0x890b;
export const SIOCDELRT = 0x890c;
export const SIOCGIFNAME = 0x8910;
export const SIOCGIFCONF = 0x8912;
export const SIOCGIFFLAGS = 0x8913;
export const SIOCSIFFLAGS = 0x8914;
export const SIOCGIFADDR = 0x8915;
export const SIOCSIFADDR = 0x8916;
export const SIOCGIFDSTADDR = 0x8917;
export const SIOCSIFDSTADDR = 0x8918;
export const SIOCGIFBRDADDR = 0x8919;
export const SIOCSIFBRDADDR = 0x891a;
export const SIOCGIFNETMASK = 0x891b;
export const SIOCSIFNETMASK = 0x891c;
export const SIOCGIFMETRIC = 0x891d;
export const SIOCSIFMETRIC = 0x891e;
export const SIOCGIFMTU = 0x8921;
export const SIOCSIFMTU = 0x8922;
export const SIOCSIFNAME = 0x8923;
export const SIOCSIFHWADDR = 0x8924;
export const SIOCGIFHWADDR = 0x8927;
export const SIOCGIFINDEX = 0x8933;
export const SIOCGIFTXQLEN = 0x8942;
export const SIOCSIFTXQLEN = 0x8943;
export const SIOCETHTOOL = 0x8946;
export const SIOCDARP = 0x8953;
export const SIOCGARP = 0x8954;
export const SIOCSARP = 0x8955;
export const SIOCGIFMAP = 0x8970;
export const SIOCSIFMAP = 0x8971;

/** sizeof(struct ifreq), sizeof(struct ifconf), sizeof(struct rtentry), sizeof(struct arpreq) on riscv64. */
export const IFREQ_SIZE = 40;
const IFCONF_SIZE = 16;
export const RTENTRY_SIZE = 120;
const ARPREQ_SIZE = 68;
/** Offset of the ifreq union (ifr_addr, ifr_flags, ifr_ifindex, ifr_mtu …). */
const IFR_U = 16;

// ATF_* (include/uapi/linux/if_arp.h).
const ATF_COM = 0x02;
const ATF_PERM = 0x04;
const ATF_PUBL = 0x08;
const ATF_NETMASK = 0x20;
const ATF_DONTPUB = 0x40;

const capable = (task: Task): boolean => task.cred.euid === 0;

function cstr(b: Uint8Array, off: number, max: number): string {
  let s = '';
  for (let i = 0; i < max && b[off + i]; i++) s += String.fromCharCode(b[off + i]!);
  return s;
}

function putName(b: Uint8Array, off: number, name: string): void {
  b.fill(0, off, off + IFNAMSIZ);
  for (let i = 0; i < name.length && i < IFNAMSIZ - 1; i++) b[off + i] = name.charCodeAt(i);
}

function i32(b: Uint8Array, off: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getInt32(off, true);
}

function setI32(b: Uint8Array, off: number, v: number): void {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setInt32(off, v, true);
}

/** A struct sockaddr_in at `off` (family AF_INET, the address, zero port). */
function putSin(b: Uint8Array, off: number, addr: number): void {
  b.fill(0, off, off + 16);
  b[off] = AF_INET;
  writeAddr(b, off + 4, addr);
}

const sinFamily = (b: Uint8Array, off: number): number => b[off]! | (b[off + 1]! << 8);

/** dev_get_flags: the stored flags with RUNNING/LOWER_UP reflecting the operational state. */
export function devGetFlags(dev: NetDevice): number {
  let f = dev.flags & ~(IFF_RUNNING | IFF_LOWER_UP);
  if (dev.isUp) {
    if (dev.carrier && (dev.operState === IF_OPER_UP || dev.operState === IF_OPER_UNKNOWN)) f |= IFF_RUNNING;
    if (dev.carrier) f |= IFF_LOWER_UP;
  }
  return f >>> 0;
}

/** inet_abc_len: the classful prefix of an address (0 for 0/8 and the limited broadcast; -1 for class D). */
function inetAbcLen(a: number): number {
  if (a >>> 24 === 0 || a >>> 0 === 0xffffffff) return 0;
  if (a >>> 31 === 0) return 8;
  if (a >>> 30 === 2) return 16;
  if (a >>> 29 === 6) return 24;
  if (a >>> 28 === 0xf) return 32;
  return -1;
}

/** bad_mask: a netmask must be contiguous (and leave no host bits in addr). */
function badMask(mask: number, addr: number): boolean {
  if ((addr & ~mask) >>> 0) return true;
  return maskLen(mask >>> 0) < 0;
}

/**
 * dev_ifconf + inet_gifconf: one struct ifreq (label, sockaddr_in of ifa_local) per IPv4
 * address of every device; with a NULL buffer just the length needed.
 */
function devIfconf(ns: NetNs, task: Task, arg: number): number {
  const ifc = copyFromUser(task.mm, arg, IFCONF_SIZE);
  if (typeof ifc === 'number') return -E.EFAULT;
  const dv = new DataView(ifc.buffer, ifc.byteOffset, IFCONF_SIZE);
  let len = dv.getInt32(0, true);
  const buf = dv.getUint32(8, true) + dv.getUint32(12, true) * 2 ** 32;
  let total = 0;
  for (const dev of ns.devices.values()) {
    for (const ifa of dev.ip4?.addrs ?? []) {
      if (!buf) {
        total += IFREQ_SIZE;
        continue;
      }
      if (len < IFREQ_SIZE) break;
      const r = new Uint8Array(IFREQ_SIZE);
      putName(r, 0, ifa.label);
      putSin(r, IFR_U, ifa.local);
      if (copyToUser(task.mm, buf + total, r) < 0) return -E.EFAULT;
      len -= IFREQ_SIZE;
      total += IFREQ_SIZE;
    }
  }
  return putUser32(task.mm, arg, total) < 0 ? -E.EFAULT : 0;
}

/** dev_change_name: only while down; a valid, unused name ("%d" picks the first free number). */
function devChangeName(ns: NetNs, dev: NetDevice, wanted: string): number {
  if (dev.isUp) return -E.EBUSY;
  if (!wanted || wanted.length >= IFNAMSIZ || wanted === '.' || wanted === '..' || /[/:\s]/.test(wanted))
    return -E.EINVAL;
  let name = wanted;
  if (name.includes('%')) {
    if (!/^[^%]*%d[^%]*$/.test(name)) return -E.EINVAL;
    let i = 0;
    while (ns.devByName(name.replace('%d', String(i))) && i < 32768) i++;
    name = name.replace('%d', String(i));
    if (name.length >= IFNAMSIZ) return -E.EINVAL;
  }
  if (name === dev.name) return 0;
  if (ns.devByName(name)) return -E.EEXIST;
  const old = dev.name;
  dev.name = name;
  // inetdev_changename: labels follow the device ("eth0:1" becomes "<new>:1").
  for (const ifa of dev.ip4?.addrs ?? []) {
    const colon = ifa.label.indexOf(':');
    ifa.label = colon >= 0 && ifa.label.startsWith(old) ? name + ifa.label.slice(colon) : name;
  }
  ns.notify({ kind: 'link', op: 'new', dev });
  return 0;
}

/** The generic ioctls of dev_ioctl / dev_ifsioc_locked / dev_ifsioc. null = not ours. */
function devIfsioc(ns: NetNs, task: Task, cmd: number, ifr: Uint8Array): number | null {
  const full = cstr(ifr, 0, IFNAMSIZ - 1);
  const colon = full.indexOf(':');
  const name = colon >= 0 ? full.slice(0, colon) : full;
  const set = [SIOCSIFMETRIC, SIOCSIFMTU, SIOCSIFHWADDR, SIOCSIFTXQLEN, SIOCSIFMAP, SIOCSIFNAME, SIOCSIFFLAGS].includes(
    cmd,
  );
  if (set && !capable(task)) return -E.EPERM;
  const dev = ns.devByName(name);
  if (!dev) return -E.ENODEV;
  switch (cmd) {
    case SIOCGIFFLAGS:
      ifr[IFR_U] = devGetFlags(dev) & 0xff;
      ifr[IFR_U + 1] = (devGetFlags(dev) >>> 8) & 0xff;
      return 0;
    case SIOCSIFFLAGS:
      return devChangeFlags(dev, ifr[IFR_U]! | (ifr[IFR_U + 1]! << 8) | (dev.flags & ~0xffff));
    case SIOCGIFMETRIC:
      setI32(ifr, IFR_U, 0);
      return 0;
    case SIOCSIFMETRIC:
      return -E.EOPNOTSUPP;
    case SIOCGIFMTU:
      setI32(ifr, IFR_U, dev.mtu);
      return 0;
    case SIOCSIFMTU:
      return devSetMtu(dev, i32(ifr, IFR_U));
    case SIOCGIFHWADDR: {
      ifr.fill(0, IFR_U, IFR_U + 16);
      ifr[IFR_U] = dev.type & 0xff;
      ifr[IFR_U + 1] = dev.type >> 8;
      ifr.set(dev.addr.subarray(0, 14), IFR_U + 2);
      return 0;
    }
    case SIOCSIFHWADDR: {
      if (sinFamily(ifr, IFR_U) !== dev.type) return -E.EINVAL;
      return devSetMac(dev, ifr.slice(IFR_U + 2, IFR_U + 2 + dev.addr.length));
    }
    case SIOCGIFINDEX:
      setI32(ifr, IFR_U, dev.ifindex);
      return 0;
    case SIOCGIFTXQLEN:
      setI32(ifr, IFR_U, dev.txQueueLen);
      return 0;
    case SIOCSIFTXQLEN: {
      const q = i32(ifr, IFR_U);
      if (q < 0) return -E.EINVAL;
      if (q !== dev.txQueueLen) {
        dev.txQueueLen = q;
        ns.notify({ kind: 'link', op: 'new', dev });
      }
      return 0;
    }
    case SIOCGIFMAP:
      // struct ifmap: no memory window, I/O base, IRQ or DMA channel on these devices.
      ifr.fill(0, IFR_U, IFREQ_SIZE);
      return 0;
    case SIOCSIFMAP:
      return -E.EOPNOTSUPP; // no ndo_set_config
    case SIOCSIFNAME:
      return devChangeName(ns, dev, cstr(ifr, IFR_U, IFNAMSIZ - 1));
    case SIOCETHTOOL:
      return -E.EOPNOTSUPP;
    default:
      return null;
  }
}

/** Re-insert an address with changed fields (inet_del_ifa + inet_insert_ifa). */
function replaceIfa(
  ns: NetNs,
  dev: NetDevice,
  ifa: InIfAddr,
  p: { address?: number; prefixLen?: number; broadcast?: number; local?: number },
): number {
  const e = inetDelAddr(ns, dev, ifa.local, ifa.prefixLen);
  if (e < 0) return e;
  return inetAddAddr(ns, dev, {
    address: p.address ?? ifa.address,
    local: p.local ?? ifa.local,
    prefixLen: p.prefixLen ?? ifa.prefixLen,
    broadcast: p.broadcast ?? ifa.broadcast,
    label: ifa.label,
    scope: ifa.scope,
  });
}

/** devinet_ioctl: addresses by label (4.4BSD style: the label and, for gets, the address given). */
function devinetIoctl(ns: NetNs, task: Task, cmd: number, ifr: Uint8Array): number {
  const label = cstr(ifr, 0, IFNAMSIZ - 1);
  const colon = label.indexOf(':');
  const name = colon >= 0 ? label.slice(0, colon) : label;
  const origFamily = sinFamily(ifr, IFR_U);
  const origAddr = readAddr(ifr, IFR_U + 4);
  let tryAddrMatch = false;
  switch (cmd) {
    case SIOCGIFADDR:
    case SIOCGIFBRDADDR:
    case SIOCGIFDSTADDR:
    case SIOCGIFNETMASK:
      tryAddrMatch = origFamily === AF_INET;
      break;
    case SIOCSIFFLAGS:
      if (!capable(task)) return -E.EPERM;
      break;
    case SIOCSIFADDR:
    case SIOCSIFBRDADDR:
    case SIOCSIFDSTADDR:
    case SIOCSIFNETMASK:
      if (!capable(task)) return -E.EPERM;
      if (origFamily !== AF_INET) return -E.EINVAL;
      break;
    default:
      return -E.EINVAL;
  }
  const dev = ns.devByName(name);
  if (!dev) return -E.ENODEV;
  const addrs = dev.ip4?.addrs ?? [];
  let ifa: InIfAddr | undefined;
  if (tryAddrMatch) ifa = addrs.find((a) => a.label === label && a.local === origAddr);
  ifa ??= addrs.find((a) => a.label === label);
  if (!ifa && cmd !== SIOCSIFADDR && cmd !== SIOCSIFFLAGS) return -E.EADDRNOTAVAIL;
  const sin = origAddr;
  switch (cmd) {
    case SIOCGIFADDR:
      putSin(ifr, IFR_U, ifa!.local);
      return 0;
    case SIOCGIFBRDADDR:
      putSin(ifr, IFR_U, ifa!.broadcast);
      return 0;
    case SIOCGIFDSTADDR:
      putSin(ifr, IFR_U, ifa!.address);
      return 0;
    case SIOCGIFNETMASK:
      putSin(ifr, IFR_U, ifa!.mask);
      return 0;
    case SIOCSIFFLAGS: {
      const flags = ifr[IFR_U]! | (ifr[IFR_U + 1]! << 8);
      if (colon >= 0) {
        // Taking an alias down removes its address.
        if (!ifa) return -E.EADDRNOTAVAIL;
        if (!(flags & 1)) return inetDelAddr(ns, dev, ifa.local, ifa.prefixLen);
        return 0;
      }
      return devChangeFlags(dev, flags | (dev.flags & ~0xffff));
    }
    case SIOCSIFADDR: {
      const abc = inetAbcLen(sin);
      if (abc < 0) return -E.EINVAL;
      if (ifa) {
        if (ifa.local === sin) return 0;
        const e = inetDelAddr(ns, dev, ifa.local, ifa.prefixLen);
        if (e < 0) return e;
      }
      // inet_set_ifa: 0.0.0.0 only removes.
      if (sin === 0) return 0;
      let prefixLen = 32;
      let broadcast = 0;
      if (!(dev.flags & IFF_POINTOPOINT)) {
        prefixLen = abc;
        if (dev.flags & IFF_BROADCAST && prefixLen < 31) broadcast = (sin | ~prefixMask(prefixLen)) >>> 0;
      }
      return inetAddAddr(ns, dev, { address: sin, prefixLen, broadcast, label: colon >= 0 ? label : dev.name });
    }
    case SIOCSIFBRDADDR:
      if (ifa!.broadcast === sin) return 0;
      return replaceIfa(ns, dev, ifa!, { broadcast: sin });
    case SIOCSIFDSTADDR:
      if (ifa!.address === sin) return 0;
      if (inetAbcLen(sin) < 0) return -E.EINVAL;
      return replaceIfa(ns, dev, ifa!, { address: sin });
    case SIOCSIFNETMASK: {
      if (badMask(sin, 0)) return -E.EINVAL;
      const a = ifa!;
      if (a.mask === sin) return 0;
      const prefixLen = maskLen(sin);
      let broadcast = a.broadcast;
      // A broadcast that followed the old mask follows the new one.
      if (dev.flags & IFF_BROADCAST && prefixLen < 31 && a.broadcast === (a.local | ~a.mask) >>> 0)
        broadcast = (a.local | ~sin) >>> 0;
      return replaceIfa(ns, dev, a, { prefixLen, broadcast });
    }
  }
  return -E.EINVAL;
}

/** ip_rt_ioctl + rtentry_to_fib_config: SIOCADDRT / SIOCDELRT with a struct rtentry. */
function ipRtIoctl(ns: NetNs, task: Task, cmd: number, arg: number): number {
  if (!capable(task)) return -E.EPERM;
  const rt = copyFromUser(task.mm, arg, RTENTRY_SIZE);
  if (typeof rt === 'number') return -E.EFAULT;
  const dv = new DataView(rt.buffer, rt.byteOffset, RTENTRY_SIZE);
  const RT_DST = 8;
  const RT_GATEWAY = 24;
  const RT_GENMASK = 40;
  const flags = dv.getUint16(56, true);
  const metric = dv.getInt16(80, true);
  const devPtr = dv.getUint32(88, true) + dv.getUint32(92, true) * 2 ** 32;
  if (sinFamily(rt, RT_DST) !== AF_INET) return -E.EAFNOSUPPORT;
  let plen = 32;
  const dst = readAddr(rt, RT_DST + 4);
  if (!(flags & RTF_HOST)) {
    const mask = readAddr(rt, RT_GENMASK + 4);
    if (sinFamily(rt, RT_GENMASK) !== AF_INET && (mask || sinFamily(rt, RT_GENMASK))) return -E.EAFNOSUPPORT;
    if (badMask(mask, dst)) return -E.EINVAL;
    plen = maskLen(mask);
  }
  const r: Partial<FibRoute> & { dst: number; prefixLen: number } = { dst, prefixLen: plen, table: RT_TABLE_MAIN };
  if (cmd !== SIOCDELRT) r.protocol = RTPROT_BOOT;
  if (metric) r.priority = metric - 1;
  if (flags & RTF_REJECT) {
    r.scope = RT_SCOPE_HOST;
    r.type = RTN_UNREACHABLE;
  } else {
    r.scope = RT_SCOPE_NOWHERE;
    r.type = RTN_UNICAST;
    if (devPtr) {
      // strncpy_from_user(devname, rt_dev, IFNAMSIZ-1): a longer name is cut, not refused.
      let name = strncpyFromUser(task.mm, devPtr, IFNAMSIZ);
      if (name === -E.ENAMETOOLONG) {
        const raw = copyFromUser(task.mm, devPtr, IFNAMSIZ - 1);
        name = typeof raw === 'number' ? raw : cstr(raw, 0, IFNAMSIZ - 1);
      }
      if (typeof name === 'number') return -E.EFAULT;
      name = name.slice(0, IFNAMSIZ - 1);
      const colon = name.indexOf(':');
      const dev = ns.devByName(colon >= 0 ? name.slice(0, colon) : name);
      if (!dev) return -E.ENODEV;
      r.dev = dev;
      if (colon >= 0) {
        const ifa = dev.ip4?.addrs.find((a) => a.label === name);
        if (!ifa) return -E.ENODEV;
        r.prefsrc = ifa.local;
      }
    }
    const gw = readAddr(rt, RT_GATEWAY + 4);
    if (sinFamily(rt, RT_GATEWAY) === AF_INET && gw) {
      r.gateway = gw;
      if (flags & RTF_GATEWAY && inetAddrType(ns, gw) === RTN_UNICAST) r.scope = RT_SCOPE_UNIVERSE;
    }
  }
  if (cmd === SIOCDELRT) {
    const m: Partial<FibRoute> = { table: RT_TABLE_MAIN, dst, prefixLen: plen, type: r.type };
    if (r.dev) m.dev = r.dev;
    if (r.gateway) m.gateway = r.gateway;
    if (r.priority !== undefined) m.priority = r.priority;
    if (r.scope !== RT_SCOPE_NOWHERE) m.scope = r.scope;
    if (r.prefsrc) m.prefsrc = r.prefsrc;
    return fibDelRoute(ns, m);
  }
  if (flags & RTF_GATEWAY && !r.gateway) return -E.EINVAL;
  if (r.scope === RT_SCOPE_NOWHERE) r.scope = RT_SCOPE_LINK;
  return fibAddRoute(ns, makeRoute(r), false);
}

/**
 * arp_ioctl: SIOCGARP / SIOCSARP / SIOCDARP with a struct arpreq (arp_pa, arp_ha, arp_flags,
 * arp_netmask, arp_dev). Without arp_dev the device is the route's (arp_req_dev). Proxy
 * entries (ATF_PUBL) are not kept: -EOPNOTSUPP.
 */
function arpIoctl(ns: NetNs, task: Task, cmd: number, arg: number): number {
  if (cmd !== SIOCGARP && !capable(task)) return -E.EPERM;
  const r = copyFromUser(task.mm, arg, ARPREQ_SIZE);
  if (typeof r === 'number') return -E.EFAULT;
  const PA = 0;
  const HA = 16;
  const FLAGS = 32;
  const DEV = 52;
  if (sinFamily(r, PA) !== AF_INET) return -E.EPFNOSUPPORT;
  let flags = i32(r, FLAGS);
  if (!(flags & ATF_PUBL) && flags & (ATF_NETMASK | ATF_DONTPUB)) return -E.EINVAL;
  if (flags & ATF_PUBL) return -E.EOPNOTSUPP;
  const ip = readAddr(r, PA + 4);
  const devName = cstr(r, DEV, IFNAMSIZ - 1);
  let dev: NetDevice | null;
  if (devName) {
    dev = ns.devByName(devName);
    if (!dev) return -E.ENODEV;
  } else {
    // arp_req_dev: the device of the route to the address (on link only for a set).
    const rt = ipRouteOutput(ns, { daddr: ip, onlink: cmd === SIOCSARP });
    if (typeof rt === 'number') return cmd === SIOCGARP ? -E.ENXIO : rt;
    dev = rt.dev;
  }
  switch (cmd) {
    case SIOCGARP: {
      // arp_req_get: entries that resolve (not NOARP ones).
      const n = ns.arp.lookup(ip, dev);
      if (!n || n.state & NUD_NOARP) return -E.ENXIO;
      r.fill(0, HA, HA + 16);
      r[HA] = dev.type & 0xff;
      r[HA + 1] = dev.type >> 8;
      if (n.lladdr) r.set(n.lladdr.subarray(0, 14), HA + 2);
      // arp_state_to_flags.
      const f = n.state & NUD_PERMANENT ? ATF_PERM | ATF_COM : n.state & NUD_VALID ? ATF_COM : 0;
      setI32(r, FLAGS, f);
      putName(r, DEV, dev.name);
      return copyToUser(task.mm, arg, r) < 0 ? -E.EFAULT : 0;
    }
    case SIOCSARP: {
      // arp_req_set: ATF_PERM implies ATF_COM; a permanent or complete entry carries the address.
      if (flags & ATF_PERM) flags |= ATF_COM;
      if (sinFamily(r, HA) !== dev.type) return -E.EINVAL;
      const lladdr = flags & ATF_COM ? r.slice(HA + 2, HA + 2 + dev.addr.length) : null;
      return neighUpdate(ns, ip, dev, lladdr, flags & ATF_PERM ? NUD_PERMANENT : NUD_STALE);
    }
    case SIOCDARP: {
      const e = neighDelete(ns, ip, dev);
      return e === -E.ENOENT ? -E.ENXIO : e;
    }
  }
  return -E.EINVAL;
}

/**
 * The device ioctls for a socket of any family (sock_do_ioctl → dev_ioctl), plus the AF_INET
 * (and AF_PACKET, which passes them to inet_dgram_ops) address, route and ARP commands.
 * Returns null for commands that are not device ioctls.
 */
export function devIoctl(sock: Socket, task: Task, cmd: number, arg: number): number | null {
  const c = cmd >>> 0;
  if (c < 0x8900 || c > 0x89ff) return null;
  const inet = sock.family === AF_INET || sock.family === AF_PACKET;
  const known =
    c === SIOCGIFCONF ||
    c === SIOCGIFNAME ||
    c === SIOCADDRT ||
    c === SIOCDELRT ||
    c === SIOCGARP ||
    c === SIOCSARP ||
    c === SIOCDARP ||
    (c >= SIOCGIFFLAGS && c <= SIOCSIFNETMASK) ||
    [
      SIOCGIFMETRIC,
      SIOCSIFMETRIC,
      SIOCGIFMTU,
      SIOCSIFMTU,
      SIOCSIFNAME,
      SIOCSIFHWADDR,
      SIOCGIFHWADDR,
      SIOCGIFINDEX,
      SIOCGIFTXQLEN,
      SIOCSIFTXQLEN,
      SIOCETHTOOL,
      SIOCGIFMAP,
      SIOCSIFMAP,
    ].includes(c);
  if (!known) return null;
  const ns = task.kernel.net;
  if (!ns) return -E.ENODEV;
  if (c === SIOCGIFCONF) return devIfconf(ns, task, arg);
  if (c === SIOCADDRT || c === SIOCDELRT) return inet ? ipRtIoctl(ns, task, c, arg) : -E.ENOTTY;
  if (c === SIOCGARP || c === SIOCSARP || c === SIOCDARP) return inet ? arpIoctl(ns, task, c, arg) : -E.ENOTTY;
  const ifr = copyFromUser(task.mm, arg, IFREQ_SIZE);
  if (typeof ifr === 'number') return -E.EFAULT;
  ifr[IFNAMSIZ - 1] = 0;
  let r: number | null;
  if (c === SIOCGIFNAME) {
    // dev_ifname: the name of ifr_ifindex.
    const dev = ns.devByIndex(i32(ifr, IFR_U));
    if (!dev) return -E.ENODEV;
    putName(ifr, 0, dev.name);
    r = 0;
  } else if (
    inet &&
    (c === SIOCGIFADDR ||
      c === SIOCSIFADDR ||
      c === SIOCGIFBRDADDR ||
      c === SIOCSIFBRDADDR ||
      c === SIOCGIFNETMASK ||
      c === SIOCSIFNETMASK ||
      c === SIOCGIFDSTADDR ||
      c === SIOCSIFDSTADDR ||
      c === SIOCSIFFLAGS)
  ) {
    r = devinetIoctl(ns, task, c, ifr);
  } else {
    r = devIfsioc(ns, task, c, ifr);
    if (r === null) return -E.ENOTTY;
  }
  if (r < 0) return r;
  // Only the "get" commands copy the ifreq back (dev_ioctl's copy_to_user after the G ones).
  const isGet = [
    SIOCGIFNAME,
    SIOCGIFFLAGS,
    SIOCGIFADDR,
    SIOCGIFDSTADDR,
    SIOCGIFBRDADDR,
    SIOCGIFNETMASK,
    SIOCGIFMETRIC,
    SIOCGIFMTU,
    SIOCGIFHWADDR,
    SIOCGIFINDEX,
    SIOCGIFTXQLEN,
    SIOCGIFMAP,
  ].includes(c);
  if (isGet && copyToUser(task.mm, arg, ifr) < 0) return -E.EFAULT;
  return r;
}

/** SO_BINDTODEVICE (asm-generic/socket.h). */
export const SO_BINDTODEVICE = 25;

/**
 * sock_setbindtodevice (net/core/sock.c), for sk_setsockopt's SO_BINDTODEVICE: at most
 * IFNAMSIZ-1 bytes of name; "" or a zero length unbinds; an unknown name is -ENODEV;
 * changing an existing binding needs CAP_NET_RAW. The ifindex is kept in the socket's option
 * map under SO_BINDTODEVICE, where the AF_INET families read sk_bound_dev_if.
 * (sk_setsockopt must call this before its `optlen < sizeof(int)` check: a zero length is valid.)
 */
export function sockSetBindToDevice(sock: Socket, task: Task, val: Uint8Array): number {
  const name = cstr(val, 0, Math.min(val.length, IFNAMSIZ - 1));
  let index = 0;
  if (name) {
    const dev = task.kernel.net?.devByName(name) ?? null;
    if (!dev) return -E.ENODEV;
    index = dev.ifindex;
  }
  const cur = sock.intOpts.get(SO_BINDTODEVICE) ?? 0;
  if (cur && task.cred.euid !== 0) return -E.EPERM;
  if (index) sock.intOpts.set(SO_BINDTODEVICE, index);
  else sock.intOpts.delete(SO_BINDTODEVICE);
  return 0;
}

/** sock_getbindtodevice: the bound device's name with its NUL, or nothing when unbound (-EINVAL for a buffer under IFNAMSIZ). */
export function sockGetBindToDevice(sock: Socket, task: Task, len: number): Uint8Array | number {
  const index = sock.intOpts.get(SO_BINDTODEVICE) ?? 0;
  if (!index) return new Uint8Array(0);
  if (len < IFNAMSIZ) return -E.EINVAL;
  const dev = task.kernel.net?.devByIndex(index) ?? null;
  if (!dev) return -E.ENODEV;
  const b = new Uint8Array(dev.name.length + 1);
  for (let i = 0; i < dev.name.length; i++) b[i] = dev.name.charCodeAt(i);
  return b;
}
