/**
 * Client of the server's test hooks for networks, which `labvisor serve` registers only when
 * started with LABVISOR_TEST_HOOKS=1 in its environment (never in production; the routes are
 * not in openapi.yaml and answer 404 otherwise). Proposed by the network tests (issue 6):
 *
 *   PUT /v1/networks/{id}/test/loss   {vm, nic?=0, fraction, seed?=1, direction?='both'}
 *       → 200 {port}: SwitchPort.setLoss(fraction, seed, direction) on the switch port of that
 *         machine's NIC (the port must be attached: the machine is running). fraction 0 = off.
 *   GET /v1/networks/{id}/test/ports
 *       → 200 {items: [{name, index, stats: PortStats}]}: every attached port's counters.
 *   GET /v1/networks/{id}/test/inject (WebSocket upgrade, Bearer auth like the console)
 *       → attaches a port named "test-inject" to the network's switch for the life of the
 *         socket and says so first with a text message {"type":"attached","port":"test-inject"};
 *         then each binary message is one Ethernet frame given to port.input() (checked,
 *         learned, captured, forwarded like a guest's), and frames the switch sends to the port
 *         come back as binary messages. The port is removed when the socket closes.
 *         (The confirmation matters: the server accepts a WebSocket upgrade on any path and
 *         only then answers an unknown one, so an open socket alone proves nothing.)
 */
import WebSocket from 'ws';

export interface PortStatsView {
  rxFrames: number;
  rxBytes: number;
  rxForwarded: number;
  rxFlooded: number;
  rxFiltered: number;
  rxDropped: { runt: number; oversize: number; badSource: number; loss: number };
  txFrames: number;
  txBytes: number;
  txDropped: { queueFull: number; loss: number };
}

export class NetHooks {
  constructor(
    readonly url: string,
    readonly token: string,
  ) {}

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const r = await fetch(this.url + path, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    if (!r.ok)
      throw new Error(
        `${method} ${path} answered ${r.status} (is the server started with LABVISOR_TEST_HOOKS=1?): ${text}`,
      );
    return text ? JSON.parse(text) : null;
  }

  /** Drops `fraction` of the frames through the switch port of `vm`'s NIC `nic` on `network`. */
  async setLoss(
    network: string,
    vm: string,
    fraction: number,
    opts: { nic?: number; seed?: number; direction?: 'rx' | 'tx' | 'both' } = {},
  ): Promise<void> {
    await this.call('PUT', `/v1/networks/${network}/test/loss`, { vm, fraction, ...opts });
  }

  async ports(network: string): Promise<Array<{ name: string; index: number; stats: PortStatsView }>> {
    const r = (await this.call('GET', `/v1/networks/${network}/test/ports`)) as {
      items: Array<{ name: string; index: number; stats: PortStatsView }>;
    };
    return r.items;
  }

  /** A port of our own on the network's switch. */
  inject(network: string): Promise<InjectPort> {
    const ws = new WebSocket(`${this.url.replace(/^http/, 'ws')}/v1/networks/${network}/test/inject`, {
      headers: { authorization: `Bearer ${this.token}` },
      // A server without the hooks may never answer the upgrade: fail in seconds, not at the test's timeout.
      handshakeTimeout: 15_000,
    });
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        ws.terminate();
        reject(new Error(`test/inject: ${why} (is the server started with LABVISOR_TEST_HOOKS=1?)`));
      };
      const timer = setTimeout(() => fail('no {"type":"attached"} message within 10 s of opening'), 10_000);
      ws.once('open', () => {
        ws.once('message', (data, isBinary) => {
          let m: { type?: string } = {};
          try {
            m = isBinary ? {} : (JSON.parse(String(data)) as { type?: string });
          } catch {
            // not JSON: not the hook
          }
          if (m.type !== 'attached')
            return fail(`the first message was not {"type":"attached"}: ${String(data).slice(0, 200)}`);
          clearTimeout(timer);
          resolve(new InjectPort(ws));
        });
      });
      ws.once('close', (code, reason) =>
        fail(`the socket closed (${code} ${reason.toString()}) before the port was attached`),
      );
      ws.once('error', (e) => fail(e.message));
      ws.once('unexpected-response', (req, res) => {
        req.destroy();
        fail(`the upgrade was answered ${res.statusCode}`);
      });
    });
  }
}

export class InjectPort {
  /** Frames the switch delivered to this port. */
  received = 0;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (_d, isBinary) => {
      if (isBinary) this.received++;
    });
  }

  send(frame: Uint8Array): void {
    if (this.ws.readyState !== WebSocket.OPEN) throw new Error('test/inject: the socket is not open any more');
    this.ws.send(frame, { binary: true });
  }

  /** Resolves once everything sent so far has left our socket buffer. */
  async flush(): Promise<void> {
    while (this.ws.bufferedAmount > 0) {
      if (this.ws.readyState !== WebSocket.OPEN) throw new Error('test/inject: the socket closed with frames unsent');
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  close(): void {
    this.ws.close();
  }
}
