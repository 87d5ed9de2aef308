/**
 * The clients the drop-in's tests send forms with: Node's fetch with a FormData (undici, as a
 * browser encodes), the form-data package (as most Node code and test suites send them), and raw
 * bodies for what neither sends (a latin1 filename, a part without a name).
 */
import { request } from 'node:http';
import FormDataPackage from 'form-data';
import { CONTENT_TYPE } from '../../support/form-body';

/** A form entry: a text field, or a file. */
export type Entry = readonly [name: string, value: string | { readonly filename: string; readonly data: Buffer | string; readonly type?: string }];

/** An answer: the status and the JSON body (or the text when it is not JSON). */
export interface Reply {
  readonly status: number;
  readonly json: Record<string, unknown>;
}

/** Which client sends a form. */
export type Client = 'fetch' | 'form-data';

/** POSTs `entries` as multipart/form-data with `client`. */
export function sendForm(client: Client, url: string, entries: readonly Entry[], headers: Record<string, string> = {}): Promise<Reply> {
  return client === 'fetch' ? fetchForm(url, entries, headers) : formDataForm(url, entries, headers);
}

/** fetch with a FormData body. */
export async function fetchForm(url: string, entries: readonly Entry[], headers: Record<string, string> = {}): Promise<Reply> {
  const form = new FormData();
  for (const [name, value] of entries) {
    if (typeof value === 'string') form.append(name, value);
    else form.append(name, new Blob([value.data], { type: value.type ?? 'application/octet-stream' }), value.filename);
  }
  return reply(await fetch(url, { method: 'POST', body: form, headers }));
}

/** The form-data package, submitted over http.request. */
export function formDataForm(url: string, entries: readonly Entry[], headers: Record<string, string> = {}): Promise<Reply> {
  const form = new FormDataPackage();
  for (const [name, value] of entries) {
    if (typeof value === 'string') form.append(name, value);
    else form.append(name, Buffer.from(value.data), { filename: value.filename, ...(value.type === undefined ? {} : { contentType: value.type }) });
  }
  return new Promise<Reply>((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...form.getHeaders(), 'content-length': form.getLengthSync(), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: parse(Buffer.concat(chunks).toString('utf8')) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    form.pipe(req);
  });
}

/** A body built by hand (spec/support/form-body), with the test boundary's Content-Type unless told. */
export async function sendBody(url: string, body: Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  return reply(await fetch(url, { method: 'POST', body, headers: { 'content-type': CONTENT_TYPE, ...headers } }));
}

async function reply(response: Response): Promise<Reply> {
  return { status: response.status, json: parse(await response.text()) };
}

function parse(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { text };
  }
}
