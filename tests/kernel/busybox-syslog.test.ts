// busybox syslogd and logger talk over an AF_UNIX datagram socket bound at /dev/log. Checked under
// labvisor only: under qemu-user the same script would bind the host's /dev/log.
import { describe, expect, it } from 'vitest';
import { BUSYBOX, labvisorAvailable, LABVISOR_CLI, runLabvisor } from './run.js';

const script = [
  'busybox syslogd -n -O /tmp/messages &',
  'i=0; until [ -S /dev/log ] || [ $i -gt 100 ]; do busybox sleep 0.05; i=$((i+1)); done',
  'busybox logger -t labvisor hello-from-logger',
  'i=0; until busybox grep -q hello-from-logger /tmp/messages 2>/dev/null || [ $i -gt 100 ]; do busybox sleep 0.05; i=$((i+1)); done',
  'busybox cat /tmp/messages',
  'busybox grep -c " /dev/log$" /proc/net/unix',
  'kill $!',
].join('\n');

describe('busybox syslogd + logger over AF_UNIX (labvisor exec)', () => {
  it(
    'logger reaches syslogd through /dev/log and the socket shows in /proc/net/unix',
    { timeout: 60_000 },
    async () => {
      expect(labvisorAvailable(), `${LABVISOR_CLI} is missing`).toBe(true);
      const r = await runLabvisor(BUSYBOX, ['sh', '-c', script], { timeoutMs: 50_000 });
      expect(r.status, r.stderr.toString()).toBe(0);
      const out = r.stdout.toString();
      expect(out).toMatch(/syslog\.info syslogd started: BusyBox/);
      expect(out).toMatch(/user\.notice labvisor: hello-from-logger/);
      expect(out.trimEnd().split('\n').pop()).toBe('1');
    },
  );
});
