/** docs/express.md's tables say what the code does: every MulterError code with its status, every parse limit with its default. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MULTER_ERROR_CODES, type ErrorCode } from '../../lib/express/index';
import { DEFAULT_LIMITS } from '../../lib/index';

const guide = readFileSync(join(__dirname, '..', '..', 'docs', 'express.md'), 'utf8');
const section = (title: string): string => guide.split(`\n## ${title}\n`)[1]!.split('\n## ')[0]!;

function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3 && bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3} GiB`;
  if (bytes >= 1024 ** 2 && bytes % 1024 ** 2 === 0) return `${bytes / 1024 ** 2} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes}`;
}

describe('docs/express.md', () => {
  // STREAM_DESTROYED stays inside: the disk engine answers it to an abort, and next() gets the abort's cause.
  it.each((Object.keys(MULTER_ERROR_CODES) as ErrorCode[]).filter((code) => code !== 'STREAM_DESTROYED'))('should list %s with its status in the errors table', (code) => {
    const row = section('Errors').split('\n').find((line) => line.trim().startsWith('|') && line.includes(`\`${code}\``));
    expect(row).toBeDefined();
    expect(row!.split('|')[2]!.trim()).toBe(String(MULTER_ERROR_CODES[code][0]));
  });

  it.each(Object.entries(DEFAULT_LIMITS))('should give the default of limits.%s', (name, value) => {
    const row = section('Limits').split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
    expect(row).toBeDefined();
    expect(row!.split('|')[3]!.trim().replace(/ (bytes|per part)$/, '')).toBe(name.endsWith('Size') ? formatBytes(value) : String(value));
  });
});
