/**
 * lock_sock / release_sock for this single-threaded stack. Linux never processes a received
 * segment for a socket while the socket is in the middle of an operation: process context
 * holds the socket lock (segments wait in the backlog until release_sock), and softirq
 * receive processing never nests inside itself. Here a transmit on loopback (or any device
 * that receives synchronously) would run net_rx_action at once, inside tcp_write_xmit before
 * snd_nxt moved, and the ACK of that very segment would be judged "ACK of unsent data".
 *
 * So every TCP entry point that does not come from the receive path runs with the receive
 * softirq held off (local_bh_disable: softnet marked running, frames just queue), and the
 * queue is processed when the operation is complete (local_bh_enable / release_sock).
 */
import { netRxAction, softnet } from '../core/dev.js';

export function tcpLocked<T>(fn: () => T): T {
  // Already inside net_rx_action (or an outer TCP operation): nothing can nest.
  if (softnet.running) return fn();
  softnet.running = true;
  let r: T;
  try {
    r = fn();
  } finally {
    softnet.running = false;
  }
  if (softnet.pollList.length > 0 && !softnet.deferred) netRxAction();
  return r;
}
