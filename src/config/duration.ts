/**
 * GitLab-style durations ("1h 30m", "90 minutes", "3600", "1 hour and 30 minutes",
 * "1:30:00") → whole seconds. A bare number means seconds, as in GitLab.
 */
const UNIT_SECONDS: Record<string, number> = {};
const UNITS: [number, string[]][] = [
  [1, ['s', 'sec', 'secs', 'second', 'seconds']],
  [60, ['m', 'min', 'mins', 'minute', 'minutes']],
  [3600, ['h', 'hr', 'hrs', 'hour', 'hours']],
  [86400, ['d', 'day', 'days']],
  [604800, ['w', 'wk', 'wks', 'week', 'weeks']],
  [2592000, ['mo', 'mos', 'month', 'months']],
  [31536000, ['y', 'yr', 'yrs', 'year', 'years']],
];
for (const [secs, names] of UNITS) for (const n of names) UNIT_SECONDS[n] = secs;

export type DurationResult = { ok: true; seconds: number } | { ok: false; message: string };

export function parseDuration(input: string | number): DurationResult {
  const bad = (why: string): DurationResult => ({ ok: false, message: why });
  let seconds: number;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return bad(`${input} is not a duration`);
    seconds = input;
  } else {
    const text = input.trim().toLowerCase();
    if (text === '') return bad('empty duration; use e.g. "1h 30m" or "3600"');
    const clock = /^(\d+):(\d{1,2})(?::(\d{1,2}))?$/.exec(text);
    if (clock) {
      // h:mm:ss, or mm:ss when only two parts (as ChronicDuration reads them).
      const [a, b, c] = [Number(clock[1]), Number(clock[2]), clock[3] === undefined ? null : Number(clock[3])];
      seconds = c === null ? a * 60 + b : a * 3600 + b * 60 + c;
    } else {
      const cleaned = text.replace(/,/g, ' ').replace(/\band\b/g, ' ');
      const re = /\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*/y;
      seconds = 0;
      let i = 0;
      let parts = 0;
      while (i < cleaned.length) {
        re.lastIndex = i;
        const m = re.exec(cleaned);
        if (!m) {
          if (cleaned.slice(i).trim() === '') break;
          return bad(`cannot read ${JSON.stringify(input)} as a duration; use e.g. "1h 30m", "90 minutes" or "3600"`);
        }
        const unit = m[2] ?? '';
        const mult = unit === '' ? 1 : UNIT_SECONDS[unit];
        if (mult === undefined) return bad(`unknown time unit '${unit}' in ${JSON.stringify(input)}; use s, m, h, d or w`);
        seconds += Number(m[1]) * mult;
        parts++;
        i = re.lastIndex;
      }
      if (parts === 0) return bad(`cannot read ${JSON.stringify(input)} as a duration; use e.g. "1h 30m" or "3600"`);
    }
  }
  seconds = Math.round(seconds);
  if (seconds <= 0) return bad('a duration must be longer than zero seconds');
  if (!Number.isSafeInteger(seconds)) return bad('the duration is too long');
  return { ok: true, seconds };
}
