/**
 * Drives the multipart state machine (createParserState / step / finish) directly, chunk by chunk,
 * without RxJS, and builds the bodies its specs parse.
 */
import { MultipartError } from '../../lib/errors';
import { resolveLimits, type Limits } from '../../lib/parser/limits';
import {
  createParserState,
  EVENT_DATA,
  EVENT_END,
  EVENT_ERROR,
  EVENT_PART_END,
  EVENT_PART_START,
  finish,
  isFinished,
  step,
  type ParserEvent,
  type ParserState,
} from '../../lib/parser/multipart-parser';
import type { PartHead } from '../../lib/parser/part-head';
import type { HeaderCharset } from '../../lib/parser/text-decoding';
import { chunkAfterEveryCR, chunkBySizes } from './collect';

export const BOUNDARY = 'AaB03x';
export const CRLF = '\r\n';
export const OPEN = `--${BOUNDARY}`;
export const CLOSE = `--${BOUNDARY}--`;

export interface Options {
  readonly limits?: Limits;
  readonly isFormData?: boolean;
  readonly preservePath?: boolean;
  readonly defParamCharset?: HeaderCharset;
  readonly usesPortableSearch?: boolean;
  readonly decodesTransferEncoding?: boolean;
}

export interface ParsedPart {
  readonly head: PartHead;
  readonly data: Buffer;
  /** PART_END was seen. */
  readonly isEnded: boolean;
}

export interface Parsed {
  readonly parts: readonly ParsedPart[];
  /** END was seen: the closing delimiter was read. */
  readonly isComplete: boolean;
  readonly error: MultipartError | undefined;
  /** Index of the chunk whose step emitted the error; chunks.length when finish() did. */
  readonly errorAt: number;
  /** Every DATA event, with the chunk it came from. */
  readonly data: ReadonlyArray<{ readonly chunk: Uint8Array; readonly bytes: Uint8Array }>;
}

export function createState(options: Options = {}): ParserState {
  const limits = resolveLimits(options.limits);
  if (typeof limits === 'string') throw new Error(`invalid limit ${limits}`);
  return createParserState(BOUNDARY, {
    limits,
    isFormData: options.isFormData ?? true,
    preservePath: options.preservePath ?? false,
    defParamCharset: options.defParamCharset ?? 'utf8',
    usesPortableSearch: options.usesPortableSearch ?? false,
    decodesTransferEncoding: options.decodesTransferEncoding ?? false,
  });
}

export const toBytes = (chunk: string | Uint8Array): Uint8Array => (typeof chunk === 'string' ? new Uint8Array(Buffer.from(chunk)) : chunk);

/**
 * Steps the parser over each chunk, then finishes it, and collects the events. Throws when the
 * events break their grammar (DATA outside a part, anything after END or ERROR ...), so every
 * test also checks it.
 */
export function parseChunks(chunks: ReadonlyArray<string | Uint8Array>, options: Options = {}): Parsed {
  const state = createState(options);
  const parts: Array<{ head: PartHead; data: Uint8Array[]; isEnded: boolean }> = [];
  const data: Array<{ chunk: Uint8Array; bytes: Uint8Array }> = [];
  let current: (typeof parts)[number] | undefined;
  let isComplete = false;
  let error: MultipartError | undefined;
  let errorAt = -1;
  const take = (events: readonly ParserEvent[], chunk: Uint8Array, index: number): void => {
    for (const event of events) {
      if (isComplete || error !== undefined) throw new Error(`event ${event.type} after the end`);
      switch (event.type) {
        case EVENT_PART_START:
          if (current !== undefined) throw new Error('PART_START inside a part');
          current = { head: event.part, data: [], isEnded: false };
          parts.push(current);
          break;
        case EVENT_DATA:
          if (current === undefined) throw new Error('DATA outside a part');
          current.data.push(event.data);
          data.push({ chunk, bytes: event.data });
          break;
        case EVENT_PART_END:
          if (current === undefined) throw new Error('PART_END outside a part');
          current.isEnded = true;
          current = undefined;
          break;
        case EVENT_END:
          if (current !== undefined) throw new Error('END inside a part');
          isComplete = true;
          break;
        case EVENT_ERROR:
          error = event.error;
          errorAt = index;
          break;
      }
    }
  };
  const bytes = chunks.map(toBytes);
  bytes.forEach((chunk, i) => take(step(state, chunk).events, chunk, i));
  take(finish(state).events, new Uint8Array(0), bytes.length);
  return {
    parts: parts.map((part) => ({ head: part.head, data: Buffer.concat(part.data), isEnded: part.isEnded })),
    isComplete,
    error,
    errorAt,
    data,
  };
}

export const parse = (body: string | Uint8Array, options?: Options): Parsed => parseChunks([body], options);

/** What a test compares: the parts' identities and bytes, and how the parse ended. */
export function summary(parsed: Parsed): unknown {
  return {
    parts: parsed.parts.map((part) => ({ name: part.head.name, filename: part.head.filename, contentType: part.head.contentType, data: part.data.toString('latin1'), isEnded: part.isEnded })),
    isComplete: parsed.isComplete,
    error: parsed.error?.code,
  };
}

export function errorOf(parsed: Parsed): MultipartError {
  if (parsed.error === undefined) throw new Error(`expected an error, got ${JSON.stringify(summary(parsed))}`);
  return parsed.error;
}

export const lines = (...text: string[]): string => text.join(CRLF);
export const field = (name: string, value: string): string => `${lines(OPEN, `Content-Disposition: form-data; name="${name}"`, '', value)}${CRLF}`;
export const file = (name: string, filename: string, data: string, type = 'application/octet-stream'): string =>
  `${lines(OPEN, `Content-Disposition: form-data; name="${name}"; filename="${filename}"`, `Content-Type: ${type}`, '', data)}${CRLF}`;
export const form = (...parts: string[]): string => `${parts.join('')}${CLOSE}${CRLF}`;

export const TWO_PARTS = form(field('title', 'Hello'), file('upload', 'a.txt', 'file\r\nbytes', 'text/plain'));
export const TWO_PARTS_SUMMARY = {
  parts: [
    { name: 'title', filename: undefined, contentType: 'text/plain', data: 'Hello', isEnded: true },
    { name: 'upload', filename: 'a.txt', contentType: 'text/plain', data: 'file\r\nbytes', isEnded: true },
  ],
  isComplete: true,
  error: undefined,
};

