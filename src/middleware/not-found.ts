import type { RequestHandler } from 'express';
import { AppError } from '../errors/app-error.js';

export const notFound: RequestHandler = function notFound(_req, _res, next) {
  next(new AppError(404, 'ROUTE_NOT_FOUND', 'Not found', { detail: 'No route matches this method and path.' }));
};
