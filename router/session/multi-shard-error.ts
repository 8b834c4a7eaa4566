// The error of a statement on every shard that the router itself reports (not a shard's own ErrorResponse).
export class MultiShardError extends Error {
  constructor(message: string, readonly sqlstate = '0A000') { super(message); this.name = 'MultiShardError'; }
}
