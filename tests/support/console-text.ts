/**
 * What a console printed, for expect(1)-style waits in tests: bytes are appended as they arrive
 * (latin1, CR LF turned into LF), and each expect() looks only at the text after the previous
 * match. Long outputs are cut to their last 64 KiB so a guest printing without end cannot grow it.
 */
const KEEP = 65536;

export class ConsoleText {
  private text = '';
  /** Where the next expect() starts looking. */
  private cursor = 0;
  private waiters: Array<() => void> = [];
  private ended = false;

  push(data: Uint8Array | string): void {
    this.text += (typeof data === 'string' ? data : Buffer.from(data).toString('latin1')).replace(/\r\n/g, '\n');
    if (this.text.length > 16 * KEEP) {
      this.cursor = Math.max(0, this.cursor - (this.text.length - KEEP));
      this.text = this.text.slice(-KEEP);
    }
    this.wake();
  }

  /** No more output will come (the socket closed): waits fail at once instead of timing out. */
  end(): void {
    this.ended = true;
    this.wake();
  }

  /** The last `n` characters, for error messages. */
  tail(n = 400): string {
    return this.text.slice(-n);
  }

  /** Waits until `re` matches the text after the last match; resolves with the match. */
  async expect(re: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.text.slice(this.cursor);
      const m = re.exec(rest);
      if (m) {
        this.cursor += m.index + m[0].length;
        return m;
      }
      if (this.ended) throw new Error(`console closed before ${re}; output since the last match:\n${rest}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${re}; output since the last match:\n${rest.slice(-2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
