/**
 * A part of a multipart body, with its bytes as an Observable.
 */
import { from, Observable, type ObservableInput, type Subscriber, type Subscription } from 'rxjs';
import { MultipartError } from '../errors.js';
import { isPromiseLike } from '../promise-like.js';
import type { PartHead } from '../parser/part-head.js';
import { joinChunks } from '../storage/content-digest.js';

/** One part of a multipart body. Its bytes arrive through `body$`. */
export interface Part {
  /** 0-based position in the body. */
  readonly index: number;
  /** Content-Disposition `name` ('' when absent). */
  readonly name: string;
  /** Defined exactly when this part is a file; decoded, basename only unless `preservePath`. */
  readonly filename: string | undefined;
  /** The part's Content-Type; 'text/plain' when absent. */
  readonly contentType: string;
  /** Every header, by lower-cased name. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The part's bytes in order, then complete. Lossless: bytes that arrive before it is subscribed
   * are queued for it. Subscribe once; a second subscription errors with `PART_CONSUMED`.
   * Unsubscribing before the end drops the rest of the part (it is drained, the parse goes on).
   */
  readonly body$: Observable<Buffer>;
  /**
   * Drops the part: queued bytes are freed and later ones are drained, never queued. Call it for
   * every part you will not read. No effect once `body$` is subscribed.
   */
  discard(): void;
  /**
   * Streams the body through an async sink, one write at a time, in order; chunks that arrive while
   * a write is in flight are joined into the next one. Unlike `body$`, bytes count against
   * `highWaterMark` until their write settles, so a slow sink pauses the source.
   * @param write called with bytes and their offset in the part; the next call waits for it.
   * @returns bytes written after each chunk; completes after the last; errors with the sink's error.
   * @example part.writeBody((chunk, offset) => file.write(chunk, 0, chunk.length, offset))
   */
  writeBody(write: (chunk: Buffer, offset: number) => ObservableInput<unknown>): Observable<number>;
  /**
   * The same, with the chunks of each write handed over as they came instead of joined into one
   * Buffer: for a sink that gathers them itself (a `writev`), which saves a copy of every byte.
   * @example part.writeBody((chunks, offset) => file.writev(chunks, offset), { joins: false })
   */
  writeBody(write: (chunks: readonly Buffer[], offset: number) => ObservableInput<unknown>, options: WriteBodyOptions): Observable<number>;
}

/** How `writeBody` hands its batches over. */
export interface WriteBodyOptions {
  /** false: each write gets the batch's chunks as an array. */
  readonly joins: false;
}

/** What a part reports to its parse: bytes held and freed, and a reader that went away. */
export interface PartOwner {
  hold(part: PartStream, bytes: number): void;
  release(part: PartStream, bytes: number): void;
  /** The part's reader unsubscribed before the part ended. */
  detach(part: PartStream): void;
}

const OPEN = 0;
const ENDED = 1;
const FAILED = 2;

/** The Part the parse emits; fed by the parse, read through body$. */
export class PartStream implements Part {
  readonly index: number;
  readonly name: string;
  readonly filename: string | undefined;
  readonly contentType: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body$: Observable<Buffer>;
  /** Bytes this part holds against the high-water mark (queued, or in a writeBody sink). */
  held = 0;
  // Chunks that arrived before body$ was subscribed, from `queueStart` on.
  private queue: Buffer[] = [];
  private queueStart = 0;
  private status = OPEN;
  private error: MultipartError | undefined = undefined;
  private reader: Subscriber<Buffer> | undefined = undefined;
  private isSubscribed = false;
  // Dropped by discard() or by a reader that left early: bytes are drained, never queued.
  private isDiscarded = false;
  // Read through writeBody: delivered bytes stay held until written.
  private isAcknowledged = false;
  private readonly owner: PartOwner;

  constructor(head: PartHead, owner: PartOwner) {
    this.index = head.index;
    this.name = head.name;
    this.filename = head.filename;
    this.contentType = head.contentType;
    this.headers = head.headers;
    this.owner = owner;
    this.body$ = new Observable<Buffer>((subscriber) => this.subscribeBody(subscriber));
  }

  /** True while a reader is subscribed and the part has not ended. */
  get isActive(): boolean {
    return this.reader !== undefined;
  }

  discard(): void {
    if (this.isSubscribed || this.isDiscarded) return;
    this.isDiscarded = true;
    this.dropQueue();
  }

  writeBody(write: (chunk: Buffer, offset: number) => ObservableInput<unknown>): Observable<number>;
  writeBody(write: (chunks: readonly Buffer[], offset: number) => ObservableInput<unknown>, options: WriteBodyOptions): Observable<number>;
  writeBody(write: ((chunk: Buffer, offset: number) => ObservableInput<unknown>) | ((chunks: readonly Buffer[], offset: number) => ObservableInput<unknown>), options?: WriteBodyOptions): Observable<number> {
    const joins = options?.joins !== false;
    return new Observable<number>((subscriber) => {
      // Set before subscribing body$, so queued chunks stay held until they are written.
      if (!this.isSubscribed) this.isAcknowledged = true;
      // Bytes handed to `write` so far: the offset of the next write.
      let offset = 0;
      // Chunks that arrived while a write was in flight: joined into the next write. Measured on
      // disk: one write per 64 KiB socket chunk left the server idle 73% of the time waiting for
      // each round trip; joining them lets the next write carry everything that came meanwhile.
      let waiting: Buffer[] = [];
      let waitingBytes = 0;
      let isWriting = false;
      let isEnded = false;
      let writing: Subscription | undefined;
      // Bytes of the write in flight; its callbacks made once, not per write.
      let writingBytes = 0;
      const written = (): void => {
        isWriting = false;
        // Unsubscribed meanwhile: the teardown freed every held byte already.
        if (subscriber.closed) return;
        this.owner.release(this, writingBytes);
        subscriber.next(offset);
        flush();
      };
      const failed = (error: unknown): void => subscriber.error(error);

      const flush = (): void => {
        if (isWriting || subscriber.closed) return;
        if (waitingBytes === 0) {
          if (isEnded) subscriber.complete();
          return;
        }
        const batch = !joins ? waiting : joinChunks(waiting, waitingBytes);
        const at = offset;
        writingBytes = waitingBytes;
        waiting = [];
        waitingBytes = 0;
        offset += writingBytes;
        isWriting = true;
        let result: ObservableInput<unknown>;
        try {
          result = (write as (batch: Buffer | readonly Buffer[], offset: number) => ObservableInput<unknown>)(batch, at);
        } catch (error) {
          return failed(error);
        }
        // A promise is settled directly: an Observable per write is what a busy server can least
        // afford (docs/load.md). Anything else goes through RxJS's `from`.
        if (isPromiseLike(result)) result.then(written, failed);
        else writing = from(result).subscribe({ error: failed, complete: written });
      };

      const reading = this.body$.subscribe({
        next: (chunk) => {
          waiting.push(chunk);
          waitingBytes += chunk.length;
          flush();
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          isEnded = true;
          flush();
        },
      });
      return () => {
        reading.unsubscribe();
        writing?.unsubscribe();
        // Chunks waiting or in a write that will not be awaited: free them too.
        if (this.held > 0) this.owner.release(this, this.held);
      };
    });
  }

  /** Delivers bytes of this part (from the parse). */
  push(chunk: Buffer): void {
    if (this.isDiscarded) return;
    const reader = this.reader;
    if (reader === undefined) {
      this.queue.push(chunk);
      this.owner.hold(this, chunk.length);
    } else {
      if (this.isAcknowledged) this.owner.hold(this, chunk.length);
      reader.next(chunk);
    }
  }

  /** The part's last byte has been delivered (from the parse). */
  end(): void {
    this.status = ENDED;
    const reader = this.reader;
    this.reader = undefined;
    reader?.complete();
  }

  /** The parse failed while this part was open (from the parse). */
  fail(error: MultipartError): void {
    this.status = FAILED;
    this.error = error;
    this.dropQueue();
    const reader = this.reader;
    this.reader = undefined;
    reader?.error(error);
  }

  private subscribeBody(subscriber: Subscriber<Buffer>): () => void {
    if (this.isSubscribed || this.isDiscarded) {
      subscriber.error(new MultipartError('PART_CONSUMED', {
        message: `The body of part ${this.index} (${JSON.stringify(this.name)}) was ${this.isSubscribed ? 'already subscribed' : 'discarded'}: it can be read once.`,
        partIndex: this.index,
        fieldName: this.name,
        ...(this.filename === undefined ? {} : { filename: this.filename }),
      }));
      return noop;
    }
    this.isSubscribed = true;
    const queue = this.queue;
    while (this.queueStart < queue.length && !subscriber.closed) {
      const chunk = queue[this.queueStart]!;
      queue[this.queueStart++] = EMPTY_CHUNK;
      if (!this.isAcknowledged) this.owner.release(this, chunk.length);
      subscriber.next(chunk);
    }
    this.queue = [];
    this.queueStart = 0;
    if (subscriber.closed) {
      // The reader left while being handed the queue: drop what it did not take.
      this.isDiscarded = true;
      this.dropQueue();
      if (this.status === OPEN) this.owner.detach(this);
      return noop;
    }
    if (this.status === ENDED) subscriber.complete();
    else if (this.status === FAILED) subscriber.error(this.error);
    else this.reader = subscriber;
    return () => {
      if (this.reader !== subscriber) return;
      // The reader left before the end: drain the rest so the parse goes on.
      this.reader = undefined;
      this.isDiscarded = true;
      this.owner.detach(this);
    };
  }

  private dropQueue(): void {
    // Only queued bytes are held outside writeBody; inside it, writeBody frees its own.
    this.queue = [];
    this.queueStart = 0;
    if (this.held > 0 && !this.isAcknowledged) this.owner.release(this, this.held);
  }
}

const EMPTY_CHUNK = Buffer.alloc(0);

function noop(): void {}
