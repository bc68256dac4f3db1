// ESLint (flat config): typescript-eslint's recommended rules, plus the architecture's import
// boundaries — the pure folders (pipeline, config, classify) import no I/O, and protocol imports
// nothing from the rest of src.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const IO_MODULES = [
  'fs',
  'fs/promises',
  'child_process',
  'net',
  'http',
  'https',
  'http2',
  'dgram',
  'dns',
  'tls',
  'cluster',
  'worker_threads',
  'readline',
  'os',
  'process',
  'v8',
  'vm',
  'inspector',
];
const ioPatterns = IO_MODULES.flatMap((m) => [m, `node:${m}`]);
const IO_PACKAGES = [
  'better-sqlite3',
  'pg',
  'express',
  'dockerode',
  '@kubernetes/client-node',
  'pino',
  'prom-client',
  '@opentelemetry/*',
  'undici',
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.faultline/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        URLSearchParams: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        clearImmediate: 'readonly',
        queueMicrotask: 'readonly',
        structuredClone: 'readonly',
        fetch: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        document: 'readonly',
        window: 'readonly',
        location: 'readonly',
        history: 'readonly',
        EventSource: 'readonly',
        navigator: 'readonly',
        performance: 'readonly',
        Response: 'readonly',
        Request: 'readonly',
        Headers: 'readonly',
        localStorage: 'readonly',
        sessionStorage: 'readonly',
        HTMLElement: 'readonly',
        Event: 'readonly',
        CustomEvent: 'readonly',
        requestAnimationFrame: 'readonly',
        getComputedStyle: 'readonly',
        matchMedia: 'readonly',
        Node: 'readonly',
        NodeJS: 'readonly',
        CSS: 'readonly',
        globalThis: 'readonly',
        Blob: 'readonly',
        FormData: 'readonly',
        crypto: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-useless-assignment': 'off', // defensive initialisation before try/await is deliberate
      'no-control-regex': 'off', // ANSI and terminal-escape handling matches control characters on purpose
    },
  },
  {
    // The store is async (issue 15): a missing `await` is a Promise, and a Promise is truthy —
    // tsc does not see it, these type-aware rules do.
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/test/it return promises the runner itself awaits.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'test', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    // Tests and benches read JSON answers loosely on purpose.
    files: ['test/**', 'bench/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['src/pipeline/**', 'src/config/**', 'src/classify/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ioPatterns.map((name) => ({
            name,
            message: 'pure folder: no I/O imports (pass data in; do I/O in coordinator/runner/cli)',
          })),
          patterns: [
            { group: IO_PACKAGES, message: 'pure folder: no I/O packages' },
            {
              group: ['**/coordinator/**', '**/runner/**', '**/cli/**', '**/telemetry/**'],
              message: 'pure folder: no imports from I/O layers',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/protocol/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['../*', '!./*'], message: 'src/protocol imports nothing from the rest of src' }] },
      ],
    },
  },
);
