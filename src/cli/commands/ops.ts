/** Operators' verbs: `faultline runners` (list, remove) and `faultline incidents` (list, ack, resolve). */
import { api } from '../api-client.js';
import { withSession } from '../local.js';
import { dim, printJson, safe, table } from '../format.js';
import type { ConnOptions } from './query.js';

/** GET /api/v1/runners as the contract of this round describes it (fields may be missing on older coordinators). */
interface RunnerRow {
  id: number;
  name: string;
  host?: string | null;
  state: string;
  last_contact_at?: string | null;
  last_heartbeat_at?: string | null;
  version?: string | null;
  executor?: string | null;
  tags?: string[];
  jobs_running?: number;
  recent_infra_failures?: number;
}

export async function runnersCommand(o: ConnOptions): Promise<number> {
  const res = await withSession(o, (s) => api<{ runners: RunnerRow[] }>(s.conn, 'GET', '/api/v1/runners'));
  if (o.json) return (printJson(res), 0);
  if (res.runners.length === 0) return (console.log('no runners'), 0);
  const rows = res.runners.map((r) => [
    `#${r.id}`,
    r.name,
    r.state,
    r.executor ?? '',
    r.host ?? '',
    r.version ?? '',
    (r.tags ?? []).join(','),
    r.jobs_running ?? '',
    r.recent_infra_failures ?? '',
    r.last_contact_at ?? r.last_heartbeat_at ?? '',
  ]);
  for (const l of table(['ID', 'NAME', 'STATE', 'EXECUTOR', 'HOST', 'VERSION', 'TAGS', 'RUNNING', 'INFRA FAILS', 'LAST CONTACT'], rows))
    console.log(l);
  return 0;
}

export async function runnerRemoveCommand(id: string, o: ConnOptions): Promise<number> {
  await withSession(o, (s) => api(s.conn, 'DELETE', `/api/v1/runners/${encodeURIComponent(id)}`));
  if (o.json) return (printJson({ removed: Number(id) }), 0);
  console.log(`runner #${safe(id)} removed`);
  return 0;
}

interface IncidentRow {
  id: number;
  cause: string;
  dependency?: { kind: string; name: string } | null;
  state: string;
  failure_count?: number;
  first_failure_at?: string | null;
  last_failure_at?: string | null;
  resolved_by?: string | null;
  note?: string | null;
}

export async function incidentsCommand(o: ConnOptions & { state?: string }): Promise<number> {
  const q = o.state ? `?state=${encodeURIComponent(o.state)}` : '';
  const res = await withSession(o, (s) => api<{ incidents: IncidentRow[] }>(s.conn, 'GET', `/api/v1/incidents${q}`));
  if (o.json) return (printJson(res), 0);
  if (res.incidents.length === 0) return (console.log('no incidents'), 0);
  const rows = res.incidents.map((i) => [
    `#${i.id}`,
    i.state,
    i.cause,
    i.dependency ? `${i.dependency.kind}:${i.dependency.name}` : '',
    i.failure_count ?? '',
    i.last_failure_at ?? '',
    i.note ?? '',
  ]);
  for (const l of table(['ID', 'STATE', 'CAUSE', 'DEPENDENCY', 'FAILURES', 'LAST FAILURE', 'NOTE'], rows)) console.log(l);
  return 0;
}

export async function incidentActionCommand(action: 'ack' | 'resolve', id: string, o: ConnOptions & { note?: string }): Promise<number> {
  if (action === 'resolve' && !o.note?.trim()) {
    console.error('faultline incidents resolve: --note is required (what was fixed)');
    return 2;
  }
  const body = o.note ? { note: o.note } : {};
  const i = await withSession(o, (s) => api<IncidentRow>(s.conn, 'POST', `/api/v1/incidents/${encodeURIComponent(id)}/${action}`, body));
  if (o.json) return (printJson(i), 0);
  console.log(`incident #${i.id} ${safe(i.cause)}: ${i.state}${i.note ? dim(` — ${safe(i.note)}`) : ''}`);
  return 0;
}
