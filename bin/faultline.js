#!/usr/bin/env node
// Entry point. Runs the compiled JavaScript in dist/ (built by `npm run build`, and by `npm ci`
// through `prepare`) when it is there and fresh — its stamp newer than every file under src/ —
// and otherwise the TypeScript sources through tsx's loader, so an edit never runs stale code.
// FAULTLINE_FROM_SOURCES=1 forces the sources.
import { readdirSync, statSync } from 'node:fs';

const root = new URL('../', import.meta.url);

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = new URL(e.name + (e.isDirectory() ? '/' : ''), dir);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function distIsFresh() {
  if (process.env.FAULTLINE_FROM_SOURCES) return false;
  try {
    return statSync(new URL('dist/.stamp', root)).mtimeMs >= newest(new URL('src/', root));
  } catch {
    return false;
  }
}

const dist = distIsFresh();
if (!dist) (await import('tsx/esm/api')).register();
const base = dist ? '../dist/' : '../src/';
const ext = dist ? '.js' : '.ts';
// Opt-in HTTP auto-instrumentation must patch node:http before the app imports it.
if (process.env.FAULTLINE_OTEL_INSTRUMENTATIONS) await import(`${base}telemetry/instrument${ext}`);
await import(`${base}cli/main${ext}`);
