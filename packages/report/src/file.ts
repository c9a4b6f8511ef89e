/**
 * A file written in large chunks with fs.writeSync: the trace writers append
 * small strings at every event, and this keeps that to one system call per
 * BUF_LIMIT characters. Nothing is kept once written.
 */
import { closeSync, openSync, writeSync } from "node:fs";

const BUF_LIMIT = 1 << 16;

export class BufferedFile {
  private fd: number | null;
  private buf: string[] = [];
  private buffered = 0;

  /** Opens (creates or truncates) `path` now, so a bad path fails before the run. */
  constructor(readonly path: string) {
    this.fd = openSync(path, "w");
  }

  get closed(): boolean {
    return this.fd === null;
  }

  write(s: string): void {
    if (this.fd === null) throw new Error(`${this.path}: write after close`);
    this.buf.push(s);
    this.buffered += s.length;
    if (this.buffered >= BUF_LIMIT) this.flush();
  }

  flush(): void {
    if (this.fd === null || this.buf.length === 0) return;
    writeSync(this.fd, this.buf.join(""));
    this.buf = [];
    this.buffered = 0;
  }

  /** Flushes and closes; a second call does nothing. */
  close(): void {
    if (this.fd === null) return;
    this.flush();
    closeSync(this.fd);
    this.fd = null;
  }
}
