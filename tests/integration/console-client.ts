/**
 * A console viewer for tests and benchmarks: a WebSocket to `/v1/vms/{id}/console` that sends
 * keystrokes as binary frames and resizes as JSON text frames, and waits, expect(1) style, for
 * patterns in what the guest printed (CR LF turned into LF; each wait looks after the last match).
 */
import WebSocket from 'ws';

/** A console viewer: raw bytes in, expect(1)-style waits on what the guest printed. */
export class ConsoleClient {
  private out = '';
  private cursor = 0;
  private wake: (() => void) | null = null;
  closed = false;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return; // JSON control frames (state changes)
      this.out += Buffer.from(data as Buffer)
        .toString('latin1')
        .replace(/\r\n/g, '\n');
      this.wake?.();
    });
    ws.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
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

  async expect(re: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.out.slice(this.cursor);
      const m = re.exec(rest);
      if (m) {
        this.cursor += m.index + m[0].length;
        return m;
      }
      if (this.closed) throw new Error(`console closed before ${re}; output:\n${rest}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${re}; output since last match:\n${rest}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  close(): void {
    this.ws.close();
  }
}
