/**
 * Conditional requests against a stored file's ETag (RFC 9110 §13): If-Match, If-None-Match and
 * If-Range. The demo sends no Last-Modified (a storage keeps no date), so If-Modified-Since and
 * If-Unmodified-Since are ignored, as §13.1.3 and §13.1.4 require when "the resource does not have
 * a modification date available", and an If-Range holding a date never matches (§13.1.5).
 */

// RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text.
// Node gives header values as latin1, so obs-text is \x80-\xff. An opaque-tag may hold commas:
// a list is scanned tag by tag, never split on commas.
const ENTITY_TAG = /(W\/)?("[\x21\x23-\x7e\x80-\xff]*")/y;
// Between list elements: OWS and commas (empty elements are allowed, §5.6.1.2).
const SEPARATORS = /[ \t,]*/y;

/**
 * @typedef {{ isWeak: boolean, opaque: string }} EntityTag `opaque` with its quotes.
 */

/**
 * The outcome of the preconditions for a GET or HEAD of an existing file, evaluated in the order
 * of RFC 9110 §13.2.2: If-Match first (false → 412), then If-None-Match (false → 304).
 * `proceed`: answer as without them (Range and If-Range come next).
 *
 * @param {import('node:http').IncomingHttpHeaders} headers the request's.
 * @param {string} etag the file's strong ETag, with its quotes.
 * @returns {'proceed' | 304 | 412}
 * @example
 * evaluatePreconditions({ 'if-none-match': 'W/"abc", "def"' }, '"abc"'); // 304
 * evaluatePreconditions({ 'if-match': 'W/"abc"' }, '"abc"');              // 412
 */
export function evaluatePreconditions(headers, etag) {
  const current = { isWeak: false, opaque: etag };
  const ifMatch = headers['if-match'];
  // §13.1.1: "*" holds for any current representation; a list holds if a tag matches by the
  // strong comparison. A field that is not a valid list matches nothing.
  if (ifMatch !== undefined && !(isAny(ifMatch) || (parseEntityTags(ifMatch) ?? []).some((tag) => matchesStrongly(tag, current)))) {
    return 412;
  }
  const ifNoneMatch = headers['if-none-match'];
  // §13.1.2: false when "*" (the file exists) or a tag matches by the weak comparison; for GET
  // and HEAD the answer is then 304 (§13.2.2 step 3). An invalid field matches nothing.
  if (ifNoneMatch !== undefined && (isAny(ifNoneMatch) || (parseEntityTags(ifNoneMatch) ?? []).some((tag) => tag.opaque === current.opaque))) {
    return 304;
  }
  return 'proceed';
}

/**
 * Whether an If-Range lets the Range header be honoured (RFC 9110 §13.1.5): true without one;
 * with one, only when it is an entity tag that matches `etag` by the strong comparison. A weak or
 * different tag, a date (no Last-Modified is sent), or anything else: false, and the Range header
 * "MUST" then be ignored, so the whole file goes out with 200.
 *
 * @param {string | undefined} ifRange the If-Range header.
 * @param {string} etag the file's strong ETag, with its quotes.
 * @returns {boolean}
 * @example
 * isRangeCurrent('"abc"', '"abc"');   // true
 * isRangeCurrent('W/"abc"', '"abc"'); // false
 */
export function isRangeCurrent(ifRange, etag) {
  if (ifRange === undefined) return true;
  const tags = parseEntityTags(ifRange);
  return tags !== undefined && tags.length === 1 && matchesStrongly(/** @type {EntityTag} */ (tags[0]), { isWeak: false, opaque: etag });
}

/**
 * The entity tags of a list (`"a", W/"b"`), or undefined when the value is not such a list.
 * @param {string} value
 * @returns {EntityTag[] | undefined}
 */
function parseEntityTags(value) {
  /** @type {EntityTag[]} */
  const tags = [];
  let at = 0;
  while (true) {
    SEPARATORS.lastIndex = at;
    SEPARATORS.exec(value);
    const separated = value.slice(at, SEPARATORS.lastIndex).includes(',');
    at = SEPARATORS.lastIndex;
    if (at === value.length) return tags.length === 0 ? undefined : tags;
    // Each tag after the first must follow a comma.
    if (tags.length > 0 && !separated) return undefined;
    ENTITY_TAG.lastIndex = at;
    const match = ENTITY_TAG.exec(value);
    if (match === null) return undefined;
    tags.push({ isWeak: match[1] !== undefined, opaque: /** @type {string} */ (match[2]) });
    at = ENTITY_TAG.lastIndex;
  }
}

/** @param {string} value */
function isAny(value) {
  return value.trim() === '*';
}

/**
 * §8.8.3.2 strong comparison: neither tag weak, and the opaque-tags equal character by character.
 * @param {EntityTag} a
 * @param {EntityTag} b
 */
function matchesStrongly(a, b) {
  return !a.isWeak && !b.isWeak && a.opaque === b.opaque;
}
