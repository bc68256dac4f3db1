/**
 * GET /api/v1/rules: the rules in force with their hit counts (last 7 days), the last reload
 * and coverage (the share of failures a rule decided rather than the fallback).
 * POST /api/v1/rules/backtest: what candidate rules would change on the stored failures. Writes nothing.
 */
import express, { Router } from 'express';
import { existsSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { backtestStored } from '../services/backtest.js';
import type { RuleSet } from '../../classify/index.js';
import type { FailureClassifier } from '../services/classifier.js';
import { iso } from '../store/db.js';
import type { Store } from '../store/index.js';
import { HttpError, parse } from './errors.js';
import { parseTime } from './time.js';

export interface RulesApiDeps {
  store: Store;
  /** The rules directory the coordinator classifies with (the default candidate). */
  rulesDir: string;
  classifier?: () => FailureClassifier;
}

/** What a ClassifierService (rules/service.ts) tells beyond the FailureClassifier interface. */
interface RulesInForce {
  rules?: RuleSet;
  loadedAt?: number;
  lastReload?: { at: number; ok: boolean; errors: Array<{ file?: string; line?: number; message: string }> } | null;
}
const WINDOW_MS = 7 * 86_400_000;

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

  r.get('/rules', async (_req, res) => {
    const c = (d.classifier?.() ?? {}) as RulesInForce;
    const since = Date.now() - WINDOW_MS;
    const hits = await d.store.sql.all<{ id: string; n: number; last: number }>(
      `SELECT failure_rule_id AS id, COUNT(*) AS n, MAX(finished_at) AS last FROM jobs
       WHERE failure_rule_id IS NOT NULL AND finished_at >= ? GROUP BY failure_rule_id`,
      [since],
    );
    const byId = new Map(hits.map((h) => [h.id, h]));
    const cov = (await d.store.sql.get<{ failures: number; by_rule: number | null; by_fallback: number | null }>(
      `SELECT COUNT(*) AS failures,
         SUM(CASE WHEN failure_rule_id IS NOT NULL THEN 1 ELSE 0 END) AS by_rule,
         SUM(CASE WHEN failure_fallback = 1 THEN 1 ELSE 0 END) AS by_fallback
       FROM jobs WHERE failure_class IS NOT NULL AND finished_at >= ?`,
      [since],
    ))!;
    res.json({
      dir: d.rulesDir,
      loaded_at: iso(c.loadedAt ?? null),
      last_reload: c.lastReload ? { at: iso(c.lastReload.at), ok: c.lastReload.ok, errors: c.lastReload.errors } : null,
      window_days: WINDOW_MS / 86_400_000,
      coverage: {
        failures: cov.failures,
        by_rule: cov.by_rule ?? 0,
        by_fallback: cov.by_fallback ?? 0,
        ratio: cov.failures ? (cov.by_rule ?? 0) / cov.failures : null,
      },
      rules: (c.rules?.rules ?? []).map((x) => ({
        id: x.id,
        version: x.version,
        class: x.class,
        cause: x.cause,
        description: x.description,
        file: x.origin?.file ?? null,
        line: x.origin?.line ?? null,
        hits: byId.get(x.id)?.n ?? 0,
        last_hit_at: iso(byId.get(x.id)?.last ?? null),
      })),
    });
  });

  r.post('/rules/backtest', async (req, res) => {
    const body = parse(backtestBody, req.body ?? {});
    const since = parseTime(body.since, 'since')!;
    const dir = body.rules_dir ?? d.rulesDir;
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      throw new HttpError(400, `rules_dir ${JSON.stringify(dir)} is not a directory`, [
        { path: 'rules_dir', message: 'not a directory on the coordinator host' },
      ]);
    const out = await backtestStored(d.store, dir, since, body.samples);
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
