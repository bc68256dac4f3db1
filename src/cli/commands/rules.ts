/** `faultline rules test`: backtest candidate rules on the stored failures; writes nothing. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseTime } from '../../coordinator/api/time.js';
import { backtestStored } from '../../coordinator/services/backtest.js';
import { Store } from '../../coordinator/store/index.js';
import { ruleSkeleton, WidespreadService } from '../../coordinator/services/widespread.js';
import { bold, dim, red } from '../format.js';

export async function rulesTestCommand(o: {
  rules: string;
  since: string;
  data: string;
  json?: boolean;
  sample: string;
  fromWidespread?: string;
}): Promise<number> {
  const dataDir = resolve(o.data);
  if (!existsSync(join(dataDir, 'faultline.db'))) {
    console.error(red(`no faultline store in ${dataDir} (pass --data)`));
    return 2;
  }
  const store = await Store.openSqlite(dataDir);
  try {
    const since = parseTime(o.since, 'since')!;
    if (o.fromWidespread !== undefined) return await fromWidespread(store, o.fromWidespread, since);
    const out = await backtestStored(store, resolve(o.rules), since, Number(o.sample));
    if (o.json) {
      console.log(JSON.stringify(out, null, 2));
      return out.ok ? 0 : 1;
    }
    if (!out.ok) {
      for (const e of out.errors) console.error(red(`${e.file}:${e.line}:${e.column}: ${e.message}`));
      console.error(red('candidate rules refused; nothing was backtested'));
      return 1;
    }
    console.log(bold(`${out.total} stored failure(s) since ${out.since}; ${out.changed} would change with ${out.rules_dir}`));
    for (const t of out.transitions) {
      console.log(
        `  ${String(t.count).padStart(5)}  ${t.from.class}/${t.from.cause} → ${t.to.class}/${t.to.cause}` +
          dim(`  e.g. jobs ${t.sample_job_ids.join(', ')}`),
      );
    }
    return 0;
  } finally {
    await store.close();
  }
}

/** `--from-widespread N`: the Nth widespread unknown line (as GET /incidents/widespread lists them) as a rule skeleton. */
async function fromWidespread(store: Store, n: string, since: number): Promise<number> {
  const lines = await new WidespreadService(store, { windowMs: Math.max(1, Date.now() - since) }).list();
  const i = Number(n);
  if (!/^[1-9][0-9]*$/.test(n) || i > lines.length) {
    console.error(red(`--from-widespread: no widespread line ${JSON.stringify(n)} (${lines.length} in the window; numbered from 1)`));
    return 2;
  }
  process.stdout.write(ruleSkeleton(lines[i - 1]!, i));
  console.error(dim('# save it under a rules directory, fill in the TODOs, then: faultline rules test --rules <dir>'));
  return 0;
}
