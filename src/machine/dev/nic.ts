/**
 * The machine's network card: Ethernet frames in and out, and a MAC address. It knows
 * nothing of the kernel (the driver in kernel/drivers/net/ polls it) or of the host (the
 * worker connects `transmit`'s batches and `deliver` to the switch).
 *
 * Receive: frames the host delivers wait in a ring of RX_RING frames; when it is full, a
 * new frame is dropped and counted (rx_fifo_errors), as a NIC whose descriptors are all
 * in use. `onInterrupt` (set by the driver) runs when the ring goes from empty to non-empty.
 * Transmit: frames are copied once into their own buffers and posted in batches at the next
 * turn of the event loop (or when TX_BATCH frames are waiting).
 */
export const RX_RING = 1024;
export const TX_BATCH = 256;

export class NicDevice {
  private readonly rx: Uint8Array[] = [];
  private rxHead = 0;
  private txBatch: Uint8Array[] = [];
  private txScheduled = false;
  /** Frames dropped because the receive ring was full. */
  rxFifoErrors = 0;
  /** The driver's interrupt handler (napi_schedule). */
  onInterrupt: (() => void) | null = null;

  constructor(
    /** The 6-byte MAC address (from the NIC record). */
    readonly mac: Uint8Array,
    /** Where transmitted frames go (the worker posts them to the host's switch port). */
    private readonly sendToWire: (frames: Uint8Array[]) => void,
  ) {}

  /** The host delivers a frame from the wire (the device now owns `frame`). */
  deliver(frame: Uint8Array): void {
    if (this.rx.length - this.rxHead >= RX_RING) {
      this.rxFifoErrors++;
      return;
    }
    const wasEmpty = this.rx.length === this.rxHead;
    this.rx.push(frame);
    if (wasEmpty) this.onInterrupt?.();
  }

  /** The driver takes the next received frame, or null when the ring is empty. */
  receive(): Uint8Array | null {
    if (this.rxHead === this.rx.length) return null;
    const f = this.rx[this.rxHead]!;
    this.rx[this.rxHead++] = undefined as unknown as Uint8Array;
    if (this.rxHead === this.rx.length) {
      this.rx.length = 0;
      this.rxHead = 0;
    } else if (this.rxHead > 4096) {
      this.rx.splice(0, this.rxHead);
      this.rxHead = 0;
    }
    return f;
  }

  /** Frames waiting in the receive ring. */
  get rxPending(): number {
    return this.rx.length - this.rxHead;
  }

  /** Put a frame on the wire: copied now (the caller keeps its buffer), sent with the next batch. */
  transmit(frame: Uint8Array): void {
    this.txBatch.push(frame.slice());
    if (this.txBatch.length >= TX_BATCH) this.flush();
    else if (!this.txScheduled) {
      this.txScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Send what is batched now. */
  flush(): void {
    this.txScheduled = false;
    if (this.txBatch.length === 0) return;
    const b = this.txBatch;
    this.txBatch = [];
    this.sendToWire(b);
  }
}
