// Module hooks for the packaging spec: every module URL node loads is appended to $LOADED_LOG.
import { appendFileSync } from 'node:fs';

export async function load(url, context, next) {
  appendFileSync(process.env.LOADED_LOG, `${url}\n`);
  return next(url, context);
}
