/**
 * Link header parsing (RFC 8288 §3) for the ICE servers a WHIP endpoint offers
 * (RFC 9725 §4.6: `Link: <turn:turn.example.net>; rel="ice-server"; username="u";
 * credential="p"; credential-type="password"`). Several links may share one header, split by
 * commas that are outside `<…>` and quoted strings.
 */
export interface LinkValue {
  uri: string;
  params: Record<string, string>;
}

export interface IceServer {
  urls: string;
  username?: string;
  credential?: string;
}

export function parseLinkHeader(header: string): LinkValue[] {
  const links: LinkValue[] = [];
  let i = 0;
  const n = header.length;
  const skipWs = () => {
    while (i < n && /\s/.test(header[i]!)) i++;
  };
  while (i < n) {
    skipWs();
    if (header[i] === ",") {
      i++;
      continue;
    }
    if (header[i] !== "<") {
      // Not a link-value: skip to the next top-level comma.
      i = nextTopLevelComma(header, i);
      continue;
    }
    const close = header.indexOf(">", i + 1);
    if (close < 0) break;
    const uri = header.slice(i + 1, close).trim();
    i = close + 1;
    const params: Record<string, string> = {};
    for (;;) {
      skipWs();
      if (header[i] !== ";") break;
      i++;
      skipWs();
      const nameMatch = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/.exec(header.slice(i));
      if (!nameMatch) break;
      const name = nameMatch[0].toLowerCase();
      i += name.length;
      skipWs();
      let value = "";
      if (header[i] === "=") {
        i++;
        skipWs();
        if (header[i] === '"') {
          i++;
          while (i < n && header[i] !== '"') {
            if (header[i] === "\\" && i + 1 < n) i++;
            value += header[i];
            i++;
          }
          i++;
        } else {
          const tok = /^[^;,\s]*/.exec(header.slice(i))![0];
          value = tok;
          i += tok.length;
        }
      }
      // RFC 8288 §3: occurrences after the first of a parameter are ignored.
      if (!(name in params)) params[name] = value;
    }
    links.push({ uri, params });
    i = nextTopLevelComma(header, i);
  }
  return links;
}

function nextTopLevelComma(s: string, from: number): number {
  let quoted = false;
  let angle = false;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === "<") angle = true;
    else if (c === ">") angle = false;
    else if (c === "," && !angle) return i + 1;
  }
  return s.length;
}

/** The `rel="ice-server"` links among all Link headers of a response; other rels are ignored. */
export function iceServersFromLinks(header: string | null): IceServer[] {
  if (!header) return [];
  return parseLinkHeader(header)
    .filter((l) => (l.params.rel ?? "").split(/\s+/).includes("ice-server"))
    .filter((l) => /^(stun|stuns|turn|turns):/i.test(l.uri))
    .map((l) => {
      const server: IceServer = { urls: l.uri };
      if (l.params.username !== undefined) server.username = l.params.username;
      if (l.params.credential !== undefined) server.credential = l.params.credential;
      return server;
    });
}

/** One ICE server as a Link header value (RFC 9725 §4.6), the inverse of iceServersFromLinks. */
export function iceServerLink(server: IceServer): string {
  const quote = (v: string) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  let link = `<${server.urls}>; rel="ice-server"`;
  if (server.username !== undefined) link += `; username=${quote(server.username)}`;
  if (server.credential !== undefined) link += `; credential=${quote(server.credential)}; credential-type="password"`;
  return link;
}
