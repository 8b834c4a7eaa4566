// RFC 3339 timestamps to epoch milliseconds without the Date global (machines/ never touch the clock, and the
// lint rule keeps Date out entirely). Returns NaN for anything else.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}(?::?\d{2})?)$/i;

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function isoMillis(s: string): number {
  const m = RFC3339.exec(s.trim());
  if (!m) return NaN;
  const [, y, mo, d, h, mi, se, frac, zone] = m as unknown as [string, string, string, string, string, string, string, string | undefined, string];
  let offset = 0;
  if (zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offset = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'));
  }
  const ms = frac ? Math.round(Number(`0.${frac}`) * 1000) : 0;
  return ((daysFromCivil(Number(y), Number(mo), Number(d)) * 24 + Number(h)) * 60 + Number(mi) - offset) * 60_000 + Number(se) * 1000 + ms;
}
