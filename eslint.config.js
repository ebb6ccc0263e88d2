// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'data/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
      // Long lines hide code in review and side-by-side diffs. URLs, strings, template literals and
      // regular expressions may run on: breaking them would make them harder to read or search for.
      'max-len': ['error', { code: 160, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true }],
    },
  },
  {
    // Configuration is read once, in core/config.ts; everything else receives it.
    files: ['**/*.ts'],
    ignores: ['core/config.ts', 'test/**', 'bench/**', 'cli/main.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through core/config.ts.' }],
    },
  },
  {
    // DESIGN §2: a part reaches another through its index (or its contract), never its internals,
    // and devices-sim speaks only core. The composition root (cli/), bench/ and test/ may wire anything.
    files: ['api/**/*.ts', 'alerts/**/*.ts', 'reports/**/*.ts', 'ingest/**/*.ts', 'broker/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{
        group: ['**/alerts/notifiers/*', '**/alerts/incidents/*', '**/reports/hourly.js', '**/storage/embedded/*', '**/storage/influxdb/*'],
        message: "Import another part through its index.ts (DESIGN §2), not its internals.",
      }] }],
    },
  },
  {
    files: ['devices-sim/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{
        group: ['**/storage/**', '**/alerts/**', '**/ingest/**', '**/api/**', '**/reports/**', '**/broker/**'],
        message: 'devices-sim may import only core (DESIGN §2); take what it writes to as a dependency.',
      }] }],
    },
  },
);
