// The credentials this process actually holds, so the credential guard (redact.ts) can mask them by
// value wherever they would appear, instead of guessing from the shape of the text around them.
// The Podman client's credential loader (store/auth.ts) hands over every password and identity token
// it decodes from an auth file; each is kept in the forms it could leak in: itself, `user:secret`, and
// their base64 (padded and not) and base64url. A secret of fewer than MIN_SUBSTRING_LENGTH characters
// is masked only where it stands as a whole token (masking "pass" inside "passed" would wreck every
// message); a longer one wherever it occurs. Process-wide, bounded (the oldest forms are dropped).

/** Secrets at least this long are masked inside other text too. */
export const MIN_SUBSTRING_LENGTH = 6;
/** At most this many forms are kept (each credential gives up to 12). */
export const MAX_HELD_FORMS = 4096;

const held = new Set<string>();
let pattern: RegExp | null = null;
let stale = false;

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function encodings(text: string): string[] {
  const buf = Buffer.from(text, 'utf8');
  const b64 = buf.toString('base64');
  return [text, b64, b64.replace(/=+$/, ''), buf.toString('base64url')];
}

/** Records a credential this process holds; `username` adds the `user:secret` forms. */
export function holdSecret(secret: string, username?: string): void {
  if (secret === '') return;
  const forms = encodings(secret);
  if (username !== undefined && username !== '') forms.push(...encodings(`${username}:${secret}`));
  for (const form of forms) {
    if (held.has(form)) continue;
    held.add(form);
    stale = true;
  }
  while (held.size > MAX_HELD_FORMS) {
    const oldest = held.values().next().value as string;
    held.delete(oldest);
    stale = true;
  }
}

/** How many forms are held (for tests and diagnostics; never the forms themselves). */
export function heldSecretCount(): number {
  return held.size;
}

/** Forgets every held secret (tests). */
export function forgetHeldSecrets(): void {
  held.clear();
  pattern = null;
  stale = false;
}

function currentPattern(): RegExp | null {
  if (!stale) return pattern;
  stale = false;
  if (held.size === 0) return (pattern = null);
  // Longest first, so `user:secret` wins over `secret` inside it.
  const forms = [...held].sort((a, b) => b.length - a.length);
  const alternatives = forms.map((f) =>
    f.length >= MIN_SUBSTRING_LENGTH ? escape(f) : `(?<![A-Za-z0-9+/_=-])${escape(f)}(?![A-Za-z0-9+/_=-])`,
  );
  pattern = new RegExp(alternatives.join('|'), 'g');
  return pattern;
}

/** `text` with every held secret (in any of its forms) replaced by `mask`. */
export function maskHeldSecrets(text: string, mask: string): string {
  const re = currentPattern();
  return re ? text.replace(re, mask) : text;
}
