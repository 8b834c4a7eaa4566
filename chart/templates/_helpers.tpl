{{- define "pgop.labels" -}}
app.kubernetes.io/name: pgop
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
{{- define "pgop.selector" -}}
app.kubernetes.io/name: pgop
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "pgop.redisSelector" -}}
app.kubernetes.io/name: pgop-redis
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- /* The operator Pods' selector labels as `k=v,k=v`: the clusters' NetworkPolicies admit the operator by them. */ -}}
{{- define "pgop.selectorText" -}}
app.kubernetes.io/name=pgop,app.kubernetes.io/instance={{ .Release.Name }}
{{- end -}}
{{- define "pgop.inChartRedis" -}}
{{- if and .Values.redis.enabled (not .Values.redis.url) (not .Values.redis.urlSecret.name) -}}true{{- end -}}
{{- end -}}
{{- /* In-chart Redis: the password comes from the generated Secret through $(REDIS_PASSWORD), never a literal. */ -}}
{{- define "pgop.redisUrl" -}}
{{- if .Values.redis.url -}}{{ .Values.redis.url }}{{- else -}}redis://:$(REDIS_PASSWORD)@{{ .Release.Name }}-redis:6379{{- end -}}
{{- end -}}
{{- /* Restricted Pod Security Standard for every container the chart runs; the root filesystem is read-only. */ -}}
{{- define "pgop.restrictedContainer" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities: { drop: ["ALL"] }
seccompProfile: { type: RuntimeDefault }
{{- end -}}
