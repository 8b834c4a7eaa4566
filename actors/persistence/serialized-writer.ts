// One writer per actor: writes never overlap and only the newest pending value is written (latest wins).

export class SerializedWriter<T> {
  private pending: { value: T } | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly write: (value: T) => Promise<void>, private readonly onError: (e: unknown) => void) {}

  submit(value: T): void {
    this.pending = { value };
    if (!this.running) this.running = this.drain();
  }

  /** Resolves when everything submitted so far is written. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending) {
        const { value } = this.pending;
        this.pending = null;
        try { await this.write(value); } catch (e) { this.onError(e); }
      }
    } finally {
      this.running = null;
    }
  }
}
