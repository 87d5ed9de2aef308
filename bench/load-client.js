'use strict';
/**
 * The clients of the load bench, in a process of their own so that the server's CPU and memory are
 * its own. Keeps `concurrency` uploads in flight over loopback (a new connection each, as separate
 * clients would), `total` in all; every `abortEvery`-th client sends half its body, waits until
 * those bytes have left for the socket, and destroys the connection. Usage (bench/load.js runs it):
 *
 *   node bench/load-client.js '{"port":..,"path":"/","shape":"file","first":0,"total":200,
 *     "concurrency":50,"abortEvery":5,"out":"results.json"}'
 *
 * Writes `{ wall, results }` to `out`: the seconds from the first request to the last upload's
 * end, and per upload its outcome ('answered', 'aborted' or 'failed'), status, answer text,
 * milliseconds from its first byte to its answer's last, body length and the bytes it sent.
 */
const { request } = require('node:http');
const { writeFileSync } = require('node:fs');
const { CONTENT_TYPE, KiB } = require('./bodies');
const { buildBody } = require('./load-body');

// Writes are corked and sent in batches of this many bytes: a form's 201 pieces go out in a few
// writev calls instead of one system call each, which the client would take from the server's CPU.
const BATCH = 256 * KiB;
// A server that has not answered by then is counted as failed, so a hung server cannot hang the run.
const UPLOAD_TIMEOUT_MS = 120_000;
// An aborting client whose half body has not drained by then (a server that stopped reading) aborts anyway.
const FLUSH_TIMEOUT_MS = 10_000;

/**
 * One upload, settled once: answered (any status), aborted by design, or failed (connection error,
 * no answer in time, an answer before an aborting client's half was sent).
 */
function runUpload({ port, path, shape }, upload, isAborting) {
  return new Promise((resolve) => {
    const { pieces, length } = buildBody(shape, upload);
    const cut = isAborting ? Math.floor(length / 2) : length;
    const started = performance.now();
    let sent = 0;
    let isSettled = false;
    const timer = setTimeout(() => {
      req.destroy();
      finish({ outcome: 'failed', error: `no answer in ${UPLOAD_TIMEOUT_MS / 1000} s` });
    }, UPLOAD_TIMEOUT_MS);
    const finish = (record) => {
      if (isSettled) return;
      isSettled = true;
      clearTimeout(timer);
      resolve({ upload, isAborting, length, sent, ms: performance.now() - started, status: 0, answer: '', error: '', ...record });
    };
    const abort = () => {
      req.destroy();
      finish({ outcome: 'aborted' });
    };

    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-type': CONTENT_TYPE, 'content-length': length } });
    req.on('error', (error) => finish({ outcome: 'failed', error: String(error.code ?? error.message) }));
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('error', (error) => finish({ outcome: 'failed', status: res.statusCode, error: String(error.code ?? error.message) }));
      res.on('end', () => {
        const answer = Buffer.concat(chunks).toString('utf8');
        if (isAborting) finish({ outcome: 'failed', status: res.statusCode, answer, error: `answered after ${sent} of the ${cut} bytes before the abort` });
        else finish({ outcome: 'answered', status: res.statusCode, answer });
        // An answer before the whole body (an early error) ends the upload: stop sending.
        if (sent < length) req.destroy();
      });
    });

    let index = 0;
    let offset = 0;
    const pump = () => {
      while (sent < cut && !isSettled) {
        let batch = 0;
        let isWritable = true;
        req.cork();
        while (sent < cut && batch < BATCH && isWritable) {
          const piece = pieces[index];
          const take = Math.min(piece.length - offset, cut - sent);
          const chunk = take === piece.length ? piece : piece.subarray(offset, offset + take);
          offset += take;
          sent += take;
          batch += take;
          if (offset === piece.length) {
            index++;
            offset = 0;
          }
          if (isAborting && sent === cut) {
            // Half the body is out once this callback runs; then the client goes away.
            const fallback = setTimeout(abort, FLUSH_TIMEOUT_MS);
            isWritable = req.write(chunk, () => {
              clearTimeout(fallback);
              abort();
            });
          } else {
            isWritable = req.write(chunk);
          }
        }
        req.uncork();
        if (!isWritable && sent < cut) return void req.once('drain', pump);
      }
      if (!isAborting && !isSettled) req.end();
    };
    pump();
  });
}

async function main() {
  const options = JSON.parse(process.argv[2]);
  const { first, total, concurrency, abortEvery, out } = options;
  const results = new Array(total);
  let next = 0;
  const started = performance.now();
  // Each lane runs one upload after another: `concurrency` lanes keep that many in flight.
  const runLane = async () => {
    while (next < total) {
      const k = next++;
      results[k] = await runUpload(options, first + k, abortEvery > 0 && k % abortEvery === abortEvery - 1);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, runLane));
  writeFileSync(out, JSON.stringify({ wall: (performance.now() - started) / 1000, results }));
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
