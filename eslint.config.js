// ESLint 9 flat config: typescript-eslint's type-aware recommended rules, no import cycles in src/,
// and the size limits of docs/architecture.md's conventions (files <= 400 lines, functions <= ~80).
// Which folder may import which is held by test/layers.test.ts against docs/architecture.md's table.
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/** files that are tables of facts (directives, defaults, guide differences): long by nature, no logic to split */
const DATA_TABLES = [
  'src/config/directive-tables.ts',
  'src/config/engine-directives.ts',
  'src/config/redis-defaults.ts',
  'src/render/kubernetes/guide-differences.ts',
];

// WebAssembly programs written as instruction lists (rdb/wasm-asm.ts): one instruction per line is
// the program's text, not JavaScript control flow, so the function and file limits do not apply
const WASM_PROGRAMS = ['src/rdb/crc64.ts', 'src/rdb/fingerprint-table.ts'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'redis/**', 'schema/**'] },
  {
    // tests, benchmarks and scripts: the recommended rules without type information (a type-aware
    // pass over them doubles the lint's time for findings the type checker already makes)
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    extends: [tseslint.configs.recommended],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // test doubles and parsed replies in tests stay loosely typed
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // the codebase's deliberate habits (docs/architecture.md, Conventions)
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // values from INFO, JSON and RESP are `unknown`/`any` at the edge and narrowed where used
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // a stream's 'error' is an Error by contract, and `${unknown}` in messages is intended
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      '@typescript-eslint/only-throw-error': 'off',
      // commands are `async function xCommand(flags): Promise<exitCode>` whether or not they await
      '@typescript-eslint/require-await': 'off',
      // `let x; on(data => x?.take(data)); x = new X(...)`: a callback reads it before it is set
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })] },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'max-lines': ['error', { max: 400 }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }],
    },
  },
  {
    files: DATA_TABLES,
    rules: { 'max-lines': 'off', 'max-lines-per-function': 'off' },
  },
  {
    files: WASM_PROGRAMS,
    rules: { 'max-lines': 'off', 'max-lines-per-function': 'off' },
  },
);
