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
{{- define "pgop.redisUrl" -}}
{{- if .Values.redis.url -}}{{ .Values.redis.url }}{{- else -}}redis://{{ .Release.Name }}-redis:6379{{- end -}}
{{- end -}}
