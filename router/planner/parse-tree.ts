// Walking libpg-query's JSON parse trees: every node is `{ "NodeType": { ...fields } }`.

export type Node = Record<string, unknown>;

export const isObj = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A field that holds a list of nodes; absent (PostgreSQL omits empty lists) reads as []. */
export const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The single key of a parse-tree node ({"SelectStmt": {...}}) and its body. */
export function tag(v: unknown): [string, Node] | null {
  if (!isObj(v)) return null;
  const k = Object.keys(v)[0];
  return k && isObj(v[k]) ? [k, v[k]] : null;
}
