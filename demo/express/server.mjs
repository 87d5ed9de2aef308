/**
 * A multer-style Express app on rx-multipart/express: the code of multer's README, with
 * `import multer from 'rx-multipart/express'` where it had `require('multer')`.
 *
 *   npm run build && node demo/express/server.mjs
 *
 * Settings: PORT (3001; 0 picks a free one), HOST (all interfaces), UPLOAD_DIR (./uploads/express),
 * MAX_FILE_SIZE (bytes, 10 MiB).
 */
import express from 'express';
import multer from 'rx-multipart/express';

const port = Number(process.env.PORT ?? 3001);
const host = process.env.HOST || undefined;
const uploadDir = process.env.UPLOAD_DIR || './uploads/express';
const maxFileSize = Number(process.env.MAX_FILE_SIZE ?? 10 * 1024 * 1024);

// Files go to uploadDir under random names. Every limit not given here keeps its finite default.
const upload = multer({
  dest: uploadDir,
  limits: { fileSize: maxFileSize, files: 12 },
  fileFilter(req, file, cb) {
    // Skip what is not an image, silently (cb(new Error(...)) would fail the request instead).
    cb(null, file.mimetype.startsWith('image/'));
  },
});

const app = express();

app.get('/', (req, res) => {
  res.type('html').send(`<!doctype html>
<title>rx-multipart/express</title>
<h1>Profile</h1>
<form action="/profile" method="post" enctype="multipart/form-data">
  <input name="name" placeholder="name"> <input type="file" name="avatar" accept="image/*"> <button>Send</button>
</form>
<h1>Photos</h1>
<form action="/photos/upload" method="post" enctype="multipart/form-data">
  <input type="file" name="photos" accept="image/*" multiple> <button>Send</button>
</form>`);
});

app.post('/profile', upload.single('avatar'), (req, res) => {
  // req.file is the `avatar` file (undefined when none, or when fileFilter skipped it);
  // req.body holds the text fields.
  res.json({ file: describe(req.file), body: req.body });
});

app.post('/photos/upload', upload.array('photos', 12), (req, res) => {
  res.json({ files: req.files.map(describe), body: req.body });
});

app.use((err, req, res, next) => {
  if (err instanceof multer.MulterError) {
    // A limit (413: LIMIT_FILE_SIZE, LIMIT_FILE_COUNT ...) or an unexpected field (400).
    return res.status(err.status).json({ error: err.code, field: err.field, message: err.message });
  }
  if (typeof err.status === 'number' && err.status < 500) {
    // A malformed body, a client that went away: the library's error, with its code and status.
    return res.status(err.status).json({ error: err.code, message: err.message });
  }
  next(err);
});

/** What the answer shows of a stored file: not its path on this server. */
function describe(file) {
  return file && { fieldname: file.fieldname, originalname: file.originalname, mimetype: file.mimetype, size: file.size, filename: file.filename };
}

const server = app.listen(port, host, () => {
  const { port: actual } = server.address();
  console.log(`rx-multipart/express demo listening on http://${host ?? 'localhost'}:${actual} (files in ${uploadDir}, max file size ${maxFileSize} bytes)`);
});

process.once('SIGTERM', () => server.close(() => process.exit(0)));
