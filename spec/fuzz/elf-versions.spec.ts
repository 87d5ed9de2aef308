/**
 * The ELF edit of the fuzzer's compatibility step (fuzz/compat/elf-versions.js), on the prebuilt
 * Jazzer.js addons it exists for: the versions an older glibc or libstdc++ lacks become weak needs,
 * the symbols bound to them ask for no version, and nothing else changes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface VersionNeed {
  readonly file: string;
  readonly version: string;
  readonly index: number;
  readonly isWeak: boolean;
}
interface ElfVersions {
  readVersionNeeds(image: Buffer): VersionNeed[];
  readSymbolVersions(image: Buffer): Map<string, number>;
  weakenVersionNeeds(image: Buffer, replacements: Readonly<Record<string, readonly string[]>>): { image: Buffer; weakened: string[]; cleared: string[] };
}
// CommonJS scripts of the fuzz tooling (not modules of the package): required, typed here.
const elf = require('../../fuzz/compat/elf-versions.js') as ElfVersions;
const { REPLACEMENTS } = require('../../fuzz/compat/prepare.js') as { REPLACEMENTS: Readonly<Record<string, readonly string[]>> };

const prebuilds = join(__dirname, '..', '..', 'node_modules', '@jazzer.js', 'fuzzer', 'prebuilds');
const VER_NDX_GLOBAL = 1;

describe.each(['fuzzer-linux-x64.node', 'fuzzer-linux-arm64.node'])('the Jazzer.js prebuilt %s', (file) => {
  const original = readFileSync(join(prebuilds, file));

  it('should need GLIBC_2.38 and GLIBCXX_3.4.32, not weakly, as shipped', () => {
    const needs = elf.readVersionNeeds(original).filter((need) => need.version in REPLACEMENTS);
    expect(needs.map((need) => [need.version, need.isWeak]).sort()).toEqual([['GLIBCXX_3.4.32', false], ['GLIBC_2.38', false]]);
  });

  it('should make exactly those two needs weak in the copy', () => {
    const { image } = elf.weakenVersionNeeds(original, REPLACEMENTS);
    const weak = elf.readVersionNeeds(image).filter((need) => need.isWeak).map((need) => need.version);
    expect(weak.sort()).toEqual(['GLIBCXX_3.4.32', 'GLIBC_2.38']);
  });

  it('should clear the version of the three symbols bound to them, and of no other symbol', () => {
    const { image, cleared } = elf.weakenVersionNeeds(original, REPLACEMENTS);
    const before = elf.readSymbolVersions(original);
    const after = elf.readSymbolVersions(image);
    const changed = [...after].filter(([name, version]) => before.get(name) !== version).map(([name]) => name);
    expect(changed.sort()).toEqual(['__isoc23_strtol', '__isoc23_strtoul', '_ZSt21ios_base_library_initv'].sort());
    expect(changed.map((name) => after.get(name))).toEqual([VER_NDX_GLOBAL, VER_NDX_GLOBAL, VER_NDX_GLOBAL]);
    expect(cleared).toHaveLength(3);
  });

  it('should change no byte beyond the flags and version entries, and leave the original as it was', () => {
    const copy = Buffer.from(original);
    const { image } = elf.weakenVersionNeeds(original, REPLACEMENTS);
    expect(original.equals(copy)).toBe(true);
    let differing = 0;
    for (let i = 0; i < image.length; i++) if (image[i] !== original[i]) differing++;
    // Two vna_flags (one byte each changes) and three 2-byte .gnu.version entries (low byte).
    expect(image.length).toBe(original.length);
    expect(differing).toBe(5);
  });

  it('should refuse when a symbol bound to a weakened version has no stand-in', () => {
    expect(() => elf.weakenVersionNeeds(original, { 'GLIBC_2.38': ['__isoc23_strtol'] })).toThrow(/__isoc23_strtoul@GLIBC_2.38/);
  });
});

describe('the ELF reader', () => {
  it('should refuse a file that is not a 64-bit little-endian ELF object', () => {
    expect(() => elf.readVersionNeeds(Buffer.from('#!/bin/sh\n'.padEnd(64, ' ')))).toThrow(/not an ELF file/);
  });
});
