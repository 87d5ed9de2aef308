const { from, concatMap, lastValueFrom, Observable } = require('rxjs');
const { parseMultipart } = require('../dist/cjs/index.js');
const busboy = require('busboy');
const boundary = '----WebKitFormBoundaryABCDEFGHIJKLMNOP';
let s=''; for (let i=0;i<2000;i++) s+=`--${boundary}\r\nContent-Disposition: form-data; name="field${i}"\r\n\r\nvalue ${i}\r\n`; s+=`--${boundary}--\r\n`; const b=Buffer.from(s);
const chunks=[]; for (let i=0;i<b.length;i+=65536) chunks.push(b.subarray(i,i+65536));
const ct = `multipart/form-data; boundary=${boundary}`;
function rx() { let n=0; from(chunks).pipe(parseMultipart(ct, {limits:{fields:Infinity,parts:Infinity}}), concatMap(p => p.body$)).subscribe({next: c => n+=c.length}); return n; }
function bb() { let n=0; const x = busboy({headers:{'content-type':ct}, limits:{fields:Infinity}}); x.on('field',(k,v)=>n+=v.length); for (const c of chunks) x.write(c); x.end(); return n; }
for (const [name, f] of [['rx', rx], ['busboy', bb]]) {
  for (let i=0;i<300;i++) f();
  const t=process.hrtime.bigint(); for (let i=0;i<300;i++) f(); const dt=Number(process.hrtime.bigint()-t)/1e9/300;
  console.log(name, (2000/dt/1e6).toFixed(3), 'M parts/s', (dt/2000*1e9).toFixed(0), 'ns/part');
}
import('@remix-run/multipart-parser').then(({ MultipartParser }) => {
  function rm() { let n=0; const p = new MultipartParser(boundary, {maxParts: Infinity}); for (const c of chunks) for (const part of p.write(c)) { n += part.name.length; for (const x of part.content) n+=x.length; } p.finish(); return n; }
  for (let i=0;i<300;i++) rm();
  const t=process.hrtime.bigint(); for (let i=0;i<300;i++) rm(); const dt=Number(process.hrtime.bigint()-t)/1e9/300;
  console.log('remix', (2000/dt/1e6).toFixed(3), 'M parts/s', (dt/2000*1e9).toFixed(0), 'ns/part');
});
