/** The writer that feeds a multer storage engine's `file.stream`: overlapping writes (a retry). */
import { PassThrough } from 'node:stream';
import { startEngineFile } from '../../lib/express/engine-file';
import type { StorageEngine } from '../../lib/express/storage-engine';

describe('a file handed to a storage engine', () => {
  it('should settle a waiting write when its retry comes before the engine reads, not leave it pending', async () => {
    // An engine that reads nothing until told to: the first write waits for room in the stream.
    let startReading!: () => void;
    const reading = new Promise<void>((resolve) => (startReading = resolve));
    const received: Buffer[] = [];
    const engine: StorageEngine = {
      _handleFile(_req, file, callback) {
        void reading.then(() => {
          file.stream.on('data', (chunk: Buffer) => received.push(chunk));
          file.stream.on('end', () => callback(null, { size: Buffer.concat(received).length }));
        });
      },
      _removeFile(_req, _file, callback) {
        callback(null);
      },
    };
    const file = { fieldname: 'f', originalname: 'a.bin', encoding: '7bit', mimetype: 'application/octet-stream' };
    const writer = startEngineFile(engine, file as never, { request: new PassThrough() as never, index: 0, highWaterMark: 4, timeout: 1000 });
    const outcomes: string[] = [];
    // A batch of two chunks: the first write pushes the first and waits for room before the second.
    const batch = [Buffer.from('01234'), Buffer.from('56789')];
    const first = writer.writev(batch, 0).then(() => outcomes.push('first'));
    // The retry storeParts makes after a timeout: the same batch at the same offset. It pushes the
    // second chunk, and waits too.
    const retry = writer.writev(batch, 0).then(() => outcomes.push('retry'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(outcomes).toEqual([]);
    startReading();
    await Promise.all([first, retry]);
    const stored = await writer.close();
    expect(outcomes.sort()).toEqual(['first', 'retry']);
    expect(Buffer.concat(received).toString()).toBe('0123456789');
    expect(stored.size).toBe(10);
  });
});
