'use strict';
/**
 * Peak RSS over many uploads: each end-to-end server (bench/e2e-server.js) in its own process takes
 * `count` uploads of one file in turn, and its VmHWM is read after each. The bench's end-to-end
 * table reads the peak once, after its ten rounds; this shows where each peak goes from there (V8
 * enlarges a young generation after enough bytes have survived its scavenges, and the peak steps
 * up with it). Not part of `npm run bench`:
 *
 *   node bench/e2e-rss.js [--uploads 30] [--mib 1024] [--servers rx-multipart,multer,formidable]
 */
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { MiB } = require('./bodies');
const { startServer, upload, readRss, stored, emptyDirectory, SERVERS } = require('./e2e.js');

function parseArgs(argv) {
  const options = { uploads: 30, mib: 1024, servers: SERVERS.filter((kind) => kind !== 'rx-multipart-sha256') };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--uploads') options.uploads = Number(argv[++i]);
    else if (argv[i] === '--mib') options.mib = Number(argv[++i]);
    else if (argv[i] === '--servers') options.servers = argv[++i].split(',');
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return options;
}

async function measure(kind, { uploads, mib }) {
  const directory = mkdtempSync(join(tmpdir(), `rx-multipart-rss-${kind}-`));
  const { child, port } = await startServer(kind, directory);
  try {
    const started = readRss(child.pid, 'VmRSS');
    const peaks = [];
    for (let i = 0; i < uploads; i++) {
      const result = upload(port, 'big', mib * MiB);
      const onDisk = stored(directory);
      emptyDirectory(directory);
      if (result.status !== 200 || onDisk.files !== 1 || onDisk.bytes !== mib * MiB) {
        throw new Error(`${kind}: upload ${i + 1} answered ${result.status}; stored ${onDisk.files} files, ${onDisk.bytes} bytes`);
      }
      peaks.push(readRss(child.pid));
    }
    return { kind, started, peaks };
  } finally {
    child.kill();
    rmSync(directory, { recursive: true, force: true });
  }
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const lines = [
    `Peak RSS (VmHWM, MiB) after each of ${options.uploads} uploads of ${options.mib} MiB:`,
    '',
    '| server | once started | after 1 | after 10 | last | growth | every upload |',
    '|---|--:|--:|--:|--:|--:|---|',
  ];
  for (const kind of options.servers) {
    process.stderr.write(`${kind}... `);
    const { started, peaks } = await measure(kind, options);
    process.stderr.write('done\n');
    const mib = (bytes) => (bytes / MiB).toFixed(0);
    const last = peaks[peaks.length - 1];
    lines.push(
      `| ${kind} | ${mib(started)} | ${mib(peaks[0])} | ${peaks.length >= 10 ? mib(peaks[9]) : '–'} | ${mib(last)} | +${mib(last - started)} | ${peaks.map(mib).join(' ')} |`,
    );
  }
  console.log(lines.join('\n'));
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
