/**
 * What browsers are told about the console, the same locally (local/gateway.ts) and behind CloudFront
 * (infra/console-hosting.ts). The built console is module scripts, one stylesheet and same-origin
 * fetches; charts (uPlot) and components style elements through the CSSOM, which `style-src` does
 * not govern, so no 'unsafe-inline' is needed anywhere.
 */
export const CONSOLE_CSP_DIRECTIVES = {
  'default-src': "'self'",
  'script-src': "'self'",
  'style-src': "'self'",
  'img-src': "'self' data:",
  'connect-src': "'self'",
  'object-src': "'none'",
  'frame-ancestors': "'none'",
  'base-uri': "'none'",
  'form-action': "'self'",
} as const;

export const CONSOLE_CSP = Object.entries(CONSOLE_CSP_DIRECTIVES)
  .map(([directive, sources]) => `${directive} ${sources}`)
  .join('; ');

/** Never sniff a response into another type than it says (a JSON answer run as a script). */
export const NO_SNIFF = { 'x-content-type-options': 'nosniff' } as const;

/** The console's headers; HSTS is CloudFront's alone, as browsers ignore it over plain http. */
export const CONSOLE_SECURITY_HEADERS = {
  ...NO_SNIFF,
  'content-security-policy': CONSOLE_CSP,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
} as const;
