import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { createServer } from '../src/http/server';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vw-tls-'));
const files = { certFile: path.join(dir, 'fullchain.pem'), keyFile: path.join(dir, 'privkey.pem') };

function makeCert(cn: string) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${cn}`,
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', `${files.keyFile}.new`, '-out', `${files.certFile}.new`], { stdio: 'ignore' });
  // Like certbot: new files renamed into place.
  fs.renameSync(`${files.keyFile}.new`, files.keyFile);
  fs.renameSync(`${files.certFile}.new`, files.certFile);
}

function peerCn(port: number, opts: tls.ConnectionOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts }, () => {
      const cn = s.getPeerCertificate().subject.CN as string;
      s.end();
      resolve(cn);
    });
    s.on('error', reject);
  });
}

let server: ReturnType<typeof createServer>;
let port: number;
const logs: string[] = [];

beforeAll(async () => {
  makeCert('first');
  server = createServer((_req, res) => res.end('ok'), files, { info: (_o, m) => logs.push(m), error: (_o, m) => logs.push(m) });
  await new Promise<void>((r) => server.server.listen(0, '127.0.0.1', r));
  port = (server.server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.stopWatching();
  await new Promise((r) => server.server.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('serves HTTPS with the configured certificate', async () => {
  const body = await new Promise<string>((resolve, reject) => {
    https.get({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve(b));
    }).on('error', reject);
  });
  expect(body).toBe('ok');
  expect(await peerCn(port)).toBe('first');
});

test('refuses TLS 1.1', async () => {
  await expect(peerCn(port, { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' })).rejects.toThrow();
  expect(await peerCn(port, { maxVersion: 'TLSv1.2' })).toBe('first');
});

test('a renewed certificate is picked up without a restart; a broken one is not', async () => {
  makeCert('renewed');
  const deadline = Date.now() + 15_000;
  while ((await peerCn(port)) !== 'renewed' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  expect(await peerCn(port)).toBe('renewed');
  fs.writeFileSync(files.certFile, '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
  while (!logs.some((m) => m.includes('not reloaded')) && Date.now() < deadline + 15_000) await new Promise((r) => setTimeout(r, 200));
  expect(logs.some((m) => m.includes('not reloaded'))).toBe(true);
  expect(await peerCn(port)).toBe('renewed');
}, 40_000);
