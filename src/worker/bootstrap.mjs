// Worker entry: register tsx so the TypeScript sources load without a build step (as
// bin/labvisor.js does for the main thread), then run the machine worker.
import { register } from 'tsx/esm/api';

register();
await import('./machine-worker.ts');
