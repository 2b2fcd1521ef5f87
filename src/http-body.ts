/**
 * A request or response body as text, refusing more than `cap` bytes without buffering them:
 * a declared Content-Length over the cap is refused before reading, a stream that runs over it
 * is cancelled. `tooLarge(declared?)` makes the caller's error (the client's refusal, the
 * server's 413).
 */
export async function readCappedText(message: Request | Response, cap: number, tooLarge: (declared?: number) => Error): Promise<string> {
  const declared = Number(message.headers.get("content-length") ?? "NaN");
  if (declared > cap) {
    await message.body?.cancel().catch(() => {});
    throw tooLarge(declared);
  }
  if (!message.body) return "";
  const reader = message.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > cap) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    parts.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(parts));
}
