/**
 * The default queueing discipline (net/sched/sch_generic.c, pfifo_fast): three FIFO bands
 * picked from skb.priority through prio2band; band 0 is always served first. The queue holds
 * at most dev.txQueueLen packets; beyond that a packet is dropped and counted
 * (qdisc_drop), as `tc -s qdisc` and the device's tx_dropped show.
 */
import type { SkBuff } from './skbuff.js';
import type { NetDevice } from './netdevice.js';

/** TC_PRIO_* → band (sch_generic.c prio2band): interactive traffic in band 0, bulk in band 2. */
export const PRIO2BAND = new Uint8Array([1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
export const TC_PRIO_MAX = 15;
const PFIFO_FAST_BANDS = 3;

export class PfifoFast {
  /** Per-band ring of packets (arrays used as queues with a head index). */
  private readonly bands: SkBuff[][] = [[], [], []];
  private readonly heads = [0, 0, 0];
  qlen = 0;
  /** struct gnet_stats_queue / gnet_stats_basic. */
  drops = 0;
  requeues = 0;
  overlimits = 0;
  packets = 0;
  bytes = 0;
  backlogBytes = 0;

  constructor(readonly dev: NetDevice) {}

  /** pfifo_fast_enqueue: false when the packet was dropped (queue full). */
  enqueue(skb: SkBuff): boolean {
    if (this.qlen >= Math.max(1, this.dev.txQueueLen)) {
      this.drops++;
      return false;
    }
    const band = PRIO2BAND[skb.priority & TC_PRIO_MAX]!;
    this.bands[band]!.push(skb);
    this.qlen++;
    this.backlogBytes += skb.len;
    return true;
  }

  /** pfifo_fast_dequeue: the head of the first non-empty band. */
  dequeue(): SkBuff | null {
    if (this.qlen === 0) return null;
    for (let band = 0; band < PFIFO_FAST_BANDS; band++) {
      const q = this.bands[band]!;
      const h = this.heads[band]!;
      if (h < q.length) {
        const skb = q[h]!;
        q[h] = undefined as unknown as SkBuff;
        if (h + 1 === q.length) {
          q.length = 0;
          this.heads[band] = 0;
        } else this.heads[band] = h + 1;
        this.qlen--;
        this.backlogBytes -= skb.len;
        this.packets++;
        this.bytes += skb.len;
        return skb;
      }
    }
    return null;
  }

  /** Put a packet back at the head of its band (dev_requeue_skb when the driver is busy). */
  requeue(skb: SkBuff): void {
    const band = PRIO2BAND[skb.priority & TC_PRIO_MAX]!;
    const q = this.bands[band]!;
    const h = this.heads[band]!;
    if (h > 0) {
      q[h - 1] = skb;
      this.heads[band] = h - 1;
    } else q.unshift(skb);
    this.qlen++;
    this.backlogBytes += skb.len;
    this.requeues++;
  }

  /** qdisc_reset: drop everything queued (the device went down). */
  reset(): number {
    const n = this.qlen;
    for (let band = 0; band < PFIFO_FAST_BANDS; band++) {
      this.bands[band]!.length = 0;
      this.heads[band] = 0;
    }
    this.qlen = 0;
    this.backlogBytes = 0;
    return n;
  }
}
