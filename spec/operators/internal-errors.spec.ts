/**
 * A fault of rx-multipart's own (a bug, not bad input) ends the parse with INTERNAL (500) through
 * the Observable, never as SOURCE_ERROR and never as a throw outside it. The faults are injected,
 * since no input produces them.
 */
import { lastValueFrom, of, toArray } from 'rxjs';
import { MultipartError, parseMultipart } from '../../lib/index';
import { PartStream } from '../../lib/operators/part';
import * as parser from '../../lib/parser/multipart-parser';
import { CONTENT_TYPE, formBody } from '../support/form-body';

const body = formBody([{ name: 'a', data: 'one' }, { name: 'f', filename: 'f.bin', data: 'two' }]);

/** Parses `chunks`, reading nothing; resolves with the error it ends in, or undefined. */
function errorOf(chunks: readonly Uint8Array[]): Promise<unknown> {
  return lastValueFrom(of(...chunks).pipe(parseMultipart(CONTENT_TYPE), toArray())).then(() => undefined, (error: unknown) => error);
}

describe('a fault of the library itself', () => {
  afterEach(() => jest.restoreAllMocks());

  it('should end the parse with INTERNAL (500), the thrown error as its cause, when the parser throws', async () => {
    const fault = new Error('injected parser fault');
    // A chunk whose views cannot be taken: the parser's own code throws while reading it.
    const chunk = Buffer.from(body);
    chunk.subarray = () => {
      throw fault;
    };
    const error = await errorOf([chunk]);
    expect(error).toBeInstanceOf(MultipartError);
    expect(error).toMatchObject({ code: 'INTERNAL', status: 500, cause: fault });
  });

  it('should end the parse with INTERNAL when handing a part its bytes throws', async () => {
    const fault = new Error('injected delivery fault');
    jest.spyOn(PartStream.prototype, 'push').mockImplementation(() => {
      throw fault;
    });
    expect(await errorOf([body])).toMatchObject({ code: 'INTERNAL', status: 500, cause: fault });
  });

  it('should end the parse with INTERNAL when finishing the body throws', async () => {
    const fault = new Error('injected finish fault');
    jest.spyOn(parser, 'finish').mockImplementation(() => {
      throw fault;
    });
    // The body ends early, so the parse asks the parser to finish it.
    expect(await errorOf([body.subarray(0, 60)])).toMatchObject({ code: 'INTERNAL', cause: fault });
  });

  it('should keep INVALID_CHUNK for a source that emits strings (bad input, not a fault)', async () => {
    expect(await errorOf(['text' as unknown as Uint8Array])).toMatchObject({ code: 'INVALID_CHUNK' });
  });

  it('should name the part that was open when the fault happened', async () => {
    const fault = new Error('injected late fault');
    let calls = 0;
    const original = parser.step;
    jest.spyOn(parser, 'step').mockImplementation((state, chunk) => {
      if (++calls === 2) throw fault;
      return original(state, chunk);
    });
    const error = await errorOf([body.subarray(0, body.indexOf('two')), body.subarray(body.indexOf('two'))]);
    expect(error).toMatchObject({ code: 'INTERNAL', partIndex: 1, fieldName: 'f', filename: 'f.bin' });
  });
});
