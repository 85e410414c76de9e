{{/* What only the topic controller's container needs; see _common.tpl. */}}
{{- define "topic-controller.env" -}}
# Kafka is reached through the cluster controller's ClusterAccess service, by default the
# one installed by the same release.
- name: CLUSTER_ACCESS_ENDPOINT
  value: {{ .Values.clusterAccessEndpoint | default (printf "http://%s.%s.svc:%v" (include "koperator-rs.siblingName" (dict "context" . "chart" "cluster-controller")) .Release.Namespace .Values.clusterControllerGrpcPort) | quote }}
- name: RESYNC_INTERVAL
  value: {{ .Values.resyncInterval | quote }}
{{- end -}}
{{- define "topic-controller.volumes" -}}
{{- end -}}
{{- define "topic-controller.volumeMounts" -}}
{{- end -}}
