{{/* What only the cluster controller's container needs; see _common.tpl. */}}
{{- define "cluster-controller.env" -}}
# ClusterAccess and ClusterActions: the gRPC services the topic controller and the alert
# receiver call. Served by every replica, leader or not.
- name: GRPC_ADDR
  value: "0.0.0.0:{{ .Values.ports.grpc }}"
{{- end -}}
{{- define "cluster-controller.volumes" -}}
{{- end -}}
{{- define "cluster-controller.volumeMounts" -}}
{{- end -}}
