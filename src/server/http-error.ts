/**
 * A refusal the server answers with: an HTTP status and an RFC 9457 problem+json body whose
 * title and detail a WHIP client can show (whipcast's own client does).
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(`${status} ${title}: ${detail}`);
  }

  toResponse(extraHeaders: Record<string, string> = {}): Response {
    return Response.json(
      { type: "about:blank", title: this.title, status: this.status, detail: this.detail },
      { status: this.status, headers: { ...extraHeaders, ...this.headers, "content-type": "application/problem+json" } },
    );
  }
}
