// Lint: the recommended JS and typescript-eslint rules, plus the habits of STYLE.md that a
// linter can hold: no `any` in lib/, `import type` for types, `node:` prefixes, and no real clock
// or randomness inside the pure layers (they take Clock and Prng as inputs).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const pureLayers = [
  'lib/base/**/*.ts', 'lib/raft/core/**/*.ts', 'lib/sim/**/*.ts', 'lib/records/**/*.ts', 'lib/kafka/**/*.ts',
  // lib/metadata is P+IO: its pure files are listed one by one.
  'lib/metadata/records.ts', 'lib/metadata/image.ts', 'lib/metadata/delta.ts', 'lib/metadata/snapshot.ts',
  'lib/metadata/placement.ts', 'lib/metadata/topics.ts',
  // lib/broker is IO; its producer-state rules are pure (every replica must compute the same).
  'lib/broker/producer-state.ts',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', '.flotilla/**', 'docs/api/**'] },
  js.configs.recommended,
  { languageOptions: { globals: { ...globals.node } } },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', {
        patterns: [{ regex: '^(fs|net|path|os|crypto|events|child_process|http|util|assert|stream|timers)(/.*)?$', message: 'use the node: prefix' }],
      }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    files: ['lib/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'error' },
  },
  {
    files: ['spec/**/*.ts', 'scripts/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-unused-expressions': 'off' },
  },
  {
    files: pureLayers,
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ regex: '^(node:)?(fs|net|dgram|child_process|http|https|timers|worker_threads)(/.*)?$', message: 'pure layer: no I/O or timers' }],
      }],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'pure layer: take a Clock' },
        { object: 'Math', property: 'random', message: 'pure layer: take a Prng' },
        { object: 'performance', property: 'now', message: 'pure layer: take a Clock' },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'process'],
    },
  },
);
