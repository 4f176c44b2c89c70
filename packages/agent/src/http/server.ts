import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { RequestListener } from 'node:http';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

function secureContextOptions(files: TlsFiles): tls.SecureContextOptions {
  return { cert: fs.readFileSync(files.certFile), key: fs.readFileSync(files.keyFile), minVersion: 'TLSv1.2' };
}

/**
 * HTTP, or HTTPS when certificate files are configured. Certificates are
 * re-read when either file changes (Let's Encrypt renewals) without a restart;
 * a pair that does not load keeps the previous one in service.
 */
export function createServer(
  app: RequestListener,
  tlsFiles: TlsFiles | null,
  log: { info(o: object, m: string): void; error(o: object, m: string): void },
): { server: http.Server; stopWatching(): void } {
  let server: http.Server;
  let stopWatching = () => undefined as void;
  if (tlsFiles) {
    const s = https.createServer({ ...secureContextOptions(tlsFiles), minVersion: 'TLSv1.2' }, app);
    const reload = () => {
      try {
        const opts = secureContextOptions(tlsFiles);
        tls.createSecureContext(opts); // throws on a mismatched or half-written pair
        s.setSecureContext(opts);
        log.info({ cert: tlsFiles.certFile }, 'TLS certificate reloaded');
      } catch (err) {
        log.error({ err }, 'TLS certificate not reloaded: keeping the previous one');
      }
    };
    const onChange = (curr: fs.Stats, prev: fs.Stats) => {
      if (curr.mtimeMs !== prev.mtimeMs || curr.ino !== prev.ino) reload();
    };
    fs.watchFile(tlsFiles.certFile, { interval: 2000, persistent: false }, onChange);
    fs.watchFile(tlsFiles.keyFile, { interval: 2000, persistent: false }, onChange);
    stopWatching = () => {
      fs.unwatchFile(tlsFiles.certFile, onChange);
      fs.unwatchFile(tlsFiles.keyFile, onChange);
    };
    server = s;
  } else {
    server = http.createServer(app);
  }
  // Slow clients: a request must arrive whole within these bounds.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 65_000;
  return { server, stopWatching };
}
