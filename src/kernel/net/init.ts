/**
 * Bringing the network stack up and down (net/core/net_namespace.c setup_net with the
 * pernet init of each protocol; inet_init for the protocol switch; the NIC drivers' probe
 * at device init). A namespace starts with `lo` up and 127.0.0.1/8, empty routing tables
 * apart from lo's, and the ARP table; the kernel's (init_net) gets one `eth<N>` per NIC,
 * down until init configures it (ifup, udhcpc), as on Linux.
 */
import type { Kernel } from '../kernel.js';
import type { NicDevice } from '../../machine/dev/nic.js';
import { NetNs, type NetEnv } from './netns.js';
import { loopbackNetInit } from './core/loopback.js';
import { netWarnHooks, unregisterNetdevice } from './core/dev.js';
import type { NetDevice } from './core/netdevice.js';
import { netProcfsInit } from './core/net-procfs.js';
import { fibNetInit } from './ipv4/fib.js';
import { arpNetInit } from './ipv4/arp.js';
import { inetAddAddr } from './ipv4/devinet.js';
import { ipNetInit } from './ipv4/ip_input.js';
import { icmpInit } from './ipv4/icmp.js';
import { ipFragExit } from './ipv4/ip_fragment.js';
import { INADDR_LOOPBACK } from './ipv4/inet_addr.js';
import { labnicProbe } from '../drivers/net/labnic.js';

/** Namespaces still running (netExit is idempotent). */
const live = new WeakSet<NetNs>();

/** setup_net for a new namespace: tables, handlers, `lo` up with 127.0.0.1/8. */
export function createNetNs(env: NetEnv): NetNs {
  // inet_init: the protocol switch entries that are the stack's own (ICMP); TCP and UDP
  // register themselves when af_inet loads.
  icmpInit();
  netProcfsInit();
  const ns = new NetNs(env);
  fibNetInit(ns);
  arpNetInit(ns);
  ipNetInit(ns);
  const lo = loopbackNetInit(ns);
  const r = inetAddAddr(ns, lo, { address: INADDR_LOOPBACK, prefixLen: 8 });
  if (r < 0) env.log(`lo: adding 127.0.0.1/8 failed (${r})`);
  live.add(ns);
  return ns;
}

/** The kernel's surroundings as a NetEnv: its clock, the host's random generator, printk. */
export function kernelNetEnv(kernel: Kernel): NetEnv {
  const word = new Uint32Array(1);
  return {
    nowNs: () => kernel.clock.monotonicNs(),
    realtimeNs: () => kernel.clock.realtimeNs(),
    // get_random_u32: the same source getrandom(2) uses (sys/random.ts).
    random32: () => crypto.getRandomValues(word)[0]!,
    log: (msg) => kernel.log(msg),
  };
}

/**
 * net_dev_init + the NIC probes for the kernel: init_net with `lo`, then eth0, eth1 … for
 * the machine's NICs (labnic), set as kernel.net.
 */
export function netInit(kernel: Kernel, nics: NicDevice[]): NetNs {
  const ns = createNetNs(kernelNetEnv(kernel));
  kernel.net = ns;
  // A fault of the stack (a receive handler that threw) is a kernel bug the user should see.
  netWarnHooks.set(ns, (msg) => kernel.warn(msg));
  kernel.log('NET: Registered PF_INET protocol family');
  nics.forEach((nic, i) => {
    const dev = labnicProbe(ns, nic, `eth${i}`);
    const mac = [...dev.addr].map((b) => b.toString(16).padStart(2, '0')).join(':');
    kernel.log(`labnic ${dev.name}: registered, MAC ${mac}, MTU ${dev.mtu}`);
  });
  return ns;
}

/**
 * cleanup_net: every device down and gone (drivers stop, routes and neighbours flushed),
 * reassembly queues dropped, and every timer cancelled so nothing keeps the process alive.
 */
export function netExit(ns: NetNs): void {
  if (!live.has(ns)) return;
  live.delete(ns);
  // Highest ifindex first, lo last (unregister_netdevice_many in reverse of registration).
  const devs: NetDevice[] = [...ns.devices.values()].sort((a, b) => b.ifindex - a.ifindex);
  for (const d of devs) {
    try {
      unregisterNetdevice(d);
    } catch (e) {
      ns.env.log(`netExit: ${d.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  ipFragExit(ns);
  ns.arp?.shutdown();
  ns.timers.shutdown();
}
