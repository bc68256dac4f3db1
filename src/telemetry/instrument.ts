/**
 * Opt-in auto-instrumentations (FAULTLINE_OTEL_INSTRUMENTATIONS=http). They patch
 * node:http, so they must be registered before express and fetch are loaded: the CLI
 * entry imports this module first. Spans go to whatever tracer provider initTracing
 * installs later (instrumentations look the global provider up when they record).
 */
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { optInInstrumentations } from './tracing.js';

const instrumentations = optInInstrumentations();
if (instrumentations.length) registerInstrumentations({ instrumentations });
