// @ts-check
'use strict';
/**
 * A stand-in for dockerode with only what the agent's sampler calls:
 * listContainers over the Engine API's Unix socket with node:http. Used by
 * rssExperiments.js (through preloadDockerodeLite.js) to measure what the
 * agent would weigh without dockerode's 210 modules (gRPC, protobufjs, ssh2).
 */
const http = require('node:http');

class DockerLite {
  /** @param {{ socketPath?: string }} [opts] */
  constructor(opts = {}) {
    this.socketPath = opts.socketPath ?? '/var/run/docker.sock';
  }

  /** @param {{ all?: boolean }} [opts] */
  listContainers(opts = {}) {
    return new Promise((resolve, reject) => {
      const req = http.get({ socketPath: this.socketPath, path: `/containers/json${opts.all ? '?all=1' : ''}`, timeout: 5000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`docker engine answered ${res.statusCode}: ${body.slice(0, 200)}`));
          try {
            resolve(JSON.parse(body));
          } catch (err) {
            reject(err);
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error('docker engine timed out')));
      req.on('error', reject);
    });
  }
}

module.exports = DockerLite;
