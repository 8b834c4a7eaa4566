// One ordered lane per object key: work for the same key runs one after the other, never overlapping; different
// keys run independently. A failed task is reported and does not block the lane.

export class Lanes {
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly onError: (id: string, e: unknown) => void) {}

  run(id: string, task: () => Promise<void>): Promise<void> {
    const next = (this.tails.get(id) ?? Promise.resolve())
      .then(task)
      .catch((e: unknown) => this.onError(id, e))
      .finally(() => { if (this.tails.get(id) === next) this.tails.delete(id); });
    this.tails.set(id, next);
    return next;
  }

  /** Resolves when everything queued so far has run. */
  async idle(): Promise<void> {
    while (this.tails.size) await Promise.allSettled([...this.tails.values()]);
  }
}
