{{/*
The alert rule groups, rendered both into the PrometheusRule (prometheusrule.yaml) and, by
`make manifests`, into deploy/monitoring/prometheus-rules.yaml for a Prometheus without the
operator; deploy/monitoring/tests/ holds their `promtool test rules` cases.

Label conventions: Kafka series carry `namespace`, `kafka_cr` and `brokerId` (the PodMonitor's
relabelling, as Koperator's ServiceMonitor); kubelet volume series carry `namespace` and
`persistentvolumeclaim`. The alert receiver acts on alerts with a `command` annotation: a
cluster is named by `namespace` + `kafka_cr`, a claim by `namespace` + `persistentvolumeclaim`.
Health alerts carry no command: they are for people.
*/}}
{{- define "koperator-rs.ruleGroups" -}}
{{- $rules := .Values.monitoring.prometheusRule -}}
{{- $health := $rules.health -}}
{{- $healing := $rules.selfHealing -}}
{{- /* A claim of a KafkaCluster node: <cluster>-<id>-storage-<n>-<suffix>. */ -}}
{{- $claims := `persistentvolumeclaim=~".+-[0-9]+-storage-[0-9]+-[a-z0-9]+"` -}}
- name: kafka-health
  rules:
    - alert: KafkaBrokerDown
      expr: up{app="kafka"} == 0
      for: {{ $health.brokerDownFor }}
      labels: {severity: critical}
      annotations:
        summary: Kafka node {{`{{ $labels.brokerId }}`}} of {{`{{ $labels.namespace }}/{{ $labels.kafka_cr }}`}} does not answer
        description: >-
          Pod {{`{{ $labels.pod }}`}} has not answered a metrics scrape for {{ $health.brokerDownFor }}: the
          JVM is down, hung or out of memory. Check the pod's events and the KafkaCluster's
          Reconciling condition.
    - alert: KafkaBrokerFenced
      expr: max by (namespace, kafka_cr) (kafka_controller_kafkacontroller_fencedbrokercount) > 0
      for: {{ $health.brokerDownFor }}
      labels: {severity: critical}
      annotations:
        summary: '{{`{{ $value }}`}} broker(s) of {{`{{ $labels.namespace }}/{{ $labels.kafka_cr }}`}} are fenced'
        description: >-
          The KRaft controller fenced brokers that stopped heartbeating: their partitions
          have lost a replica. `kubectl get kafkacluster` shows which broker the operator waits for.
    - alert: KafkaOfflinePartitions
      expr: sum by (namespace, kafka_cr) (kafka_controller_kafkacontroller_offlinepartitionscount) > 0
      for: {{ $health.offlinePartitionsFor }}
      labels: {severity: critical}
      annotations:
        summary: '{{`{{ $value }}`}} partition(s) of {{`{{ $labels.namespace }}/{{ $labels.kafka_cr }}`}} have no leader'
        description: Clients cannot read or write these partitions until a replica returns.
    - alert: KafkaUnderReplicatedPartitions
      expr: sum by (namespace, kafka_cr) (kafka_server_replicamanager_underreplicatedpartitions) > 0
      for: {{ $health.underReplicatedFor }}
      labels: {severity: warning, rollingupgrade: "true"}
      annotations:
        summary: '{{`{{ $value }}`}} partition(s) of {{`{{ $labels.namespace }}/{{ $labels.kafka_cr }}`}} are under-replicated'
        description: >-
          A replica is out of sync: a broker is down, slow or its disk is failing. While this
          fires the operator counts it against the rolling upgrade's failureThreshold.
    - alert: KafkaUnderMinIsrPartitions
      expr: sum by (namespace, kafka_cr) (kafka_server_replicamanager_underminisrpartitioncount) > 0
      for: {{ $health.underMinIsrFor }}
      labels: {severity: critical, rollingupgrade: "true"}
      annotations:
        summary: '{{`{{ $value }}`}} partition(s) of {{`{{ $labels.namespace }}/{{ $labels.kafka_cr }}`}} are below min.insync.replicas'
        description: Producers with acks=all get NOT_ENOUGH_REPLICAS on these partitions.
    - alert: KafkaActiveControllerCount
      expr: sum by (namespace, kafka_cr) (kafka_controller_kafkacontroller_activecontrollercount) != 1
      for: {{ $health.activeControllerFor }}
      labels: {severity: critical}
      annotations:
        summary: '{{`{{ $labels.namespace }}/{{ $labels.kafka_cr }}`}} has {{`{{ $value }}`}} active controllers, not one'
        description: >-
          No active controller means no leader elections, topic or config changes; more than
          one means a split quorum.
    - alert: KafkaMetadataLagging
      expr: >-
        max by (namespace, kafka_cr, brokerId) (
          kafka_controller_kafkacontroller_lastappliedrecordlagms
          or kafka_server_broker_metadata_metrics_last_applied_record_lag_ms
        ) > {{ $health.metadataLagMs }}
      for: {{ $health.metadataLagFor }}
      labels: {severity: warning}
      annotations:
        summary: Kafka node {{`{{ $labels.brokerId }}`}} of {{`{{ $labels.namespace }}/{{ $labels.kafka_cr }}`}} lags the metadata quorum
        description: >-
          The node applied its last metadata record {{`{{ $value }}`}} ms ago: a controller
          out of the quorum or a broker that cannot fetch from it. The operator does not roll
          while a controller is behind.
    - alert: KafkaDiskFilling
      expr: >-
        predict_linear(kubelet_volume_stats_available_bytes{ {{- $claims -}} }[6h], 4 * 24 * 3600) < 0
        and kubelet_volume_stats_available_bytes{ {{- $claims -}} }
          / kubelet_volume_stats_capacity_bytes{ {{- $claims -}} } < 0.5
      for: 30m
      labels: {severity: warning}
      annotations:
        summary: Claim {{`{{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }}`}} fills within four days
        description: At the last six hours' rate this Kafka volume is full within four days.
    - alert: KafkaCertificateExpiringSoon
      expr: (koperator_cluster_controller_certificate_expiry_timestamp_seconds - time()) / 86400 < {{ $health.certificateExpiryDays }}
      for: 1h
      labels: {severity: warning}
      annotations:
        summary: '{{`{{ $labels.namespace }}/{{ $labels.secret }}`}} ({{`{{ $labels.key }}`}}) expires in {{`{{ printf "%.1f" $value }}`}} days'
        description: >-
          A certificate of KafkaCluster {{`{{ $labels.kafka_cr }}`}} expires soon. The operator renews
          the certificates it makes 30 days before they expire (cert-manager at two thirds of their
          lifetime): a renewal failed, or the certificate is one the user brings and must renew.
- name: koperator
  rules:
    - alert: KoperatorReconcileFailing
      expr: >-
        sum by (namespace, job) (rate({__name__=~"koperator_.+_reconciles_total", outcome="failure"}[10m]))
          / sum by (namespace, job) (rate({__name__=~"koperator_.+_reconciles_total"}[10m])) > 0.5
      for: 15m
      labels: {severity: warning}
      annotations:
        summary: Most reconciles of {{`{{ $labels.job }}`}} fail
        description: >-
          Over half of its reconcile passes failed for 15 minutes; its log and the objects'
          conditions say why (koperator_*_reconcile_failures_total gives the category).
    - alert: KoperatorCruiseControlTaskStuck
      expr: >-
        sum by (namespace, job, operation) (koperator_cruise_control_runner_tasks_started_total)
          - (sum by (namespace, job, operation) (koperator_cruise_control_runner_tasks_finished_total)
             or sum by (namespace, job, operation) (koperator_cruise_control_runner_tasks_started_total) * 0)
          > 0
      for: {{ $health.cruiseControlTaskFor }}
      labels: {severity: warning}
      annotations:
        summary: A Cruise Control {{`{{ $labels.operation }}`}} task has run for over {{ $health.cruiseControlTaskFor }}
        description: >-
          The runner started more tasks than finished for {{ $health.cruiseControlTaskFor }};
          `kubectl get cruisecontroloperations -A` shows which and Cruise Control's state.
    - alert: KoperatorCruiseControlUnreachable
      expr: sum by (namespace, job) (rate(koperator_cruise_control_runner_requests_total{outcome="unreachable"}[5m])) > 0
      for: 10m
      labels: {severity: warning}
      annotations:
        summary: The Cruise Control runner cannot reach Cruise Control
        description: Graceful scaling and disk rebalancing wait until Cruise Control answers.
{{- if or $healing.diskSpaceLow.enabled $healing.upScale.enabled $healing.downScale.enabled }}
- name: koperator-self-healing
  rules:
  {{- with $healing.diskSpaceLow }}
  {{- if .enabled }}
    - alert: KafkaDiskSpaceLow
      expr: >-
        kubelet_volume_stats_available_bytes{ {{- $claims -}} }
          / kubelet_volume_stats_capacity_bytes{ {{- $claims -}} } < {{ .availableRatio }}
      for: {{ .for }}
      labels: {severity: warning}
      annotations:
        summary: Claim {{`{{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }}`}} has under {{ mulf .availableRatio 100 }}% free
        description: The alert receiver grows the claim by {{ .incrementBy }} (resizePvc).
        command: resizePvc
        incrementBy: {{ .incrementBy | quote }}
  {{- end }}
  {{- end }}
  {{- with $healing.upScale }}
  {{- if .enabled }}
    - alert: KafkaBrokerOverloaded
      expr: avg by (namespace, kafka_cr) (rate(kafka_network_requestmetrics_requests_total[15m])) > {{ .requestRate }}
      for: 5m
      labels: {severity: warning}
      annotations:
        summary: The brokers of {{`{{ $labels.namespace }}/{{ $labels.kafka_cr }}`}} are overloaded
        description: The alert receiver adds a broker (upScale, up to alertManagerConfig.upScaleLimit).
        command: upScale
        {{- with .brokerConfigGroup }}
        brokerConfigGroup: {{ . | quote }}
        {{- end }}
    - alert: KafkaPartitionCountHigh
      expr: max by (namespace, kafka_cr) (kafka_server_replicamanager_partitioncount) > {{ .partitionCount }}
      for: 3m
      labels: {severity: warning}
      annotations:
        summary: A broker of {{`{{ $labels.namespace }}/{{ $labels.kafka_cr }}`}} holds over {{ .partitionCount }} partitions
        description: The alert receiver adds a broker (upScale, up to alertManagerConfig.upScaleLimit).
        command: upScale
        {{- with .brokerConfigGroup }}
        brokerConfigGroup: {{ . | quote }}
        {{- end }}
  {{- end }}
  {{- end }}
  {{- with $healing.downScale }}
  {{- if .enabled }}
    - alert: KafkaPartitionCountLow
      expr: bottomk by (namespace, kafka_cr) (1, kafka_server_replicamanager_partitioncount{brokerId!=""}) < {{ .partitionCount }}
      for: 3m
      labels: {severity: warning}
      annotations:
        summary: Broker {{`{{ $labels.brokerId }}`}} of {{`{{ $labels.namespace }}/{{ $labels.kafka_cr }}`}} holds under {{ .partitionCount }} partitions
        description: The alert receiver removes this broker after Cruise Control drained it (downScale).
        command: downScale
  {{- end }}
  {{- end }}
{{- end }}
{{- end -}}
