/**
 * Keeps the tail of ffmpeg's stderr so a failure can be reported in one line with ffmpeg's own
 * last error, e.g. "ffmpeg exited with 1: /dev/video0: No such file or directory".
 */
export class StderrTail {
  #lines: string[] = [];
  #partial = "";

  constructor(readonly keep = 20) {}

  push(chunk: string): void {
    const parts = (this.#partial + chunk).split(/\r?\n|\r/);
    this.#partial = parts.pop() ?? "";
    for (const line of parts) if (line.trim() !== "") this.#lines.push(line.trim());
    if (this.#lines.length > this.keep) this.#lines.splice(0, this.#lines.length - this.keep);
  }

  /** The most telling line: the last one that reads like an error, else the last line. */
  lastError(): string | undefined {
    const all = this.#partial.trim() ? [...this.#lines, this.#partial.trim()] : this.#lines;
    const errorish = [...all].reverse().find((l) => /error|invalid|no such|cannot|could not|failed|unknown|not found|permission|denied|unsupported/i.test(l) && !/^Conversion failed!?$/.test(l));
    return errorish ?? all[all.length - 1];
  }

  get lines(): string[] {
    return [...this.#lines];
  }
}
