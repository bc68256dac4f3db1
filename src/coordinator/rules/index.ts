/** Classification rules on disk: loading a rules directory, and keeping it in force (reload, watch). */
export { loadRules, ruleFiles } from './load.js';
export { ClassifierService, RulesLoadError, type ClassifierServiceOptions, type ReloadResult } from './service.js';
