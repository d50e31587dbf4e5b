import { fileURLToPath } from 'node:url';

/** Absolute path of the static files (pages, CSS, compiled browser scripts) the API serves at `/`. */
export const webRoot: string = fileURLToPath(new URL('../public', import.meta.url));
