// The upload page: pick or drop files, send them in one multipart request with XHR (fetch has
// no upload progress), show progress per file and overall, then each stored id with its link.

const form = /** @type {HTMLFormElement} */ (document.getElementById('upload-form'));
const input = /** @type {HTMLInputElement} */ (document.getElementById('files'));
const note = /** @type {HTMLInputElement} */ (document.getElementById('note'));
const dropZone = /** @type {HTMLElement} */ (document.getElementById('drop-zone'));
const selectedList = /** @type {HTMLUListElement} */ (document.getElementById('selected'));
const uploadButton = /** @type {HTMLButtonElement} */ (document.getElementById('upload-button'));
const cancelButton = /** @type {HTMLButtonElement} */ (document.getElementById('cancel-button'));
const progressSection = /** @type {HTMLElement} */ (document.getElementById('progress-section'));
const overallProgress = /** @type {HTMLProgressElement} */ (document.getElementById('overall-progress'));
const overallText = /** @type {HTMLElement} */ (document.getElementById('overall-text'));
const errorBox = /** @type {HTMLElement} */ (document.getElementById('error'));
const results = /** @type {HTMLElement} */ (document.getElementById('results'));
const uploadedList = /** @type {HTMLUListElement} */ (document.getElementById('uploaded'));

/** @type {File[]} the files of the next upload, in the order they are sent. */
let selected = [];
/** @type {{ file: File, progress: HTMLProgressElement, text: HTMLElement, item: HTMLLIElement }[]} one row per selected file. */
let rows = [];
/** @type {XMLHttpRequest | undefined} the upload in flight. */
let inFlight;

input.addEventListener('change', () => select([...(input.files ?? [])]));

for (const type of ['dragenter', 'dragover']) {
  dropZone.addEventListener(type, (event) => {
    event.preventDefault();
    dropZone.classList.add('dragging');
  });
}
for (const type of ['dragleave', 'drop']) {
  dropZone.addEventListener(type, () => dropZone.classList.remove('dragging'));
}
dropZone.addEventListener('drop', (event) => {
  event.preventDefault();
  select([...(event.dataTransfer?.files ?? [])]);
});

form.addEventListener('submit', (event) => {
  event.preventDefault();
  if (selected.length > 0 && inFlight === undefined) upload();
});
cancelButton.addEventListener('click', () => inFlight?.abort());

/** @param {File[]} files */
function select(files) {
  selected = files;
  rows = files.map((file) => {
    const progress = document.createElement('progress');
    progress.max = 100;
    progress.value = 0;
    progress.className = 'file-progress';
    const text = element('span', 'file-progress-text', `0 B of ${formatBytes(file.size)}`);
    const item = document.createElement('li');
    item.append(element('span', 'filename', file.name || '(no name)'), progress, text);
    return { file, progress, text, item };
  });
  selectedList.replaceChildren(...rows.map((row) => row.item));
  uploadButton.disabled = files.length === 0;
  hide(errorBox);
}

function upload() {
  const body = new FormData();
  // Fields first: a server deciding about a file can see them.
  if (note.value !== '') body.append('note', note.value);
  for (const file of selected) body.append('file', file, file.name);
  const fileBytes = selected.reduce((sum, file) => sum + file.size, 0);

  const xhr = new XMLHttpRequest();
  inFlight = xhr;
  xhr.open('POST', form.action);
  xhr.upload.addEventListener('progress', (event) => {
    showProgress(event.loaded, event.lengthComputable ? event.total : fileBytes, fileBytes);
  });
  xhr.upload.addEventListener('load', () => showProgress(1, 1, fileBytes));
  xhr.addEventListener('load', () => {
    finish();
    const answer = parseJson(xhr.responseText);
    if (xhr.status === 200 && answer?.result !== undefined) {
      showProgress(1, 1, fileBytes);
      showStored(answer.result);
    } else {
      showError(answer?.error?.message ?? `The server answered ${xhr.status} ${xhr.statusText}.`, answer?.error?.type);
    }
  });
  xhr.addEventListener('error', () => {
    finish();
    showError('The upload failed: the connection to the server was lost.');
  });
  xhr.addEventListener('abort', () => {
    finish();
    showError('Upload cancelled; nothing of it was kept.');
  });

  uploadButton.disabled = true;
  cancelButton.hidden = false;
  hide(errorBox);
  show(progressSection);
  progressSection.classList.remove('failed');
  showProgress(0, 1, fileBytes);
  xhr.send(body);
}

/**
 * Progress of the whole body (`loaded` of `total`, multipart headers included) as file bytes:
 * the body is the files in order plus a little framing, so `loaded / total` of all file bytes
 * have been sent, and each file has what is left of them after the files before it.
 * @param {number} loaded
 * @param {number} total
 * @param {number} fileBytes
 */
function showProgress(loaded, total, fileBytes) {
  const fraction = total > 0 ? Math.min(1, loaded / total) : 1;
  const sent = Math.round(fileBytes * fraction);
  overallProgress.value = Math.floor(fraction * 100);
  overallText.textContent = `${formatBytes(sent)} of ${formatBytes(fileBytes)} sent (${Math.floor(fraction * 100)}%)`;
  let before = 0;
  for (const row of rows) {
    const mine = Math.max(0, Math.min(row.file.size, sent - before));
    before += row.file.size;
    const done = row.file.size === 0 ? fraction === 1 : mine === row.file.size;
    row.progress.value = done ? 100 : Math.floor((mine / row.file.size) * 100);
    row.text.textContent = `${formatBytes(mine)} of ${formatBytes(row.file.size)}`;
  }
}

/** @param {{ fileIds: string[], files?: { id: string, filename: string, size: number }[] }} result */
function showStored(result) {
  show(results);
  // The newest upload first, its files in body order.
  const items = result.fileIds.map((id, index) => {
    const file = result.files?.[index];
    const name = file?.filename ?? selected[index]?.name ?? id;
    const item = document.createElement('li');
    item.dataset.id = id;
    const link = element('a', 'download', 'Download');
    link.href = `/files/${encodeURIComponent(id)}`;
    link.setAttribute('download', name);
    item.append(element('span', 'filename', name), element('code', 'file-id', id), link);
    return item;
  });
  uploadedList.prepend(...items);
  overallText.textContent += ` · stored ${result.fileIds.length} file(s)`;
  // The rows stay, at 100%, until the next selection.
  selected = [];
  form.reset();
  uploadButton.disabled = true;
}

/**
 * @param {string} message
 * @param {string} [type] the server's error type (LIMIT_FILE_SIZE ...)
 */
function showError(message, type) {
  errorBox.textContent = type === undefined ? message : `${message} (${type})`;
  show(errorBox);
  progressSection.classList.add('failed');
  uploadButton.disabled = selected.length === 0;
}

function finish() {
  inFlight = undefined;
  cancelButton.hidden = true;
}

/** @param {string} text */
function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * @param {string} tag
 * @param {string} className
 * @param {string} text
 */
function element(tag, className, text) {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text; // never innerHTML: filenames and ids come from elsewhere
  return node;
}

/** @param {HTMLElement} node */
function show(node) {
  node.hidden = false;
}

/** @param {HTMLElement} node */
function hide(node) {
  node.hidden = true;
}

/** @param {number} bytes */
function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
