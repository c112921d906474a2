/**
 * Moving packets through devices (net/core/dev.c): registering interfaces, bringing them up
 * and down, the transmit path (dev_queue_xmit → qdisc → ndo_start_xmit, with ETH_P_ALL taps
 * seeing outgoing frames) and the receive path (NAPI polls and the netif_rx backlog, both
 * drained by net_rx_action; __netif_receive_skb hands each frame to the taps, then to the
 * handler of its EtherType).
 *
 * There is one "CPU", so one softnet_data for the whole process (the host runs several
 * namespaces in one process and they share it, as namespaces share a CPU's softnet_data).
 * net_rx_action runs synchronously when a frame arrives outside of it (softirq on irq exit
 * or at local_bh_enable), and never recursively: a frame sent on `lo` while a received one
 * is being processed is queued, and the running loop drains it. Work beyond the budget of
 * one run continues at the next turn of the event loop (as ksoftirqd would).
 */
import * as E from '../../errno.js';
import type { NetNs, PacketType } from '../netns.js';
import { PACKET_OUTGOING, type SkBuff } from './skbuff.js';
import {
  IF_OPER_DOWN,
  IF_OPER_UNKNOWN,
  IF_OPER_UP,
  IFF_ALLMULTI,
  IFF_DEBUG,
  IFF_LOOPBACK,
  IFF_LOWER_UP,
  IFF_MULTICAST,
  IFF_NOARP,
  IFF_NOTRAILERS,
  IFF_PROMISC,
  IFF_RUNNING,
  IFF_UP,
  NETDEV_TX_BUSY,
  NETDEV_TX_OK,
  type NetDevice,
} from './netdevice.js';
import { PfifoFast } from './sch_generic.js';
import { ETH_ALEN, ETH_P_ALL, isValidEtherAddr } from './ethernet.js';

// dev_queue_xmit's results (include/linux/netdevice.h).
export const NET_XMIT_SUCCESS = 0;
export const NET_XMIT_DROP = 1;
export const NET_RX_SUCCESS = 0;
export const NET_RX_DROP = 1;

/** NAPI_POLL_WEIGHT. */
export const NAPI_POLL_WEIGHT = 64;
/** net.core.netdev_budget: packets one net_rx_action run processes before yielding. */
export const NETDEV_BUDGET = 300;
/** net.core.netdev_max_backlog: the netif_rx queue's limit. */
export const NETDEV_MAX_BACKLOG = 1000;
/** IFNAMSIZ. */
export const IFNAMSIZ = 16;

/** struct napi_struct: a device's receive poller, scheduled from its interrupt. */
export interface Napi {
  dev: NetDevice;
  /** How many packets one poll may process (64). */
  weight: number;
  /**
   * Process at most `budget` received frames (each through netifReceiveSkb) and return how
   * many. Fewer than budget means the device is drained: the poller leaves the poll list
   * (napi_complete) and the device interrupts again when a frame arrives.
   */
  poll(budget: number): number;
  /** NAPI_STATE_SCHED: on the poll list (managed here). */
  scheduled?: boolean;
  /** napi_disable: the device is down, never poll. */
  disabled?: boolean;
}

// ---- netdevice notifier chain (NETDEV_UP, NETDEV_DOWN …) ----

export const NETDEV_UP = 0x0001;
export const NETDEV_DOWN = 0x0002;
export const NETDEV_CHANGE = 0x0004;
export const NETDEV_REGISTER = 0x0005;
export const NETDEV_UNREGISTER = 0x0006;
export const NETDEV_CHANGEMTU = 0x0007;
export const NETDEV_CHANGEADDR = 0x0008;
export const NETDEV_GOING_DOWN = 0x0009;

type NetdevNotifier = (event: number, dev: NetDevice) => void;
const netdevChain: NetdevNotifier[] = [];

/** register_netdevice_notifier: devinet/fib/arp follow devices going up and down through this. */
export function registerNetdeviceNotifier(fn: NetdevNotifier): void {
  if (!netdevChain.includes(fn)) netdevChain.push(fn);
}

/** call_netdevice_notifiers. */
export function callNetdeviceNotifiers(event: number, dev: NetDevice): void {
  for (const fn of netdevChain) fn(event, dev);
}

// ---- registration ----

/** dev_get_valid_name + dev_alloc_name: `eth%d` becomes the first free eth<N>. */
function devValidName(ns: NetNs, name: string): string | number {
  if (name.includes('%d')) {
    for (let i = 0; i < 32768; i++) {
      const n = name.replace('%d', String(i));
      if (!ns.devByName(n)) return n.length < IFNAMSIZ ? n : -E.EINVAL;
    }
    return -E.ENFILE;
  }
  if (name.length === 0 || name.length >= IFNAMSIZ || name === '.' || name === '..' || /[/:\s]/.test(name))
    return -E.EINVAL;
  return ns.devByName(name) ? -E.EEXIST : name;
}

/**
 * register_netdevice: give the device its ifindex (dev_new_index) and namespace, its
 * in_device (inetdev_init), and tell rtnetlink (RTM_NEWLINK). The device stays down until
 * devChangeFlags(dev, flags | IFF_UP). 0 or -errno.
 */
export function registerNetdevice(ns: NetNs, dev: NetDevice): number {
  const name = devValidName(ns, dev.name);
  if (typeof name === 'number') return name;
  dev.name = name;
  if (dev.ifindex <= 0 || ns.devices.has(dev.ifindex)) {
    while (ns.devices.has(ns.nextIfindex)) ns.nextIfindex++;
    dev.ifindex = ns.nextIfindex++;
  }
  dev.ns = ns;
  dev.ip4 ??= { addrs: [], forwarding: ns.sysctl.ipForward };
  dev.flags &= ~(IFF_UP | IFF_RUNNING | IFF_LOWER_UP);
  dev.operState = IF_OPER_DOWN;
  // Before dev_activate a device has the noop qdisc; loopback keeps noqueue for good.
  dev.qdisc = null;
  dev.qdiscName = dev.flags & IFF_LOOPBACK ? 'noqueue' : 'noop';
  ns.devices.set(dev.ifindex, dev);
  callNetdeviceNotifiers(NETDEV_REGISTER, dev);
  ns.notify({ kind: 'link', op: 'new', dev });
  return 0;
}

/** unregister_netdevice: down, addresses and routes gone (notifiers), removed from the namespace. */
export function unregisterNetdevice(dev: NetDevice): void {
  const ns = dev.ns;
  if (!ns || ns.devices.get(dev.ifindex) !== dev) return;
  if (dev.isUp) devClose(dev);
  callNetdeviceNotifiers(NETDEV_UNREGISTER, dev);
  for (let i = ns.ptypeAll.length - 1; i >= 0; i--) if (ns.ptypeAll[i]!.dev === dev) ns.ptypeAll.splice(i, 1);
  for (let i = ns.ptypeBase.length - 1; i >= 0; i--) if (ns.ptypeBase[i]!.dev === dev) ns.ptypeBase.splice(i, 1);
  ns.devices.delete(dev.ifindex);
  ns.notify({ kind: 'link', op: 'del', dev });
}

// ---- up, down, flags, mtu, address ----

/** The operational state a running device reports: lo has no carrier detection (UNKNOWN), as in Linux. */
function operStateOf(dev: NetDevice): number {
  if (!dev.isUp) return IF_OPER_DOWN;
  if (!dev.carrier) return IF_OPER_DOWN;
  return dev.flags & IFF_LOOPBACK ? IF_OPER_UNKNOWN : IF_OPER_UP;
}

/** The flags that follow the carrier (netif_carrier_on/off → linkwatch → IFF_RUNNING, IFF_LOWER_UP). */
function syncRunning(dev: NetDevice): void {
  if (dev.isUp && dev.carrier) dev.flags |= IFF_RUNNING | IFF_LOWER_UP;
  else dev.flags &= ~(IFF_RUNNING | IFF_LOWER_UP);
  dev.operState = operStateOf(dev);
}

/** __dev_open: ndo_open, IFF_UP, dev_activate (attach pfifo_fast), NETDEV_UP. */
function devOpen(dev: NetDevice): number {
  if (dev.isUp) return 0;
  const r = dev.ops.open?.(dev) ?? 0;
  if (r < 0) return r;
  dev.flags |= IFF_UP;
  if (!(dev.flags & IFF_LOOPBACK)) {
    dev.qdisc = new PfifoFast(dev);
    dev.qdiscName = 'pfifo_fast';
  }
  syncRunning(dev);
  callNetdeviceNotifiers(NETDEV_UP, dev);
  return 0;
}

/** __dev_close: NETDEV_GOING_DOWN, ndo_stop, dev_deactivate (queued frames dropped), NETDEV_DOWN. */
function devClose(dev: NetDevice): void {
  if (!dev.isUp) return;
  callNetdeviceNotifiers(NETDEV_GOING_DOWN, dev);
  dev.flags &= ~IFF_UP;
  dev.ops.stop?.(dev);
  if (dev.qdisc instanceof PfifoFast) dev.stats.txDropped += dev.qdisc.reset();
  dev.qdisc = null;
  if (!(dev.flags & IFF_LOOPBACK)) dev.qdiscName = 'noop';
  syncRunning(dev);
  callNetdeviceNotifiers(NETDEV_DOWN, dev);
}

/** The flags a user may change with SIOCSIFFLAGS / RTM_NEWLINK (dev_change_flags' mask). */
const USER_FLAGS = IFF_UP | IFF_DEBUG | IFF_NOTRAILERS | IFF_NOARP | IFF_MULTICAST | IFF_PROMISC | IFF_ALLMULTI;

/**
 * dev_change_flags: set the user-changeable flags to `flags`; IFF_UP opens or closes the
 * device (its routes and neighbours are flushed by the notifiers when it goes down).
 * Returns 0 or -errno; rtnetlink hears RTM_NEWLINK when anything changed.
 */
export function devChangeFlags(dev: NetDevice, flags: number): number {
  const old = dev.flags;
  dev.flags = (old & ~USER_FLAGS & ~IFF_UP) | (flags & USER_FLAGS & ~IFF_UP) | (old & IFF_UP);
  let r = 0;
  if ((old ^ flags) & IFF_UP) {
    if (flags & IFF_UP) r = devOpen(dev);
    else devClose(dev);
  }
  if (dev.flags !== old) {
    if ((dev.flags ^ old) & ~IFF_UP) callNetdeviceNotifiers(NETDEV_CHANGE, dev);
    dev.ns?.notify({ kind: 'link', op: 'new', dev });
  }
  return r;
}

/** dev_set_mtu: within the driver's [minMtu, maxMtu], or -EINVAL. */
export function devSetMtu(dev: NetDevice, mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < 0) return -E.EINVAL;
  if (mtu < dev.minMtu || mtu > dev.maxMtu) return -E.EINVAL;
  if (mtu === dev.mtu) return 0;
  dev.mtu = mtu;
  callNetdeviceNotifiers(NETDEV_CHANGEMTU, dev);
  dev.ns?.notify({ kind: 'link', op: 'new', dev });
  return 0;
}

/** dev_set_mac_address (eth_mac_addr): a valid unicast Ethernet address; loopback has none to change. */
export function devSetMac(dev: NetDevice, mac: Uint8Array): number {
  if (dev.flags & IFF_LOOPBACK) return -E.EOPNOTSUPP;
  if (mac.length < ETH_ALEN || !isValidEtherAddr(mac)) return -E.EADDRNOTAVAIL;
  dev.addr = mac.slice(0, ETH_ALEN);
  callNetdeviceNotifiers(NETDEV_CHANGEADDR, dev);
  dev.ns?.notify({ kind: 'link', op: 'new', dev });
  return 0;
}

/** dev_change_name (SIOCSIFNAME, `ip link set X name Y`): only while down, to a free valid name. */
export function devChangeName(dev: NetDevice, name: string): number {
  const ns = dev.ns;
  if (!ns) return -E.ENODEV;
  if (dev.isUp) return -E.EBUSY;
  if (name === dev.name) return 0;
  const n = devValidName(ns, name);
  if (typeof n === 'number') return n;
  const old = dev.name;
  dev.name = n;
  // Labels of its addresses follow (eth0:1 becomes new:1), as inetdev_changename does.
  for (const a of dev.ip4?.addrs ?? [])
    if (a.label === old || a.label.startsWith(`${old}:`)) a.label = n + a.label.slice(old.length);
  ns.notify({ kind: 'link', op: 'new', dev });
  return 0;
}

/** netif_carrier_on / netif_carrier_off (with the linkwatch work done at once). */
export function netifCarrierOn(dev: NetDevice): void {
  if (dev.carrier) return;
  dev.carrier = true;
  syncRunning(dev);
  callNetdeviceNotifiers(NETDEV_CHANGE, dev);
  dev.ns?.notify({ kind: 'link', op: 'new', dev });
}

export function netifCarrierOff(dev: NetDevice): void {
  if (!dev.carrier) return;
  dev.carrier = false;
  syncRunning(dev);
  callNetdeviceNotifiers(NETDEV_CHANGE, dev);
  dev.ns?.notify({ kind: 'link', op: 'new', dev });
}

// ---- packet taps and handlers ----

/** dev_add_pack: ETH_P_ALL into ptype_all, the rest into ptype_base. */
export function devAddPack(ns: NetNs, pt: PacketType): void {
  (pt.type === ETH_P_ALL ? ns.ptypeAll : ns.ptypeBase).push(pt);
}

/** dev_remove_pack. */
export function devRemovePack(ns: NetNs, pt: PacketType): void {
  for (const list of [ns.ptypeAll, ns.ptypeBase]) {
    const i = list.indexOf(pt);
    if (i >= 0) list.splice(i, 1);
  }
}

// ---- transmit ----

/**
 * dev_queue_xmit_nit: every ETH_P_ALL tap of the device (except the sending socket's own)
 * gets a copy marked PACKET_OUTGOING, with data at the link-layer header.
 */
function devQueueXmitNit(ns: NetNs, skb: SkBuff, dev: NetDevice): void {
  for (const pt of ns.ptypeAll) {
    if (pt.dev && pt.dev !== dev) continue;
    if (pt.owner !== undefined && pt.owner !== null && pt.owner === skb.sk) continue;
    const c = skb.copy();
    c.pktType = PACKET_OUTGOING;
    if (c.macHeader < 0) c.macHeader = c.data;
    if (c.networkHeader < 0 && dev.hardHeaderLen > 0) c.networkHeader = c.data + dev.hardHeaderLen;
    try {
      pt.func(c, dev);
    } catch (e) {
      netWarn(ns, `dev_queue_xmit_nit: tap on ${dev.name} failed`, e);
    }
  }
}

/** dev_hard_start_xmit for one frame. */
function xmitOne(ns: NetNs, skb: SkBuff, dev: NetDevice): number {
  if (ns.ptypeAll.length) devQueueXmitNit(ns, skb, dev);
  return dev.ops.startXmit(skb, dev);
}

/** __qdisc_run: hand queued frames to the driver until it is busy or the queue empty. */
function qdiscRun(ns: NetNs, dev: NetDevice, q: PfifoFast): void {
  for (let skb = q.dequeue(); skb; skb = q.dequeue()) {
    let r: number;
    try {
      r = xmitOne(ns, skb, dev);
    } catch (e) {
      dev.stats.txErrors++;
      netWarn(ns, `${dev.name}: transmit failed`, e);
      continue;
    }
    if (r === NETDEV_TX_BUSY) {
      q.requeue(skb);
      return; // netif_wake_queue restarts us
    }
  }
}

/**
 * dev_queue_xmit: send `skb` (data at the link-layer header) on skb.dev. A device with a
 * queue enqueues into pfifo_fast and runs it; loopback (noqueue) transmits directly.
 * NET_XMIT_SUCCESS, NET_XMIT_DROP (queue full), or -ENETDOWN.
 */
export function devQueueXmit(skb: SkBuff): number {
  const dev = skb.dev;
  const ns = dev?.ns;
  if (!dev || !ns) return -E.ENODEV;
  if (!dev.isUp) {
    dev.stats.txDropped++;
    return -E.ENETDOWN;
  }
  const q = dev.qdisc;
  if (q instanceof PfifoFast) {
    if (!q.enqueue(skb)) {
      dev.stats.txDropped++;
      return NET_XMIT_DROP;
    }
    qdiscRun(ns, dev, q);
    return NET_XMIT_SUCCESS;
  }
  // noqueue (lo): straight to the driver.
  try {
    const r = xmitOne(ns, skb, dev);
    if (r !== NETDEV_TX_OK) {
      dev.stats.txDropped++;
      return NET_XMIT_DROP;
    }
  } catch (e) {
    dev.stats.txErrors++;
    netWarn(ns, `${dev.name}: transmit failed`, e);
    return NET_XMIT_DROP;
  }
  return NET_XMIT_SUCCESS;
}

// ---- receive ----

/** struct softnet_data: the one "CPU"'s receive state. */
interface SoftnetData {
  /** NAPI instances with work (poll_list). */
  pollList: Napi[];
  /** input_pkt_queue of netif_rx. */
  backlog: SkBuff[];
  backlogHead: number;
  /** net_rx_action is running (in_softirq). */
  running: boolean;
  /** A continuation is scheduled at setImmediate (ksoftirqd woken). */
  deferred: boolean;
  /** /proc/net/softnet_stat: processed, dropped, time_squeeze. */
  processed: number;
  dropped: number;
  timeSqueeze: number;
}

export const softnet: SoftnetData = {
  pollList: [],
  backlog: [],
  backlogHead: 0,
  running: false,
  deferred: false,
  processed: 0,
  dropped: 0,
  timeSqueeze: 0,
};

/** process_backlog: the netif_rx queue polled like a NAPI device. */
const backlogNapi: Napi = {
  dev: null as unknown as NetDevice,
  weight: NAPI_POLL_WEIGHT,
  poll(budget: number): number {
    let n = 0;
    const sd = softnet;
    while (n < budget && sd.backlogHead < sd.backlog.length) {
      const skb = sd.backlog[sd.backlogHead]!;
      sd.backlog[sd.backlogHead++] = undefined as unknown as SkBuff;
      n++;
      netifReceiveSkb(skb);
    }
    if (sd.backlogHead === sd.backlog.length) {
      sd.backlog.length = 0;
      sd.backlogHead = 0;
    } else if (sd.backlogHead > 4096) {
      sd.backlog.splice(0, sd.backlogHead);
      sd.backlogHead = 0;
    }
    return n;
  },
};

/**
 * napi_schedule: put the poller on the poll list and, unless net_rx_action is already
 * running (this is its own doing), run it now, as the softirq runs on interrupt exit.
 */
export function napiSchedule(napi: Napi): void {
  if (napi.disabled) return;
  if (!napi.scheduled) {
    napi.scheduled = true;
    softnet.pollList.push(napi);
  }
  if (!softnet.running && !softnet.deferred) netRxAction();
}

/** napi_disable / napi_enable (ndo_stop / ndo_open of a NAPI driver). */
export function napiDisable(napi: Napi): void {
  napi.disabled = true;
  if (napi.scheduled) {
    napi.scheduled = false;
    const i = softnet.pollList.indexOf(napi);
    if (i >= 0) softnet.pollList.splice(i, 1);
  }
}

export function napiEnable(napi: Napi): void {
  napi.disabled = false;
}

/**
 * netif_rx: queue a received frame (data at the network header, skb.protocol and skb.dev set,
 * as after eth_type_trans) for net_rx_action. Over netdev_max_backlog it is dropped.
 */
export function netifRx(skb: SkBuff): number {
  const sd = softnet;
  if (sd.backlog.length - sd.backlogHead >= NETDEV_MAX_BACKLOG) {
    sd.dropped++;
    if (skb.dev) skb.dev.stats.rxDropped++;
    return NET_RX_DROP;
  }
  sd.backlog.push(skb);
  if (!backlogNapi.scheduled) {
    backlogNapi.scheduled = true;
    sd.pollList.push(backlogNapi);
  }
  if (!sd.running && !sd.deferred) netRxAction();
  return NET_RX_SUCCESS;
}

/**
 * net_rx_action: poll the scheduled devices round-robin, each for at most its weight per
 * turn, until netdev_budget frames are done; what is left continues at setImmediate.
 */
export function netRxAction(): void {
  const sd = softnet;
  if (sd.running) return;
  sd.running = true;
  sd.deferred = false;
  let budget = NETDEV_BUDGET;
  try {
    while (sd.pollList.length > 0 && budget > 0) {
      const napi = sd.pollList.shift()!;
      const weight = Math.min(napi.weight, budget);
      let work = 0;
      try {
        work = napi.disabled ? 0 : napi.poll(weight);
      } catch (e) {
        // A driver bug must not take the machine down: drop what it had and go on.
        const ns = napi.dev?.ns;
        if (ns) netWarn(ns, `net_rx_action: ${napi.dev.name} poll failed`, e);
        work = 0;
      }
      budget -= work;
      if (work >= weight && !napi.disabled) sd.pollList.push(napi);
      else napi.scheduled = false;
    }
  } finally {
    sd.running = false;
  }
  if (sd.pollList.length > 0) {
    sd.timeSqueeze++;
    sd.deferred = true;
    setImmediate(netRxAction);
  }
}

/** Protocol handlers (ptype_base) that several entries match get copies, the last the original. */
function deliverBase(ns: NetNs, skb: SkBuff, dev: NetDevice): boolean {
  let found: PacketType | null = null;
  for (const pt of ns.ptypeBase) {
    if (pt.type !== skb.protocol || (pt.dev && pt.dev !== dev)) continue;
    if (found) found.func(skb.copy(), dev);
    found = pt;
  }
  if (!found) return false;
  found.func(skb, dev);
  return true;
}

/**
 * __netif_receive_skb: a received frame (data at the network header, protocol set) goes to
 * every ETH_P_ALL tap (a copy each), then to the handler of its EtherType. Nothing thrown
 * by a handler escapes: the frame is dropped and the fault logged.
 */
export function netifReceiveSkb(skb: SkBuff): number {
  const dev = skb.dev;
  const ns = dev?.ns;
  if (!dev || !ns) return NET_RX_DROP;
  softnet.processed++;
  if (skb.networkHeader < 0) skb.networkHeader = skb.data;
  try {
    for (const pt of ns.ptypeAll) {
      if (pt.dev && pt.dev !== dev) continue;
      pt.func(skb.copy(), dev);
    }
    if (deliverBase(ns, skb, dev)) return NET_RX_SUCCESS;
    // No handler (an EtherType nobody speaks, IPv6 here): rx_nohandler, not an error.
    return NET_RX_DROP;
  } catch (e) {
    dev.stats.rxDropped++;
    netWarn(ns, `${dev.name}: dropped a received frame`, e);
    return NET_RX_DROP;
  }
}

function errText(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
}

/**
 * Where a namespace reports a fault of the stack itself (a handler that threw): the guest
 * kernel's kernel.warn, which the host's stderr shows once per message; the namespace's log
 * otherwise. Set by net/init.ts for init_net.
 */
export const netWarnHooks = new WeakMap<NetNs, (msg: string) => void>();

/** WARN_ONCE-style report of a stack fault: one line to the warning channel, the stack to the log. */
export function netWarn(ns: NetNs, what: string, e: unknown): void {
  const first = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const warn = netWarnHooks.get(ns);
  if (warn) warn(`net: ${what}: ${first}`);
  ns.env.log(`net: ${what}: ${errText(e)}`);
}
