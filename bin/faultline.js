#!/usr/bin/env node
// Entry point: run the TypeScript sources through tsx's loader (no build step).
import { register } from 'tsx/esm/api';
register();
// Opt-in HTTP auto-instrumentation must patch node:http before the app imports it.
if (process.env.FAULTLINE_OTEL_INSTRUMENTATIONS) await import('../src/telemetry/instrument.ts');
await import('../src/cli/main.ts');
