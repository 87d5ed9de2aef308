'use strict';
/**
 * Known findings a target skips, so that it keeps looking for others: each is a failing test in
 * spec/parser/fuzz-regressions.spec.ts until it is fixed, then its entry goes (docs/fuzzing.md).
 */

/** The skips of a target: none with FUZZ_CHECK_KNOWN=1, to see whether a fix landed. */
function knownFindings(skips) {
  return process.env.FUZZ_CHECK_KNOWN === '1' ? [] : skips;
}

module.exports = { knownFindings };
