// @ts-check
'use strict';
/**
 * The floor for HTTP cost on this machine: plain node:http answering every
 * request with a fixed JSON body (the agent's own /api/v1/status, captured
 * by run.js). Compared with the agent, it separates the machine's noise and
 * node's own HTTP cost from Express and the agent's handlers.
 *
 *   node bench/agent/referenceServer.js <port> <body.json>
 */
const http = require('node:http');
const { readFileSync } = require('node:fs');

const [port, file] = process.argv.slice(2);
const body = readFileSync(String(file));
http
  .createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
    res.end(body);
  })
  .listen(Number(port), '127.0.0.1');
