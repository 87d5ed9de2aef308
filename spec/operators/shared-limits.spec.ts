/**
 * What uploads running at once share: the parse's window of bytes in flight (16 MiB over the
 * parses of the process, 1 MiB at most and 64 KiB at least each) and storeParts' files in progress
 * (256 over the uploads, at least one each). A number given as an option is not shared. Also: the
 * error of a failed upload is passed on only once its open file is aborted, and a timeout of
 * Infinity means none.
 */
import { lastValueFrom, Observable, Subject, toArray } from 'rxjs';
import { createMemoryStorage, parseMultipart, storeParts, type FileStorage, type FileWriter, type Part } from '../../lib/index';
import { chunkBySizes } from '../support/collect';
import { CONTENT_TYPE, formBody, partHead } from '../support/form-body';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Parses an endless file part fed chunk by chunk into a part nobody reads, with `others` other
 * parses running meanwhile; resolves with the bytes handed out when the parse first paused.
 */
function bytesHeldAtPause(others: number, highWaterMark?: number): number {
  const running = Array.from({ length: others }, () => new Subject<Uint8Array>());
  const subscriptions = running.map((source) => source.pipe(parseMultipart(CONTENT_TYPE)).subscribe({ error: () => undefined }));
  const source = new Subject<Uint8Array>();
  let held = 0;
  let pausedAt: number | undefined;
  const control = { pause: () => (pausedAt ??= held), resume: () => undefined };
  const subscription = source.pipe(parseMultipart(CONTENT_TYPE, { backpressure: control, ...(highWaterMark === undefined ? {} : { highWaterMark }) })).subscribe({ error: () => undefined });
  source.next(Buffer.from(partHead({ name: 'f', filename: 'f.bin' })));
  const chunk = Buffer.alloc(16 * KiB, 1);
  while (pausedAt === undefined && held < 4 * MiB) {
    held += chunk.length;
    source.next(chunk);
  }
  subscription.unsubscribe();
  for (const other of subscriptions) other.unsubscribe();
  return pausedAt ?? Infinity;
}

describe('the window shared by the parses running at once', () => {
  it('should give a parse alone 1 MiB before it pauses its source', () => {
    expect(bytesHeldAtPause(0)).toBe(MiB + 16 * KiB);
  });

  it('should give each of 32 parses running at once 512 KiB (16 MiB shared)', () => {
    expect(bytesHeldAtPause(31)).toBe(512 * KiB + 16 * KiB);
  });

  it('should give each of 400 parses running at once no less than 64 KiB', () => {
    expect(bytesHeldAtPause(399)).toBe(64 * KiB + 16 * KiB);
  });

  it('should keep a highWaterMark given as an option, however many parses run', () => {
    expect(bytesHeldAtPause(399, 256 * KiB)).toBe(256 * KiB + 16 * KiB);
  });

  it('should stop counting a parse once it has ended', () => {
    // 31 parses that ended (completed) before the measured one: it is alone again.
    for (let i = 0; i < 31; i++) {
      const source = new Subject<Uint8Array>();
      source.pipe(parseMultipart(CONTENT_TYPE)).subscribe();
      source.next(Buffer.from(`--${CONTENT_TYPE.split('boundary=')[1]}--`));
    }
    expect(bytesHeldAtPause(0)).toBe(MiB + 16 * KiB);
  });
});

/** A memory storage that counts the files open at once, per upload (by field name prefix) and in all. */
function countingStorage(concurrency: number): { storage: FileStorage; peak: (upload?: string) => number; release: () => void } {
  const memory = createMemoryStorage({ maxTotalSize: 256 * MiB });
  const open = new Map<string, number>();
  const peaks = new Map<string, number>();
  let openGate!: () => void;
  let gate: Promise<void> = new Promise<void>((resolve) => (openGate = resolve));
  const count = (key: string, by: number): void => {
    const now = (open.get(key) ?? 0) + by;
    open.set(key, now);
    peaks.set(key, Math.max(peaks.get(key) ?? 0, now));
  };
  const storage: FileStorage = {
    concurrency,
    async create(info) {
      const upload = info.fieldName.split('.')[0]!;
      count(upload, 1);
      count('*', 1);
      const writer = await memory.create(info);
      const done = (): void => {
        count(upload, -1);
        count('*', -1);
      };
      const wrapped: FileWriter = {
        // Writes wait for the gate: files pile up as they would behind a busy disk.
        write: async (chunk, offset) => {
          await gate;
          await writer.write(chunk, offset);
        },
        close: async () => {
          const file = await writer.close();
          done();
          return file;
        },
        abort: async (reason) => {
          done();
          await writer.abort(reason);
        },
      };
      return wrapped;
    },
    stat: (id) => memory.stat(id),
    open: (id, range) => memory.open(id, range),
    remove: (id) => memory.remove(id),
  };
  return {
    storage,
    peak: (upload = '*') => peaks.get(upload) ?? 0,
    release: () => {
      openGate();
      gate = Promise.resolve();
    },
  };
}

/** A form of `files` files of 1 KiB, their field names `<upload>.<n>`. */
const formOf = (upload: string, files: number): Buffer =>
  formBody(Array.from({ length: files }, (_, i) => ({ name: `${upload}.${i}`, filename: `${i}.bin`, data: Buffer.alloc(1024, i) })));

/**
 * Stores each upload's form into `storage`, every upload subscribed before any byte arrives (as
 * requests being read at once); the storage's gate opens once every body has been fed.
 */
async function storeAll(uploads: readonly string[], files: number, counting: ReturnType<typeof countingStorage>, concurrency?: number): Promise<number[]> {
  const sources = uploads.map(() => new Subject<Uint8Array>());
  const stores = sources.map((source) =>
    lastValueFrom(source.pipe(parseMultipart(CONTENT_TYPE), storeParts(counting.storage, concurrency === undefined ? {} : { concurrency }), toArray())),
  );
  uploads.forEach((upload, i) => {
    for (const chunk of chunkBySizes(formOf(upload, files), [64 * KiB])) sources[i]!.next(chunk);
    sources[i]!.complete();
  });
  await new Promise((resolve) => setTimeout(resolve, 20));
  counting.release();
  return (await Promise.all(stores)).map((parts) => parts.length);
}

describe('the files in progress shared by the uploads storing at once', () => {
  it("should let an upload alone store as many files at once as its storage's concurrency", async () => {
    const counting = countingStorage(32);
    expect(await storeAll(['a'], 40, counting)).toEqual([40]);
    expect(counting.peak('a')).toBe(32);
  });

  it('should share 256 files among the uploads storing at once (ten uploads: 25 each)', async () => {
    const counting = countingStorage(32);
    const uploads = Array.from({ length: 10 }, (_, i) => `u${i}`);
    expect(await storeAll(uploads, 40, counting)).toEqual(uploads.map(() => 40));
    expect(uploads.map((upload) => counting.peak(upload))).toEqual(uploads.map(() => 25));
    expect(counting.peak()).toBe(250);
  });

  it('should let every upload store at least one file when more than 256 store at once', async () => {
    const counting = countingStorage(32);
    const uploads = Array.from({ length: 300 }, (_, i) => `u${i}`);
    expect(await storeAll(uploads, 3, counting)).toEqual(uploads.map(() => 3));
    expect(Math.max(...uploads.map((upload) => counting.peak(upload)))).toBe(1);
    expect(counting.peak()).toBe(300);
  });

  it('should keep a concurrency given as an option, however many uploads store at once', async () => {
    const counting = countingStorage(32);
    const uploads = Array.from({ length: 10 }, (_, i) => `u${i}`);
    expect(await storeAll(uploads, 40, counting, 30)).toEqual(uploads.map(() => 40));
    expect(uploads.map((upload) => counting.peak(upload))).toEqual(uploads.map(() => 30));
  });
});

describe('storeParts at the end of a failed upload', () => {
  it('should pass the error on only once the file being written is aborted and gone', async () => {
    const memory = createMemoryStorage();
    let isAborted = false;
    const storage: FileStorage = {
      async create(info) {
        const writer = await memory.create(info);
        return {
          // A write still in flight when the parse fails.
          write: (chunk, offset) => new Promise<void>((resolve) => setTimeout(resolve, 50)).then(() => writer.write(chunk, offset)),
          close: () => writer.close(),
          abort: async (reason) => {
            await new Promise((resolve) => setTimeout(resolve, 30));
            await writer.abort(reason);
            isAborted = true;
          },
        };
      },
      stat: (id) => memory.stat(id),
      open: (id, range) => memory.open(id, range),
      remove: (id) => memory.remove(id),
    };
    // A file, then a part whose header line is malformed: the parse fails while the file is written.
    const body = Buffer.concat([Buffer.from(partHead({ name: 'f', filename: 'f.bin' })), Buffer.alloc(4096, 7), Buffer.from(`\r\n--${CONTENT_TYPE.split('boundary=')[1]}\r\nno colon here\r\n\r\n`)]);
    const source = new Subject<Uint8Array>();
    const failure = lastValueFrom(source.pipe(parseMultipart(CONTENT_TYPE), storeParts(storage))).then(
      () => undefined,
      (error: unknown) => ({ error, isAborted, files: memory.list().length }),
    );
    source.next(body.subarray(0, 2000));
    await new Promise((resolve) => setTimeout(resolve, 10));
    source.next(body.subarray(2000));
    expect(await failure).toMatchObject({ error: { code: 'MALFORMED_HEADER' }, isAborted: true, files: 0 });
  });
});

describe('timeouts of Infinity', () => {
  it('should never time out a storage call with timeout: Infinity', async () => {
    const memory = createMemoryStorage();
    const slow: FileStorage = {
      ...memory,
      async create(info) {
        const writer = await memory.create(info);
        return { ...writer, write: (chunk, offset) => new Promise<void>((resolve) => setTimeout(resolve, 40)).then(() => writer.write(chunk, offset)) };
      },
    };
    const body = formBody([{ name: 'f', filename: 'f.bin', data: Buffer.alloc(1000, 1) }]);
    const parts = await lastValueFrom(new Observable<Uint8Array>((s) => { s.next(body); s.complete(); }).pipe(parseMultipart(CONTENT_TYPE), storeParts(slow, { timeout: Infinity }), toArray()));
    expect(parts).toMatchObject([{ kind: 'file', size: 1000 }]);
  });

  it('should never end a paused parse with STALLED when stallTimeout is Infinity', async () => {
    const source = new Subject<Uint8Array>();
    const control = { pause: () => undefined, resume: () => undefined };
    let outcome: string | undefined;
    let waiting: Part | undefined;
    source.pipe(parseMultipart(CONTENT_TYPE, { backpressure: control, highWaterMark: 1024, stallTimeout: Infinity })).subscribe({
      next: (part) => (waiting = part),
      error: (error: { code?: string }) => (outcome = error.code),
      complete: () => (outcome = 'complete'),
    });
    source.next(Buffer.concat([Buffer.from(partHead({ name: 'f', filename: 'f.bin' })), Buffer.alloc(4096)]));
    // Paused, and nobody reads the part: a 1 ms timer (what Infinity becomes) would have fired long since.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(outcome).toBeUndefined();
    waiting!.discard();
    source.next(Buffer.from(`\r\n--${CONTENT_TYPE.split('boundary=')[1]}--`));
    expect(outcome).toBe('complete');
  });
});
