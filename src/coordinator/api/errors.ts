/** HTTP errors as `{error, details?}` JSON; bad input is always a 4xx naming the field. */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { ZodError, type ZodType, type ZodTypeDef } from 'zod';
import { EngineError } from '../../pipeline/index.js';
import type { ApiErrorDetail } from '../../protocol/user-api.js';
import type { StoreHealth } from '../store/health.js';

export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly details?: ApiErrorDetail[],
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function zodDetails(err: ZodError): ApiErrorDetail[] {
  return err.issues.map((i) => ({ path: i.path.length ? i.path.join('.') : '(body)', message: i.message }));
}

/** Parse `input` or throw a 400 naming every bad field. */
export function parse<T>(schema: ZodType<T, ZodTypeDef, unknown>, input: unknown, what = 'request body'): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const details = zodDetails(r.error);
  throw new HttpError(400, `invalid ${what}: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, details);
}

/** `:id` route parameter as a positive integer. */
export function idParam(raw: unknown, name = 'id'): number {
  const s = String(raw);
  if (!/^[1-9][0-9]{0,15}$/.test(s))
    throw new HttpError(400, `${name} must be a positive integer, got ${JSON.stringify(s)}`, [
      { path: name, message: 'must be a positive integer' },
    ]);
  return Number(s);
}

export const notFound: RequestHandler = (req, res) => {
  res.status(404).json({ error: `no route ${req.method} ${req.path}` });
};

export function errorHandler(log: Logger, health?: StoreHealth): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) return void res.end();
    // Disk full, a locked or read-only database: the client may retry later; say why.
    const storage = health?.record(err);
    if (storage) {
      log.error({ err, method: req.method, path: req.path, storage: storage.kind }, 'storage failure');
      if (storage.kind === 'busy') res.set('retry-after', '5');
      res.status(503).json({ error: storage.message, cause: `storage_${storage.kind}` });
      return;
    }
    if (err instanceof HttpError) {
      res.status(err.status).json({ error: err.message, ...(err.details ? { details: err.details } : {}), ...err.extra });
      return;
    }
    if (err instanceof EngineError) {
      res.status(409).json({ error: err.message, code: err.code, ...(err.job ? { job: err.job } : {}) });
      return;
    }
    if (err instanceof ZodError) {
      res.status(400).json({ error: 'invalid input', details: zodDetails(err) });
      return;
    }
    // body-parser errors carry a status and a type.
    const status = typeof err?.status === 'number' ? err.status : typeof err?.statusCode === 'number' ? err.statusCode : 500;
    if (status >= 400 && status < 500) {
      const msg =
        err.type === 'entity.parse.failed'
          ? `malformed JSON body: ${err.message}`
          : err.type === 'entity.too.large'
            ? `request body too large (limit ${err.limit} bytes)`
            : err.type === 'charset.unsupported' || err.type === 'encoding.unsupported'
              ? `unsupported body encoding: ${err.message}`
              : String(err.message ?? 'bad request');
      res.status(status).json({ error: msg });
      return;
    }
    log.error({ err, method: req.method, path: req.path }, 'request failed');
    res.status(500).json({ error: 'internal error' });
  };
}
