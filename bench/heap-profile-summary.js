'use strict';
/**
 * Sums a V8 sampling heap profile (.heapprofile, from bench/load.js --heap-profile-dir): the bytes
 * alive by the function that allocated them, and by the nearest function above the allocation that
 * is neither Node's nor RxJS's (rx-multipart's, the server's, a peer's), which says whose objects
 * they are: RxJS allocates a subscriber for every operator a pipeline subscribes.
 *
 *   node bench/heap-profile-summary.js <file.heapprofile> [top=20]
 */
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const MiB = 2 ** 20;

function shortUrl(url) {
  if (url === '') return '';
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  const relative = file.startsWith(ROOT) ? path.relative(ROOT, file) : file;
  // bench/dist.js's private copy of the package is named as the dist/ it was copied from.
  return relative.replace(/^node_modules\/\.cache\/rx-multipart-bench\/\d+\/(package\/)?/, '');
}

const describe = (frame) => `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
// Code whose objects these are: anything but Node's internals (node:*), V8's (no url) and RxJS's.
const isOwned = (frame) => frame.url !== '' && !frame.url.startsWith('node:') && !frame.url.includes('/node_modules/rxjs/');

/** Bytes alive per allocating function and per owning function, largest first. */
function summarise(profile) {
  const bySelf = new Map();
  const byOwner = new Map();
  let total = 0;
  const add = (map, key, bytes) => map.set(key, (map.get(key) ?? 0) + bytes);
  const walk = (node, owner) => {
    const frame = node.callFrame;
    const nextOwner = isOwned(frame) ? describe(frame) : owner;
    const bytes = node.selfSize;
    if (bytes > 0) {
      total += bytes;
      add(bySelf, describe(frame), bytes);
      add(byOwner, nextOwner ?? '(Node, V8 or RxJS only)', bytes);
    }
    for (const child of node.children) walk(child, nextOwner);
  };
  walk(profile.head, undefined);
  const sorted = (map) => [...map].sort((a, b) => b[1] - a[1]);
  return { total, bySelf: sorted(bySelf), byOwner: sorted(byOwner) };
}

function main() {
  const [file, top = '20'] = process.argv.slice(2);
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const { total, bySelf, byOwner } = summarise(profile);
  const line = ([name, bytes]) => `${(bytes / MiB).toFixed(1).padStart(7)} MiB ${((100 * bytes) / total).toFixed(0).padStart(3)}%  ${name}`;
  const heapUsed = profile.heapUsed === undefined ? '' : ` (taken at ${(profile.heapUsed / MiB).toFixed(0)} MiB of heap used)`;
  console.log(`${(total / MiB).toFixed(1)} MiB alive, sampled${heapUsed}\n\nBy the function that allocated them:`);
  console.log(bySelf.slice(0, Number(top)).map(line).join('\n'));
  console.log('\nBy the nearest function above the allocation that is neither Node\'s nor RxJS\'s:');
  console.log(byOwner.slice(0, Number(top)).map(line).join('\n'));
}

main();
