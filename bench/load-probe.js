'use strict';
/**
 * Loaded into every server of the load bench (`node --require bench/load-probe.js <server>`), so
 * that each reports its own figures the same way, whatever its framework. bench/load.js talks to it
 * over the IPC channel it spawns the server with:
 *
 *   { probe: 'start' }  → { probe: 'started', idle }      resets the phase's counters
 *   { probe: 'stop' }   → { probe: 'stopped', phase }     the phase's figures (below)
 *
 * A phase's figures:
 * - cpu: user and system seconds (process.cpuUsage(), every thread of the process) since 'start';
 * - eventLoopDelay: percentiles of perf_hooks.monitorEventLoopDelay since 'start', in ms, less its
 *   RESOLUTION_MS: on Node 20 each sample is the time between two of its timer's runs, so an idle
 *   loop reads 10.1 ms at a 10 ms resolution; what is left is how late the timer ran;
 * - maxRss: the process's peak RSS over its whole life (resourceUsage().maxRSS, the kernel's VmHWM,
 *   which cannot be reset). bench/load.js starts a fresh server for every phase, so this is the
 *   phase's peak (its warm-up included, which runs at a lower concurrency);
 * - sampled: process.memoryUsage() read every SAMPLE_MS on a timer of its own; the sample with the
 *   highest RSS, with its breakdown (heap used, external, array buffers) and V8's heap spaces then.
 *   A busy event loop delays the timer, so the sampled peak can be below maxRss: it is there to say
 *   where the memory was (and what was in flight: countResources), maxRss is the peak;
 * - gc: collections V8 reported (PerformanceObserver 'gc') since 'start', by kind, with their pause.
 * With LOAD_PROBE_TRACE=<file> set, every sample of a phase is also written to that file at 'stop',
 * one JSON line each (ms since 'start'; rss, heapUsed, external, arrayBuffers in bytes; the libuv
 * requests and handles alive by type, see countResources): a time
 * series for bench/load.js --trace-dir. With LOAD_PROBE_HEAP_PROFILE=<file> set, V8's sampling heap
 * profiler runs (one sample per HEAP_SAMPLE_BYTES allocated), its profile of the objects alive is
 * taken each time the heap used has grown by a tenth since the last one, and the one taken at the
 * phase's highest heap is written to that file at 'stop' (a .heapprofile: Chrome DevTools opens it,
 * bench/heap-profile-summary.js sums it by function). V8 collects the whole heap before each
 * profile ("sampling profiler; GC in old space requested" in --trace-gc), so a run with it says
 * where the memory is, not how fast or how large the server is otherwise. Without an IPC channel (a server started by hand) the probe
 * does nothing.
 */
const { monitorEventLoopDelay, PerformanceObserver, constants } = require('node:perf_hooks');
const v8 = require('node:v8');
const { writeFileSync } = require('node:fs');

// 10 ms: about the delay at which a loaded server's answers start to queue visibly; sampling more
// often costs the server CPU the peers would not spend (about 20 µs a read).
const SAMPLE_MS = 10;
// Node's default resolution for monitorEventLoopDelay.
const RESOLUTION_MS = 10;
// V8's default is 32 KiB; twice that halves the profiler's cost and still takes thousands of
// samples out of a heap of a few hundred MiB.
const HEAP_SAMPLE_BYTES = 64 * 1024;
const MiB = 1024 * 1024;

if (typeof process.send === 'function') startProbe();

function startProbe() {
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  // The phase's state, reset by 'start': CPU at its start, the highest RSS sampled, the collections.
  let cpuAtStart = process.cpuUsage();
  let peak = readMemory();
  let gc = createGcCounts();
  const traceFile = process.env.LOAD_PROBE_TRACE || undefined;
  let trace = [];
  const heapProfiler = process.env.LOAD_PROBE_HEAP_PROFILE ? startHeapProfiler(process.env.LOAD_PROBE_HEAP_PROFILE) : undefined;

  const sampler = setInterval(() => {
    const memory = readMemory();
    if (memory.rss > peak.rss) peak = { ...memory, spaces: readHeapSpaces(), resources: countResources() };
    // Counted at every sample only when tracing: listing thousands of requests 100 times a second
    // is work the server would not do otherwise.
    if (traceFile !== undefined) trace.push({ ...memory, resources: countResources() });
    heapProfiler?.sample(memory.heapUsed);
  }, SAMPLE_MS);
  sampler.unref();

  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = gcKind(entry.detail ? entry.detail.kind : entry.kind);
      gc[kind].count++;
      gc[kind].ms += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });

  process.on('message', (message) => {
    if (message === null || typeof message !== 'object' || message.probe === undefined) return;
    if (message.probe === 'start') {
      delay.reset();
      cpuAtStart = process.cpuUsage();
      peak = { ...readMemory(), spaces: readHeapSpaces(), resources: countResources() };
      gc = createGcCounts();
      trace = [];
      heapProfiler?.reset();
      process.send({ probe: 'started', idle: peak });
    } else if (message.probe === 'stop') {
      const cpu = process.cpuUsage(cpuAtStart);
      if (traceFile !== undefined) writeTrace(traceFile, trace, peak);
      heapProfiler?.write();
      process.send({
        probe: 'stopped',
        phase: {
          cpu: { user: cpu.user / 1e6, system: cpu.system / 1e6 },
          eventLoopDelay: { p50: lateness(delay.percentile(50)), p99: lateness(delay.percentile(99)), max: lateness(delay.max) },
          maxRss: process.resourceUsage().maxRSS * 1024,
          sampled: peak,
          gc,
        },
      });
    }
  });
  // The IPC channel alone must not keep a server alive once it is told to stop.
  process.channel.unref();
}

/**
 * V8's sampling heap profiler through the inspector: `sample(heapUsed)` takes a profile of the
 * objects alive when the heap has grown by a tenth since the last one, `write()` saves the last.
 */
function startHeapProfiler(file) {
  const { Session } = require('node:inspector');
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.startSampling', { samplingInterval: HEAP_SAMPLE_BYTES });
  let profile;
  let profiledHeap = 0;
  let isTaking = false;
  return {
    sample(heapUsed) {
      if (isTaking || heapUsed < profiledHeap * 1.1) return;
      isTaking = true;
      session.post('HeapProfiler.getSamplingProfile', (error, result) => {
        isTaking = false;
        if (error) return;
        profile = { ...result.profile, heapUsed };
        profiledHeap = heapUsed;
      });
    },
    reset() {
      profile = undefined;
      profiledHeap = 0;
    },
    write() {
      if (profile !== undefined) writeFileSync(file, JSON.stringify(profile));
    },
  };
}

/** The phase's samples as JSON lines, times relative to the first; the peak's heap spaces last. */
function writeTrace(file, samples, peak) {
  const start = samples.length > 0 ? samples[0].at : 0;
  const lines = samples.map(({ at, rss, heapUsed, external, arrayBuffers, resources }) => JSON.stringify({ ms: at - start, rss, heapUsed, external, arrayBuffers, resources }));
  lines.push(JSON.stringify({ peak }));
  writeFileSync(file, `${lines.join('\n')}\n`);
}

/** How late the delay monitor's timer ran, in ms, from one of its samples in ns. */
function lateness(sample) {
  return Math.max(0, sample / 1e6 - RESOLUTION_MS);
}

/** process.memoryUsage() in bytes, with the moment it was read. */
function readMemory() {
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapTotal, heapUsed, external, arrayBuffers, at: Date.now() };
}

/** V8's heap spaces in MiB used (of MiB committed): which generation held the heap at the peak. */
function readHeapSpaces() {
  const spaces = {};
  for (const space of v8.getHeapSpaceStatistics()) {
    spaces[space.space_name] = { used: +(space.space_used_size / MiB).toFixed(1), size: +(space.space_size / MiB).toFixed(1) };
  }
  return spaces;
}

/**
 * The libuv requests and handles alive, by type (process.getActiveResourcesInfo()): at the peak,
 * how many file system calls waited for the thread pool ('FSReqPromise', 'FSReqCallback'), how many
 * sockets were open ('TCPSocketWrap') and timers set ('Timeout').
 */
function countResources() {
  const counts = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

function createGcCounts() {
  return { minor: { count: 0, ms: 0 }, major: { count: 0, ms: 0 }, incremental: { count: 0, ms: 0 }, weakcb: { count: 0, ms: 0 } };
}

function gcKind(kind) {
  switch (kind) {
    case constants.NODE_PERFORMANCE_GC_MINOR:
      return 'minor';
    case constants.NODE_PERFORMANCE_GC_MAJOR:
      return 'major';
    case constants.NODE_PERFORMANCE_GC_INCREMENTAL:
      return 'incremental';
    default:
      return 'weakcb';
  }
}
