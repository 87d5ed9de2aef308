/**
 * What a Nest application of spec/nest/apps must do, over real HTTP with Node's fetch: one
 * scenario per behaviour of issue 6, each ending with the storage folder checked. Run by the jest
 * spec (Nest 12) and by the Nest 11 fixture's driver, so both versions answer the same questions.
 * Only Node built-ins here: the fixture compiles this file on its own.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { diskEntriesFor, diskFolder } from '../support/disk-folder';

/** An application listening, with the folder its disk storage writes to. */
export interface AppUnderTest {
  readonly url: string;
  readonly directory: string;
}

/** One behaviour, checked against a running application. */
export interface Scenario {
  readonly name: string;
  readonly run: (app: AppUnderTest) => Promise<void>;
}

const KiB = 1024;
const MiB = 1024 * KiB;
// Far longer than any cleanup takes; only a broken cleanup waits this long.
const CLEANUP_DEADLINE_MS = 10_000;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);

type Entry = string | { readonly filename: string; readonly bytes: Buffer; readonly type?: string };

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** How a request ended: an answer, or a fetch that failed (the connection closed, an abort). */
type Outcome = { readonly status: number } | { readonly error: string };

interface PartSummary {
  readonly kind: 'file' | 'field';
  readonly name?: string;
  readonly value?: string;
  readonly fieldName?: string;
  readonly filename?: string;
  readonly size?: number;
  readonly sha256?: string;
  readonly id?: string;
}

/** Bytes that depend on `seed` only, so a failure is reproducible. */
function bytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let state = seed * 2654435761 + 1;
  for (let i = 0; i < size; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

function formOf(entries: ReadonlyArray<readonly [string, Entry]>): FormData {
  const form = new FormData();
  for (const [name, entry] of entries) {
    if (typeof entry === 'string') form.append(name, entry);
    else form.append(name, new Blob([entry.bytes], { type: entry.type ?? 'application/octet-stream' }), entry.filename);
  }
  return form;
}

async function post(app: AppUnderTest, path: string, body: FormData | string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(app.url + path, { method: 'POST', body, headers });
  const text = await response.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { text };
  }
  return { status: response.status, body: parsed };
}

/**
 * Deep equality through JSON. Not assert.deepEqual: under jest, values from Node's own realm (the
 * array readdir returns) and from the test's realm have different prototypes, which strict
 * equality counts.
 */
function assertSame(actual: unknown, expected: unknown, message?: string): void {
  assert.equal(JSON.stringify(actual), JSON.stringify(expected), message);
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The storage folder, the files its index lists included (see disk-folder). */
async function listStorage(app: AppUnderTest): Promise<string[]> {
  return diskFolder(app.directory);
}

/** Waits until the storage folder is empty: a cleanup after a timeout runs beside the 408. */
async function expectNoLeftovers(app: AppUnderTest): Promise<void> {
  const deadline = Date.now() + CLEANUP_DEADLINE_MS;
  let entries = await listStorage(app);
  while (entries.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    entries = await listStorage(app);
  }
  assertSame(entries, [], 'files were left in the storage');
}

/** Deletes every entry of the folder, its index too (the storage reads a new index from the start). */
async function emptyStorage(app: AppUnderTest): Promise<void> {
  const names = await readdir(app.directory).catch(() => [] as string[]);
  await Promise.all(names.map((name) => rm(join(app.directory, name), { recursive: true, force: true })));
}

/** A plain upload still succeeds: the server keeps serving after what came before. */
async function expectStillServing(app: AppUnderTest): Promise<void> {
  const file = bytes(10 * KiB, 99);
  const answer = await post(app, '/store', formOf([['note', 'after'], ['file', { filename: 'after.bin', bytes: file }]]));
  assert.equal(answer.status, 201, JSON.stringify(answer.body));
  const parts = answer.body['parts'] as PartSummary[];
  assert.equal(parts[1]?.sha256, sha256(file));
  await emptyStorage(app);
}

function expectError(answer: Answer, status: number, code: string): void {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.equal(answer.body['statusCode'], status);
  assert.equal(answer.body['code'], code);
  assert.equal(typeof answer.body['message'], 'string');
}

/** The form most scenarios send: fields around two files, one of them 200 KiB. */
function sampleForm(): { form: FormData; small: Buffer; large: Buffer } {
  const small = Buffer.from('hello from a text file\n');
  const large = bytes(200 * KiB, 1);
  const form = formOf([
    ['title', 'Holiday photos'],
    ['notes', { filename: 'notes.txt', bytes: small, type: 'text/plain' }],
    ['photo', { filename: 'photo.bin', bytes: large }],
    ['tag', 'summer'],
  ]);
  return { form, small, large };
}

async function expectSampleStored(app: AppUnderTest, answer: Answer, small: Buffer, large: Buffer): Promise<void> {
  assert.equal(answer.status, 201, JSON.stringify(answer.body));
  const parts = answer.body['parts'] as PartSummary[];
  assertSame(
    parts.map((part) => (part.kind === 'file' ? [part.fieldName, part.filename, part.size, part.sha256] : [part.name, part.value])),
    [
      ['title', 'Holiday photos'],
      ['notes', 'notes.txt', small.length, sha256(small)],
      ['photo', 'photo.bin', large.length, sha256(large)],
      ['tag', 'summer'],
    ],
  );
  const ids = parts.filter((part) => part.kind === 'file').map((part) => part.id!);
  assertSame(await listStorage(app), diskEntriesFor(ids));
  await emptyStorage(app);
}

/** A body whose first part has a header line without a colon. */
const MALFORMED_BODY = '--xyz\r\nContent-Disposition: form-data; name="a"\r\nthis line has no colon\r\n\r\nvalue\r\n--xyz--\r\n';

/** The first bytes of a form whose second file never ends: the client goes away inside it. */
function abortedUpload(app: AppUnderTest): Promise<Outcome> {
  const boundary = 'abortboundary';
  const head = (name: string, filename: string): string =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const controller = new AbortController();
  const chunks = [Buffer.from(head('first', 'first.bin')), bytes(64 * KiB, 3), Buffer.from(`\r\n${head('second', 'second.bin')}`), bytes(256 * KiB, 4)];
  const body = new ReadableStream<Uint8Array>({
    async pull(stream) {
      const chunk = chunks.shift();
      if (chunk !== undefined) return stream.enqueue(chunk);
      // Everything sent and the body left open; the server has had its chance to store the first file.
      await new Promise((resolve) => setTimeout(resolve, 300));
      controller.abort();
    },
  });
  const init = { method: 'POST', body, duplex: 'half', signal: controller.signal, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
  return fetch(app.url + '/store', init as RequestInit).then(
    (response) => ({ status: response.status }),
    (error: unknown) => ({ error: String(error) }),
  );
}

/** Runs a scenario from an empty storage, so that one failure does not fail the next ones. */
export async function runScenario(scenario: Scenario, app: AppUnderTest): Promise<void> {
  await emptyStorage(app);
  await scenario.run(app);
}

export const scenarios: readonly Scenario[] = [
  {
    name: 'store: several files and fields are stored before the handler, in body order, fields also as @Body()',
    run: async (app) => {
      const { form, small, large } = sampleForm();
      const answer = await post(app, '/store', form);
      assertSame(answer.body['fields'], { title: 'Holiday photos', tag: 'summer' });
      assertSame(answer.body['body'], { title: 'Holiday photos', tag: 'summer' });
      assertSame(answer.body['multerNames'], [['notes', 'notes.txt', 'text/plain'], ['photo', 'photo.bin', 'application/octet-stream']]);
      await expectSampleStored(app, answer, small, large);
    },
  },
  {
    name: "dest: the interceptor's own disk storage computes no checksum by default, and fills sha256 with checksum: 'sha256'",
    run: async (app) => {
      const file = bytes(20 * KiB, 7);
      const plain = await post(app, '/dest', formOf([['file', { filename: 'plain.bin', bytes: file }]]));
      const hashed = await post(app, '/dest/hashed', formOf([['file', { filename: 'hashed.bin', bytes: file }]]));
      assert.equal(plain.status, 201, JSON.stringify(plain.body));
      assert.equal(hashed.status, 201, JSON.stringify(hashed.body));
      const [one] = plain.body['parts'] as PartSummary[];
      const [other] = hashed.body['parts'] as PartSummary[];
      assertSame([one?.size, one?.sha256], [file.length, undefined]);
      assertSame([other?.size, other?.sha256], [file.length, sha256(file)]);
      const dest = `${app.directory}-dest`;
      try {
        assertSame(await diskFolder(dest), diskEntriesFor([one!.id!, other!.id!]));
      } finally {
        await rm(dest, { recursive: true, force: true });
      }
      assertSame(await listStorage(app), []);
    },
  },
  {
    name: 'stream: the handler stores the live parts through @UploadStorage(), in body order',
    run: async (app) => {
      const { form, small, large } = sampleForm();
      await expectSampleStored(app, await post(app, '/stream', form), small, large);
    },
  },
  {
    name: 'store: a file over the route limits.fileSize is 413 LIMIT_FILE_SIZE, and the file stored before it is removed',
    run: async (app) => {
      const answer = await post(app, '/store/limited', formOf([['ok', { filename: 'ok.txt', bytes: bytes(100, 5) }], ['big', { filename: 'big.bin', bytes: bytes(64 * KiB, 6) }]]));
      expectError(answer, 413, 'LIMIT_FILE_SIZE');
      await expectNoLeftovers(app);
      await expectStillServing(app);
    },
  },
  {
    name: 'stream: a limit reached while the handler stores is 413 with its code, nothing stays',
    run: async (app) => {
      const answer = await post(app, '/stream/limited', formOf([['ok', { filename: 'ok.txt', bytes: bytes(100, 7) }], ['big', { filename: 'big.bin', bytes: bytes(64 * KiB, 8) }]]));
      expectError(answer, 413, 'LIMIT_FILE_SIZE');
      await expectNoLeftovers(app);
      await expectStillServing(app);
    },
  },
  {
    name: 'registerAsync options apply: a file over the module fileSize (8 MiB) is 413, the rest of the body drained',
    run: async (app) => {
      const answer = await post(app, '/store', formOf([['huge', { filename: 'huge.bin', bytes: bytes(9 * MiB, 9) }]]));
      expectError(answer, 413, 'LIMIT_FILE_SIZE');
      assert.match(String(answer.body['message']), /limit 8388608/);
      await expectNoLeftovers(app);
      await expectStillServing(app);
    },
  },
  {
    name: 'register options merge key by key: the module limits.files holds under a route fileSize',
    run: async (app) => {
      const three = formOf([['a', { filename: 'a.txt', bytes: bytes(10, 10) }], ['b', { filename: 'b.txt', bytes: bytes(10, 11) }], ['c', { filename: 'c.txt', bytes: bytes(10, 12) }]]);
      expectError(await post(app, '/feature', three), 413, 'LIMIT_FILES');
      expectError(await post(app, '/feature', formOf([['a', { filename: 'a.bin', bytes: bytes(4 * KiB, 13) }]])), 413, 'LIMIT_FILE_SIZE');
      await expectNoLeftovers(app);
      const two = await post(app, '/feature', formOf([['a', { filename: 'a.txt', bytes: bytes(10, 14) }], ['b', { filename: 'b.txt', bytes: bytes(10, 15) }]]));
      assert.equal(two.status, 201, JSON.stringify(two.body));
      await emptyStorage(app);
    },
  },
  {
    name: 'a malformed body is 400 with its code (MALFORMED_HEADER, MISSING_BOUNDARY)',
    run: async (app) => {
      expectError(await post(app, '/store', MALFORMED_BODY, { 'content-type': 'multipart/form-data; boundary=xyz' }), 400, 'MALFORMED_HEADER');
      expectError(await post(app, '/stream', MALFORMED_BODY, { 'content-type': 'multipart/form-data; boundary=xyz' }), 400, 'MALFORMED_HEADER');
      expectError(await post(app, '/store', MALFORMED_BODY, { 'content-type': 'multipart/form-data' }), 400, 'MISSING_BOUNDARY');
      await expectNoLeftovers(app);
      await expectStillServing(app);
    },
  },
  {
    name: 'a body that is not multipart is 415 NOT_MULTIPART',
    run: async (app) => {
      expectError(await post(app, '/store', JSON.stringify({ title: 'json' }), { 'content-type': 'application/json' }), 415, 'NOT_MULTIPART');
      expectError(await post(app, '/stream', JSON.stringify({ title: 'json' }), { 'content-type': 'application/json' }), 415, 'NOT_MULTIPART');
      await expectStillServing(app);
    },
  },
  {
    name: 'store: the handler throwing after files were stored leaves the storage empty',
    run: async (app) => {
      const answer = await post(app, '/store/throws', sampleForm().form);
      assert.equal(answer.status, 409, JSON.stringify(answer.body));
      // Removed before the error is answered.
      assertSame(await listStorage(app), []);
      await expectStillServing(app);
    },
  },
  {
    name: 'store: ParseFilePipe rejecting one file removes every file of the request',
    run: async (app) => {
      const answer = await post(app, '/store/validated', formOf([['other', { filename: 'other.bin', bytes: bytes(500, 16) }], ['doc', { filename: 'doc.bin', bytes: bytes(1000, 17) }]]));
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assert.match(String(answer.body['message']), /expected size is less than 100/);
      assertSame(await listStorage(app), []);
      const small = await post(app, '/store/validated', formOf([['doc', { filename: 'doc.bin', bytes: bytes(50, 18) }]]));
      assertSame(small.body, { sizes: [50] });
      await emptyStorage(app);
    },
  },
  {
    name: 'store: accept refuses a file by its first bytes before anything of it is stored (415 FILE_REJECTED)',
    run: async (app) => {
      const png = Buffer.concat([PNG_SIGNATURE, bytes(2 * KiB, 19)]);
      expectError(await post(app, '/store/picky', formOf([['image', { filename: 'fake.png', bytes: bytes(2 * KiB, 20), type: 'image/png' }]])), 415, 'FILE_REJECTED');
      await expectNoLeftovers(app);
      const accepted = await post(app, '/store/picky', formOf([['image', { filename: 'real.png', bytes: png, type: 'image/png' }]]));
      assert.equal(accepted.status, 201, JSON.stringify(accepted.body));
      await emptyStorage(app);
    },
  },
  {
    name: 'stream: the handler throwing after it stored the parts leaves the storage empty',
    run: async (app) => {
      const answer = await post(app, '/stream/throws', sampleForm().form);
      assert.equal(answer.status, 409, JSON.stringify(answer.body));
      assertSame(await listStorage(app), []);
      await expectStillServing(app);
    },
  },
  {
    name: 'stream: an answer sent before the body is read drains it, stores nothing, and the server keeps serving',
    run: async (app) => {
      const answer = await post(app, '/stream/early', formOf([['title', 'early'], ['big', { filename: 'big.bin', bytes: bytes(2 * MiB, 21) }]]));
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
      assertSame(answer.body, { accepted: true });
      await expectNoLeftovers(app);
      await expectStillServing(app);
    },
  },
  {
    name: 'stream: an answer after the first file, with the body unread, removes that file too',
    run: async (app) => {
      const answer = await post(app, '/stream/first', formOf([['first', { filename: 'first.bin', bytes: bytes(KiB, 22) }], ['second', { filename: 'second.bin', bytes: bytes(MiB, 23) }]]));
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      assert.equal((answer.body['parts'] as PartSummary[])[0]?.filename, 'first.bin');
      await expectNoLeftovers(app);
      await expectStillServing(app);
    },
  },
  {
    name: 'an early answer to a body past drainLimit closes the connection, and the server keeps serving',
    run: async (app) => {
      const outcome: Outcome = await post(app, '/stream/early-big', formOf([['big', { filename: 'big.bin', bytes: bytes(8 * MiB, 24) }]])).then(
        (answer) => ({ status: answer.status }),
        (error: unknown) => ({ error: String(error) }),
      );
      // The connection is closed under the upload: fetch fails.
      assert.ok('error' in outcome, `answered ${JSON.stringify(outcome)}`);
      await expectNoLeftovers(app);
      await expectStillServing(app);
    },
  },
  {
    name: 'store: a timeout interceptor firing while files are stored leaves nothing, and the server keeps serving',
    run: async (app) => {
      const answer = await post(app, '/store/timeout', formOf([['a', { filename: 'a.txt', bytes: bytes(KiB, 25) }], ['slow', { filename: 'slow.bin', bytes: bytes(512 * KiB, 26) }]]));
      assert.equal(answer.status, 408, JSON.stringify(answer.body));
      await expectNoLeftovers(app);
      await expectStillServing(app);
    },
  },
  {
    name: 'store: a timeout firing in the handler, after every file was stored, removes them',
    run: async (app) => {
      const answer = await post(app, '/store/slow-handler', sampleForm().form);
      assert.equal(answer.status, 408, JSON.stringify(answer.body));
      await expectNoLeftovers(app);
      await expectStillServing(app);
    },
  },
  {
    name: 'stream: a timeout interceptor firing while the handler stores leaves nothing',
    run: async (app) => {
      const answer = await post(app, '/stream/timeout', formOf([['a', { filename: 'a.txt', bytes: bytes(KiB, 27) }], ['slow', { filename: 'slow.bin', bytes: bytes(512 * KiB, 28) }]]));
      assert.equal(answer.status, 408, JSON.stringify(answer.body));
      await expectNoLeftovers(app);
      await expectStillServing(app);
    },
  },
  {
    name: 'a client that goes away mid-upload leaves nothing, and the server keeps serving',
    run: async (app) => {
      const outcome = await abortedUpload(app);
      assert.ok('error' in outcome, `the upload was answered ${JSON.stringify(outcome)}`);
      await expectNoLeftovers(app);
      await expectStillServing(app);
    },
  },
];
