/**
 * The host's own presence on a network: a network namespace of the kernel's TCP/IP stack (the
 * same TypeScript code the guests run), with one Ethernet device whose "wire" is a port of the
 * network's switch. It holds the gateway address, so guests can ARP for it and ping it, and the
 * host's services (DHCP, DNS, port forwarding) are ordinary sockets on it — as a Linux host with
 * dnsmasq on a bridge would have them, only with the bridge's host side being our stack.
 *
 * Wiring: the labnic driver (kernel/drivers/net/labnic.ts) runs over a NicDevice, as in a guest;
 * the NicDevice's transmitted frames enter the switch through the port, and frames the switch
 * queues for the port are delivered to the NicDevice's receive ring. A dequeued frame is shared
 * (a flood puts one object on several ports) and the stack parses received frames in place, so
 * each one is copied on its way in, as the worker transport copies into a guest.
 */
import { getRandomValues } from 'node:crypto';
import { labnicProbe } from '../../kernel/drivers/net/labnic.js';
import { devChangeFlags } from '../../kernel/net/core/dev.js';
import { IFF_UP, type NetDevice } from '../../kernel/net/core/netdevice.js';
import { createNetNs, netExit } from '../../kernel/net/init.js';
import { inetAddAddr } from '../../kernel/net/ipv4/devinet.js';
import type { NetEnv, NetNs } from '../../kernel/net/netns.js';
import { NicDevice } from '../../machine/dev/nic.js';
import type { Switch, SwitchPort } from '../switch.js';

/** What the host gives a namespace of its own: its clocks, its randomness, its log. */
export function hostNetEnv(log: (msg: string) => void): NetEnv {
  const word = new Uint32Array(1);
  // performance.now() is monotonic (CLOCK_MONOTONIC's role); its origin is this process's start.
  return {
    nowNs: () => Math.round(performance.now() * 1e6),
    realtimeNs: () => Date.now() * 1e6,
    random32: () => getRandomValues(word)[0]!,
    log,
  };
}

export interface HostStackOptions {
  /** The host's MAC on the network (a stable locally administered address). */
  mac: Uint8Array;
  /** The gateway address (host order) and the network's prefix length. */
  address: number;
  prefixLen: number;
  env: NetEnv;
  /** The device name inside the namespace and the port's name (default "gw"). */
  name?: string;
}

export class HostStack {
  readonly ns: NetNs;
  readonly dev: NetDevice;
  readonly nic: NicDevice;
  readonly port: SwitchPort;
  readonly address: number;
  readonly prefixLen: number;
  private closed = false;
  private readonly closeHooks = new Set<() => void>();

  constructor(
    private readonly sw: Switch,
    opts: HostStackOptions,
  ) {
    this.address = opts.address >>> 0;
    this.prefixLen = opts.prefixLen;
    const name = opts.name ?? 'gw';
    this.ns = createNetNs(opts.env);
    // Frames from the host stack enter the switch as a guest's would; a frame the switch queues
    // for us is copied into the NIC's receive ring (see the file comment).
    this.port = sw.addPort({
      name: `${name} (host)`,
      onEgress: (p) => {
        for (let f = p.dequeue(); f !== null; f = p.dequeue()) this.nic.deliver(f.slice());
      },
    });
    this.nic = new NicDevice(opts.mac, (frames) => {
      if (this.closed) return;
      for (const f of frames) this.port.input(f);
    });
    this.dev = labnicProbe(this.ns, this.nic, name);
    let r = devChangeFlags(this.dev, this.dev.flags | IFF_UP);
    if (r < 0) throw new Error(`host stack: bringing ${name} up failed (errno ${-r})`);
    // inet_rtm_newaddr: the address, its broadcast, the local and prefix routes.
    r = inetAddAddr(this.ns, this.dev, { address: this.address, prefixLen: this.prefixLen });
    if (r < 0) throw new Error(`host stack: adding the gateway address failed (errno ${-r})`);
  }

  get ifindex(): number {
    return this.dev.ifindex;
  }

  /**
   * Runs `fn` when the stack closes (before the namespace stops, so a user such as a forwarded
   * connection can still reset its peer). Returns the function that cancels it.
   */
  onClose(fn: () => void): () => void {
    this.closeHooks.add(fn);
    return () => void this.closeHooks.delete(fn);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Leaves the switch and stops the namespace (every timer cancelled, the device down). */
  close(): void {
    if (this.closed) return;
    for (const fn of [...this.closeHooks]) fn();
    this.closeHooks.clear();
    // The users' last frames (RSTs) are batched by the NIC for the next turn: send them now.
    this.nic.flush();
    this.closed = true;
    this.sw.removePort(this.port);
    netExit(this.ns);
  }
}
