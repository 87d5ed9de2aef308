/**
 * parseMultipart: the operator that turns a chunk Observable into an Observable of parts.
 */
import { asyncScheduler, Observable, scan, Subject, takeUntil, TimeoutError, type OperatorFunction, type Subscription } from 'rxjs';
import { MultipartError } from '../errors.js';
import { resolveMultipartType } from '../parser/boundary.js';
import { resolveLimits, type Limits } from '../parser/limits.js';
import {
  createParserState,
  EVENT_DATA,
  EVENT_END,
  EVENT_ERROR,
  EVENT_PART_END,
  EVENT_PART_START,
  finish,
  openPartIndex,
  step,
  type ParserEvent,
  type ParserState,
} from '../parser/multipart-parser.js';
import type { HeaderCharset } from '../parser/text-decoding.js';
import { backpressureOf, type Backpressure } from './backpressure.js';
import { PartStream, type Part, type PartOwner } from './part.js';
import { runningUploads } from './running-uploads.js';

/** Options of a parse. */
export interface ParseOptions {
  /** Limits; each one merges over its default. See the README's limits table. */
  readonly limits?: Limits;
  /** Keep the client's path in `filename` instead of its basename. Default false. */
  readonly preservePath?: boolean;
  /** Charset of header bytes: 'utf8' (browsers, default) or 'latin1'. */
  readonly defParamCharset?: HeaderCharset;
  /**
   * Pauses and resumes the source when too many bytes wait to be consumed. Defaults to the control
   * carried by a `fromReadable`/`fromWebStream`/`fromAsyncIterable` source piped straight in.
   */
  readonly backpressure?: Backpressure;
  /**
   * Bytes handed out and not yet consumed above which the source is paused; it resumes below half.
   * Default: 1 MiB while few parses run; the parses running at once in the process share 16 MiB,
   * down to 64 KiB each (1 MiB up to 16 at once, 328 KiB at 50, 82 KiB at 200). A number fixes it.
   */
  readonly highWaterMark?: number;
  /**
   * Milliseconds the source may stay paused with no byte consumed before the parse fails with
   * STALLED (a part nobody reads or discards). Default 30000.
   */
  readonly stallTimeout?: number;
  /**
   * Decode parts sent with `Content-Transfer-Encoding: base64` or `quoted-printable` as they stream
   * (RFC 2045 §6; RFC 7578 §4.7 deprecates the header, but senders built on mail code write it).
   * `7bit`, `8bit` and `binary` pass through; any other value is UNSUPPORTED_TRANSFER_ENCODING; bytes
   * the encoding does not allow are MALFORMED_TRANSFER_ENCODING. Limits count decoded bytes; `headers`
   * still show the header as sent. Default false: every part's bytes exactly as sent.
   */
  readonly decodeTransferEncoding?: boolean;
}

// The default window: a parse alone gets 1 MiB (large joined writes: a single 1 GiB upload to disk
// measured no faster with more), but 200 parses at once each holding 1 MiB held 1.3 MiB more per
// upload than multer; so the parses running at once share a budget, each keeping at least a few
// socket chunks (64 KiB). Measurements in docs/load.md.
const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;
const SHARED_WINDOW_BUDGET = 16 * 1024 * 1024;
const MIN_SHARED_WINDOW = 64 * 1024;

/** The window of a parse that was given no highWaterMark: its share of the budget. */
function sharedWindow(): number {
  return Math.max(MIN_SHARED_WINDOW, Math.min(DEFAULT_HIGH_WATER_MARK, Math.floor(SHARED_WINDOW_BUDGET / Math.max(1, runningUploads.parses))));
}
// What a parse's state holds between its steps (each step starts a new list); frozen, so that a
// push outside a step would fail loudly instead of sharing its events.
const NO_EVENTS = Object.freeze([]) as unknown as ParserEvent[];
const DEFAULT_STALL_TIMEOUT = 30_000;
// The longest delay a Node timer holds; `stallTimeout: Infinity` means no stall check at all.
const MAX_TIMER = 2 ** 31 - 1;

/**
 * Parses a multipart body as it streams: chunks in, parts out, each part's bytes in its `body$`.
 * Cold and lazy; completes right after the closing delimiter (and releases the source), so
 * `fromEvent(req, 'data')` works as a source.
 *
 * Errors are {@link MultipartError}s through the Observable: NOT_MULTIPART, MISSING_BOUNDARY,
 * INVALID_BOUNDARY, MALFORMED_*, INVALID_CONTENT_DISPOSITION, UNEXPECTED_END, LIMIT_*, STALLED,
 * SOURCE_ERROR, TIMEOUT, INVALID_CHUNK. An error also errors the current part's body$.
 *
 * @param contentTypeOrBoundary the request's Content-Type (`multipart/form-data; boundary=x`) or a bare boundary.
 * @param options limits, decoding, backpressure.
 * @returns an operator from byte chunks to parts.
 * @example
 * fromReadable(req).pipe(
 *   parseMultipart(req.headers['content-type']),
 *   concatMap((part) => part.body$.pipe(toArray(), map((chunks) => [part.name, Buffer.concat(chunks)]))),
 * )
 */
export function parseMultipart(contentTypeOrBoundary: string, options: ParseOptions = {}): OperatorFunction<Uint8Array, Part> {
  return (source) =>
    new Observable<Part>((subscriber) => {
      const type = resolveMultipartType(contentTypeOrBoundary);
      if (type instanceof MultipartError) return subscriber.error(type);
      const limits = resolveLimits(options.limits);
      if (typeof limits === 'string') return subscriber.error(new TypeError(`limits.${limits} must be a number >= 0`));
      const state = createParserState(type.boundary, {
        limits,
        isFormData: type.subtype === 'form-data',
        preservePath: options.preservePath === true,
        defParamCharset: options.defParamCharset ?? 'utf8',
        decodesTransferEncoding: options.decodeTransferEncoding === true,
      });
      const backpressure = options.backpressure ?? backpressureOf(source);
      // A fixed window when given; else the parse's share, read again at each hold and release.
      const fixedWindow = options.highWaterMark;
      const windowSize = (): number => fixedWindow ?? sharedWindow();
      const stallTimeout = options.stallTimeout ?? DEFAULT_STALL_TIMEOUT;

      // The part whose bytes are arriving; undefined between parts.
      let current: PartStream | undefined;
      // Bytes handed out and not yet consumed, over all parts: the backpressure measure.
      let inFlight = 0;
      let isPaused = false;
      // Parts holding bytes, to name the one at fault when the parse stalls.
      const holders = new Set<PartStream>();
      // When a held byte was last consumed, and the pending stall check.
      let lastProgress = 0;
      let stallCheck: Subscription | undefined;
      // The subscriber left while a part was being read: finish that part (as groupBy keeps its
      // source for a subscribed group), then release the source.
      let isTearingDown = false;
      // The parse ended (closing delimiter, error or teardown): later source events are ignored.
      let isStopped = false;
      // Stops the source from inside its own synchronous emission too: takeUntil's subscriber
      // exists before the source runs, so a sync source (from(iterable)) sees itself closed.
      const stopped$ = new Subject<void>();

      const owner: PartOwner = {
        hold(part, bytes) {
          if (part.held === 0) holders.add(part);
          part.held += bytes;
          inFlight += bytes;
          if (!isPaused && inFlight > windowSize() && backpressure !== undefined && !isStopped) {
            isPaused = true;
            backpressure.pause();
            lastProgress = asyncScheduler.now();
            // A timer cannot wait longer than 2^31 - 1 ms (it would fire at once): beyond, no check.
            if (stallTimeout <= MAX_TIMER) stallCheck ??= asyncScheduler.schedule(checkStall, stallTimeout);
          }
        },
        release(part, bytes) {
          const freed = Math.min(bytes, part.held);
          part.held -= freed;
          if (part.held === 0) holders.delete(part);
          inFlight -= freed;
          if (!isPaused) return;
          lastProgress = asyncScheduler.now();
          if (inFlight <= windowSize() / 2) {
            isPaused = false;
            stallCheck?.unsubscribe();
            stallCheck = undefined;
            backpressure!.resume();
          }
        },
        detach(part) {
          if (isTearingDown && part === current) stop();
        },
      };

      function checkStall(): void {
        stallCheck = undefined;
        if (!isPaused || isStopped) return;
        const idle = asyncScheduler.now() - lastProgress;
        if (idle < stallTimeout) {
          stallCheck = asyncScheduler.schedule(checkStall, stallTimeout - idle);
          return;
        }
        const waiting = holders.values().next().value ?? current;
        fail(new MultipartError('STALLED', {
          message: waiting === undefined
            ? `No byte was consumed for ${stallTimeout} ms while the source was paused.`
            : `Part ${waiting.index} (${JSON.stringify(waiting.name)}) held ${waiting.held} bytes unconsumed for ${stallTimeout} ms while the source was paused: subscribe its body$ or call discard().`,
          ...(waiting === undefined ? {} : { partIndex: waiting.index, fieldName: waiting.name }),
          ...(waiting?.filename === undefined ? {} : { filename: waiting.filename }),
        }));
      }

      function dispatch(events: ParserEvent[]): void {
        for (let i = 0; i < events.length && !isStopped; i++) {
          const event = events[i]!;
          switch (event.type) {
            case EVENT_PART_START:
              if (isTearingDown) return stop();
              current = new PartStream(event.part, owner);
              subscriber.next(current);
              break;
            case EVENT_DATA:
              current!.push(toBuffer(event.data));
              break;
            case EVENT_PART_END: {
              const part = current!;
              current = undefined;
              part.end();
              if (isTearingDown) return stop();
              break;
            }
            case EVENT_END:
              // The rest is epilogue: a source that can read and drop it does, instead of aborting.
              backpressure?.finish?.();
              stop();
              return subscriber.complete();
            case EVENT_ERROR:
              return fail(event.error);
          }
        }
      }

      function fail(error: MultipartError): void {
        const part = current;
        current = undefined;
        stop();
        // The part first: a concatMap reading it reports this error, not a bare teardown.
        part?.fail(error);
        subscriber.error(error);
      }

      // Counted among the running parses from the source's subscription to the parse's end.
      let isRunning = false;
      const leave = (): void => {
        if (!isRunning) return;
        isRunning = false;
        runningUploads.parses--;
      };

      function stop(): void {
        if (isStopped) return;
        isStopped = true;
        leave();
        stallCheck?.unsubscribe();
        stallCheck = undefined;
        stopped$.next();
        // Released means no longer held: a request we paused drains its rest (the epilogue, or
        // the bytes after an error) instead of stalling its connection.
        if (isPaused) {
          isPaused = false;
          backpressure!.resume();
        }
      }

      // Registered before the source runs: a consumer that leaves during a synchronous emission
      // (take(3) over from(iterable)) must stop the parse there, not after the source is spent.
      subscriber.add(() => {
        if (isStopped) return;
        if (current?.isActive === true) isTearingDown = true;
        else stop();
      });

      // A throw from our own code here is a bug: it ends the parse as INTERNAL instead of escaping
      // to RxJS, which would rethrow it outside the Observable. (Downstream code cannot throw into
      // dispatch: RxJS subscribers catch their own handlers' errors.)
      // `undefined`: the source completed, the parser is asked to finish the body.
      const dispatchSafely = (events: ParserEvent[] | undefined): void => {
        try {
          dispatch(events ?? finish(state).events);
        } catch (error) {
          if (!isStopped) fail(nameOpenPart(toInternalError(error, 'handing out parts'), state));
        }
        // The data events are views of the chunk: kept in the state, they would keep it alive
        // while the source is paused, long after its bytes were written. The next step replaces it.
        state.events = NO_EVENTS;
      };

      isRunning = true;
      runningUploads.parses++;
      const reading = source.pipe(scan(stepChunk, state), takeUntil(stopped$)).subscribe({
        next: (parser) => dispatchSafely(parser.events),
        error: (error: unknown) => {
          if (!isStopped) fail(nameOpenPart(toMultipartError(error), state));
        },
        complete: () => {
          if (!isStopped) dispatchSafely(undefined);
        },
      });
      // However the reading ends, this parse no longer takes a share of the window budget.
      reading.add(leave);
    });
}

// Node 20's global Buffer is a getter: read once, not twice per chunk (measured 23 ns against
// 2.5 ns per read, about a sixth of the time per 1 KiB chunk).
const NodeBuffer = Buffer;

// One operator instead of map + scan: each operator costs about 20 ns per chunk.
function stepChunk(state: ParserState, value: Uint8Array): ParserState {
  const chunk = toChunk(value);
  try {
    return step(state, chunk);
  } catch (error) {
    // The parser reports bad input as error events; a throw is a bug of its own, not the source's.
    throw toInternalError(error, 'parsing a chunk');
  }
}

function toInternalError(error: unknown, what: string): MultipartError {
  const message = error instanceof Error ? error.message : String(error);
  return new MultipartError('INTERNAL', { message: `rx-multipart failed while ${what} (a bug, not bad input): ${message}`, cause: error });
}

/**
 * A source's error with the part it cut named: a client that aborts mid-file is reported like a body
 * that ends early, with the part's index, field name and filename.
 */
function nameOpenPart(error: MultipartError, state: ParserState): MultipartError {
  const partIndex = openPartIndex(state);
  if (error.partIndex !== undefined || partIndex === undefined) return error;
  // The part's head, once its header block was read; before that only its index is known.
  const head = state.part;
  const where = head === undefined
    ? `part ${partIndex}`
    : `part ${partIndex} (${head.filename === undefined ? 'field' : `file ${JSON.stringify(head.filename)} in field`} ${JSON.stringify(head.name)})`;
  return new MultipartError(error.code, {
    message: `${error.message} It was reading ${where}.`,
    partIndex,
    ...(head === undefined ? {} : { fieldName: head.name }),
    ...(head?.filename === undefined ? {} : { filename: head.filename }),
    ...(error.limit === undefined ? {} : { limit: error.limit }),
    ...(error.cause === undefined ? {} : { cause: error.cause }),
  });
}

function toChunk(value: Uint8Array): Buffer {
  if (NodeBuffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return NodeBuffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new MultipartError('INVALID_CHUNK', {
    message: `The source emitted ${typeof value === 'string' ? 'a string (was setEncoding called?)' : typeof value}; parseMultipart needs Uint8Array chunks.`,
  });
}

/** A source's error as a MultipartError: kept if it is one, TIMEOUT for RxJS `timeout`, else SOURCE_ERROR. */
export function toMultipartError(error: unknown): MultipartError {
  if (error instanceof MultipartError) return error;
  if (error instanceof TimeoutError) return new MultipartError('TIMEOUT', { message: 'The source sent nothing within its timeout.', cause: error });
  const message = error instanceof Error ? error.message : String(error);
  return new MultipartError('SOURCE_ERROR', { message: `The source failed: ${message}`, cause: error });
}

// Views of a chunk are Buffers already; the bytes of a delimiter that turned out to be data are not.
function toBuffer(data: Uint8Array): Buffer {
  return NodeBuffer.isBuffer(data) ? data : NodeBuffer.from(data.buffer, data.byteOffset, data.byteLength);
}
