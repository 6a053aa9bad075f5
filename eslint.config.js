import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'packages/*/dist/**',
      'demo/dist/**',
      'packages/*/bin/**',
      'test-artifacts/**',
      'node_modules/**',
      'migrations/**',
      'coverage/**',
      '*.js',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // The server logs fields, not sentences with values in them: a log call's
    // message is a fixed string and what varies goes in its fields object
    // (JSON logs are searched by field; see src/common/logging.ts).
    files: ['src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...[
          "[callee.object.property.name='logger']",
          "[callee.object.name='logger']",
          "[callee.object.type='NewExpression'][callee.object.callee.name='Logger']",
          "[callee.object.name='log']",
        ].flatMap((callee) =>
          ['TemplateLiteral[expressions.length>0]', "BinaryExpression[operator='+']"].map(
            (argument) => ({
              selector: `CallExpression${callee}[callee.property.name=/^(log|warn|error|debug|verbose|fatal)$/] > ${argument}`,
              message: 'Log a fixed message and put the values in a fields object.',
            }),
          ),
        ),
      ],
    },
  },
  {
    files: ['test/**/*.ts', '**/*.spec.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
);
