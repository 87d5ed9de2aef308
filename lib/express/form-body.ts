/**
 * req.body as multer builds it: text fields by name, with bracket names (`a[b][0]`, `a[]`) made
 * into nested objects and arrays by the rules of multer's `append-field`.
 */

/** A value of req.body: a field's text, or what bracket names made of several. */
export type FormValue = string | FormValue[] | FormBody;

/** req.body, and every object in it: no prototype, so a field named `__proto__` is a field. */
export interface FormBody {
  [name: string]: FormValue;
}

/** One step of a field name: `a[b][0]` is `a`, then `b`, then index 0. */
interface Step {
  readonly key: string | number;
  /** `[]` ended the name: the value is appended to an array. */
  appends: boolean;
}

// A bracket holding digits only is an array index; any other non-empty bracket is an object key.
const INDEX_STEP = /^\[(\d+)\]/;
const KEY_STEP = /^\[([^\]]+)\]/;
// multer counts nesting by '[' and checks indexes only in names append-field reads as a path.
const BRACKET_PATH = /^[^[]+(?:\[[^\]]+\])*(?:\[\])?$/;
const INDEXES = /\[(\d+)\]/g;

/** A new, empty req.body. */
export function createFormBody(): FormBody {
  return Object.create(null) as FormBody;
}

/**
 * Adds one field to `body` as multer does: a plain name sets a value, a repeated one turns into an
 * array of every value in body order; `a[b]` sets `body.a.b`; `a[0]` an array index; `a[]`
 * appends. A name these rules cannot read (`[a]`, `a[b]c`, `a[]x`) is taken whole, as a plain name.
 *
 * @param body the req.body being built.
 * @param name the field's name, decoded.
 * @param value the field's text.
 * @throws RangeError when the value cannot be placed (an array past 2^32 - 1 elements); the
 *   middleware answers it with `INVALID_FIELD_NAME`.
 * @example appendField(body, 'user[tags][]', 'a') // body.user.tags = ['a']
 */
export function appendField(body: FormBody, name: string, value: string): void {
  const steps = readName(name);
  let context: FormBody | FormValue[] = body;
  for (let i = 0; i < steps.length - 1; i++) {
    context = enter(context, steps[i]!, typeof steps[i + 1]!.key === 'number');
  }
  const last = steps[steps.length - 1]!;
  place(context, last.key, last.appends, value);
}

/**
 * Which of multer's field-name limits `name` exceeds, if any: `LIMIT_FIELD_NESTING` when it has
 * more '[' than `nestingDepth`, `LIMIT_FIELD_ARRAY_INDEX` when one of its indexes is above
 * `arrayIndexLimit` (a large index makes a sparse array whose length the client chose).
 */
export function checkFieldName(name: string, nestingDepth: number, arrayIndexLimit: number): 'LIMIT_FIELD_NESTING' | 'LIMIT_FIELD_ARRAY_INDEX' | undefined {
  let depth = 0;
  for (let at = name.indexOf('['); at !== -1; at = name.indexOf('[', at + 1)) depth++;
  if (depth > nestingDepth) return 'LIMIT_FIELD_NESTING';
  if (arrayIndexLimit === Infinity || !BRACKET_PATH.test(name)) return undefined;
  for (const match of name.matchAll(INDEXES)) {
    if (Number(match[1]) > arrayIndexLimit) return 'LIMIT_FIELD_ARRAY_INDEX';
  }
  return undefined;
}

/** The steps of a bracket name, or the whole name as one step when it is not one. */
function readName(name: string): Step[] {
  const whole = [{ key: name, appends: false }];
  const open = name.indexOf('[');
  const first = open === -1 ? name : name.slice(0, open);
  if (first === '') return whole;
  const steps: Step[] = [{ key: first, appends: false }];
  let rest = name.slice(first.length);
  while (rest.length > 0) {
    if (rest.startsWith('[]')) {
      // `[]` appends, and only at the end of a name.
      if (rest.length > 2) return whole;
      steps[steps.length - 1]!.appends = true;
      break;
    }
    const index = INDEX_STEP.exec(rest);
    const match = index ?? KEY_STEP.exec(rest);
    if (match === null) return whole;
    steps.push({ key: index === null ? match[1]! : Number.parseInt(match[1]!, 10), appends: false });
    rest = rest.slice(match[0].length);
  }
  return steps;
}

/** The container at `step` in `context`, made (or reshaped) for a next step that is an index or a key. */
function enter(context: FormBody | FormValue[], step: Step, isNextIndex: boolean): FormBody | FormValue[] {
  const slots = context as Record<string | number, FormValue | undefined>;
  const current = slots[step.key];
  if (current === undefined) {
    const made = isNextIndex ? [] : createFormBody();
    slots[step.key] = made;
    return made;
  }
  if (Array.isArray(current)) {
    if (isNextIndex) return current;
    // A key after an array: the array becomes an object of its elements by index.
    const object = createFormBody();
    current.forEach((item, i) => {
      if (item !== undefined) object[String(i)] = item;
    });
    slots[step.key] = object;
    return object;
  }
  if (typeof current === 'object') return current;
  // A text value where a container is needed: it moves to the key ''.
  const object = createFormBody();
  object[''] = current;
  slots[step.key] = object;
  return object;
}

/** Sets the value at the last step: set, appended, or the earlier value and this one as an array. */
function place(context: FormBody | FormValue[], key: string | number, appends: boolean, value: string): void {
  const slots = context as Record<string | number, FormValue | undefined>;
  const current = slots[key];
  if (current === undefined) slots[key] = appends ? [value] : value;
  else if (Array.isArray(current)) current.push(value);
  else if (typeof current === 'object') place(current, '', false, value);
  else slots[key] = [current, value];
}
