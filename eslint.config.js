import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** `.../modules/<module>/<file>` from outside the modules: anything but that module's index.js. */
const INTERNALS_OF_A_MODULE = {
  regex: '/modules/[a-z-]+/(?!index\\.js$)[^/]+$',
  message: 'Import a module through its index.ts (its exports), not its internals.',
};
/** `../<module>/<file>` from inside a module. */
const INTERNALS_OF_ANOTHER_MODULE = {
  regex: '^\\.\\./[a-z-]+/(?!index\\.js$)[^/]+$',
  message: 'Import another module through its index.ts (its exports), not its internals.',
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'coverage/', '.sequelizerc'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', process: 'readonly', __dirname: 'readonly', console: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  // ---- Borders (docs/ARCHITECTURE.md) -------------------------------------------------
  {
    // Another module is reached through its index.ts: its exports, never its internals.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [INTERNALS_OF_A_MODULE] }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Only src/config/ reads the environment; take the value from the Config.' }],
    },
  },
  {
    files: ['src/modules/*/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [INTERNALS_OF_ANOTHER_MODULE] }] },
  },
  {
    files: ['src/config/**'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // The layers below the modules never depend on a module.
    files: ['src/{config,crypto,db,errors,http,infra,middleware,models,types}/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/modules/**'], message: 'This layer sits below the modules and must not import one.' }] }],
    },
  },
  {
    // The foundations (configuration, models, crypto, infrastructure clients) know nothing of HTTP or errors.
    files: ['src/{config,crypto,infra,models}/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/modules/**', '**/errors/**', '**/http/**', '**/middleware/**', '**/db/**'], message: 'A foundation layer: it must not import the layers built on it.' }] },
      ],
    },
  },
  {
    // A service holds the rules; HTTP stays in the route table.
    files: ['src/modules/**/*.service.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'express', message: 'Services never see req/res: take plain data, return plain data.' }],
          patterns: [INTERNALS_OF_ANOTHER_MODULE],
        },
      ],
    },
  },
  {
    // The reference SPA runs in a browser, as a plain module script.
    files: ['examples/spa/**/*.js'],
    languageOptions: { globals: { window: 'readonly', document: 'readonly', fetch: 'readonly', URL: 'readonly', URLSearchParams: 'readonly', navigator: 'readonly', PublicKeyCredential: 'readonly', WebSocket: 'readonly' } },
  },
  {
    // Development tools under examples/ run in Node and talk to the developer running them.
    files: ['examples/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: { 'no-console': 'off' },
  },
  {
    // Seeders talk to the developer running them.
    files: ['seeders/**'],
    rules: { 'no-console': 'off' },
  },
);
