// Router-global names for prepared statements. Clients name statements freely ("P0_1", "s1", "__asyncpg_stmt_3__")
// and two clients may use one name for different text; backends are shared between clients, so each distinct
// statement body (query text + parameter types) gets one router-wide name and every client name maps onto it.

export class StatementNames {
  private readonly byBody = new Map<string, string>();
  private next = 0;

  /** The global name for a Parse body tail; the same bytes always give the same name. */
  nameFor(tail: Buffer): string {
    const key = tail.toString('latin1');
    let name = this.byBody.get(key);
    if (name === undefined) {
      name = `pgop_${(++this.next).toString(36)}`;
      this.byBody.set(key, name);
    }
    return name;
  }

  get size(): number { return this.byBody.size; }
}
