{{/* Labels of the umbrella chart's own objects (the monitoring pieces). */}}
{{- define "koperator-rs.monitoringLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: koperator-rs
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/* Namespaces the monitors look in: the watched one, else all. */}}
{{- define "koperator-rs.monitoredNamespaces" -}}
{{- if .Values.global.watchNamespace }}
namespaceSelector:
  matchNames: [{{ .Values.global.watchNamespace | quote }}]
{{- else }}
namespaceSelector:
  any: true
{{- end }}
{{- end -}}
