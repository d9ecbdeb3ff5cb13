// The credential guard every log line and STATUS= text passes through: credentials never reach
// the journal, stderr or `systemctl status`. Three rules:
//  - a field whose *name* looks secret (AUTH, PASSWORD, TOKEN, SECRET, CREDENTIAL, COOKIE, …) has its
//    value replaced by REDACTED, whatever the value is (AUTH_FILE, a path, is the one exemption);
//  - every *text* (message and field values) loses the credentials this process holds, by value and
//    in every encoding they could leak in (held-secrets.ts: what the auth files decoded to);
//  - and, for credentials it does not hold, the unambiguous shapes: URL user-info
//    (`https://user:pass@host` → `https://***@host`), bare `user:pass@host` prefixes, `key=value`,
//    `"key": "value"` and `Header: value` secrets (auth, password, token, …), and `Basic …` /
//    `Bearer …` header values.
// Image references stay intact: `name:tag@sha256:…` is a digest, not user-info, and a repository
// named like a key (`acme/secret:v1`, `team/auth:2`) is a name and a tag, not an assignment.
import { maskHeldSecrets } from './held-secrets.js';

export const REDACTED = '[redacted]';
const MASK = '***';

const SECRET_FIELD_NAME = /AUTH|PASSW|PASSPHRASE|TOKEN|SECRET|CREDENTIAL|COOKIE|PRIVATE_KEY|API_KEY/;
/** Names that contain a secret-looking word but hold no secret: `AuthFile=` is a path. */
const NOT_SECRET_FIELD_NAMES = new Set(['AUTH_FILE']);

/** True when a journal field name (UPPER_SNAKE) must never carry its value into a log. */
export function isSecretFieldName(journalName: string): boolean {
  const upper = journalName.toUpperCase();
  return SECRET_FIELD_NAME.test(upper) && !NOT_SECRET_FIELD_NAMES.has(upper);
}

// scheme://userinfo@ — userinfo cannot hold `/ ? # @` or whitespace (RFC 3986).
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi;
// user:pass@host at the start of a token; not name:tag@algo:hex (an image digest).
const BARE_USERINFO =
  /(^|[\s"'=(<,[])[^\s/@:"'=]+:[^\s/@"']*@(?![a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-f0-9]{32,})/gi;
// auth=…, "password": "…", X-Registry-Auth: …, Authorization: Basic …, ?access_token=…
// The key must not continue a name (`acme/secret`, `x.token`), and a `:` counts only after a quoted
// key or before a blank: `secret:v1` is an image's name and tag.
const SECRET_ASSIGNMENT =
  /(?<![\w./@:-])(["']?)(auth|password|passwd|passphrase|token|identitytoken|registrytoken|access_token|refresh_token|secret|client_secret|x-registry-auth|authorization)\b\1(\s*=\s*|(?<=["'])\s*:\s*|\s*:\s+)("[^"]*"|'[^']*'|(?:(?:basic|bearer)\s+)?[^\s,;}&"']+)/gi;
// A bare header value that escaped the rule above: `Bearer eyJ…`, `Basic dXNlcjpwYXNz`.
const AUTH_SCHEME_VALUE = /\b(Basic|Bearer)\s+[A-Za-z0-9+/._~-]{16,}=*/g;

/** Removes credentials from free text (a log message, a field value, a STATUS= line). */
export function redactText(text: string): string {
  return maskHeldSecrets(text, MASK)
    .replace(URL_USERINFO, `$1${MASK}@`)
    .replace(BARE_USERINFO, `$1${MASK}@`)
    .replace(SECRET_ASSIGNMENT, (_all, quote: string, key: string, sep: string, value: string) => {
      const q = value.startsWith('"') ? '"' : value.startsWith("'") ? "'" : '';
      return `${quote}${key}${quote}${sep}${q}${MASK}${q}`;
    })
    .replace(AUTH_SCHEME_VALUE, `$1 ${MASK}`);
}
