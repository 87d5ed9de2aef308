/** What the download cases share: the files' sizes, the demo under test, and the fixture the suite fills in. */
import type { DemoProcess } from './demo-process';

export const KiB = 1024;
export const MiB = 1024 * KiB;
// Odd, so that no range lines up with a chunk, a part or a page by chance.
export const SIZE = 3 * MiB + 123;
// Larger than every buffer between the storage and curl (socket buffers on loopback reach a few MiB,
// and curl 7.88 reads MiBs at once before its --limit-rate pauses it), so that a download is still
// running when curl is cut off, and the demo still reading from the storage.
export const LARGE_SIZE = 48 * MiB;

/** The demo on one storage, and a look at what the storage side holds open for a download. */
export interface DemoUnderTest {
  readonly demo: DemoProcess;
  /** Whether the demo holds a storage resource open to read file `id` (a descriptor, a socket with unread bytes, a cursor). */
  isReading(id: string): Promise<boolean>;
  stop(): Promise<void>;
}

/** An answer read whole. */
export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
}

/** What the cases share, set before the first of them runs. */
export interface DownloadFixture {
  subject: DemoUnderTest;
  /** A file of SIZE random bytes, its id and its ETag. */
  bytes: Buffer;
  id: string;
  etag: string;
  /** An empty file. */
  emptyId: string;
  /** A file of LARGE_SIZE random bytes. */
  largeBytes: Buffer;
  largeId: string;
  /** A folder for curl's output. */
  scratch: string;
  /** The URL of a stored file. */
  urlOf(id: string): string;
  /** A path in the scratch folder. */
  output(file: string): string;
  /** Fetches `/files/<id>` with `headers`, reading the whole body. */
  request(id: string, headers?: Record<string, string>, method?: string): Promise<Answer>;
}
