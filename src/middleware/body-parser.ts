import express, { type RequestHandler } from 'express';
import type { Config } from '../config/env.js';

/**
 * JSON only, up to BODY_LIMIT (413 beyond, 400 when malformed). Routes that expect less
 * mount `jsonBody('16kb')` themselves; express.json skips requests it has already parsed.
 */
export function jsonBody(limit: Config['bodyLimit'] | string): RequestHandler {
  return express.json({ limit, strict: true, type: ['application/json', 'application/*+json'] });
}
