/** RFC 9457 problem details, shown to the user as `title: detail`. */
export function describeProblem(contentType: string | null, body: string): string | undefined {
  if (!contentType || !/^application\/problem\+json\b/i.test(contentType)) return undefined;
  try {
    const p = JSON.parse(body) as { title?: unknown; detail?: unknown };
    const title = typeof p.title === "string" ? oneLine(p.title) : "";
    const detail = typeof p.detail === "string" ? oneLine(p.detail) : "";
    const text = [title, detail].filter((s) => s !== "").join(": ");
    return text === "" ? undefined : text;
  } catch {
    return undefined;
  }
}

export function oneLine(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
