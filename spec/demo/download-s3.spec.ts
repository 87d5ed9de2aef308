/** Downloads from the demo on S3 (fauxqs on loopback): ranges, resumes, conditions, release of the S3 connection. */
import { describeDownloads } from './support/download-suite';
import { startDemo } from './support/demo-process';
import { socketsTo } from './support/held-resources';
import { startS3 } from '../support/s3-server';

describeDownloads('s3', async () => {
  const s3 = await startS3('demo');
  const demo = await startDemo({
    STORAGE: 's3',
    S3_BUCKET: s3.bucket,
    S3_ENDPOINT: s3.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
  });
  const s3Port = Number(new URL(s3.endpoint).port);
  return {
    demo,
    // An object body being read keeps its connection to the server with bytes waiting in it (the
    // server sends ahead of the demo); a released body has its connection closed. Idle pooled
    // connections hold no unread bytes.
    isReading: async () => socketsTo(demo.pid, s3Port).some((socket) => socket.unread > 0),
    stop: async () => {
      await demo.stop();
      await s3.stop();
    },
  };
});
