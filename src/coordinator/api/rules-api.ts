/** POST /api/v1/rules/backtest: what candidate rules would change on the stored failures. Writes nothing. */
import express, { Router } from 'express';
import { existsSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { backtestStored } from '../services/backtest.js';
import type { Store } from '../store/index.js';
import { HttpError, parse } from './errors.js';
import { parseTime } from './time.js';

export interface RulesApiDeps {
  store: Store;
  /** The rules directory the coordinator classifies with (the default candidate). */
  rulesDir: string;
}

const backtestBody = z
  .object({
    rules_dir: z.string().min(1).max(4096).refine(isAbsolute, 'must be an absolute path on the coordinator host').optional(),
    since: z.string().min(1).max(64).default('7d'),
    samples: z.number().int().min(0).max(100).default(5),
  })
  .strict();

export function rulesApi(d: RulesApiDeps): Router {
  const r = Router();
  r.use(express.json({ limit: '64kb' }));

  r.post('/rules/backtest', (req, res) => {
    const body = parse(backtestBody, req.body ?? {});
    const since = parseTime(body.since, 'since')!;
    const dir = body.rules_dir ?? d.rulesDir;
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      throw new HttpError(400, `rules_dir ${JSON.stringify(dir)} is not a directory`, [
        { path: 'rules_dir', message: 'not a directory on the coordinator host' },
      ]);
    const out = backtestStored(d.store, dir, since, body.samples);
    if (!out.ok) {
      const first = out.errors[0];
      throw new HttpError(
        422,
        `candidate rules invalid: ${out.errors.length} error(s)${first ? `; first ${first.file}:${first.line}:${first.column}: ${first.message}` : ''}`,
        out.errors.map((e) => ({ path: e.file, line: e.line, column: e.column, message: e.message })),
      );
    }
    const { ok: _ok, ...result } = out;
    res.json(result);
  });

  return r;
}
