/** The README's tables say what the code does: every error code with its status, every limit with its default. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_LIMITS, MULTIPART_ERROR_CODES, type MultipartErrorCode } from '../lib/index';

const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
const section = (title: string): string => readme.split(`\n## ${title}\n`)[1]!.split('\n## ')[0]!;

function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3 && bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3} GiB`;
  if (bytes >= 1024 ** 2 && bytes % 1024 ** 2 === 0) return `${bytes / 1024 ** 2} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes}`;
}

describe('README', () => {
  it.each(Object.keys(MULTIPART_ERROR_CODES) as MultipartErrorCode[])('should list %s with its status in the errors table', (code) => {
    const row = section('Errors').split('\n').find((line) => line.startsWith('|') && line.includes(`\`${code}\``));
    expect(row).toBeDefined();
    expect(row!.split('|')[2]!.trim()).toBe(String(MULTIPART_ERROR_CODES[code][0]));
  });

  it.each(Object.entries(DEFAULT_LIMITS))('should give the default of limits.%s', (name, value) => {
    const row = section('Limits').split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
    expect(row).toBeDefined();
    expect(row!.split('|')[2]!.trim().replace(/ (bytes|per part)$/, '')).toBe(name.endsWith('Size') ? formatBytes(value) : String(value));
  });
});
