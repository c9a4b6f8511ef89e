/**
 * The flags of the queue commands and the environment variable of their URL:
 * what both the command line (loaded at start-up) and the commands (loaded
 * when one runs) read.
 */
import type { Outcome } from "@ksim/scenario";

/** The environment variable that gives `--queue` to workers and `ksim campaign` (keeps a password off the command line). */
export const QUEUE_ENV = "KSIM_QUEUE";

/** What `ksim stress` passes on when it has `--queue`. */
export interface QueueStressFlags {
  block?: number;
  html?: string;
  maxEvents?: number;
  maxWall?: number;
  set?: string[];
  duration?: string;
  json?: boolean;
  out?: string;
  resume?: boolean;
  expect?: Outcome;
  debug?: boolean;
}

export interface WorkerFlags {
  queue?: string;
  jobs?: number;
  name?: string;
  lockDuration?: number;
  stalledInterval?: number;
  maxStalled?: number;
  verbose?: boolean;
  debug?: boolean;
}

export interface CampaignFlags {
  queue?: string;
  json?: boolean;
  out?: string;
  wait?: boolean;
  debug?: boolean;
}
