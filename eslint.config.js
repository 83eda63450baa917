// @ts-check
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/__generated__/**', '.data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      // Plugin hooks and interface methods are async by contract even when they do not await.
      '@typescript-eslint/require-await': 'off',
      // Module boundaries (see README "Layout"): a subgraph never imports another subgraph
      // or the gateway; data crosses subgraphs only through federation entities.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@foundation/*-subgraph', '@foundation/gateway', '@foundation/launcher'],
              message: 'Subgraphs and platform code may not import other services.',
            },
          ],
        },
      ],
    },
  },
  {
    // The launcher composes every service; tests drive them.
    files: ['packages/launcher/**', 'tests/**', '**/test/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // Vitest's asymmetric matchers (expect.any, expect.arrayContaining) are typed `any`.
    files: ['tests/**', '**/test/**'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  prettier,
);
