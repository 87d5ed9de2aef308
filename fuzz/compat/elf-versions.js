'use strict';
/**
 * Makes a shared object's symbol-version needs optional, in a copy of its bytes.
 *
 * Why this works (glibc's dynamic loader, elf/dl-version.c): for each version a DSO needs
 * (`.gnu.version_r`), the loader looks for the version in the library that should define it; when
 * it is missing, loading fails ("version `GLIBC_2.38' not found") unless the need carries
 * VER_FLG_WEAK, in which case it goes on. Symbols are then bound by the version their entry in
 * `.gnu.version` names; an entry of 1 (VER_NDX_GLOBAL) asks for the symbol under any version, so a
 * preloaded library that defines it unversioned satisfies it.
 *
 * Layouts, and where they are defined:
 * - ELF header, section headers, `Elf64_Sym`: the System V ABI, "Object Files" (the ELF gABI),
 *   chapters "ELF Header", "Sections", "Symbol Table".
 * - `.gnu.version` (SHT_GNU_versym, one Elf64_Half per dynamic symbol), `.gnu.version_r`
 *   (SHT_GNU_verneed: Elf64_Verneed entries, each with vn_cnt Elf64_Vernaux), VER_FLG_WEAK = 0x2,
 *   VER_NDX_GLOBAL = 1, and the 0x8000 hidden bit: the Linux Standard Base Core Specification,
 *   "Symbol Versioning" (these sections are GNU extensions, not in the gABI), and glibc's
 *   <elf.h>, which declares the same structures and constants.
 *
 * Only 64-bit little-endian objects are handled (every Linux prebuilt of the Jazzer.js addon);
 * anything else is refused with the reason.
 */

// gABI, "ELF Header" and "Sections".
const EI_CLASS = 4;
const ELFCLASS64 = 2;
const EI_DATA = 5;
const ELFDATA2LSB = 1;
const SHT_DYNSYM = 11;
// LSB Core, "Symbol Versioning"; glibc <elf.h>.
const SHT_GNU_VERNEED = 0x6ffffffe;
const SHT_GNU_VERSYM = 0x6fffffff;
const VER_FLG_WEAK = 0x2;
const VER_NDX_GLOBAL = 1;
const VERSYM_HIDDEN = 0x8000;
const ELF64_SYM_SIZE = 24;

/**
 * @typedef {object} Section
 * @property {number} type sh_type
 * @property {number} offset sh_offset, in the file
 * @property {number} size sh_size
 * @property {number} link sh_link (the section index of the associated string table, for these)
 * @property {number} info sh_info (for SHT_GNU_verneed: the number of Elf64_Verneed entries)
 */

/**
 * The section headers of a 64-bit little-endian ELF object.
 * @param {Buffer} image the file's bytes.
 * @returns {Section[]}
 */
function readSections(image) {
  if (image.length < 64 || image.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  if (image[EI_CLASS] !== ELFCLASS64 || image[EI_DATA] !== ELFDATA2LSB) {
    throw new Error('not a 64-bit little-endian ELF file; only those are handled');
  }
  // Elf64_Ehdr: e_shoff at 0x28 (8 bytes), e_shentsize at 0x3a, e_shnum at 0x3c (2 bytes each).
  const shoff = Number(image.readBigUInt64LE(0x28));
  const shentsize = image.readUInt16LE(0x3a);
  const shnum = image.readUInt16LE(0x3c);
  if (shoff === 0 || shnum === 0 || shoff + shentsize * shnum > image.length) throw new Error('no section header table');
  const sections = [];
  for (let i = 0; i < shnum; i++) {
    // Elf64_Shdr: sh_name(4) sh_type(4) sh_flags(8) sh_addr(8) sh_offset(8) sh_size(8) sh_link(4) sh_info(4) ...
    const at = shoff + i * shentsize;
    sections.push({
      type: image.readUInt32LE(at + 4),
      offset: Number(image.readBigUInt64LE(at + 24)),
      size: Number(image.readBigUInt64LE(at + 32)),
      link: image.readUInt32LE(at + 40),
      info: image.readUInt32LE(at + 44),
    });
  }
  return sections;
}

/** The NUL-terminated string at `offset` in the string table `table`. */
function readString(image, table, offset) {
  const start = table.offset + offset;
  const end = image.indexOf(0, start);
  if (end === -1 || end > table.offset + table.size) throw new Error('string outside its table');
  return image.toString('latin1', start, end);
}

function onlySection(sections, type, name) {
  const found = sections.filter((section) => section.type === type);
  if (found.length !== 1) throw new Error(`expected one ${name} section, found ${found.length}`);
  return found[0];
}

/**
 * @typedef {object} VersionNeed
 * @property {string} file the library that should define the version (vn_file)
 * @property {string} version the version name (vna_name), e.g. GLIBC_2.38
 * @property {number} index the version index symbols use for it (vna_other)
 * @property {boolean} isWeak VER_FLG_WEAK is set
 * @property {number} flagsAt where its vna_flags sit in the file
 */

/**
 * Lists the versions an object needs (`.gnu.version_r`).
 * @param {Buffer} image
 * @returns {VersionNeed[]}
 */
function readVersionNeeds(image) {
  const sections = readSections(image);
  const verneed = onlySection(sections, SHT_GNU_VERNEED, '.gnu.version_r');
  const strings = sections[verneed.link];
  if (strings === undefined) throw new Error('.gnu.version_r links to no string table');
  const needs = [];
  let entry = verneed.offset;
  for (let i = 0; i < verneed.info; i++) {
    // Elf64_Verneed: vn_version(2) vn_cnt(2) vn_file(4) vn_aux(4) vn_next(4).
    const count = image.readUInt16LE(entry + 2);
    const file = readString(image, strings, image.readUInt32LE(entry + 4));
    let aux = entry + image.readUInt32LE(entry + 8);
    for (let j = 0; j < count; j++) {
      // Elf64_Vernaux: vna_hash(4) vna_flags(2) vna_other(2) vna_name(4) vna_next(4).
      const flags = image.readUInt16LE(aux + 4);
      needs.push({
        file,
        version: readString(image, strings, image.readUInt32LE(aux + 8)),
        index: image.readUInt16LE(aux + 6),
        isWeak: (flags & VER_FLG_WEAK) !== 0,
        flagsAt: aux + 4,
      });
      const next = image.readUInt32LE(aux + 12);
      if (next === 0) break;
      aux += next;
    }
    const next = image.readUInt32LE(entry + 12);
    if (next === 0) break;
    entry += next;
  }
  return needs;
}

/**
 * The version index each dynamic symbol asks for (`.gnu.version`, without the hidden bit).
 * @param {Buffer} image
 * @returns {Map<string, number>} by symbol name (the undefined symbol at index 0 left out)
 */
function readSymbolVersions(image) {
  const sections = readSections(image);
  const dynsym = onlySection(sections, SHT_DYNSYM, '.dynsym');
  const versym = onlySection(sections, SHT_GNU_VERSYM, '.gnu.version');
  const names = sections[dynsym.link];
  if (names === undefined) throw new Error('.dynsym links to no string table');
  const versions = new Map();
  for (let i = 1; i < dynsym.size / ELF64_SYM_SIZE; i++) {
    const name = readString(image, names, image.readUInt32LE(dynsym.offset + i * ELF64_SYM_SIZE));
    versions.set(name, image.readUInt16LE(versym.offset + i * 2) & ~VERSYM_HIDDEN);
  }
  return versions;
}

/**
 * Returns a copy of `image` in which the given versions are weak needs and every dynamic symbol
 * bound to one of them asks for no version. The symbols must then come from somewhere else (a
 * preloaded library): each one has to be listed in `replacements`, or this throws.
 *
 * @param {Buffer} image the original object's bytes (not modified).
 * @param {Readonly<Record<string, readonly string[]>>} replacements for each version to weaken,
 *   the symbols a preloaded library provides in its place.
 * @returns {{ image: Buffer, weakened: string[], cleared: string[] }} the patched copy, the
 *   versions made weak and the symbols whose version was cleared (empty when the object needs
 *   none of these versions).
 */
function weakenVersionNeeds(image, replacements) {
  const copy = Buffer.from(image);
  const sections = readSections(copy);
  const needs = readVersionNeeds(copy).filter((need) => Object.hasOwn(replacements, need.version));
  const versionOf = new Map(needs.map((need) => [need.index, need.version]));
  for (const need of needs) copy.writeUInt16LE(copy.readUInt16LE(need.flagsAt) | VER_FLG_WEAK, need.flagsAt);

  const dynsym = onlySection(sections, SHT_DYNSYM, '.dynsym');
  const versym = onlySection(sections, SHT_GNU_VERSYM, '.gnu.version');
  const names = sections[dynsym.link];
  if (names === undefined) throw new Error('.dynsym links to no string table');
  const symbolCount = dynsym.size / ELF64_SYM_SIZE;
  if (versym.size !== symbolCount * 2) throw new Error('.gnu.version and .dynsym disagree on the number of symbols');
  const cleared = [];
  const missing = [];
  for (let i = 0; i < symbolCount; i++) {
    const at = versym.offset + i * 2;
    const version = versionOf.get(copy.readUInt16LE(at) & ~VERSYM_HIDDEN);
    if (version === undefined) continue;
    const name = readString(copy, names, copy.readUInt32LE(dynsym.offset + i * ELF64_SYM_SIZE));
    if (!replacements[version].includes(name)) missing.push(`${name}@${version}`);
    copy.writeUInt16LE(VER_NDX_GLOBAL, at);
    cleared.push(`${name}@${version}`);
  }
  if (missing.length > 0) {
    throw new Error(`symbols of a missing version have no stand-in in fuzz/compat/glibc-compat.c: ${missing.join(', ')}`);
  }
  return { image: copy, weakened: needs.map((need) => `${need.version} (${need.file})`), cleared };
}

module.exports = { readVersionNeeds, readSymbolVersions, weakenVersionNeeds };
