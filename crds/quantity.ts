// Kubernetes resource quantities (1Gi, 500M, 1.5e3) as numbers, for local admission's stand-in of the apiserver's
// CEL quantity library (`quantity(s).compareTo(...)`) and for the operator's resize decisions.
const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const FORM = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))?$/;

/** The quantity's value (bytes for storage); throws on text that is not a quantity. */
export function parseQuantity(text: string): number {
  const m = FORM.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a Kubernetes quantity (e.g. 1Gi, 500Mi, 10G)`);
  const n = Number(m[1]);
  const suffix = m[2] ?? '';
  if (suffix in BINARY) return n * BINARY[suffix]!;
  if (suffix in DECIMAL) return n * DECIMAL[suffix]!;
  return n * 10 ** Number(suffix.slice(1));
}

/** -1, 0 or 1, like the apiserver's `quantity(a).compareTo(quantity(b))`. */
export const compareQuantities = (a: string, b: string): number => Math.sign(parseQuantity(a) - parseQuantity(b));
