'use strict';
/**
 * Counts the work done by string and array built-ins while counting is on: a deterministic measure
 * of a function's running time, unlike the clock. Each wrapped built-in adds the characters (or
 * elements) it reads or makes, as V8 does the work: 1 for `charCodeAt`, the scanned span for
 * `indexOf`, at most 13 for `slice` (longer slices are views), the white space removed for `trim`,
 * the whole string for `toLowerCase` or a regular expression, n log n for a sort. A loop over a header value costs its length; a loop that reads the value again for each
 * line costs the square of it. What the count cannot see (a regular expression's backtracking, a
 * string flattened by the engine) is left to the clock (see fuzz/header-params.fuzz.js).
 *
 * Installing the counter replaces these built-ins for the whole process: only the header-params
 * target loads it, and fuzz/run.js preloads it (`node --require`) so that Jazzer.js's
 * prototype-pollution detector, which compares prototypes with what they were when it started,
 * takes the wrapped built-ins as the starting point.
 */

let isCounting = false;
let steps = 0;

/** Wraps `owner[name]` so that, while counting, each call adds `cost(self, args, result)`. */
function count(owner, name, cost) {
  const original = owner[name];
  if (typeof original !== 'function') return;
  Object.defineProperty(owner, name, {
    configurable: true,
    writable: true,
    value: {
      // A method shorthand keeps the wrapper's name and leaves it without a prototype, like a built-in.
      [name](...args) {
        const result = original.apply(this, args);
        if (isCounting) steps += Math.max(1, cost(this, args, result));
        return result;
      },
    }[name],
  });
}

const lengthOfThis = (self) => self.length;
const lengthOfResult = (self, args, result) => result.length;

function install() {
  const S = String.prototype;
  for (const name of ['charCodeAt', 'codePointAt', 'charAt', 'at']) count(S, name, () => 1);
  count(S, 'indexOf', (self, [search, from = 0], result) => (result === -1 ? self.length : result + String(search).length) - Math.max(0, Math.min(Number(from) || 0, self.length)));
  count(S, 'includes', (self, [, from = 0]) => self.length - Math.max(0, Math.min(Number(from) || 0, self.length)));
  count(S, 'lastIndexOf', lengthOfThis);
  count(S, 'startsWith', (self, [search]) => String(search).length);
  count(S, 'endsWith', (self, [search]) => String(search).length);
  // V8 makes a slice of 13 characters or more as a view of its string (a SlicedString): constant
  // time; shorter ones are copied.
  for (const name of ['slice', 'substring', 'substr']) count(S, name, (self, args, result) => Math.min(result.length, 13));
  for (const name of ['repeat', 'padStart', 'padEnd', 'concat']) count(S, name, lengthOfResult);
  // Trimming reads the white space it removes and the first character it keeps; the rest is a slice.
  for (const name of ['trim', 'trimStart', 'trimEnd']) count(S, name, (self, args, result) => self.length - result.length + 1);
  for (const name of ['toLowerCase', 'toUpperCase', 'normalize', 'split', 'replace', 'replaceAll', 'match', 'matchAll', 'search', 'localeCompare']) {
    count(S, name, lengthOfThis);
  }
  count(String, 'fromCharCode', (self, args) => args.length);
  count(String, 'fromCodePoint', (self, args) => args.length);
  count(RegExp.prototype, 'exec', (self, [text]) => String(text).length);
  count(RegExp.prototype, 'test', (self, [text]) => String(text).length);
  for (const name of ['join', 'map', 'some', 'every', 'filter', 'forEach', 'indexOf', 'includes', 'slice', 'concat', 'reduce', 'find', 'findIndex', 'fill']) {
    count(Array.prototype, name, lengthOfThis);
  }
  count(Array.prototype, 'sort', (self) => self.length * Math.ceil(Math.log2(self.length + 1)));
  count(TextDecoder.prototype, 'decode', (self, [bytes]) => bytes?.byteLength ?? 0);
  count(TextEncoder.prototype, 'encode', (self, [text]) => String(text ?? '').length);
  for (const name of ['utf8Slice', 'latin1Slice', 'toString']) count(Buffer.prototype, name, lengthOfResult);
  count(JSON, 'stringify', (self, args, result) => result?.length ?? 0);
}

install();

/**
 * Runs `fn` with counting on.
 * @param {boolean} [collectsFirst] collect garbage first (where `gc` is exposed: fuzz/run.js starts
 *   the fuzzer with --expose-gc), so that garbage of earlier runs is not collected inside this one.
 * @returns {{ steps: number, nanoseconds: number, result: unknown }}
 */
function measure(fn, collectsFirst = false) {
  if (collectsFirst) globalThis.gc?.();
  steps = 0;
  isCounting = true;
  const start = process.hrtime.bigint();
  let result;
  try {
    result = fn();
  } finally {
    isCounting = false;
  }
  return { steps, nanoseconds: Number(process.hrtime.bigint() - start), result };
}

module.exports = { measure };
