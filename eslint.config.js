// ESLint flat config: strict TypeScript rules and the one-door-per-room import rule.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const rooms = [
  'kit',
  'oci',
  'config',
  'obs',
  'storage',
  'meta',
  'registry',
  'auth',
  'trust',
  'events',
  'builds',
  'cluster',
  'replication',
  'manage',
  'http',
  'client',
  'cli',
];

/** One door per room: other rooms are imported through their index.js only. */
const roomDoors = rooms.map((room) => ({
  group: [
    `../${room}/*`,
    `../../src/${room}/*`,
    `!../${room}/index.js`,
    `!../../src/${room}/index.js`,
  ],
  message: `Import the ${room} room through its index.js only.`,
}));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { patterns: roomDoors }],
    },
  },
  {
    // HTTP reaches the stores only through the service room (or registry, auth and trust).
    files: ['src/http/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...roomDoors,
            {
              group: ['../meta/*', '../storage/*', '../meta/index.js', '../storage/index.js'],
              message: 'src/http reaches the stores through src/manage (or registry, auth, trust).',
            },
          ],
        },
      ],
    },
  },
  {
    // The client works without a server: it may use the oci room and nothing else of Berth.
    files: ['src/client/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...roomDoors,
            {
              group: rooms.filter((r) => r !== 'oci' && r !== 'client').map((r) => `../${r}/*`),
              message: 'src/client depends on src/oci only.',
            },
          ],
        },
      ],
    },
  },
  {
    // The web UI runs in the browser and talks to /api/v1 only.
    files: ['ui/**/*.ts', 'ui/**/*.tsx'],
    languageOptions: {
      globals: {
        window: 'readonly',
        document: 'readonly',
        navigator: 'readonly',
        sessionStorage: 'readonly',
        fetch: 'readonly',
        setTimeout: 'readonly',
        clearInterval: 'readonly',
        setInterval: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }] },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
