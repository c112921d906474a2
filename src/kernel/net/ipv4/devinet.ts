/**
 * IPv4 addresses of devices (net/ipv4/devinet.c) and the routes they imply (fib_add_ifaddr /
 * fib_del_ifaddr in fib_frontend.c): an address gives a `local` route to itself and, for a
 * prefix shorter than 31, a broadcast route, both in table local, and the prefix route in
 * table main. Those routes exist while the device is up (re-added by NETDEV_UP, flushed by
 * NETDEV_DOWN), as fib_netdev_event does.
 */
import * as E from '../../errno.js';
import type { NetNs } from '../netns.js';
import { IFF_LOOPBACK, type InIfAddr, type NetDevice } from '../core/netdevice.js';
import { NETDEV_DOWN, NETDEV_UNREGISTER, NETDEV_UP, registerNetdeviceNotifier } from '../core/dev.js';
import {
  fibAddRoute,
  fibDelRoute,
  fibFlushDev,
  fibTableLookup,
  makeRoute,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_LOCAL,
  RT_TABLE_MAIN,
  RTN_BROADCAST,
  RTN_LOCAL,
  RTN_MULTICAST,
  RTN_UNICAST,
  RTPROT_KERNEL,
} from './fib.js';
import { INADDR_BROADCAST, isLoopback, isMulticast, isZeronet, prefixMask } from './inet_addr.js';

// IFA_F_* (include/uapi/linux/if_addr.h).
export const IFA_F_SECONDARY = 0x01;
export const IFA_F_NOPREFIXROUTE = 0x200;
export const IFA_F_PERMANENT = 0x80;
export const INFINITY_LIFE_TIME = 0xffffffff;

export interface InetAddrParams {
  address: number;
  prefixLen: number;
  /** The broadcast address (IFA_BROADCAST); none when absent, as `ip addr add` without `brd`. */
  broadcast?: number;
  /** ifa_label; the device's name by default. */
  label?: string;
  /** RT_SCOPE_*; host for 127.0.0.0/8, universe otherwise. */
  scope?: number;
  /** IFA_F_*; IFA_F_PERMANENT is always set (static addresses). */
  flags?: number;
  /** Local address of a point-to-point link (IFA_LOCAL when it differs from IFA_ADDRESS). */
  local?: number;
}

/** fib_magic for one address's route (RTPROT_KERNEL, prefsrc the address). */
function addrRoute(
  ns: NetNs,
  dev: NetDevice,
  ifa: InIfAddr,
  type: number,
  dst: number,
  plen: number,
  op: 'add' | 'del',
): void {
  const table = type === RTN_UNICAST ? RT_TABLE_MAIN : RT_TABLE_LOCAL;
  const scope = type === RTN_LOCAL ? RT_SCOPE_HOST : RT_SCOPE_LINK;
  if (op === 'add') {
    fibAddRoute(
      ns,
      makeRoute({
        table,
        dst: (dst & prefixMask(plen)) >>> 0,
        prefixLen: plen,
        type,
        scope,
        protocol: RTPROT_KERNEL,
        dev,
        prefsrc: ifa.local,
      }),
      false,
    );
  } else {
    fibDelRoute(ns, { table, dst: (dst & prefixMask(plen)) >>> 0, prefixLen: plen, type, dev, prefsrc: ifa.local });
  }
}

/** fib_add_ifaddr. */
function fibAddIfaddr(ns: NetNs, dev: NetDevice, ifa: InIfAddr): void {
  if (!dev.isUp) return;
  const mask = ifa.mask;
  const prefix = (ifa.address & mask) >>> 0;
  addrRoute(ns, dev, ifa, RTN_LOCAL, ifa.local, 32, 'add');
  if (ifa.broadcast && ifa.broadcast !== INADDR_BROADCAST)
    addrRoute(ns, dev, ifa, RTN_BROADCAST, ifa.broadcast, 32, 'add');
  if (!isZeronet(prefix) && !(ifa.flags & IFA_F_SECONDARY) && (prefix !== ifa.local || ifa.prefixLen < 32)) {
    if (!(ifa.flags & IFA_F_NOPREFIXROUTE))
      addrRoute(ns, dev, ifa, dev.flags & IFF_LOOPBACK ? RTN_LOCAL : RTN_UNICAST, prefix, ifa.prefixLen, 'add');
    if (ifa.prefixLen < 31) addrRoute(ns, dev, ifa, RTN_BROADCAST, (prefix | ~mask) >>> 0, 32, 'add');
  }
}

/** fib_del_ifaddr: its routes go, except what another address of the same device still implies. */
function fibDelIfaddr(ns: NetNs, dev: NetDevice, ifa: InIfAddr): void {
  const mask = ifa.mask;
  const prefix = (ifa.address & mask) >>> 0;
  const others = dev.ip4?.addrs.filter((a) => a !== ifa) ?? [];
  const samePrefix = others.some((a) => a.prefixLen === ifa.prefixLen && (a.address & a.mask) >>> 0 === prefix);
  if (!(ifa.flags & IFA_F_SECONDARY) && !isZeronet(prefix) && (prefix !== ifa.local || ifa.prefixLen < 32)) {
    addrRoute(ns, dev, ifa, dev.flags & IFF_LOOPBACK ? RTN_LOCAL : RTN_UNICAST, prefix, ifa.prefixLen, 'del');
    if (ifa.prefixLen < 31 && !samePrefix) addrRoute(ns, dev, ifa, RTN_BROADCAST, (prefix | ~mask) >>> 0, 32, 'del');
  }
  if (ifa.broadcast && ifa.broadcast !== INADDR_BROADCAST && !others.some((a) => a.broadcast === ifa.broadcast))
    addrRoute(ns, dev, ifa, RTN_BROADCAST, ifa.broadcast, 32, 'del');
  // The local route stays while any device still has the address (fib_del_ifaddr's ok mask).
  let stillLocal = false;
  for (const d of ns.devices.values())
    if (d.ip4?.addrs.some((a) => a !== ifa && a.local === ifa.local)) stillLocal = true;
  if (!stillLocal) addrRoute(ns, dev, ifa, RTN_LOCAL, ifa.local, 32, 'del');
}

/**
 * inet_rtm_newaddr / devinet_ioctl(SIOCSIFADDR) → __inet_insert_ifa: add an address to `dev`
 * and its routes (when the device is up); rtnetlink hears RTM_NEWADDR. -EEXIST for the same
 * address and prefix, -EINVAL for a bad prefix length, -ENODEV for a device of another namespace.
 */
export function inetAddAddr(ns: NetNs, dev: NetDevice, p: InetAddrParams): number {
  if (dev.ns !== ns) return -E.ENODEV;
  if (!Number.isInteger(p.prefixLen) || p.prefixLen < 0 || p.prefixLen > 32) return -E.EINVAL;
  const in4 = (dev.ip4 ??= { addrs: [], forwarding: ns.sysctl.ipForward });
  const local = (p.local ?? p.address) >>> 0;
  const address = p.address >>> 0;
  const mask = prefixMask(p.prefixLen);
  if (isMulticast(local) || local === INADDR_BROADCAST) return -E.EINVAL;
  for (const a of in4.addrs) if (a.local === local && a.mask === mask) return -E.EEXIST;
  let flags = (p.flags ?? 0) | IFA_F_PERMANENT;
  flags &= ~IFA_F_SECONDARY;
  // A second address inside the prefix of an existing one is its secondary.
  if (in4.addrs.some((a) => a.mask === mask && ((a.address ^ address) & mask) === 0 && !(a.flags & IFA_F_SECONDARY)))
    flags |= IFA_F_SECONDARY;
  const ifa: InIfAddr = {
    address,
    local,
    prefixLen: p.prefixLen,
    mask,
    broadcast: (p.broadcast ?? 0) >>> 0,
    label: p.label ?? dev.name,
    scope: p.scope ?? (isLoopback(local) ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE),
    flags,
    validLft: INFINITY_LIFE_TIME,
    preferredLft: INFINITY_LIFE_TIME,
  };
  // Primaries before secondaries, each in the order added (inet_insert_ifa's ifap walk).
  if (flags & IFA_F_SECONDARY) in4.addrs.push(ifa);
  else {
    const i = in4.addrs.findIndex((a) => a.flags & IFA_F_SECONDARY);
    if (i < 0) in4.addrs.push(ifa);
    else in4.addrs.splice(i, 0, ifa);
  }
  ns.notify({ kind: 'addr', op: 'new', dev, addr: ifa });
  fibAddIfaddr(ns, dev, ifa);
  return 0;
}

/**
 * inet_rtm_deladdr / SIOCSIFADDR's removal (__inet_del_ifa): remove `address` (with that
 * prefix length if given) from `dev`; its routes go too. Removing a primary removes its
 * secondaries, as Linux does without promote_secondaries. -EADDRNOTAVAIL when absent.
 */
export function inetDelAddr(ns: NetNs, dev: NetDevice, address: number, prefixLen?: number): number {
  const in4 = dev.ip4;
  if (!in4 || dev.ns !== ns) return -E.EADDRNOTAVAIL;
  const i = in4.addrs.findIndex(
    (a) => a.local === address >>> 0 && (prefixLen === undefined || a.prefixLen === prefixLen),
  );
  if (i < 0) return -E.EADDRNOTAVAIL;
  const ifa = in4.addrs[i]!;
  const doomed = [ifa];
  if (!(ifa.flags & IFA_F_SECONDARY))
    for (const a of in4.addrs)
      if (a !== ifa && a.flags & IFA_F_SECONDARY && a.mask === ifa.mask && ((a.address ^ ifa.address) & ifa.mask) === 0)
        doomed.push(a);
  for (const d of doomed.reverse()) {
    fibDelIfaddr(ns, dev, d);
    in4.addrs.splice(in4.addrs.indexOf(d), 1);
    ns.notify({ kind: 'addr', op: 'del', dev, addr: d });
  }
  // The last address gone: IP is disabled on the device (fib_disable_ip), every route through it goes.
  if (in4.addrs.length === 0) {
    fibFlushDev(ns, dev);
    ns.arp?.flushDev(dev);
  }
  return 0;
}

/**
 * inet_select_addr: the source address for talking to `dst` through `dev` within `scope`:
 * a primary address of the device whose subnet holds dst, else its first primary, else any
 * device's address of a wide enough scope (loopback's are host scope). 0 when none.
 */
export function inetSelectAddr(dev: NetDevice | null, dst: number, scope: number): number {
  let addr = 0;
  if (dev?.ip4) {
    for (const a of dev.ip4.addrs) {
      if (a.flags & IFA_F_SECONDARY || a.scope > scope) continue;
      if (!dst || ((a.address ^ dst) & a.mask) === 0) return a.local;
      if (!addr) addr = a.local;
    }
  }
  if (addr || !dev?.ns) return addr;
  // Not on the device: any address of the namespace, but not one of link scope.
  for (const d of dev.ns.devices.values()) {
    for (const a of d.ip4?.addrs ?? []) {
      if (a.flags & IFA_F_SECONDARY) continue;
      if (a.scope !== RT_SCOPE_LINK && a.scope <= scope) return a.local;
    }
  }
  return 0;
}

/**
 * inet_addr_type: what `addr` is to this host — RTN_LOCAL (one of ours, or in 127/8),
 * RTN_BROADCAST (a broadcast address, 0.0.0.0, 255.255.255.255), RTN_MULTICAST, else
 * RTN_UNICAST. For bind() checks.
 */
export function inetAddrType(ns: NetNs, addr: number): number {
  addr >>>= 0;
  if (isZeronet(addr) || addr === INADDR_BROADCAST) return RTN_BROADCAST;
  if (isMulticast(addr)) return RTN_MULTICAST;
  const r = fibTableLookup(ns, RT_TABLE_LOCAL, addr);
  if (r && (r.type === RTN_LOCAL || r.type === RTN_BROADCAST)) return r.type;
  return RTN_UNICAST;
}

/** __ip_dev_find: the device that has `addr` as a local address, or null. */
export function ipDevFindByAddr(ns: NetNs, addr: number): NetDevice | null {
  addr >>>= 0;
  for (const d of ns.devices.values()) for (const a of d.ip4?.addrs ?? []) if (a.local === addr) return d;
  const r = fibTableLookup(ns, RT_TABLE_LOCAL, addr);
  return r && r.type === RTN_LOCAL ? r.dev : null;
}

/** fib_netdev_event + inetdev_event: routes follow the device up and down; addresses go with it. */
function devinetNetdevEvent(event: number, dev: NetDevice): void {
  const ns = dev.ns;
  if (!ns || !ns.fib) return;
  if (event === NETDEV_UP) {
    for (const ifa of dev.ip4?.addrs ?? []) fibAddIfaddr(ns, dev, ifa);
  } else if (event === NETDEV_DOWN) {
    fibFlushDev(ns, dev);
  } else if (event === NETDEV_UNREGISTER) {
    for (const ifa of [...(dev.ip4?.addrs ?? [])].reverse()) {
      dev.ip4!.addrs.splice(dev.ip4!.addrs.indexOf(ifa), 1);
      ns.notify({ kind: 'addr', op: 'del', dev, addr: ifa });
    }
    fibFlushDev(ns, dev);
  }
}
registerNetdeviceNotifier(devinetNetdevEvent);
