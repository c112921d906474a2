// ESLint flat config: @eslint/js + typescript-eslint recommended, tuned for kernel/emulator code
// (bit operations everywhere, `for (;;)` run loops, explicit `any` only where a guest value is untyped).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// Node globals for the few plain .js files (bin/, configs). TypeScript files are checked by tsc instead.
const nodeGlobals = Object.fromEntries(
  [
    'process',
    'console',
    'Buffer',
    'URL',
    'URLSearchParams',
    'TextEncoder',
    'TextDecoder',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'clearImmediate',
    'queueMicrotask',
    'structuredClone',
    'SharedArrayBuffer',
    'Atomics',
    'globalThis',
  ].map((name) => [name, 'readonly']),
);

// Browser globals for the web UI's plain ES modules.
const browserGlobals = Object.fromEntries(
  [
    'window',
    'document',
    'navigator',
    'location',
    'localStorage',
    'fetch',
    'WebSocket',
    'XMLHttpRequest',
    'ResizeObserver',
    'IntersectionObserver',
    'requestAnimationFrame',
    'console',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'TextEncoder',
    'TextDecoder',
    'URL',
    'URLSearchParams',
  ].map((name) => [name, 'readonly']),
);

export default defineConfig(
  { ignores: ['build/', 'dist/', 'node_modules/', 'coverage/', 'src/generated/', 'data/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: nodeGlobals },
    linterOptions: { reportUnusedDisableDirectives: 'warn' },
    rules: {
      // Emulator and kernel code is made of shifts, masks and `x | 0` coercions.
      'no-bitwise': 'off',
      // `while (true)` / `for (;;)` run loops are fine; a constant `if` is still a mistake.
      'no-constant-condition': ['error', { checkLoops: false }],
      // Decoders switch on opcodes with fallthrough groups and local declarations in cases.
      'no-case-declarations': 'off',
      'no-fallthrough': 'error',
      // Sign-extension idioms such as `(x << 20) >> 20` and control-character regexes are intentional.
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-explicit-any': 'warn',
      // Classes that are namespaces of hardware constants or declaration merging with interfaces are used.
      '@typescript-eslint/no-unsafe-declaration-merging': 'off',
      '@typescript-eslint/no-this-alias': 'off',
    },
  },
  // The web UI (public/) runs in the browser, not in Node.
  {
    files: ['public/**/*.js'],
    languageOptions: { globals: browserGlobals },
  },
);
