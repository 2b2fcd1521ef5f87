/**
 * Keeping stream keys out of every line whipcast prints.
 *
 * Two secrets exist: the bearer token, and URLs that are credentials themselves. Cloudflare
 * Stream's publish URL is `https://customer-<code>.cloudflarestream.com/<secret>/webRTC/publish`;
 * other services put keys in the path or query too. URLs are shown through `redactUrl`, and every
 * log line and error message passes through a `Redactor` that knows the raw secrets, as a second
 * line of defence against a secret reaching output by a path nobody anticipated.
 */
const ELLIPSIS = "…";

/** A path segment that looks like a key rather than a name: long, and mixing letters and digits. */
function looksSecret(segment: string): boolean {
  return segment.length >= 16 && /[0-9]/.test(segment) && /[A-Za-z]/.test(segment);
}

export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return ELLIPSIS;
  }
  const segments = url.pathname.split("/");
  const isCloudflare = /(^|\.)cloudflarestream\.com$/i.test(url.hostname);
  const webrtcAt = segments.findIndex((s) => s.toLowerCase() === "webrtc");
  const shown = segments.map((s, i) => {
    if (s === "") return s;
    if (isCloudflare && (webrtcAt < 0 || i < webrtcAt)) return ELLIPSIS;
    return looksSecret(decodeURIComponentSafe(s)) ? ELLIPSIS : s;
  });
  const auth = url.username || url.password ? `${ELLIPSIS}@` : "";
  const query = url.search ? `?${ELLIPSIS}` : "";
  return `${url.protocol}//${auth}${url.host}${shown.join("/")}${query}`;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The raw strings a URL would leak if printed: secret-looking path segments, query, userinfo. */
export function secretsOfUrl(raw: string): string[] {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return raw.length >= 8 ? [raw] : [];
  }
  const isCloudflare = /(^|\.)cloudflarestream\.com$/i.test(url.hostname);
  const segments = url.pathname.split("/").filter((s) => s !== "");
  const webrtcAt = segments.findIndex((s) => s.toLowerCase() === "webrtc");
  const out = segments.filter((s, i) => (isCloudflare && (webrtcAt < 0 || i < webrtcAt)) || looksSecret(decodeURIComponentSafe(s)));
  for (const [, v] of url.searchParams) if (v.length >= 4) out.push(v);
  if (url.password) out.push(url.password);
  return out.filter((s) => s.length >= 4);
}

export class Redactor {
  #secrets: string[] = [];

  /** Register a raw secret; every later `scrub` removes it (and its URL-encoded form). */
  add(secret: string | undefined): void {
    if (!secret || secret.length < 4) return;
    for (const s of [secret, encodeURIComponent(secret)]) if (!this.#secrets.includes(s)) this.#secrets.push(s);
    // Longest first, so a secret that contains another is removed whole.
    this.#secrets.sort((a, b) => b.length - a.length);
  }

  addUrl(url: string): void {
    for (const s of secretsOfUrl(url)) this.add(s);
  }

  scrub(text: string): string {
    let out = text;
    for (const s of this.#secrets) if (out.includes(s)) out = out.split(s).join(ELLIPSIS);
    return out;
  }
}
