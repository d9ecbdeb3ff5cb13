import { describe, expect, it } from 'vitest';
import { isSecretFieldName, redactText } from './redact.js';

describe('redactText', () => {
  it.each([
    ['pull https://bob:s3cret@registry.example/v2/x failed', 'pull https://***@registry.example/v2/x failed'],
    ['docker://bob:s3cret@quay.io/a/b:1', 'docker://***@quay.io/a/b:1'],
    // A token as the only user-info (GitHub style) is a credential too.
    ['https://ghp_abcdef123456@example.com/repo', 'https://***@example.com/repo'],
    ['bob:s3cret@registry.example/a/b:1', '***@registry.example/a/b:1'],
    ['login failed for "bob:s3cret@host"', 'login failed for "***@host"'],
    ['ref=bob:s3cret@host/x', 'ref=***@host/x'],
  ])('strips user:pass@ from %j', (input, expected) => {
    expect(redactText(input)).toBe(expected);
    expect(redactText(input)).not.toContain('s3cret');
  });

  it.each([
    ['{"auths":{"r.example":{"auth":"Ym9iOnMzY3JldA=="}}}', '{"auths":{"r.example":{"auth":"***"}}}'],
    ['{"password": "s3cret", "username": "bob"}', '{"password": "***", "username": "bob"}'],
    ['X-Registry-Auth: eyJ1c2VybmFtZSI6ImJvYiJ9 sent', 'X-Registry-Auth: *** sent'],
    ['Authorization: Basic Ym9iOnMzY3JldA==', 'Authorization: ***'],
    ['Authorization: Bearer abc.def.ghi', 'Authorization: ***'],
    ['GET /token?scope=x&access_token=abcdef&b=1', 'GET /token?scope=x&access_token=***&b=1'],
    ["token='abc def'", "token='***'"],
    ['password: hunter22', 'password: ***'],
    ['{"token" : "abc"}', '{"token" : "***"}'],
    ['header was Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig', 'header was Bearer ***'],
  ])('masks secret assignments in %j', (input, expected) => {
    expect(redactText(input)).toBe(expected);
  });

  it.each([
    'docker.io/library/nginx:1.25@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    'nginx:1.25@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    'localhost:5000/img@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    'quay.io/a/b:latest',
    'https://registry.example:5000/v2/',
    'AuthFile=/etc/containers/auth.json is not readable',
    'the password is wrong for bob',
    'Basic auth failed',
    // Repositories named like a key are names: their tags stay.
    'pulled docker.io/acme/secret:v1',
    'pull of docker.io/team/auth:2 failed (attempt 1), retrying',
    'removed quay.io/org/token:1.0 and docker.io/x/password:3',
    'docker.io/acc/secret:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    '{"image": "docker.io/acme/secret:v1"}',
    'IMAGE=docker.io/acme/x-registry-auth:1',
  ])('leaves %j alone', (text) => {
    expect(redactText(text)).toBe(text);
  });
});

describe('isSecretFieldName', () => {
  it.each([
    'AUTH',
    'REGISTRY_AUTH',
    'AUTH_TOKEN',
    'PASSWORD',
    'DB_PASSWD',
    'TOKEN',
    'IDENTITYTOKEN',
    'CLIENT_SECRET',
    'CREDENTIALS',
    'COOKIE',
    'API_KEY',
    'password',
  ])('%s is secret', (name) => expect(isSecretFieldName(name)).toBe(true));
  it.each(['IMAGE', 'ROOT', 'JOB_ID', 'BOUND_SOURCE', 'AUTH_FILE', 'ERROR', 'PASSES'])(
    '%s is not secret',
    (name) => expect(isSecretFieldName(name)).toBe(false),
  );
});
