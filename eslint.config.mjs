// ESLint flat config, as an Nx workspace sets it up: Nx's base, TypeScript and JavaScript presets (which
// switch off the rules Prettier owns: Prettier formats, ESLint finds mistakes). Nx's graph-based rules
// (module boundaries, plugin checks) are left out: this repository's own tasks do not run through Nx.
import nx from '@nx/eslint-plugin';

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    ignores: ['**/dist', '**/node_modules', '**/.nx', '**/*__tmpl__', 'tools/test-cluster/**/*.go'],
  },
  {
    files: ['**/*.ts', '**/*.mts', '**/*.cts', '**/*.js', '**/*.mjs', '**/*.cjs'],
    rules: {
      // Unused names are mistakes, except a deliberate `_` prefix.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Prettier wraps code at 160 but leaves long strings, templates and comments alone: this catches those.
      'max-len': ['error', { code: 160, ignoreUrls: true }],
    },
  },
  {
    // In tests a wrong assumption fails the test where it is made: `value!` says so shortest.
    files: ['**/*.spec.ts', '**/test/**/*.ts', 'e2e/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
];
