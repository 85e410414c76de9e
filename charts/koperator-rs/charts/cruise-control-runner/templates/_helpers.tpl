{{/* What only the Cruise Control task runner's container needs; see _common.tpl. */}}
{{- define "cruise-control-runner.env" -}}
- name: POLL_INTERVAL
  value: {{ .Values.pollInterval | quote }}
- name: CRUISE_CONTROL_TIMEOUT
  value: {{ .Values.cruiseControlTimeout | quote }}
{{- end -}}
{{- define "cruise-control-runner.volumes" -}}
{{- end -}}
{{- define "cruise-control-runner.volumeMounts" -}}
{{- end -}}
