/**
 * A console viewer for tests and benchmarks: a WebSocket to `/v1/vms/{id}/console` that sends
 * keystrokes as binary frames and resizes as JSON text frames, and waits, expect(1) style, for
 * patterns in what the guest printed (tests/support/console-text.ts).
 */
import WebSocket from 'ws';
import { ConsoleText } from '../support/console-text.js';

export class ConsoleClient extends ConsoleText {
  private constructor(readonly ws: WebSocket) {
    super();
    ws.on('message', (data, isBinary) => {
      if (isBinary) this.push(new Uint8Array(data as Buffer)); // text frames are JSON control (state changes)
    });
    ws.on('close', () => this.end());
  }

  static open(url: string, token: string): Promise<ConsoleClient> {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new ConsoleClient(ws)));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`console upgrade answered ${res.statusCode}`)));
    });
  }

  send(text: string): void {
    this.ws.send(Buffer.from(text, 'utf8'), { binary: true });
  }

  resize(cols: number, rows: number): void {
    this.ws.send(JSON.stringify({ type: 'resize', cols, rows }));
  }

  close(): void {
    this.ws.close();
  }
}
