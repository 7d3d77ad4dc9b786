// ESLint flat config: strict TypeScript rules and the one-door-per-room import rule.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const rooms = ['oci', 'config', 'obs', 'storage', 'meta', 'registry', 'http', 'client', 'cli'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        {
          patterns: rooms.map((room) => ({
            group: [
              `../${room}/*`,
              `../../src/${room}/*`,
              `!../${room}/index.js`,
              `!../../src/${room}/index.js`,
            ],
            message: `Import the ${room} room through its index.js only.`,
          })),
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
