// Who the operator is, as the NetworkPolicies of a cluster must name it: its namespace and its Pods' labels. The
// chart passes them down (POD_NAMESPACE, PGOP_OPERATOR_LABELS); a bad value is refused at start, naming the fix.

/** The namespace and the selector labels of the operator's Pods. */
export interface OperatorPeer {
  namespace: string;
  labels: Record<string, string>;
  /** Where Prometheus runs: its Pods may scrape the agents' /metrics (the agent port; the API still needs the token). */
  metricsNamespace?: string;
}

/** The chart's selector labels without a release: what a bare `pgop operator` matches. */
export const DEFAULT_OPERATOR_LABELS: Record<string, string> = { 'app.kubernetes.io/name': 'pgop' };

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// A label key: optional DNS subdomain prefix, then a name of ≤ 63 alphanumerics, '-', '_', '.'.
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** `key=value,key=value` (a label selector of equalities only), checked label by label. */
export function parseOperatorLabels(text: string, source = 'PGOP_OPERATOR_LABELS'): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq) : '';
    const value = eq > 0 ? pair.slice(eq + 1) : '';
    if (!LABEL_KEY.test(key) || key.length > 317 || !LABEL_VALUE.test(value)) {
      throw new Error(`${source}: "${pair}" is not a label key=value; give the operator Pods' selector labels, e.g. app.kubernetes.io/name=pgop,app.kubernetes.io/instance=pgop`);
    }
    labels[key] = value;
  }
  if (Object.keys(labels).length === 0) throw new Error(`${source} is empty; give the operator Pods' selector labels, e.g. app.kubernetes.io/name=pgop`);
  return labels;
}

/** A namespace name reaches API paths and selectors: refused unless it is a DNS label. */
export function checkNamespace(value: string, source: string): string {
  if (!DNS_LABEL.test(value)) throw new Error(`${source}: "${value}" is not a namespace name (lower-case letters, digits and '-', at most 63)`);
  return value;
}

export function operatorPeer(namespace: string, labelsText?: string, metricsNamespace?: string): OperatorPeer {
  checkNamespace(namespace, 'the operator namespace (--namespace or POD_NAMESPACE)');
  if (metricsNamespace) checkNamespace(metricsNamespace, 'PGOP_METRICS_NAMESPACE (chart value metrics.podMonitor.scraperNamespace)');
  return { namespace, labels: labelsText ? parseOperatorLabels(labelsText) : { ...DEFAULT_OPERATOR_LABELS }, ...(metricsNamespace ? { metricsNamespace } : {}) };
}

/** A NetworkPolicy peer that matches exactly the operator's Pods in the operator's namespace. */
export const operatorPeerSelector = (peer: OperatorPeer) => ({
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': peer.namespace } },
  podSelector: { matchLabels: { ...peer.labels } },
});
