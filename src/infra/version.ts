import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Read once at start; /health reports it without touching the disk again. */
export const version: string = (require('../../package.json') as { version: string }).version;
