// Play / cancel / retry buttons for a job, shared by the pipeline and job pages.
import { postJson, Unauthorized } from '../api.js';
import { h, toast } from '../dom.js';

const CANCELABLE = new Set(['created', 'pending', 'running']);
const RETRYABLE = new Set(['failed', 'canceled', 'success']);

/** `after(result)` runs when the action succeeded (usually: refresh, or go to the new attempt). */
export function jobActions(job, { after, onError, compact = false }) {
  const act = (verb, label, cls) =>
    h(
      'button',
      {
        type: 'button',
        class: `btn ${cls}`,
        dataset: { action: verb, jobId: job.id },
        title: `${label} ${job.name}`,
        'aria-label': `${label} ${job.name}`,
        onclick: async (e) => {
          const btn = e.currentTarget;
          btn.disabled = true;
          try {
            const res = await postJson(`/api/v1/jobs/${job.id}/${verb}`);
            await after?.(res, verb);
          } catch (err) {
            // A refused token goes back to the token form; anything else (e.g. 409 "not the
            // latest attempt") is a message, not a reason to blank the page.
            if (err instanceof Unauthorized) onError(err);
            else toast(`${label} ${job.name}: ${err.message}`);
          } finally {
            btn.disabled = false;
          }
        },
      },
      compact && verb !== 'play' ? iconFor(verb) : `${iconFor(verb)} ${label}`,
    );
  const out = [];
  if (job.status === 'manual') out.push(act('play', 'Run', 'play'));
  if (CANCELABLE.has(job.status)) out.push(act('cancel', 'Cancel', 'cancel'));
  if (RETRYABLE.has(job.status)) out.push(act('retry', 'Retry', 'retry'));
  return out.length ? h('span', { class: 'actions' }, out) : null;
}

const iconFor = (verb) => ({ play: '▶', cancel: '■', retry: '↻' })[verb];
