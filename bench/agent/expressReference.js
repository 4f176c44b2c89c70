// @ts-check
'use strict';
/**
 * The agent's framework with nothing else: Express set up as createApp does
 * (no x-powered-by, no ETag) answering res.json() with a fixed object. Between
 * referenceServer.js and the agent it shows what Express itself costs.
 *
 *   node bench/agent/expressReference.js <port> <body.json> [agent package dir]
 */
const http = require('node:http');
const path = require('node:path');
const { readFileSync } = require('node:fs');

const [port, file, agentDir = path.resolve(__dirname, '..', '..', 'packages', 'agent')] = process.argv.slice(2);
const express = require(require.resolve('express', { paths: [agentDir] }));
const body = JSON.parse(readFileSync(String(file), 'utf8'));
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.get('/api/v1/status', (/** @type {any} */ _req, /** @type {any} */ res) => res.json(body));
const server = http.createServer(app);
server.keepAliveTimeout = 65_000;
server.listen(Number(port), '127.0.0.1');
