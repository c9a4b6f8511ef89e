/**
 * `--queue redis://[user][:password@]HOST[:PORT][/DB]`: where a distributed
 * campaign's jobs live. The password is read here and never printed: every
 * message that names the server goes through `mask_url` / `masker`.
 */

/** Bad `--queue` value: exit status 2, like any other bad input. */
export class QueueUsageError extends Error {
  override name = "QueueUsageError";
}

export interface QueueTarget {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
  /** The URL with its password replaced by `***`: the only form ever printed. */
  masked: string;
}

const FORM = "redis://[:password@]HOST:PORT/DB";

/** Replaces whatever sits between `//user:` and `@` with `***` (works on unparsable text too). */
export function mask_url(text: string): string {
  return text.replace(/(\/\/[^/@\s:[]*:)[^/\s]*@/g, "$1***@");
}

export function parse_queue_url(text: string): QueueTarget {
  const shown = mask_url(text);
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new QueueUsageError(`--queue: expected ${FORM}, got ${JSON.stringify(shown)}`);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
    throw new QueueUsageError(`--queue: expected a redis:// or rediss:// URL (${FORM}), got ${JSON.stringify(shown)}`);
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!host) throw new QueueUsageError(`--queue: no host in ${JSON.stringify(shown)} (expected ${FORM})`);
  const port = u.port === "" ? 6379 : Number(u.port);
  const db_text = u.pathname.replace(/^\//, "");
  if (db_text !== "" && !/^\d{1,5}$/.test(db_text)) {
    throw new QueueUsageError(`--queue: the database must be a number (${FORM}), got ${JSON.stringify(shown)}`);
  }
  if (u.search || u.hash) throw new QueueUsageError(`--queue: no query or fragment expected in ${JSON.stringify(shown)}`);
  const db = db_text === "" ? 0 : Number(db_text);
  const password = u.password === "" ? undefined : decodeURIComponent(u.password);
  const username = u.username === "" ? undefined : decodeURIComponent(u.username);
  const auth = password !== undefined ? `${u.username}:***@` : username !== undefined ? `${u.username}@` : "";
  const hostport = `${u.hostname}:${port}`;
  return {
    host,
    port,
    db,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    tls: u.protocol === "rediss:",
    masked: `${u.protocol}//${auth}${hostport}/${db}`,
  };
}

/**
 * A function that removes the password (as written and as decoded) from any
 * text: errors from the Redis client or BullMQ pass through it before they
 * reach a terminal or a log.
 */
export function masker(raw: string): (text: string) => string {
  let secrets: string[] = [];
  try {
    const u = new URL(raw);
    if (u.password) secrets = [u.password, decodeURIComponent(u.password)];
  } catch {
    // Unparsable: parse_queue_url reports it; mask_url still hides the userinfo.
  }
  // Shorter ones would garble every message they happen to occur in; the URL form is masked anyway.
  secrets = [...new Set(secrets)].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  return (text: string) => {
    let out = mask_url(text);
    for (const s of secrets) out = out.split(s).join("***");
    return out;
  };
}
