/**
 * IPv4 route resolution for packets (net/ipv4/route.c): ip_route_output_key for packets we
 * send (device, next hop, preferred source address) and ip_route_input for packets we
 * receive (deliver locally, as a broadcast, or forward). There is no route cache: each
 * call is a FIB lookup, which for a handful of routes is a few comparisons.
 */
import * as E from '../../errno.js';
import type { NetNs } from '../netns.js';
import type { NetDevice } from '../core/netdevice.js';
import {
  fibLookup,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE,
  RTN_BLACKHOLE,
  RTN_BROADCAST,
  RTN_LOCAL,
  RTN_MULTICAST,
  RTN_PROHIBIT,
  RTN_UNICAST,
} from './fib.js';
import { inetAddrType, inetSelectAddr } from './devinet.js';
import { INADDR_BROADCAST, INADDR_LOOPBACK, isLoopback, isMulticast, isZeronet } from './inet_addr.js';

// rt_flags (RTCF_*).
export const RTCF_BROADCAST = 0x10000000;
export const RTCF_MULTICAST = 0x20000000;
export const RTCF_LOCAL = 0x80000000;

/** struct rtable: where a packet goes. */
export interface Rtable {
  /** The output device (loopback for local destinations). */
  dev: NetDevice;
  /** Next hop; 0 = the destination is on link. */
  gateway: number;
  /** Preferred source address (fl4->saddr after the lookup). */
  src: number;
  /** RTN_UNICAST, RTN_LOCAL, RTN_BROADCAST, RTN_MULTICAST. */
  type: number;
  /** Path MTU (the device's). */
  mtu: number;
  /** RTCF_* flags. */
  flags: number;
  /** The input device of a forwarded or delivered packet (rt_iif), null for output routes. */
  iif: NetDevice | null;
}

/** 224.0.0.1, which every multicast-capable host is a member of. */
export const INADDR_ALLHOSTS_GROUP = 0xe0000001;

export interface FlowI4 {
  daddr: number;
  saddr?: number;
  oif?: number;
  tos?: number;
  /** RTO_ONLINK (SO_DONTROUTE, MSG_DONTROUTE): only destinations on a link. */
  onlink?: boolean;
}

function mk(dev: NetDevice, type: number, src: number, gateway = 0, iif: NetDevice | null = null): Rtable {
  const flags =
    type === RTN_LOCAL
      ? RTCF_LOCAL
      : type === RTN_BROADCAST
        ? RTCF_BROADCAST | RTCF_LOCAL
        : type === RTN_MULTICAST
          ? RTCF_MULTICAST
          : 0;
  return { dev, gateway: gateway >>> 0, src: src >>> 0, type, mtu: dev.mtu, flags: flags >>> 0, iif };
}

function fibError(type: number): number {
  if (type === RTN_PROHIBIT) return -E.EACCES;
  if (type === RTN_BLACKHOLE) return -E.EINVAL;
  return -E.ENETUNREACH;
}

/**
 * ip_route_output_key_hash_rcu: route a packet we send. A given source must be ours; a
 * given output device must be up; broadcasts and multicasts with a device go out on it;
 * local destinations go through loopback. -ENETUNREACH when no route exists.
 */
export function ipRouteOutput(ns: NetNs, fl: FlowI4): Rtable | number {
  let daddr = fl.daddr >>> 0;
  const saddr = (fl.saddr ?? 0) >>> 0;
  const lo = ns.loopback;
  if (saddr) {
    if (isMulticast(saddr) || saddr === INADDR_BROADCAST || isZeronet(saddr)) return -E.EINVAL;
    // The source must be one of our addresses (__ip_dev_find).
    if (inetAddrType(ns, saddr) !== RTN_LOCAL) return -E.EINVAL;
  }
  let oifDev: NetDevice | null = null;
  if (fl.oif) {
    oifDev = ns.devByIndex(fl.oif);
    if (!oifDev) return -E.ENODEV;
    if (!oifDev.isUp || !oifDev.ip4) return -E.ENETUNREACH;
    if (daddr === INADDR_BROADCAST || isMulticast(daddr)) {
      const src = saddr || inetSelectAddr(oifDev, 0, RT_SCOPE_LINK);
      return mk(oifDev, daddr === INADDR_BROADCAST ? RTN_BROADCAST : RTN_MULTICAST, src);
    }
  }
  if (!daddr) {
    // A packet to 0.0.0.0 is for this host (connect(INADDR_ANY)).
    daddr = saddr || INADDR_LOOPBACK;
    if (!lo) return -E.ENETUNREACH;
    return mk(lo, RTN_LOCAL, saddr || daddr);
  }
  const res = fibLookup(ns, daddr, fl.oif ?? 0, fl.onlink ?? false);
  if (!res) {
    // With an output device and no route, the destination is assumed on that link.
    if (oifDev) return mk(oifDev, RTN_UNICAST, saddr || inetSelectAddr(oifDev, daddr, RT_SCOPE_LINK));
    if (daddr === INADDR_BROADCAST) {
      const r = fibLookup(ns, 0);
      if (r?.dev) return mk(r.dev, RTN_BROADCAST, saddr || inetSelectAddr(r.dev, 0, RT_SCOPE_LINK));
    }
    return -E.ENETUNREACH;
  }
  if (res.type !== RTN_UNICAST && res.type !== RTN_LOCAL && res.type !== RTN_BROADCAST && res.type !== RTN_MULTICAST)
    return fibError(res.type);
  if (res.type === RTN_LOCAL) {
    if (!lo) return -E.ENETUNREACH;
    return mk(lo, RTN_LOCAL, saddr || res.prefsrc || daddr);
  }
  const dev = res.dev!;
  if (fl.onlink && res.gateway) return -E.ENETUNREACH;
  // 255.255.255.255 through whatever route matched is still a broadcast (__mkroute_output).
  const type = daddr === INADDR_BROADCAST ? RTN_BROADCAST : isMulticast(daddr) ? RTN_MULTICAST : res.type;
  const scope = res.gateway ? RT_SCOPE_UNIVERSE : res.scope;
  const src = saddr || res.prefsrc || inetSelectAddr(dev, res.gateway || daddr, Math.max(scope, RT_SCOPE_UNIVERSE));
  return mk(dev, type, src, type === RTN_UNICAST ? res.gateway : 0);
}

/**
 * ip_route_input_slow: what to do with a packet that arrived on `dev`. Martian sources
 * (multicast, broadcast, 127/8 from the wire) are -EINVAL; local and broadcast
 * destinations are delivered; others are forwarded when forwarding is on
 * (-EHOSTUNREACH when it is off, -ENETUNREACH without a route).
 */
export function ipRouteInput(ns: NetNs, daddr: number, saddr: number, dev: NetDevice): Rtable | number {
  daddr >>>= 0;
  saddr >>>= 0;
  const lo = ns.loopback;
  if (isMulticast(saddr) || saddr === INADDR_BROADCAST) return -E.EINVAL;
  if (daddr === INADDR_BROADCAST || (saddr === 0 && daddr === 0))
    return mk(dev, RTN_BROADCAST, inetSelectAddr(dev, saddr, RT_SCOPE_LINK), 0, dev);
  if (isMulticast(daddr)) {
    // ip_check_mc_rcu: only groups the host is in; without IGMP membership that is all-hosts.
    if (daddr !== INADDR_ALLHOSTS_GROUP) return -E.EINVAL;
    return mk(dev, RTN_MULTICAST, inetSelectAddr(dev, saddr, RT_SCOPE_LINK), 0, dev);
  }
  if (isZeronet(daddr)) return -E.EINVAL;
  // Loopback addresses never come from a real wire (martian unless the device is lo).
  if (!(dev === lo) && (isLoopback(daddr) || isLoopback(saddr))) return -E.EINVAL;
  const res = fibLookup(ns, daddr);
  if (!res) return -E.ENETUNREACH;
  if (res.type === RTN_LOCAL) return mk(lo ?? dev, RTN_LOCAL, daddr, 0, dev);
  if (res.type === RTN_BROADCAST)
    return mk(dev, RTN_BROADCAST, res.prefsrc || inetSelectAddr(dev, saddr, RT_SCOPE_LINK), 0, dev);
  if (res.type !== RTN_UNICAST) return fibError(res.type);
  if (!(dev.ip4?.forwarding ?? 0) && !ns.sysctl.ipForward) return -E.EHOSTUNREACH;
  const out = res.dev!;
  return mk(out, RTN_UNICAST, inetSelectAddr(out, res.gateway || daddr, RT_SCOPE_UNIVERSE), res.gateway, dev);
}

/** fib_compute_spec_dst: our address a reply to a packet received with `rt` should come from. */
export function specDst(rt: Rtable, daddr: number): number {
  if (rt.type === RTN_LOCAL) return daddr;
  return rt.src || inetSelectAddr(rt.iif ?? rt.dev, 0, RT_SCOPE_HOST);
}
