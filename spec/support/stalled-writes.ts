/**
 * Writes into a FileWriter whose backend was paused, to see how many bytes the writer takes before
 * its write() stops resolving: that is all the memory a stalled store can make a server hold.
 */
import type { FileWriter } from '../../lib/index';

/** A background write loop over one file. */
export interface WriteLoop {
  /** Bytes whose write() had resolved so far. */
  accepted(): number;
  /** Settles when the last write resolved (or the first one rejected). */
  readonly done: Promise<void>;
}

/** Writes `bytes` in `chunkSize` pieces, one positional write at a time, without closing. */
export function startWriteLoop(writer: FileWriter<string>, bytes: Buffer, chunkSize: number): WriteLoop {
  let accepted = 0;
  const done = (async () => {
    for (let at = 0; at < bytes.length; at += chunkSize) {
      const chunk = bytes.subarray(at, at + chunkSize);
      await writer.write(chunk, at);
      accepted = at + chunk.length;
    }
  })();
  // Seen by whoever awaits `done`; this keeps an early rejection from being unhandled meanwhile.
  done.catch(() => undefined);
  return { accepted: () => accepted, done };
}

/**
 * Resolves with `read()` once it has not changed for `quietMs`. Only to wait for a loop to get
 * stuck: a slow machine makes it stop earlier, never later, so an upper bound on the value still
 * holds however long this waits.
 */
export async function whenStill(read: () => number, quietMs = 300): Promise<number> {
  let last = read();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    const now = read();
    if (now === last) return now;
    last = now;
  }
}
