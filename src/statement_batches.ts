// Gets, saves, touches and destroys that wait for a connection at the same moment go out as one
// statement each kind: under load the database's cost per statement, not per row, is the
// ceiling. What each combined statement is, which waiting statements it takes, and how each
// caller gets its own share of the reply.

import { firstResultSet } from "./driver_replies.ts";

/**
 * How statements of one kind that wait for a connection at the same moment go out as one: the
 * store's gets as one SELECT, its saves, touches and destroys as one CALL each. Only statements
 * already waiting are combined (nothing waits to be combined), and each keeps its own deadline
 * and its own result.
 */
export interface Coalescing {
  /** The most statements one combined statement answers. */
  readonly max: number;
  /**
   * The most bytes one combined statement may carry, with `bytes` what one statement's values
   * add at most; unbounded (but for `max`) without them.
   */
  readonly maxBytes?: number;
  bytes?(values: unknown[]): number;
  /** The combined statement for the values of two or more statements, in order. */
  combine(values: unknown[][]): { sql: string; values: unknown[] };
  /**
   * The results the statements with `values` (those combined, in order) would have had, from
   * the combined one's.
   */
  split(result: unknown, values: unknown[][]): unknown[];
  /** A combined statement answering `size` statements was sent. */
  onBatch(size: number): void;
}

/** The most operations one combined statement answers. */
export const MAX_BATCH = 64;

/** The most bytes of sessions one combined save carries: a larger session goes alone. */
const MAX_SET_BATCH_BYTES = 512 * 1024;

/**
 * The most bytes one operation adds to a combined statement: a 255-character id of 4-byte
 * characters, JSON-escaped at worst (6 bytes for a control character), and its times.
 */
const BYTES_PER_OPERATION = 1_600;

/** Room left in a packet for the statement's own text and the protocol's framing. */
const PACKET_HEADROOM = 16_384;

/** How many operations a combined statement may answer under `maxAllowedPacket`: 1 is none. */
export function batchLimit(maxAllowedPacket: number): number {
  const fits = Math.floor((maxAllowedPacket - PACKET_HEADROOM) / BYTES_PER_OPERATION);
  return Math.max(1, Math.min(MAX_BATCH, fits));
}

/** What `takeAlike` picks from: a waiting statement and how it may be combined. */
interface Combinable {
  coalescing: Coalescing | undefined;
  values: unknown[];
}

/**
 * Takes from `queue`, in order, the statements that may go out with `first` (of the same
 * Coalescing), up to its `max` and `maxBytes` with `first`: undefined when none may (it goes
 * alone, as ever). One too large for what is left ends the batch: it and those after it wait
 * for the next statement, so that a later save of an id never goes out before an earlier one.
 */
export function takeAlike<T extends Combinable>(queue: T[], first: T): T[] | undefined {
  const coalescing = first.coalescing as Coalescing;
  const { max, maxBytes = Infinity } = coalescing;
  let bytes = coalescing.bytes?.(first.values) ?? 0;
  let alike: T[] | undefined;
  for (let i = 0; i < queue.length && (alike?.length ?? 0) < max - 1;) {
    const job = queue[i] as T;
    if (job.coalescing !== coalescing) {
      i++;
      continue;
    }
    bytes += coalescing.bytes?.(job.values) ?? 0;
    if (bytes > maxBytes) break;
    (alike ??= []).push(job);
    queue.splice(i, 1);
  }
  return alike;
}

/** The most bytes of sessions a combined save may carry under `maxAllowedPacket`. */
export function setBatchBytes(maxAllowedPacket: number): number {
  return Math.min(MAX_SET_BATCH_BYTES, maxAllowedPacket - PACKET_HEADROOM);
}

/** A row of get's SELECT, with the id it is for. */
interface GetRow {
  sid: string;
  expires_at: number | string;
}

/**
 * Gets (values: sid, now) as one SELECT of their distinct ids, `getMany(count)`, whose count is
 * padded to a power of two with the first id again: a few statement texts, each prepared once
 * per connection. It reads the rows live at the earliest caller's `now`; each caller keeps the
 * row of its own id that is live at its own. Two callers of one id get a row each, not one
 * object to share (MySQL's driver parses a JSON column into an object, which an app mutates).
 * Needs a sid column that compares ids as JavaScript does, or a row could be given to an id the
 * server counts equal but JavaScript does not.
 */
export function getBatches(
  getMany: (count: number) => string,
  max: number,
  onBatch: (size: number) => void,
): Coalescing {
  // The callers of one batch mostly share their `now`: parsed once.
  let nowText = "";
  let nowSeconds = 0;
  return {
    max,
    combine(values) {
      const sids = new Set<unknown>();
      let now = values[0]?.[1] as string;
      for (const [sid, at] of values) {
        sids.add(sid);
        if ((at as string) < now) now = at as string;
      }
      let count = 2;
      while (count < sids.size) count *= 2;
      const ids = [...sids];
      const first = ids[0];
      while (ids.length < count) ids.push(first);
      return { sql: getMany(count), values: [...ids, now] };
    },
    split(result, values) {
      const byId = new Map<string, GetRow>();
      for (const row of result as GetRow[]) byId.set(row.sid, row);
      let given: Set<GetRow> | undefined;
      return values.map(([sid, now]) => {
        if (now !== nowText) {
          nowText = now as string;
          nowSeconds = Date.parse(`${nowText.replace(" ", "T")}Z`) / 1000;
        }
        const row = byId.get(sid as string);
        if (!row || Number(row.expires_at) <= nowSeconds) return [];
        if (given?.has(row)) return [structuredClone(row)];
        (given ??= new Set()).add(row);
        return [row];
      });
    },
    onBatch,
  };
}

/** A combined write's split: each caller gets the whole reply (its count, which it does not use). */
const theWholeReplyToEach: Coalescing["split"] = (result, values) => values.map(() => result);

/**
 * One statement's values per id (values[0]), `keep` choosing between an id's earlier and later
 * ones, in order of id: two combined writes then lock their rows in the same order.
 */
function onePerIdInOrder(
  values: unknown[][],
  keep: (earlier: unknown[], later: unknown[]) => unknown[],
): unknown[][] {
  const kept = new Map<unknown, unknown[]>();
  for (const one of values) {
    const earlier = kept.get(one[0]);
    kept.set(one[0], earlier ? keep(earlier, one) : one);
  }
  return [...kept.values()].sort((a, b) => (a[0] as string) < (b[0] as string) ? -1 : 1);
}

/**
 * Touches (values: sid, expired, now) as one CALL of `touchMany` with a JSON array of
 * `[sid, expired, now]`, one per id (of two touches of one id, the later expiry), in order of id. Each caller's
 * count is the CALL's, of every row it extended (touch does not use it).
 */
export function touchBatches(
  touchMany: string,
  max: number,
  onBatch: (size: number) => void,
): Coalescing {
  return {
    max,
    combine(values) {
      const touches = onePerIdInOrder(
        values,
        (earlier, later) => (earlier[1] as string) < (later[1] as string) ? later : earlier,
      );
      return { sql: touchMany, values: [JSON.stringify(touches)] };
    },
    split: theWholeReplyToEach,
    onBatch,
  };
}

/**
 * Saves (values: sid, sess, expired, owner; sess a session's JSON text) as one CALL of
 * `setMany` with a JSON array of `[sid, sess, expired, owner]`, the session as a JSON document
 * in it (not a string holding one: no second escaping), one per id (of two saves of one id,
 * the later: it is what a server running them in turn would keep), in order of id. At most
 * `maxBytes` of them, each counted at 3 bytes a UTF-16 unit (UTF-8's most) and its id and owner
 * at their most. Each caller's count is the CALL's (set does not use it).
 */
export function setBatches(
  setMany: string,
  max: number,
  maxBytes: number,
  onBatch: (size: number) => void,
): Coalescing {
  return {
    max,
    maxBytes,
    bytes: ([, sess]) => (sess as string).length * 3 + 2 * BYTES_PER_OPERATION,
    combine(values) {
      const items = onePerIdInOrder(values, (_, later) => later).map((
        [sid, sess, expired, owner],
      ) => `[${JSON.stringify(sid)},${sess},${JSON.stringify(expired)},${JSON.stringify(owner)}]`);
      return { sql: setMany, values: [`[${items.join(",")}]`] };
    },
    split: theWholeReplyToEach,
    onBatch,
  };
}

/**
 * Destroys (values: sid) as one CALL of `destroyMany` with a JSON array of their distinct ids, in
 * order of id, whose result set names the ids that held a session. Each caller's count is 1 when
 * its id was one of them, as destroy's would be; of two destroys of one id, the first made the
 * marker and the second found none, as they would one after the other.
 */
export function destroyBatches(
  destroyMany: string,
  max: number,
  onBatch: (size: number) => void,
): Coalescing {
  return {
    max,
    combine(values) {
      const sids = onePerIdInOrder(values, (earlier) => earlier).map(([sid]) => sid);
      return { sql: destroyMany, values: [JSON.stringify(sids)] };
    },
    split(result, values) {
      // The ids that held a session and have not yet been answered so.
      const held = new Set(firstResultSet<{ sid: string }>(result).map((row) => row.sid));
      return values.map(([sid]) => ({ affectedRows: held.delete(sid as string) ? 1 : 0 }));
    },
    onBatch,
  };
}
