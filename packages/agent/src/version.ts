// Read from package.json at run time so the reported version cannot drift.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const AGENT_VERSION: string = require('../package.json').version;
