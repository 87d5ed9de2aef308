/**
 * The load bench's verdict on what a server leaves behind (bench/load-phase.js, load-check.js,
 * load-table.js): real servers in their own processes over loopback, the bench's client process,
 * a real folder. A server that removes nothing when a client aborts must be caught.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface PhaseOptions {
  kind: string;
  shape: 'file' | 'form';
  concurrency: number;
  total: number;
  abortEvery: number;
  byteCheckEvery: number;
  packageRoot: string;
  nodeFlags: string[];
  serverEnv: Record<string, string>;
  logFile: undefined;
  serverScript?: string;
}

interface PhaseResult {
  kind: string;
  error?: string;
  answered: number;
  aborted: number;
  wrong: number;
  warmupWrong: number;
  orphans: string[];
}

interface Upload {
  upload: number;
  outcome: 'answered' | 'aborted' | 'failed';
  status: number;
  answer: string;
  error: string;
}

interface Scenario {
  name: string;
  label: string;
  concurrency: number;
  total: number;
}

// The bench is plain JavaScript run by node; its modules are typed here by what the spec uses.
const { runPhase } = require('../../bench/load-phase.js') as { runPhase(phase: PhaseOptions): Promise<PhaseResult> };
const { checkPhase, listFiles } = require('../../bench/load-check.js') as {
  listFiles(directory: string): Map<string, number>;
  checkPhase(phase: { kind: string; directory: string; shape: string; files: Map<string, number>; uploads: Upload[]; firstMeasured: number; byteCheckEvery: number }): {
    answered: number;
    wrong: number;
    orphans: string[];
  };
};
const { formatReport } = require('../../bench/load-table.js') as {
  formatReport(scenarios: Scenario[], phases: object[], servers: string[]): { lines: string[]; failures: { kind: string; why: string }[] };
};
const { SHAPES, buildBody } = require('../../bench/load-body.js') as {
  SHAPES: Record<string, { fileSize: number }>;
  buildBody(shape: string, upload: number): { pieces: Buffer[] };
};

const LEAKY_SERVER = join(__dirname, '..', 'support', 'servers', 'leaky-upload.js');

/** Ten uploads of a 4 MiB file, five at a time, the fifth and the tenth aborted halfway. */
function phaseOf(kind: string, serverScript?: string): PhaseOptions {
  const phase: PhaseOptions = { kind, shape: 'file', concurrency: 5, total: 10, abortEvery: 5, byteCheckEvery: 1, packageRoot: '', nodeFlags: [], serverEnv: {}, logFile: undefined };
  return serverScript === undefined ? phase : { ...phase, serverScript };
}

describe('the load bench', () => {
  describe('with a server that removes nothing when its client aborts', () => {
    let result: PhaseResult;

    beforeAll(async () => {
      result = await runPhase(phaseOf('rx-multipart', LEAKY_SERVER));
    });

    it('should count the file of each aborted upload as left behind', () => {
      expect(result.error).toBeUndefined();
      expect({ aborted: result.aborted, orphans: result.orphans.length }).toEqual({ aborted: 2, orphans: 2 });
    });

    it('should still count its complete uploads as answered', () => {
      expect({ answered: result.answered, wrong: result.wrong + result.warmupWrong }).toEqual({ answered: 8, wrong: 0 });
    });

    it('should mark its row failed and list it among the failures of rx-multipart', () => {
      const scenario = { name: 'file-5', label: '4 MiB file', concurrency: 5, total: 10 };
      const report = formatReport([scenario], [{ ...result, scenario: 'file-5', round: 0 }], ['rx-multipart']);
      expect(report.lines.find((line) => line.includes('rx-multipart'))).toContain('**FAILED** 2');
      expect(report.failures.map((failure) => failure.kind)).toEqual(['rx-multipart']);
    });
  });

  describe("with rx-multipart's server", () => {
    it('should count no file left behind after aborted uploads', async () => {
      const result = await runPhase(phaseOf('rx-multipart'));
      expect(result.error).toBeUndefined();
      expect({ answered: result.answered, aborted: result.aborted, wrong: result.wrong, orphans: result.orphans }).toEqual({ answered: 8, aborted: 2, wrong: 0, orphans: [] });
    });
  });

  describe('checking a folder', () => {
    let directory: string;

    beforeEach(() => {
      directory = mkdtempSync(join(tmpdir(), 'rx-multipart-load-spec-'));
    });

    afterEach(() => rmSync(directory, { recursive: true, force: true }));

    /** A 200 answer reporting `path` as field f0 of upload 7's 4 MiB file. */
    const answered = (path: string): Upload => ({
      upload: 7,
      outcome: 'answered',
      status: 200,
      answer: JSON.stringify({ files: [{ field: 'f0', path, size: SHAPES.file!.fileSize }] }),
      error: '',
    });
    const check = (uploads: Upload[]) => checkPhase({ kind: 'rx-multipart', directory, shape: 'file', files: listFiles(directory), uploads, firstMeasured: 0, byteCheckEvery: 1 });
    // Upload 7's file as sent: its tagged head, then the shared data (the pieces less the part head and close).
    const sentFile = () => {
      const [head, data] = buildBody('file', 7).pieces;
      return Buffer.concat([head!.subarray(head!.length - 32), data!]);
    };

    it('should count a partial file in a sub-folder as left behind', () => {
      mkdirSync(join(directory, 'a'));
      writeFileSync(join(directory, 'a', 'a1.partial'), 'half');
      expect(check([]).orphans).toEqual([join(directory, 'a', 'a1.partial')]);
    });

    it("should not count the disk storage's index as left behind", () => {
      writeFileSync(join(directory, 'index.jsonl'), '{}\n');
      expect(check([]).orphans).toEqual([]);
    });

    it('should count an answered upload as right when its file holds the bytes sent', () => {
      writeFileSync(join(directory, 'stored'), sentFile());
      expect(check([answered(join(directory, 'stored'))])).toMatchObject({ answered: 1, wrong: 0, orphans: [] });
    });

    it('should count an answered upload as wrong when its file holds other bytes', () => {
      const bytes = sentFile();
      bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 1, bytes.length - 1);
      writeFileSync(join(directory, 'stored'), bytes);
      expect(check([answered(join(directory, 'stored'))])).toMatchObject({ answered: 0, wrong: 1, orphans: [] });
    });
  });
});
