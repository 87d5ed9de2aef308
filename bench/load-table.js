'use strict';
/**
 * The load bench's report: one row per (scenario, server) with the median over rounds and each
 * round's value, ratios against multer, the targets rx-multipart's servers are held to, and where
 * each server's memory was at its sampled peak.
 */
const MiB = 2 ** 20;
const { computeMedian } = require('./report');

const BASELINE = 'multer';
const OURS = ['rx-multipart', 'demo', 'express'];

/** The figures of one (scenario, server) over its rounds: each metric's median and round values. */
function summarise(phases) {
  const measured = phases.filter((phase) => phase.error === undefined);
  const metric = (read) => {
    const values = measured.map(read).filter((value) => value !== undefined && Number.isFinite(value));
    return values.length === 0 ? undefined : { median: computeMedian(values), values };
  };
  return {
    kind: phases[0].kind,
    errors: phases.filter((phase) => phase.error !== undefined).map((phase) => phase.error),
    counts: measured.map((phase) => `${phase.answered}/${phase.aborted}/${phase.wrong + phase.warmupWrong}`),
    wrong: measured.reduce((sum, phase) => sum + phase.wrong + phase.warmupWrong, 0),
    wrongExamples: measured.flatMap((phase) => phase.wrongExamples),
    orphans: measured.map((phase) => phase.orphans.length),
    orphanExamples: measured.flatMap((phase) => phase.orphans.slice(0, 3)),
    throughput: metric((phase) => phase.throughput),
    p50: metric((phase) => phase.p50),
    p99: metric((phase) => phase.p99),
    peakRss: metric((phase) => phase.peakRss / MiB),
    idleRss: metric((phase) => phase.idleRss / MiB),
    growthPerUpload: metric((phase) => phase.growthPerUpload / MiB),
    cpuPerGiB: metric((phase) => phase.cpuPerGiB),
    eventLoopDelay: metric((phase) => phase.eventLoopDelay.p99),
    worst: measured.reduce((worst, phase) => (worst === undefined || phase.peakRss > worst.peakRss ? phase : worst), undefined),
  };
}

/** A figure as `median (round 1, round 2, ...)`, or just the value after one round. */
function formatMetric(metric, digits = 0) {
  if (metric === undefined) return '–';
  const format = (value) => value.toFixed(digits);
  return metric.values.length === 1 ? format(metric.median) : `${format(metric.median)} (${metric.values.map(format).join(', ')})`;
}

function formatRatio(metric, base) {
  return metric === undefined || base === undefined || base.median === 0 ? '–' : `${(metric.median / base.median).toFixed(2)}x`;
}

/** A row's verdict on what it left: any file left, any wrong answer or a failed round is a failure. */
function isFailed(summary) {
  return summary.errors.length > 0 || summary.orphans.some((count) => count > 0) || summary.wrong > 0;
}

/**
 * The report's markdown lines.
 * @param scenarios `[{ name, label, concurrency, total }]` in the order run.
 * @param phases every phase's result, each with `scenario` and `round`.
 */
function formatReport(scenarios, phases, servers) {
  const lines = [
    '| scenario | server | answered/aborted/wrong | MB/s | vs multer | p50 ms | p99 ms | vs multer | peak RSS MiB | vs multer | MiB per upload in flight | CPU s per GiB | event-loop delay p99 ms | files left |',
    '|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  const targets = [];
  const memory = [
    '| scenario | server | peak RSS (VmHWM) | sampled peak | heap used | heap total | external | array buffers | new space used/size | old space used | minor GCs (ms) | major GCs (ms) |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  const failures = [];
  for (const scenario of scenarios) {
    const summaries = servers
      .map((kind) => phases.filter((phase) => phase.scenario === scenario.name && phase.kind === kind))
      .filter((list) => list.length > 0)
      .map(summarise);
    const base = summaries.find((summary) => summary.kind === BASELINE);
    for (const s of summaries) {
      const label = `${scenario.label}, ${scenario.concurrency} at once`;
      if (s.counts.length === 0) {
        lines.push(`| ${label} | ${s.kind} | **FAILED**: ${s.errors[0]} | | | | | | | | | | | |`);
        failures.push({ kind: s.kind, scenario: label, why: s.errors[0] });
        continue;
      }
      const left = s.orphans.reduce((sum, count) => sum + count, 0);
      const leftCell = left === 0 ? '0' : `**FAILED** ${left}${s.orphans.length > 1 ? ` (${s.orphans.join(', ')})` : ''}`;
      const counts = new Set(s.counts).size === 1 ? s.counts[0] : s.counts.join('; ');
      const isBase = s.kind === BASELINE;
      lines.push(
        `| ${label} | ${OURS.includes(s.kind) ? `**${s.kind}**` : s.kind} | ${s.wrong > 0 ? `**${counts}**` : counts}${s.errors.length > 0 ? ` (a round failed: ${s.errors[0]})` : ''} | ` +
          `${formatMetric(s.throughput)} | ${isBase ? '' : formatRatio(s.throughput, base?.throughput)} | ${formatMetric(s.p50)} | ${formatMetric(s.p99)} | ${isBase ? '' : formatRatio(s.p99, base?.p99)} | ` +
          `${formatMetric(s.peakRss)} | ${isBase ? '' : formatRatio(s.peakRss, base?.peakRss)} | ${formatMetric(s.growthPerUpload, 2)} | ${formatMetric(s.cpuPerGiB, 1)} | ` +
          `${formatMetric(s.eventLoopDelay, 1)} | ${leftCell} |`,
      );
      if (isFailed(s)) {
        const why = [
          ...(left > 0 ? [`${left} file(s) left after its aborted uploads, e.g. ${s.orphanExamples.slice(0, 3).map((path) => path.replace(/^.*rx-multipart-load-[^/]+\//, '')).join(', ')}`] : []),
          ...(s.wrong > 0 ? [`${s.wrong} wrong upload(s), e.g. ${s.wrongExamples.slice(0, 2).join('; ')}`] : []),
          ...s.errors.map((error) => `a round failed: ${error}`),
        ];
        failures.push({ kind: s.kind, scenario: label, why: why.join('; ') });
      }
      if (s.worst !== undefined) memory.push(formatMemoryRow(label, s.kind, s.worst));
      if (OURS.includes(s.kind) && base !== undefined) targets.push(formatTargets(label, s, base));
    }
  }
  return { lines, targets, memory, failures };
}

/** Where the memory was in the round with the highest peak RSS, at the moment the probe saw most. */
function formatMemoryRow(label, kind, phase) {
  const mib = (bytes) => (bytes / MiB).toFixed(0);
  const { sampled, gc } = phase;
  const newSpace = sampled.spaces?.new_space;
  const oldSpace = sampled.spaces?.old_space;
  return (
    `| ${label} | ${kind} | ${mib(phase.peakRss)} | ${mib(sampled.rss)} | ${mib(sampled.heapUsed)} | ${mib(sampled.heapTotal)} | ${mib(sampled.external)} | ${mib(sampled.arrayBuffers)} | ` +
    `${newSpace ? `${newSpace.used.toFixed(0)}/${newSpace.size.toFixed(0)}` : '–'} | ${oldSpace ? oldSpace.used.toFixed(0) : '–'} | ` +
    `${gc.minor.count} (${gc.minor.ms.toFixed(0)}) | ${gc.major.count + gc.incremental.count} (${(gc.major.ms + gc.incremental.ms).toFixed(0)}) |`
  );
}

/** The targets for rx-multipart's servers against multer, on the medians: met or missed, with the figures. */
function formatTargets(label, s, base) {
  const check = (name, isMet, ours, theirs, unit) => `${name} ${isMet ? 'met' : '**missed**'} (${ours}${unit} vs ${theirs}${unit})`;
  const parts = [];
  if (s.peakRss && base.peakRss) parts.push(check('peak RSS ≤ multer', s.peakRss.median <= base.peakRss.median, s.peakRss.median.toFixed(0), base.peakRss.median.toFixed(0), ' MiB'));
  if (s.throughput && base.throughput) parts.push(check('throughput ≥ multer', s.throughput.median >= base.throughput.median, s.throughput.median.toFixed(0), base.throughput.median.toFixed(0), ' MB/s'));
  if (s.p99 && base.p99) parts.push(check('p99 ≤ multer', s.p99.median <= base.p99.median, s.p99.median.toFixed(0), base.p99.median.toFixed(0), ' ms'));
  if (s.eventLoopDelay) parts.push(`event-loop delay p99 < 50 ms ${s.eventLoopDelay.median < 50 ? 'met' : '**missed**'} (${s.eventLoopDelay.median.toFixed(1)} ms)`);
  return `- ${label}, ${s.kind}: ${parts.join('; ')}.`;
}

module.exports = { formatReport, OURS };
