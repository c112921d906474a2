#!/usr/bin/env node
// The labvisor command. Runs the TypeScript sources directly (no build step) through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
