// eslint-disable-next-line @typescript-eslint/no-require-imports
export const COLLECTOR_VERSION: string = require('../package.json').version;
