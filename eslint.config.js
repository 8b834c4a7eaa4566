// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layering from './scripts/lint/folder-direction.js';

// Machines are pure statecharts: every side effect is a named slot filled by adapters/.
const ioModules = [
  'pg', 'pg-protocol', 'bullmq', 'ioredis', '@kubernetes/client-node', 'pino', 'prom-client',
  'node:*', 'fs', 'child_process', 'net', 'http', 'https', 'os', 'crypto', 'timers',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'chart/**', 'tests/k8s/bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Folders depend one way; a cycle between folders fails here (tests/unit/layering.test.ts plants one).
    files: ['**/*.ts'],
    plugins: { layering },
    rules: { 'layering/folder-direction': 'error' },
  },
  {
    files: ['machines/**/*.ts'],
    ignores: ['machines/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ioModules, message: 'machines/ must stay pure: declare the effect as a named slot in setup() and provide it from adapters/.' },
          { group: ['../../adapters/**', '../../actors/**', '../../instance/**', '../../bin/**', '../../../*/**'], message: 'machines/ may import only xstate, crds/ types and machines/shared.' },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'Date', message: 'machines/ must not read the clock: pass time in events.' },
        { name: 'setTimeout', message: 'use XState delays or an invoked timer slot.' },
        { name: 'fetch', message: 'machines/ must not do I/O.' },
        { name: 'process', message: 'machines/ must not read the environment.' },
      ],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'machines/ must be deterministic.' }],
    },
  },
);
