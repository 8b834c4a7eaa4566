// One backup as `pgbackrest info --output=json` lists it (the fields pgop reads).
export interface InfoBackup {
  label: string;
  type: 'full' | 'diff' | 'incr';
  archive: { start: string | null; stop: string | null };
  info: { size: number; repository: { size: number } };
  lsn: { start: string; stop: string };
  timestamp: { start: number; stop: number };
  annotation?: Record<string, string>;
}
