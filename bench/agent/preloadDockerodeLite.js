// @ts-check
'use strict';
// node -r bench/agent/preloadDockerodeLite.js packages/agent/dist/main.js
// makes require('dockerode') load dockerodeLite.js instead. Experiments only.
const Module = require('node:module');
const path = require('node:path');

const lite = path.join(__dirname, 'dockerodeLite.js');
const resolve = /** @type {any} */ (Module)._resolveFilename;
/** @type {any} */ (Module)._resolveFilename = function (/** @type {string} */ request, /** @type {unknown[]} */ ...rest) {
  return request === 'dockerode' ? lite : resolve.call(this, request, ...rest);
};
