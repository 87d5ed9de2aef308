/** storeParts: order, all-or-nothing cleanup, retry/timeout, accept, per-file limits, progress, backpressure. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concatMap, delay, firstValueFrom, from, lastValueFrom, Observable, of, Subject, take, tap, toArray } from 'rxjs';
import {
  createDiskStorage,
  createMemoryStorage,
  MultipartError,
  parseMultipart,
  storeParts,
  type FileStorage,
  type StoredFilePart,
  type StoredPart,
  type StoreOptions,
} from '../../lib/index';
import { chunkBySizes } from '../support/collect';
import { diskFolder } from '../support/disk-folder';
import { withFaults } from '../support/faulty-storage';
import { BOUNDARY, CONTENT_TYPE, formBody, type FormPart } from '../support/form-body';

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(3000)]);
const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

const form: FormPart[] = [
  { name: 'title', data: 'Holiday' },
  { name: 'photo', filename: 'beach.png', contentType: 'image/png', data: PNG },
  { name: 'note', data: 'two files' },
  { name: 'doc', filename: 'notes.txt', contentType: 'text/plain', data: randomBytes(200_000) },
];

/** Parses `body` from chunks of `chunkSize` bytes and stores its parts. */
function store(body: Buffer, storage: FileStorage<string>, options?: StoreOptions, chunkSize = 16 * 1024, isPaced = false): Observable<StoredPart> {
  const chunks = from(chunkBySizes(body, [chunkSize]));
  // Paced: one chunk per timer tick, as a network delivers them, so storage keeps up with the parse.
  return (isPaced ? chunks.pipe(concatMap((chunk) => of(chunk).pipe(delay(1)))) : chunks).pipe(parseMultipart(CONTENT_TYPE), storeParts(storage, options));
}

const files = (parts: StoredPart[]): StoredFilePart[] => parts.filter((part): part is StoredFilePart => part.kind === 'file');
const failureOf = (observable: Observable<unknown>): Promise<unknown> => lastValueFrom(observable).then(
  () => { throw new Error('expected an error'); },
  (error: unknown) => error,
);

describe('storeParts', () => {
  it('should store files and collect fields, in body order', async () => {
    const storage = createMemoryStorage({ checksum: 'sha256' });
    const parts = await lastValueFrom(store(formBody(form), storage).pipe(toArray()));
    expect(parts.map((part) => [part.kind, part.index])).toEqual([['field', 0], ['file', 1], ['field', 2], ['file', 3]]);
    expect(parts[0]).toEqual({ kind: 'field', index: 0, name: 'title', value: 'Holiday', contentType: 'text/plain' });
    const [photo, doc] = files(parts);
    expect(photo).toMatchObject({ fieldName: 'photo', filename: 'beach.png', contentType: 'image/png', size: PNG.length, sha256: sha256(PNG) });
    expect(storage.read(photo!.id)!.equals(PNG)).toBe(true);
    expect(storage.read(doc!.id)!.equals(form[3]!.data as Buffer)).toBe(true);
  });

  it('should store a file part with filename="" as an empty file', async () => {
    const storage = createMemoryStorage({ checksum: 'sha256' });
    const parts = await lastValueFrom(store(formBody([{ name: 'f', filename: '', data: '' }]), storage).pipe(toArray()));
    expect(parts).toEqual([expect.objectContaining({ kind: 'file', filename: '', size: 0, sha256: sha256('') })]);
  });

  it('should type a file without Content-Type as application/octet-stream', async () => {
    const storage = createMemoryStorage();
    const [file] = await lastValueFrom(store(formBody([{ name: 'f', filename: 'a.bin', data: 'x' }]), storage).pipe(toArray()));
    expect(file).toMatchObject({ kind: 'file', contentType: 'application/octet-stream' });
  });

  it('should decode a field in the charset its Content-Type names', async () => {
    const body = formBody([{ name: 'city', contentType: 'text/plain; charset=iso-8859-1', data: Buffer.from([0x4d, 0xfc, 0x6e, 0x63, 0x68, 0x65, 0x6e]) }]);
    const [field] = await lastValueFrom(store(body, createMemoryStorage()).pipe(toArray()));
    expect(field).toMatchObject({ kind: 'field', value: 'München' });
  });

  describe('when something fails', () => {
    it('should pass a failed write on unchanged, abort the open file and remove the stored ones', async () => {
      const memory = createMemoryStorage();
      const error = new Error('disk full');
      const storage = withFaults(memory, { failWrite: { nth: 2, error } });
      const failure = await failureOf(store(formBody(form), storage));
      expect(failure).toBe(error);
      expect(storage.aborts).toBe(1);
      expect(memory.list()).toEqual([]);
      expect(memory.totalSize).toBe(0);
    });

    it('should serve the next body after a failed one', async () => {
      const memory = createMemoryStorage();
      const storage = withFaults(memory, { failWrite: { nth: 1, error: new Error('once') } });
      await failureOf(store(formBody(form), storage));
      const parts = await lastValueFrom(store(formBody(form), storage).pipe(toArray()));
      expect(files(parts)).toHaveLength(2);
      expect(memory.list()).toHaveLength(2);
    });

    it('should retry a stalled write after the timeout and store the file byte-exact', async () => {
      const memory = createMemoryStorage();
      const storage = withFaults(memory, { stallWrite: { nth: 3 } });
      const parts = await lastValueFrom(store(formBody(form), storage, { timeout: 50, retry: { count: 2, delay: 1 } }).pipe(toArray()));
      const doc = files(parts)[1]!;
      expect(memory.read(doc.id)!.equals(form[3]!.data as Buffer)).toBe(true);
      expect(storage.writes).toBeGreaterThan(files(parts).length);
    });

    it('should fail with TIMEOUT (408) when a stalled write is not retried, leaving nothing', async () => {
      const memory = createMemoryStorage();
      const storage = withFaults(memory, { stallWrite: { nth: 3 } });
      const failure = await failureOf(store(formBody(form), storage, { timeout: 50 }));
      expect(failure).toBeInstanceOf(MultipartError);
      expect(failure).toMatchObject({ code: 'TIMEOUT', status: 408, partIndex: 3, fieldName: 'doc', filename: 'notes.txt' });
      expect(memory.list()).toEqual([]);
      expect(memory.totalSize).toBe(0);
    });

    it('should ignore the answer of a write given up after the timeout: stored once, counted once', async () => {
      const memory = createMemoryStorage({ checksum: 'sha256' });
      // The third write answers after 150 ms, long after its 50 ms timeout and the retry that replaced it.
      const storage = withFaults(memory, { lateWrite: { nth: 3, ms: 150 } });
      const reports: number[] = [];
      const body = formBody(form);
      const parts = await lastValueFrom(store(body, storage, { timeout: 50, retry: { count: 1, delay: 1 }, progress: (p) => reports.push(p.bytes) }).pipe(toArray()));
      const counted = reports.length;
      await new Promise((resolve) => setTimeout(resolve, 200));
      const doc = files(parts)[1]!;
      expect(memory.read(doc.id)!.equals(form[3]!.data as Buffer)).toBe(true);
      expect(doc.sha256).toBe(sha256(form[3]!.data as Buffer));
      expect(reports).toHaveLength(counted);
      expect(reports.at(-1)).toBe(Buffer.byteLength('Holiday') + PNG.length + Buffer.byteLength('two files') + 200_000);
    });

    it('should retry each of two stalled writes of one file and store it byte-exact', async () => {
      const memory = createMemoryStorage();
      // Paced, so the file comes as many writes: the 3rd and the 5th stall, the 4th and 6th are their retries.
      const storage = withFaults(memory, { stallWrite: { nth: [3, 5] } });
      const parts = await lastValueFrom(store(formBody(form), storage, { timeout: 50, retry: { count: 1, delay: 1 } }, 16 * 1024, true).pipe(toArray()));
      expect(memory.read(files(parts)[1]!.id)!.equals(form[3]!.data as Buffer)).toBe(true);
      expect(storage.writes).toBeGreaterThanOrEqual(6);
    });

    it('should fail with TIMEOUT when the retry of a stalled write stalls too, leaving nothing', async () => {
      const memory = createMemoryStorage();
      const storage = withFaults(memory, { stallWrite: { nth: [3, 4] } });
      const failure = await failureOf(store(formBody(form), storage, { timeout: 50, retry: { count: 1, delay: 1 } }));
      expect(failure).toMatchObject({ code: 'TIMEOUT', partIndex: 3 });
      expect(storage.aborts).toBe(1);
      expect(memory.list()).toEqual([]);
    });

    it('should make no write after the upload is left during a retry backoff', async () => {
      const memory = createMemoryStorage();
      const storage = withFaults(memory, { failWrite: { nth: 2, error: new Error('throttled') } });
      const subscription = store(formBody(form), storage, { retry: { count: 1, delay: 200 } }).subscribe();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(storage.writes).toBe(2);
      subscription.unsubscribe();
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(storage.writes).toBe(2);
      expect(storage.aborts).toBe(1);
      expect(memory.list()).toEqual([]);
      expect(memory.totalSize).toBe(0);
    });

    it('should fail with the error of a progress callback that throws, leaving nothing', async () => {
      const memory = createMemoryStorage();
      const error = new Error('progress broke');
      let calls = 0;
      const failure = await failureOf(store(formBody(form), memory, { progress: () => {
        if (++calls === 3) throw error;
      } }));
      expect(failure).toBe(error);
      expect(memory.list()).toEqual([]);
      expect(memory.totalSize).toBe(0);
    });

    it('should retry a failed write with backoff and succeed', async () => {
      const memory = createMemoryStorage();
      const storage = withFaults(memory, { failWrite: { nth: 2, error: new Error('throttled') } });
      const parts = await lastValueFrom(store(formBody(form), storage, { retry: { count: 1, delay: 5 } }).pipe(toArray()));
      expect(files(parts).map((file) => memory.read(file.id)!.length)).toEqual([PNG.length, 200_000]);
    });

    it('should remove everything when a close fails', async () => {
      const memory = createMemoryStorage();
      const error = new Error('cannot commit');
      const failure = await failureOf(store(formBody(form), withFaults(memory, { failClose: error })));
      expect(failure).toBe(error);
      expect(memory.list()).toEqual([]);
      expect(memory.totalSize).toBe(0);
    });

    it('should remove the files already stored when the body is truncated', async () => {
      const memory = createMemoryStorage();
      const body = formBody(form);
      const failure = await failureOf(store(body.subarray(0, body.length - 5000), memory));
      expect(failure).toMatchObject({ code: 'UNEXPECTED_END', status: 400 });
      expect(memory.list()).toEqual([]);
      expect(memory.totalSize).toBe(0);
    });

    it('should undo a create still in flight before passing the error on', async () => {
      const memory = createMemoryStorage();
      const events: string[] = [];
      const slow: FileStorage<string> = {
        ...memory,
        async create(info) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          const writer = await memory.create(info);
          events.push('created');
          return { ...writer, abort: (reason) => (events.push('aborted'), writer.abort(reason)) };
        },
      };
      const head = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\n\r\n${'x'.repeat(1000)}`);
      const truncated = new Observable<Buffer>((subscriber) => {
        subscriber.next(head);
        setTimeout(() => subscriber.complete(), 5);
      });
      const failure = await failureOf(truncated.pipe(parseMultipart(CONTENT_TYPE), storeParts(slow)));
      events.push(`error ${(failure as MultipartError).code}`);
      expect(events).toEqual(['created', 'aborted', 'error UNEXPECTED_END']);
      expect(memory.totalSize).toBe(0);
    });

    it('should keep the files already stored with keepOnError, and still abort the open one', async () => {
      const memory = createMemoryStorage();
      const body = formBody(form);
      await failureOf(store(body.subarray(0, body.length - 5000), memory, { keepOnError: true }, 16 * 1024, true));
      expect(memory.list().map((file) => file.filename)).toEqual(['beach.png']);
      expect(memory.totalSize).toBe(PNG.length);
    });

    it('should abort the open file and remove the stored ones when the subscriber leaves', async () => {
      const memory = createMemoryStorage();
      const storage = withFaults(memory, { writeDelay: 2 });
      // take(2): the field and the photo; the subscriber then leaves while nothing else is open.
      await lastValueFrom(store(formBody(form), storage).pipe(take(2), toArray()));
      // The stored photo belongs to a body whose subscriber left before the end: all or nothing.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(memory.list()).toEqual([]);
    });

    it('should leave no file on disk when a body fails', async () => {
      const directory = await mkdtemp(join(tmpdir(), 'rx-multipart-store-'));
      try {
        const storage = createDiskStorage({ directory });
        const body = formBody(form);
        await failureOf(store(body.subarray(0, body.length - 5000), storage));
        expect(diskFolder(directory)).toEqual([]);
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    });
  });

  describe('accept', () => {
    const isPng = (info: { detectedType: string | undefined }): boolean | string => info.detectedType === 'image/png' || 'only PNG images';

    it('should store a file whose first bytes show an accepted type', async () => {
      const memory = createMemoryStorage();
      const parts = await lastValueFrom(store(formBody(form.slice(0, 2)), memory, { accept: isPng }).pipe(toArray()));
      expect(files(parts)).toHaveLength(1);
      expect(memory.read(files(parts)[0]!.id)!.equals(PNG)).toBe(true);
    });

    it('should refuse a file by its bytes, not its claimed type, before anything is stored', async () => {
      const memory = createMemoryStorage();
      let creates = 0;
      const counting = { ...memory, create: (info: Parameters<typeof memory.create>[0]) => (creates++, memory.create(info)) };
      const fake = formBody([{ name: 'photo', filename: 'fake.png', contentType: 'image/png', data: 'GIF89a not a png at all' }]);
      const failure = await failureOf(store(fake, counting, { accept: isPng }));
      expect(failure).toBeInstanceOf(MultipartError);
      expect(failure).toMatchObject({ code: 'FILE_REJECTED', status: 415, filename: 'fake.png' });
      expect((failure as Error).message).toContain('only PNG images');
      expect(creates).toBe(0);
    });

    it('should show accept the fields before the file and at most sniffSize first bytes', async () => {
      const seen: Array<[Record<string, string>, number]> = [];
      await lastValueFrom(store(formBody(form), createMemoryStorage(), {
        sniffSize: 100,
        accept: (info, first) => (seen.push([{ ...info.fields }, first.length]), true),
      }, 7).pipe(toArray()));
      expect(seen).toEqual([[{ title: 'Holiday' }, 100], [{ title: 'Holiday', note: 'two files' }, 100]]);
    });

    it('should remove the files already stored when a later file is refused', async () => {
      const memory = createMemoryStorage();
      const failure = await failureOf(store(formBody(form), memory, { accept: isPng }));
      expect(failure).toMatchObject({ code: 'FILE_REJECTED', partIndex: 3 });
      expect(memory.list()).toEqual([]);
    });
  });

  it('should enforce a per-file fileSize decided at the start of the file', async () => {
    const memory = createMemoryStorage();
    const failure = await failureOf(store(formBody(form), memory, { limits: (file) => (file.contentType === 'text/plain' ? { fileSize: 100_000 } : undefined) }));
    expect(failure).toBeInstanceOf(MultipartError);
    expect(failure).toMatchObject({ code: 'LIMIT_FILE_SIZE', status: 413, limit: 100_000, partIndex: 3, filename: 'notes.txt' });
    expect(memory.list()).toEqual([]);
    expect(memory.totalSize).toBe(0);
  });

  it('should report progress in growing bytes against the given total', async () => {
    const body = formBody(form);
    const reports: Array<[number, number | undefined]> = [];
    await lastValueFrom(store(body, createMemoryStorage(), { total: body.length, progress: (p) => reports.push([p.bytes, p.total]) }).pipe(toArray()));
    const bytes = reports.map(([stored]) => stored);
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
    expect(bytes.at(-1)).toBe(7 + PNG.length + 9 + 200_000);
    expect(reports.every(([, total]) => total === body.length)).toBe(true);
  });

  describe('concurrency', () => {
    const smallFiles: FormPart[] = Array.from({ length: 8 }, (_, i) => ({ name: `f${i}`, filename: `f${i}.bin`, data: randomBytes(100 + i) }));

    /** Memory storage whose closes take longer for earlier files, counting the files open at once. */
    function slowClosing(memory = createMemoryStorage()): { storage: FileStorage<string>; peak: () => number } {
      let open = 0;
      let peak = 0;
      const storage: FileStorage<string> = {
        ...memory,
        async create(info) {
          const writer = await memory.create(info);
          peak = Math.max(peak, ++open);
          return {
            write: (chunk, offset) => writer.write(chunk, offset),
            async close() {
              await new Promise((resolve) => setTimeout(resolve, 40 - 4 * info.index));
              open--;
              return writer.close();
            },
            abort: (reason) => (open--, writer.abort(reason)),
          };
        },
      };
      return { storage, peak: () => peak };
    }

    it('should store up to 4 files at once by default and still emit them in body order', async () => {
      const { storage, peak } = slowClosing();
      const parts = await lastValueFrom(store(formBody(smallFiles), storage).pipe(toArray()));
      expect(parts.map((part) => part.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(files(parts).map((file) => file.size)).toEqual(smallFiles.map((part) => (part.data as Buffer).length));
      expect(peak()).toBe(4);
    });

    it('should take the storage\'s own concurrency when the option is not given, the option first', async () => {
      const hinted = slowClosing();
      await lastValueFrom(store(formBody(smallFiles), { ...hinted.storage, concurrency: 6 }).pipe(toArray()));
      expect(hinted.peak()).toBe(6);
      const overridden = slowClosing();
      await lastValueFrom(store(formBody(smallFiles), { ...overridden.storage, concurrency: 6 }, { concurrency: 2 }).pipe(toArray()));
      expect(overridden.peak()).toBe(2);
    });

    it('should store one file at a time with concurrency 1', async () => {
      const { storage, peak } = slowClosing();
      const parts = await lastValueFrom(store(formBody(smallFiles), storage, { concurrency: 1 }).pipe(toArray()));
      expect(parts.map((part) => part.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(peak()).toBe(1);
    });

    it('should remove the files stored ahead of an earlier one that fails', async () => {
      const memory = createMemoryStorage();
      const { storage } = slowClosing(memory);
      const error = new Error('first close failed');
      const failing: FileStorage<string> = {
        ...storage,
        async create(info) {
          const writer = await storage.create(info);
          // The first file fails its close after 40 ms, when the later ones have closed.
          return info.index === 0 ? { ...writer, close: () => new Promise((_resolve, reject) => setTimeout(() => reject(error), 40)) } : writer;
        },
      };
      let stored = 0;
      const failure = await failureOf(store(formBody(smallFiles), failing).pipe(tap(() => stored++)));
      expect(failure).toBe(error);
      // Nothing was emitted (the first result waits for the first file), and what closed is gone.
      expect(stored).toBe(0);
      expect(memory.list()).toEqual([]);
      expect(memory.totalSize).toBe(0);
    });
  });

  it('should hand a writer with writev the chunks that arrived during a write, without joining them', async () => {
    const memory = createMemoryStorage();
    const batches: number[] = [];
    const gathering: FileStorage<string> = {
      ...memory,
      async create(info) {
        const writer = await memory.create(info);
        return {
          ...writer,
          write: () => Promise.reject(new Error('write called although writev exists')),
          async writev(chunks, offset) {
            batches.push(chunks.length);
            await new Promise((resolve) => setTimeout(resolve, 2));
            for (const chunk of chunks) {
              await writer.write(chunk, offset);
              offset += chunk.length;
            }
          },
        };
      },
    };
    const data = randomBytes(1024 * 1024);
    const [file] = files(await lastValueFrom(store(formBody([{ name: 'f', filename: 'big.bin', data }]), gathering).pipe(toArray())));
    expect(memory.read(file!.id)!.equals(data)).toBe(true);
    expect(Math.max(...batches)).toBeGreaterThan(1);
  });

  it('should pause the source while a slow storage writes, and resume it', async () => {
    let pauses = 0;
    let resumes = 0;
    const chunks = new Subject<Buffer>();
    const body = formBody([{ name: 'big', filename: 'big.bin', data: randomBytes(2 * 1024 * 1024) }]);
    const done = firstValueFrom(chunks.pipe(
      parseMultipart(`multipart/form-data; boundary=${BOUNDARY}`, { highWaterMark: 256 * 1024, backpressure: { pause: () => pauses++, resume: () => resumes++ } }),
      storeParts(withFaults(createMemoryStorage(), { writeDelay: 1 })),
      toArray(),
    ));
    for (const chunk of chunkBySizes(body, [64 * 1024])) chunks.next(chunk);
    expect(pauses).toBe(1);
    const [file] = await done;
    expect(file).toMatchObject({ size: 2 * 1024 * 1024 });
    expect(resumes).toBeGreaterThanOrEqual(1);
  });

  it.each([0, 1, 2, 3, 4, 5, 6, 8])('should abort, not write, a file left %i microtasks after its create answered', async (microtasks) => {
    // The upload is left (unsubscribed) in the short gap between the storage's answer to create
    // and the first write: the file must be aborted, never written and left open.
    const log: string[] = [];
    let subscription: { unsubscribe(): void } | undefined;
    const memory = createMemoryStorage();
    const storage: FileStorage = {
      ...memory,
      async create(info) {
        const writer = await memory.create(info);
        let gap: Promise<unknown> = Promise.resolve();
        for (let i = 0; i < microtasks; i++) gap = gap.then(() => undefined);
        void gap.then(() => {
          log.push('left');
          subscription!.unsubscribe();
        });
        return {
          write: (chunk, offset) => (log.push('write'), writer.write(chunk, offset)),
          close: () => (log.push('close'), writer.close()),
          abort: (reason) => (log.push('abort'), writer.abort(reason)),
        };
      },
    };
    subscription = store(formBody([{ name: 'f', filename: 'a.txt', data: 'hello' }]), storage).subscribe({ error: () => undefined });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(log.includes('write') && !log.includes('abort')).toBe(false);
    expect(log).toContain('abort');
    expect(memory.list()).toEqual([]);
  });
});
