// The loopback addresses a process kubelet hands out. Test runs of several worktrees share one machine, so each
// kubelet claims its own block 127.B.0.0/24 (B ≥ 1) with a lock file naming its pid; a block whose process is gone
// is taken over. Pods of two concurrent runs then never share an address (and postgres port).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const alive = (pid: number) => {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
};

export interface AddressBlock { prefix: string; release(): void }

export function claimAddressBlock(dir = join(tmpdir(), 'pgop-kubelet-address-blocks')): AddressBlock {
  mkdirSync(dir, { recursive: true });
  for (let b = 1; b < 255; b++) {
    const file = join(dir, String(b));
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(file, String(process.pid), { flag: 'wx' });
        return { prefix: `127.${b}.0.`, release: () => rmSync(file, { force: true }) };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      let owner = 0;
      try { owner = Number(readFileSync(file, 'utf8')); } catch { /* removed meanwhile: try again */ }
      if (alive(owner)) break;
      rmSync(file, { force: true });
    }
  }
  throw new Error(`no free loopback block under ${dir}`);
}
