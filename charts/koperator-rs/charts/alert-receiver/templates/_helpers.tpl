{{/* What only the alert receiver's container needs; see _common.tpl. */}}
{{- define "alert-receiver.tokenSecretName" -}}
{{- .Values.webhook.tokenSecret.name | default (printf "%s-webhook-token" (include "koperator-rs.fullname" .)) -}}
{{- end -}}
{{- define "alert-receiver.env" -}}
# Alertmanager posts its webhooks here (the Service's `webhook` port).
- name: LISTEN_ADDR
  value: "0.0.0.0:{{ .Values.ports.webhook }}"
- name: TOKEN_FILE
  value: /etc/alert-receiver/token
# true: webhooks without the bearer token are accepted too, as by Koperator's receiver.
- name: ACCEPT_UNAUTHENTICATED_WEBHOOKS
  value: {{ .Values.webhook.acceptUnauthenticated | quote }}
# Firing alerts become ClusterActions calls on the cluster controller of the same release.
- name: CLUSTER_ACTIONS_ENDPOINT
  value: {{ .Values.clusterActionsEndpoint | default (printf "http://%s.%s.svc:%v" (include "koperator-rs.siblingName" (dict "context" . "chart" "cluster-controller")) .Release.Namespace .Values.clusterControllerGrpcPort) | quote }}
{{- end -}}
{{- define "alert-receiver.volumes" -}}
- name: webhook-token
  secret:
    secretName: {{ include "alert-receiver.tokenSecretName" . }}
    items:
      - key: {{ .Values.webhook.tokenSecret.key }}
        path: token
{{- end -}}
{{- define "alert-receiver.volumeMounts" -}}
- name: webhook-token
  mountPath: /etc/alert-receiver
  readOnly: true
{{- end -}}
