{{/*
Templates shared by every koperator-rs deployable chart. This file is identical in each
subchart (charts/common/_common.tpl is the original; `make chart-sync` copies it, `make
chart-lint` fails on a drifted copy) so that each subchart also installs on its own.
Named templates are global in Helm, so identical copies simply replace each other.

A subchart provides, in its own _helpers.tpl:
  <chart>.env           extra container env entries (a YAML list, may be empty)
  <chart>.volumes       extra pod volumes (a YAML list, may be empty)
  <chart>.volumeMounts  extra container volume mounts (a YAML list, may be empty)
*/}}

{{- define "koperator-rs.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The Service name of a sibling deployable of this release, e.g. the cluster controller's. */}}
{{- define "koperator-rs.siblingName" -}}
{{- printf "%s-%s" .context.Release.Name .chart | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "koperator-rs.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "koperator-rs.labels" -}}
{{ include "koperator-rs.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: koperator-rs
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{- define "koperator-rs.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "koperator-rs.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "koperator-rs.image" -}}
{{- $global := (.Values.global | default dict).image | default dict -}}
{{- $tag := .Values.image.tag | default $global.tag | default .Chart.AppVersion -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}

{{/* The namespace to watch: the subchart's own setting, else the umbrella's global one. */}}
{{- define "koperator-rs.watchNamespace" -}}
{{- .Values.watchNamespace | default ((.Values.global | default dict).watchNamespace) | default "" -}}
{{- end -}}

{{- define "koperator-rs.serviceAccount" -}}
{{- if .Values.serviceAccount.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "koperator-rs.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "koperator-rs.labels" . | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: true
{{- end }}
{{- end -}}

{{/* Binds the subchart's ClusterRole (named like the release's deployable) to its ServiceAccount. */}}
{{- define "koperator-rs.clusterRoleBinding" -}}
{{- if .Values.rbac.create }}
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ include "koperator-rs.fullname" . }}
  labels:
    {{- include "koperator-rs.labels" . | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ include "koperator-rs.fullname" . }}
subjects:
  - kind: ServiceAccount
    name: {{ include "koperator-rs.serviceAccountName" . }}
    namespace: {{ .Release.Namespace }}
{{- end }}
{{- end -}}

{{- define "koperator-rs.deployment" -}}
{{- $chart := .Chart.Name -}}
{{- $leaderElection := .Values.leaderElection | default dict -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "koperator-rs.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "koperator-rs.labels" . | nindent 4 }}
spec:
  {{- if not (.Values.autoscaling | default dict).enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      {{- include "koperator-rs.selectorLabels" . | nindent 6 }}
  {{- if $leaderElection.enabled }}
  # A new replica only waits for the Lease, so surge first: the old leader hands the Lease
  # over when it stops (it releases it on SIGTERM).
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  {{- end }}
  template:
    metadata:
      labels:
        {{- include "koperator-rs.labels" . | nindent 8 }}
        {{- with .Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with .Values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "koperator-rs.serviceAccountName" . }}
      {{- with (.Values.imagePullSecrets | default ((.Values.global | default dict).imagePullSecrets)) }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      securityContext:
        {{- toYaml .Values.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
      containers:
        - name: {{ $chart }}
          image: {{ include "koperator-rs.image" . | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          {{- with .Values.extraArgs }}
          args:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          # Every flag of the deployables has an environment variable (see `--help`).
          env:
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: WATCH_NAMESPACE
              value: {{ include "koperator-rs.watchNamespace" . | quote }}
            - name: METRICS_ADDR
              value: "0.0.0.0:{{ .Values.ports.metrics }}"
            - name: LOG_FORMAT
              value: {{ .Values.logFormat | quote }}
            - name: RUST_LOG
              value: {{ .Values.logLevel | quote }}
            {{- with (.Values.global | default dict).otlpEndpoint }}
            # Traces over OTLP/gRPC; W3C trace context joins the deployables' spans of one action.
            - name: OTEL_EXPORTER_OTLP_ENDPOINT
              value: {{ . | quote }}
            {{- end }}
            {{- if .Values.leaderElection }}
            - name: LEADER_ELECTION
              value: {{ $leaderElection.enabled | quote }}
            - name: LEADER_ELECTION_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
            - name: LEADER_ELECTION_ID
              value: {{ include "koperator-rs.fullname" . | quote }}
            - name: LEASE_DURATION
              value: {{ $leaderElection.leaseDuration | quote }}
            - name: RENEW_DEADLINE
              value: {{ $leaderElection.renewDeadline | quote }}
            - name: RETRY_PERIOD
              value: {{ $leaderElection.retryPeriod | quote }}
            {{- end }}
            {{- with include (printf "%s.env" $chart) . }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- with .Values.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          ports:
            {{- range $name, $port := .Values.ports }}
            - name: {{ $name }}
              containerPort: {{ $port }}
              protocol: TCP
            {{- end }}
          livenessProbe:
            httpGet:
              path: /healthz
              port: metrics
            periodSeconds: 10
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /readyz
              port: metrics
            periodSeconds: 5
            failureThreshold: 2
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          securityContext:
            {{- toYaml .Values.securityContext | nindent 12 }}
          volumeMounts:
            # The root file system is read-only; anything that wants a scratch file gets /tmp.
            - name: tmp
              mountPath: /tmp
            {{- with include (printf "%s.volumeMounts" $chart) . }}
            {{- . | nindent 12 }}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
        {{- with include (printf "%s.volumes" $chart) . }}
        {{- . | nindent 8 }}
        {{- end }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}

{{- define "koperator-rs.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "koperator-rs.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "koperator-rs.labels" . | nindent 4 }}
spec:
  type: {{ .Values.service.type }}
  selector:
    {{- include "koperator-rs.selectorLabels" . | nindent 4 }}
  ports:
    {{- range $name, $port := .Values.ports }}
    - name: {{ $name }}
      port: {{ $port }}
      targetPort: {{ $name }}
      protocol: TCP
    {{- end }}
{{- end -}}

{{/* Only when asked for: the ServiceMonitor CRD (Prometheus Operator) may not exist. */}}
{{- define "koperator-rs.serviceMonitor" -}}
{{- if .Values.serviceMonitor.enabled }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "koperator-rs.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "koperator-rs.labels" . | nindent 4 }}
    {{- with .Values.serviceMonitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "koperator-rs.selectorLabels" . | nindent 6 }}
  namespaceSelector:
    matchNames:
      - {{ .Release.Namespace }}
  endpoints:
    - port: metrics
      path: /metrics
      interval: {{ .Values.serviceMonitor.interval }}
      scrapeTimeout: {{ .Values.serviceMonitor.scrapeTimeout }}
{{- end }}
{{- end -}}

{{- define "koperator-rs.podDisruptionBudget" -}}
{{- if .Values.podDisruptionBudget.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "koperator-rs.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "koperator-rs.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .Values.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "koperator-rs.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end -}}
