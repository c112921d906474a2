/**
 * Where a worker_thread's code is: the compiled worker when this code runs from dist/ (npm run
 * build); from the TypeScript sources, a small module (a data: URL) that registers tsx inside
 * the worker, as bin/labvisor.js does for the main thread, and then loads the TypeScript worker.
 * Shared by `labvisor run`/`exec` (cli.ts), the server's machines (machine-process.ts) and the
 * image store's build/check jobs (image-store.ts).
 */
export function workerUrl(name: 'machine-worker' | 'image-worker'): URL {
  if (!import.meta.url.endsWith('.ts')) return new URL(`../worker/${name}.js`, import.meta.url);
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL(`../worker/${name}.ts`, import.meta.url).href;
  const code = `import { register } from ${JSON.stringify(tsx)};\nregister();\nawait import(${JSON.stringify(entry)});\n`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

export const MACHINE_WORKER: URL = workerUrl('machine-worker');
