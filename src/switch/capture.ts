/**
 * Live captures on a switch: any number of pcap streams, each seeing every frame that enters
 * the switch from any port (or from one port), like tcpdump on every port of a bridge at once
 * in the receive direction, so each frame on the network appears exactly once.
 *
 * A capture ends when it is detached (finish: the reader gets the rest, then end of file),
 * when its reader goes away (the stream is destroyed, e.g. the HTTP client disconnected; the
 * tap is removed then so a dead capture costs nothing), or after `maxFrames` frames.
 * Frames are copied into the stream (pcap.ts); the switch keeps forwarding at full speed
 * whatever the reader does, since a lagging reader loses packets, counted in `dropped`.
 */
import { PcapStream, type PcapStreamOptions } from './pcap.js';
import type { FrameTap, Switch, SwitchPort } from './switch.js';

export interface CaptureOptions extends PcapStreamOptions {
  /** Only frames received from this port (default: all ports). */
  port?: SwitchPort;
  /** End the capture after this many frames (like tcpdump -c). */
  maxFrames?: number;
}

export class Capture {
  readonly stream: PcapStream;
  private readonly tap: FrameTap;
  private attached = true;

  constructor(
    private readonly sw: Switch,
    opts: CaptureOptions = {},
    /** Called once when the capture stops (CaptureSet forgets it then). */
    private readonly onDetach: ((c: Capture) => void) | null = null,
  ) {
    const only = opts.port ?? null;
    const max = opts.maxFrames ?? Infinity;
    if (!(max > 0)) throw new RangeError(`maxFrames must be positive, not ${max}`);
    this.stream = new PcapStream(opts);
    let seen = 0;
    this.tap = (frame, port) => {
      if (only !== null && port !== only) return;
      this.stream.writeFrame(frame);
      if (++seen >= max) this.detach();
    };
    sw.addTap(this.tap);
    // The reader went away (or the stream errored): stop tapping the switch.
    this.stream.once('close', () => this.detach());
  }

  /** Whether the capture is still receiving frames. */
  get active(): boolean {
    return this.attached;
  }

  /** Packets captured and packets lost because the reader lagged. */
  get packets(): number {
    return this.stream.packets;
  }
  get dropped(): number {
    return this.stream.dropped;
  }

  /** Stop capturing; what is buffered still reaches the reader, then the stream ends. */
  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    this.sw.removeTap(this.tap);
    this.stream.finish();
    this.onDetach?.(this);
  }
}

/** The captures of one switch, so a network can list them and end them all when it is deleted. */
export class CaptureSet {
  private readonly live = new Set<Capture>();

  constructor(private readonly sw: Switch) {}

  /** Start a capture; it removes itself from the set when it ends. */
  open(opts: CaptureOptions = {}): Capture {
    const c = new Capture(this.sw, opts, (done) => this.live.delete(done));
    this.live.add(c);
    return c;
  }

  get size(): number {
    return this.live.size;
  }

  /** End every capture (the network is going away). */
  closeAll(): void {
    for (const c of [...this.live]) c.detach();
    this.live.clear();
  }
}
