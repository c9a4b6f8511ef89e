/**
 * One process's link to the campaign Redis. Connection attempts are bounded:
 * a server that cannot be reached at start gives up after a few tries (exit
 * 2, one line), and one lost later is retried for about a minute, then the
 * process gives up the same way instead of retrying forever.
 */
import type * as BullMQ from "bullmq";
import type { Queue, RedisOptions } from "bullmq";
import { masker, parse_queue_url, type QueueTarget } from "./url.js";

/** Redis could not be reached (or refused us): exit status 2. */
export class QueueUnreachable extends Error {
  override name = "QueueUnreachable";
}

/** Connection attempts before the first success: 1 + this many retries. */
const STARTUP_RETRIES = 2;
/** Reconnection attempts after a connection that worked is lost (about a minute). */
const RUNNING_RETRIES = 30;
const CONNECT_TIMEOUT_MS = 3000;

/** The BullMQ queue of this ksim version: workers of another version never see its jobs. */
export function queue_name(version: string): string {
  return `ksim-${version}`;
}

export interface QueueLink {
  readonly target: QueueTarget;
  /** Removes the password from any text. */
  readonly mask: (text: string) => string;
  /** Options for every BullMQ Queue / Worker of this process. */
  readonly connection: RedisOptions;
  /** Rejects (with QueueUnreachable) when a lost connection is given up. */
  readonly lost: Promise<never>;
  /** The last connection error seen, masked. */
  last_error: string | null;
  /** Redis answered once: from now on a lost connection is retried longer. */
  mark_connected(): void;
}

export function open_link(url: string): QueueLink {
  const target = parse_queue_url(url);
  const mask = masker(url);
  let connected = false;
  let give_up: (e: Error) => void = () => {};
  const lost = new Promise<never>((_, reject) => {
    give_up = reject;
  });
  // Nobody may be listening yet; the rejection is still delivered to later awaiters.
  lost.catch(() => {});
  const link: QueueLink = {
    target,
    mask,
    lost,
    last_error: null,
    mark_connected: () => {
      connected = true;
    },
    connection: {
      host: target.host,
      port: target.port,
      db: target.db,
      ...(target.username !== undefined ? { username: target.username } : {}),
      ...(target.password !== undefined ? { password: target.password } : {}),
      ...(target.tls ? { tls: {} } : {}),
      connectTimeout: CONNECT_TIMEOUT_MS,
      // Workers block on Redis; BullMQ requires unlimited per-command retries there.
      maxRetriesPerRequest: null,
      retryStrategy: (times: number): number | null => {
        const limit = connected ? RUNNING_RETRIES : STARTUP_RETRIES;
        if (times > limit) {
          if (connected) {
            give_up(new QueueUnreachable(`lost the connection to Redis at ${target.masked}: ${link.last_error ?? "closed"} (gave up after ${limit} reconnection attempts)`));
          }
          return null;
        }
        return connected ? Math.min(500 * times, 2000) : 250 * times;
      },
    },
  };
  return link;
}

/** A message from the Redis client or BullMQ, on one line and without the password. */
export function client_message(link: QueueLink, e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  // eslint-disable-next-line no-control-regex
  return link.mask(text.replace(/[\u0000-\u001f\u007f]+/g, " ").trim());
}

/**
 * BullMQ (and ioredis behind it), loaded when a queue is first opened: every
 * worker thread of a local campaign imports this package, and loading the
 * queue client costs each of them several hundred milliseconds.
 */
export function bullmq(): Promise<typeof BullMQ> {
  return import("bullmq");
}

/**
 * Opens a BullMQ queue and waits until Redis answers. Throws QueueUnreachable
 * after the bounded attempts (refused, timed out, wrong password, too old).
 */
export async function open_queue(link: QueueLink, name: string): Promise<Queue> {
  const queue = new (await bullmq()).Queue(name, { connection: link.connection });
  queue.on("error", (e: unknown) => {
    link.last_error = client_message(link, e);
  });
  try {
    const client = await queue.waitUntilReady();
    // A command that needs auth: a server that wants a password we lack fails here.
    await client.get("ksim:probe");
  } catch (e) {
    const why = client_message(link, e);
    // No close(): the client has ended (retryStrategy gave up), and close() would
    // hold the process for ioredis's 2 s disconnect timer.
    throw new QueueUnreachable(`cannot reach Redis at ${link.target.masked}: ${why} (gave up after ${STARTUP_RETRIES + 1} attempts)`);
  }
  link.mark_connected();
  return queue;
}
