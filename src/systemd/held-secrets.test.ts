import { afterEach, describe, expect, it } from 'vitest';
import { parseAuthFile } from '../store/auth.js';
import {
  MAX_HELD_FORMS,
  forgetHeldSecrets,
  heldSecretCount,
  holdSecret,
  maskHeldSecrets,
} from './held-secrets.js';
import { redactText } from './redact.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const b64url = (s: string): string => Buffer.from(s).toString('base64url');

afterEach(() => forgetHeldSecrets());

describe('maskHeldSecrets', () => {
  it('masks a held password in every form it could leak in', () => {
    holdSecret('Hx7-horse-4f2a91', 'svc');
    for (const form of [
      'Hx7-horse-4f2a91',
      'svc:Hx7-horse-4f2a91',
      b64('svc:Hx7-horse-4f2a91'),
      b64('svc:Hx7-horse-4f2a91').replace(/=+$/, ''),
      b64url('svc:Hx7-horse-4f2a91'),
      b64('Hx7-horse-4f2a91'),
    ]) {
      expect(maskHeldSecrets(`before ${form} after`, '***')).toBe('before *** after');
    }
  });

  it('masks a long secret inside other text, a short one only as a whole token', () => {
    holdSecret('longsecret');
    holdSecret('pw1');
    expect(maskHeldSecrets('x=longsecretX', '***')).toBe('x=***X');
    expect(maskHeldSecrets('the pw1 leaked; pw12 and apw1 did not', '***')).toBe(
      'the *** leaked; pw12 and apw1 did not',
    );
  });

  it('prefers the longest form: user:secret is masked whole', () => {
    holdSecret('s3cret-value', 'bob');
    expect(maskHeldSecrets('login bob:s3cret-value failed', '***')).toBe('login *** failed');
  });

  it('treats the secret as text, not as a pattern', () => {
    holdSecret('a.b*c(d)+e[f]');
    expect(maskHeldSecrets('got a.b*c(d)+e[f] and aXbbbcde', '***')).toBe('got *** and aXbbbcde');
  });

  it('ignores empty secrets and stays bounded', () => {
    holdSecret('');
    expect(heldSecretCount()).toBe(0);
    for (let i = 0; i < MAX_HELD_FORMS; i++) holdSecret(`secret-number-${i}`);
    expect(heldSecretCount()).toBe(MAX_HELD_FORMS);
    // The newest is always held.
    expect(maskHeldSecrets(`secret-number-${MAX_HELD_FORMS - 1}`, '***')).toBe('***');
  });

  it('is fed by the auth file parser: both the auth and the username/password forms', () => {
    parseAuthFile(
      '/etc/ostree/auth.json',
      JSON.stringify({
        auths: {
          'r.example': { auth: b64('alice:Qz9-alpha-pass') },
          'q.example': { username: 'bob', password: 'Wv2-bravo-pass' },
          't.example': { identitytoken: 'tok-charlie-0123456789' },
        },
      }),
    );
    const text =
      'pull failed: Qz9-alpha-pass / Wv2-bravo-pass / tok-charlie-0123456789 / ' + b64('bob:Wv2-bravo-pass');
    expect(redactText(text)).toBe('pull failed: *** / *** / *** / ***');
  });
});

describe('redactText with held secrets keeps image names readable', () => {
  it.each([
    'pulled docker.io/acme/secret:v1 (sha256:0123)',
    'pull of docker.io/team/auth:2 failed: manifest unknown',
    'removed quay.io/org/token:1.0',
    'docker.io/acme/password:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    '"docker.io/acme/secret:v1": not found',
    'secret:v1',
  ])('%j', (text) => {
    holdSecret('Hx7-horse-4f2a91', 'svc');
    expect(redactText(text)).toBe(text);
  });
});
