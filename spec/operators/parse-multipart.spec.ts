/** parseMultipart: timing semantics (marbles), laziness, body$ rules, backpressure and stalls. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { catchError, concatMap, defer, from, map, mergeMap, Observable, of, Subject, take, throwError, timeout, timer, toArray, type ObservableInput } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { MultipartError, parseMultipart, type Part } from '../../lib/index';
import { BOUNDARY, CONTENT_TYPE, formBody, partHead } from '../support/form-body';

const chunk = (text: string): Buffer => Buffer.from(text);
const close = `\r\n--${BOUNDARY}--`;
// Part x opens with byte X, part y with byte Y; z closes the body.
const values = {
  a: chunk(`${partHead({ name: 'x' })}X`),
  b: chunk(`\r\n${partHead({ name: 'y' })}Y`),
  c: chunk(close),
};

const nameOf = (part: Part): string => part.name;
const codeOf = (error: unknown): Observable<never> => throwError(() => (error instanceof MultipartError ? error.code : error));
const readText = (part: Part): Observable<string> =>
  part.body$.pipe(toArray(), map((chunks) => `${part.name}=${Buffer.concat(chunks).toString()}`));

let testScheduler: TestScheduler;

beforeEach(() => {
  testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
});

describe('parseMultipart timing', () => {
  it('should emit each part as soon as its headers are read, in body order', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('  --a--b--c--|', values);
      const e1subs = '  ^-------!   ';
      const expected = '--x--y--|   ';
      expectObservable(e1.pipe(parseMultipart(CONTENT_TYPE), map(nameOf))).toBe(expected, { x: 'x', y: 'y' });
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('should end each body$ at the next delimiter and complete at the closing one', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('  --a--b--c--|', values);
      const e1subs = '  ^-------!   ';
      const expected = '-----x--(y|)';
      expectObservable(e1.pipe(parseMultipart(CONTENT_TYPE), concatMap(readText))).toBe(expected, { x: 'x=X', y: 'y=Y' });
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('should complete at the closing delimiter although the source never completes', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('  --a--b--c-----', values);
      const e1subs = '  ^-------!     ';
      const expected = '--x--y--|     ';
      expectObservable(e1.pipe(parseMultipart(CONTENT_TYPE), map(nameOf))).toBe(expected, { x: 'x', y: 'y' });
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('should error the outer Observable with SOURCE_ERROR when the source errors', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('  --a--#', values, new Error('socket hang up'));
      const e1subs = '  ^----!';
      const expected = '--x--#';
      expectObservable(e1.pipe(parseMultipart(CONTENT_TYPE), map(nameOf), catchError(codeOf))).toBe(expected, { x: 'x' }, 'SOURCE_ERROR');
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it("should error the current part's body$ when the source errors", () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const e1 = hot('  --a--#', values, new Error('socket hang up'));
      const expected = '-----#';
      const bodies = e1.pipe(parseMultipart(CONTENT_TYPE), mergeMap(readText), catchError(codeOf));
      expectObservable(bodies).toBe(expected, undefined, 'SOURCE_ERROR');
    });
  });

  it('should error with UNEXPECTED_END when the source completes before the closing delimiter', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('  --a--b--|', values);
      const e1subs = '  ^-------!';
      const expected = '-----x--#';
      const bodies = e1.pipe(parseMultipart(CONTENT_TYPE), concatMap(readText), catchError(codeOf));
      expectObservable(bodies).toBe(expected, { x: 'x=X' }, 'UNEXPECTED_END');
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('should release the source when the subscriber unsubscribes between parts', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('  --a--b--c--|', values);
      const unsub = '   ---!        ';
      const e1subs = '  ^--!        ';
      const expected = '--x-        ';
      expectObservable(e1.pipe(parseMultipart(CONTENT_TYPE), map(nameOf)), unsub).toBe(expected, { x: 'x' });
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('should finish a part whose body$ is subscribed after the outer unsubscribes, then release the source', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const e1 = hot('  --a--b--c--|', values);
      const e1subs = '  ^----!      ';
      // take(1) unsubscribes the parts right after x; x's body$ keeps the source until x ends.
      const expected = '-----(x|)   ';
      expectObservable(e1.pipe(parseMultipart(CONTENT_TYPE), take(1), concatMap(readText))).toBe(expected, { x: 'x=X' });
      expectSubscriptions(e1.subscriptions).toBe(e1subs);
    });
  });

  it('should be lazy: a bad Content-Type errors on subscription, not when the operator is made', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const operator = parseMultipart('application/json');
      const e1 = cold(' --a--|', values);
      const expected = '#';
      expectObservable(e1.pipe(operator, catchError(codeOf))).toBe(expected, undefined, 'NOT_MULTIPART');
      expectSubscriptions(e1.subscriptions).toBe([]);
    });
  });
});

describe('parseMultipart with a synchronous source', () => {
  it('should stop pulling a synchronous source once take(3) has its parts', () => {
    let pulled = 0;
    function* endlessForm(): Generator<Buffer> {
      for (let i = 0; ; i++) {
        pulled++;
        yield chunk(`${i === 0 ? '' : '\r\n'}${partHead({ name: `f${i}` })}v${i}`);
      }
    }
    const names: string[] = [];
    let isComplete = false;
    from(endlessForm()).pipe(parseMultipart(CONTENT_TYPE), take(3)).subscribe({
      next: (part) => names.push(part.name),
      complete: () => (isComplete = true),
    });
    expect(names).toEqual(['f0', 'f1', 'f2']);
    expect(isComplete).toBe(true);
    expect(pulled).toBe(3);
  });

  it('should parse a whole body in one synchronous pass', () => {
    const body = formBody([{ name: 'a', data: '1' }, { name: 'b', filename: 'b.txt', data: '22' }]);
    const texts: string[] = [];
    of(body).pipe(parseMultipart(CONTENT_TYPE), concatMap(readText)).subscribe((text) => texts.push(text));
    expect(texts).toEqual(['a=1', 'b=22']);
  });
});

describe('Part.body$', () => {
  it('should queue bytes for a part subscribed after the parse completed', async () => {
    const body = formBody([{ name: 'a', data: 'first' }, { name: 'b', data: 'second' }]);
    const parts = await new Promise<Part[]>((resolve) => of(body).pipe(parseMultipart(CONTENT_TYPE), toArray()).subscribe(resolve));
    const texts = await new Promise<string[]>((resolve) => from(parts).pipe(concatMap(readText), toArray()).subscribe(resolve));
    expect(texts).toEqual(['a=first', 'b=second']);
  });

  it('should error a second subscription with PART_CONSUMED', () => {
    const body = formBody([{ name: 'a', data: 'x' }]);
    const errors: unknown[] = [];
    of(body).pipe(parseMultipart(CONTENT_TYPE)).subscribe((part) => {
      part.body$.subscribe();
      part.body$.subscribe({ error: (error: unknown) => errors.push(error) });
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(MultipartError);
    expect((errors[0] as MultipartError).code).toBe('PART_CONSUMED');
    expect((errors[0] as MultipartError).status).toBe(500);
  });

  it('should error a subscription after discard() with PART_CONSUMED', () => {
    const body = formBody([{ name: 'a', data: 'x' }]);
    const codes: string[] = [];
    of(body).pipe(parseMultipart(CONTENT_TYPE)).subscribe((part) => {
      part.discard();
      part.body$.subscribe({ error: (error: MultipartError) => codes.push(error.code) });
    });
    expect(codes).toEqual(['PART_CONSUMED']);
  });

  it('should drain the rest of a part whose reader unsubscribed early, and go on parsing', () => {
    const body = formBody([{ name: 'a', data: 'x'.repeat(1000) }, { name: 'b', data: 'y' }]);
    const chunks = [body.subarray(0, 200), body.subarray(200, 600), body.subarray(600)];
    const seen: string[] = [];
    from(chunks)
      .pipe(parseMultipart(CONTENT_TYPE), concatMap((part) => (part.name === 'a' ? part.body$.pipe(take(1), map(() => 'a:first chunk')) : readText(part))))
      .subscribe((text) => seen.push(text));
    expect(seen).toEqual(['a:first chunk', 'b=y']);
  });
});

describe('parseMultipart errors', () => {
  it('should report a string chunk as INVALID_CHUNK', () => {
    const codes: string[] = [];
    of('not bytes' as unknown as Uint8Array).pipe(parseMultipart(CONTENT_TYPE)).subscribe({ error: (e: MultipartError) => codes.push(e.code) });
    expect(codes).toEqual(['INVALID_CHUNK']);
  });

  it('should report a timeout composed upstream as TIMEOUT with status 408', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const e1 = hot('  --a------', values);
      const expected = '--x--#';
      const parts = e1.pipe(timeout(3), parseMultipart(CONTENT_TYPE), map(nameOf), catchError((e: MultipartError) => throwError(() => `${e.code} ${e.status}`)));
      expectObservable(parts).toBe(expected, { x: 'x' }, 'TIMEOUT 408');
    });
  });

  it('should reject invalid limits through the Observable', () => {
    const errors: unknown[] = [];
    of(formBody([])).pipe(parseMultipart(CONTENT_TYPE, { limits: { fileSize: -1 } })).subscribe({ error: (e: unknown) => errors.push(e) });
    expect(errors[0]).toBeInstanceOf(TypeError);
    expect((errors[0] as Error).message).toContain('limits.fileSize');
  });
});

describe('parseMultipart backpressure', () => {
  const fourBytes = {
    a: chunk(`${partHead({ name: 'file', filename: 'f.bin' })}1111`),
    b: chunk('2222'),
    c: chunk('3333'),
    d: chunk(close),
  };

  it('should pause above highWaterMark while a slow sink writes, and resume below half of it', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const log: string[] = [];
      const backpressure = {
        pause: () => log.push(`pause@${testScheduler.now()}`),
        resume: () => log.push(`resume@${testScheduler.now()}`),
      };
      const e1 = hot('-a-b-c-d-|', fourBytes);
      const slowWrite = (): ObservableInput<unknown> => timer(10);
      const written = e1.pipe(parseMultipart(CONTENT_TYPE, { backpressure, highWaterMark: 4 }), concatMap((part) => part.writeBody(slowWrite)));
      // 2222 and 3333 arrive while 1111 is being written: they go out together in the next write.
      expectObservable(written).toBe('11ms a 9ms (c|)', { a: 4, c: 12 });
      testScheduler.flush();
      // Paused when the third byte-group arrived (8 > 4); resumed when the parse ended at d.
      expect(log).toEqual(['pause@3', 'resume@7']);
    });
  });

  it('should fail with STALLED, naming the part, when a paused parse consumes nothing for stallTimeout', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const backpressure = { pause: () => undefined, resume: () => undefined };
      const e1 = hot('-a-b-c----', fourBytes);
      // Nobody reads the part's body$: its bytes stay queued.
      const parts = e1.pipe(
        parseMultipart(CONTENT_TYPE, { backpressure, highWaterMark: 4, stallTimeout: 100 }),
        map(nameOf),
        catchError((e: MultipartError) => throwError(() => `${e.code} ${e.partIndex} ${e.filename}`)),
      );
      // The second group (frame 3) passes the high-water mark; 100 ms later the parse stalls.
      expectObservable(parts).toBe('-x 101ms #', { x: 'file' }, 'STALLED 0 f.bin');
    });
  });

  it('should not stall while a slow sink keeps consuming', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const backpressure = { pause: () => undefined, resume: () => undefined };
      const e1 = hot('-a-b-c-d-|', fourBytes);
      const written = e1.pipe(
        parseMultipart(CONTENT_TYPE, { backpressure, highWaterMark: 4, stallTimeout: 15 }),
        concatMap((part) => part.writeBody(() => timer(10))),
      );
      expectObservable(written).toBe('11ms a 9ms (c|)', { a: 4, c: 12 });
    });
  });

  it('should let discard() drop a part without stalling the parse', () => {
    const body = formBody([{ name: 'skip', filename: 's.bin', data: Buffer.alloc(10_000, 1) }, { name: 'keep', data: 'k' }]);
    const calls: string[] = [];
    const backpressure = { pause: () => calls.push('pause'), resume: () => calls.push('resume') };
    const texts: string[] = [];
    from([body.subarray(0, 5000), body.subarray(5000)])
      .pipe(
        parseMultipart(CONTENT_TYPE, { backpressure, highWaterMark: 1024 }),
        mergeMap((part) => {
          if (part.name === 'skip') {
            part.discard();
            return [];
          }
          return readText(part);
        }),
      )
      .subscribe((text) => texts.push(text));
    expect(texts).toEqual(['keep=k']);
    expect(calls).toEqual([]);
  });

  it('should hold queued bytes of an unread part against highWaterMark and pause the source', () => {
    const body = formBody([{ name: 'unread', data: Buffer.alloc(5000, 1) }]);
    const calls: string[] = [];
    const backpressure = { pause: () => calls.push('pause'), resume: () => calls.push('resume') };
    const parts: Part[] = [];
    from([body.subarray(0, 3000), body.subarray(3000)]).pipe(parseMultipart(CONTENT_TYPE, { backpressure, highWaterMark: 1024 })).subscribe((part) => parts.push(part));
    // Paused while the bytes waited; resumed (released) when the parse ended.
    expect(calls).toEqual(['pause', 'resume']);
    expect(parts.map(nameOf)).toEqual(['unread']);
  });
});

describe('parseMultipart memory', () => {
  // A full collection on demand: V8's gc, reached the documented way for a process started without
  // --expose-gc (v8.setFlagsFromString, then a fresh context sees it).
  function collectGarbage(): void {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    if (typeof gc !== 'function') throw new Error('no gc() in this Node.js');
    (gc as () => void)();
  }

  /** Sends a part's head and 64 KiB of it, keeping no reference but a weak one to the chunk's memory. */
  function sendChunk(source: Subject<Buffer>): WeakRef<ArrayBufferLike> {
    const head = Buffer.from(partHead({ name: 'file', filename: 'f.bin' }));
    // Not from Buffer's pool: the chunk's memory is its own, so its collection can be seen.
    const chunk = Buffer.alloc(head.length + 64 * 1024, 7);
    head.copy(chunk);
    source.next(chunk);
    return new WeakRef(chunk.buffer);
  }

  it('should keep no chunk alive once its bytes were consumed, while the source sends nothing more', async () => {
    const source = new Subject<Buffer>();
    const written: number[] = [];
    const subscription = source
      .pipe(parseMultipart(CONTENT_TYPE), concatMap((part) => part.writeBody((data) => {
        written.push(data.length);
        return [];
      })))
      .subscribe();
    const memory = sendChunk(source);
    // Its bytes are written; only the parse could still point at them (the part is open: a slow
    // client, or a source paused for another upload's sake).
    expect(written.reduce((sum, length) => sum + length, 0)).toBe(64 * 1024);
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    expect(memory.deref()).toBeUndefined();
    subscription.unsubscribe();
  });
});

describe('parseMultipart with defer', () => {
  it('should parse again on each subscription of a replayable source', async () => {
    const body = formBody([{ name: 'a', data: 'again' }]);
    const source = defer(() => of(body)).pipe(parseMultipart(CONTENT_TYPE), concatMap(readText));
    const first = await new Promise<string[]>((resolve) => source.pipe(toArray()).subscribe(resolve));
    const second = await new Promise<string[]>((resolve) => source.pipe(toArray()).subscribe(resolve));
    expect(first).toEqual(['a=again']);
    expect(second).toEqual(['a=again']);
  });
});
