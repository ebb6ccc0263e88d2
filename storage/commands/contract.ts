import type { Command, CommandStatus } from '../../core/commands.js';
import type { Page } from '../state/contract.js';

/**
 * What storage keeps of commands to devices (core/commands.ts) and the CommandStore contract every
 * implementation passes (test/storage/command-store.contract.ts: the embedded DuckDB store now,
 * PostgreSQL in cluster mode).
 *
 * The dispatcher (commands/) decides; a store only persists, and guards the one rule every caller
 * relies on whatever it does: a command in a final status (succeeded, failed, expired) never changes
 * again. A repeated or late reply is therefore harmless — `transition` answers undefined.
 */

export interface CommandFilter {
  readonly device?: string;
  /** Only commands to these devices (a caller's site scope, applied before paging); an empty list matches none. */
  readonly devices?: readonly string[];
  readonly status?: CommandStatus;
}

/** A change of status with what came with it; only the fields given are written. */
export interface CommandTransition {
  readonly status: CommandStatus;
  readonly at: number;
  readonly message?: string;
  readonly state?: string;
}

export interface CommandStore {
  /** Stores a new command; a second command with the same id is refused (DuplicateError). */
  create(command: Command): Promise<void>;
  get(id: string): Promise<Command | undefined>;
  /** Newest first. */
  list(filter: CommandFilter, page: { limit: number; offset: number }): Promise<Page<Command>>;
  /**
   * Moves a command on, only from one of `from`: the statuses the caller saw it could move from. The
   * time lands in the field of the new status (sentAt, deliveredAt, completedAt for a final one); a
   * device's answer (succeeded, failed) also sets deliveredAt when it was not known, since a reply
   * proves the device had the command.
   * Answers the command as it now is, or undefined when it was in none of `from` (unknown, already
   * final, or moved on meanwhile) and nothing changed.
   */
  transition(id: string, from: readonly CommandStatus[], change: CommandTransition): Promise<Command | undefined>;
  /** Commands not final whose `expiresAt` is at or before `now`, in one of `statuses`, oldest first, at most `limit`. */
  due(now: number, statuses: readonly CommandStatus[], limit: number): Promise<Command[]>;
  close(): Promise<void>;
}
