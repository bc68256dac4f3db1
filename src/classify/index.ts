/** Public surface of the failure classifier. */
export { Classifier, type ClassifierOptions, type ClassifyOptions } from './classifier.js';
export { loadRuleTexts, parseRuleFile, formatRuleError, type LoadResult, type RuleError, type RuleText } from './loader.js';
export { compileRuleSet, ruleSetFrom, defaultOwner, EMPTY_RULESET, type RuleSet, type CompiledRule, type RuleOrigin } from './ruleset.js';
export { ruleSchema, ruleFileSchema, SUMMARY_PLACEHOLDERS, type RuleDef, type RuleInput, type RuleMatch } from './schema.js';
export { fallbackFor, FALLBACK_BY_REASON } from './fallback.js';
export { backtest, type BacktestInput, type BacktestResult, type Transition, type Verdict } from './backtest.js';
export { DEFAULT_WINDOW_BYTES, takeWindow } from './log-window.js';
export { withTestReports, testCaseEvidence, type ClassifyReports, type ReportedTestCase } from './reports.js';

import { fileURLToPath } from 'node:url';
/** The shipped rules directory (rules/classification). */
export const SHIPPED_RULES_DIR = fileURLToPath(new URL('../../rules/classification/', import.meta.url));
export { newErrorLines, normalizeLine } from './log-diff.js';
