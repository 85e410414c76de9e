//! What a cluster has besides its nodes: cluster DNS (CoreDNS as a Deployment on the nodes,
//! behind the `kube-dns` Service at the address kubelets hand to pods) and dynamic
//! PersistentVolumes (Rancher's local-path-provisioner, as kind and k3s run it).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::settings::Settings;

/// The CoreDNS image the bootstrap builds (`e2e/images`), under CoreDNS' own name.
pub const COREDNS_IMAGE: &str = "registry.k8s.io/coredns/coredns:v1.15.0";

/// CoreDNS as kubeadm installs it: ServiceAccount and RBAC, the Corefile, a Deployment with
/// two replicas and the `kube-dns` Service. Names outside the cluster get no upstream: the test
/// bed talks to no address it does not own.
pub fn coredns_manifest(settings: &Settings) -> String {
    format!(
        r#"apiVersion: v1
kind: ServiceAccount
metadata:
  name: coredns
  namespace: kube-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: system:coredns
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: system:coredns
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:coredns
subjects:
- kind: ServiceAccount
  name: coredns
  namespace: kube-system
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: coredns
  namespace: kube-system
data:
  Corefile: |
    .:53 {{
        errors
        health {{
            lameduck 5s
        }}
        ready
        kubernetes cluster.local in-addr.arpa ip6.arpa {{
            pods insecure
            fallthrough in-addr.arpa ip6.arpa
            ttl 5
        }}
        cache 5
        loadbalance
    }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels:
    k8s-app: kube-dns
spec:
  replicas: 2
  selector:
    matchLabels:
      k8s-app: kube-dns
  template:
    metadata:
      labels:
        k8s-app: kube-dns
    spec:
      serviceAccountName: coredns
      priorityClassName: system-cluster-critical
      securityContext:
        runAsNonRoot: true
        # Port 53 without capabilities (the image runs as 65532, like upstream's).
        sysctls:
        - {{name: net.ipv4.ip_unprivileged_port_start, value: "0"}}
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm:
              labelSelector:
                matchLabels:
                  k8s-app: kube-dns
              topologyKey: kubernetes.io/hostname
      containers:
      - name: coredns
        image: {COREDNS_IMAGE}
        imagePullPolicy: IfNotPresent
        args: [-conf, /etc/coredns/Corefile]
        resources:
          requests:
            cpu: 50m
            memory: 70Mi
          limits:
            memory: 170Mi
        ports:
        - {{containerPort: 53, name: dns, protocol: UDP}}
        - {{containerPort: 53, name: dns-tcp, protocol: TCP}}
        - {{containerPort: 9153, name: metrics, protocol: TCP}}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities:
            drop: [ALL]
        livenessProbe:
          httpGet: {{path: /health, port: 8080}}
          initialDelaySeconds: 10
          periodSeconds: 10
        readinessProbe:
          httpGet: {{path: /ready, port: 8181}}
          periodSeconds: 2
        volumeMounts:
        - name: config
          mountPath: /etc/coredns
          readOnly: true
      dnsPolicy: Default
      volumes:
      - name: config
        configMap:
          name: coredns
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels:
    k8s-app: kube-dns
    kubernetes.io/name: CoreDNS
spec:
  clusterIP: {dns_ip}
  selector:
    k8s-app: kube-dns
  ports:
  - {{name: dns, port: 53, protocol: UDP}}
  - {{name: dns-tcp, port: 53, protocol: TCP}}
  - {{name: metrics, port: 9153, protocol: TCP}}
"#,
        dns_ip = settings.dns_service_ip(),
    )
}

/// The local-path-provisioner image the bootstrap builds, under its own name.
pub const LOCAL_PATH_PROVISIONER_IMAGE: &str = "docker.io/rancher/local-path-provisioner:v0.0.30";

/// Where the provisioner puts volumes: one directory every node sees (the host's file system is
/// the nodes' too) for the Immediate class, and one per node for the WaitForFirstConsumer class.
pub struct VolumeDirs {
    pub shared: PathBuf,
    /// (node name, directory)
    pub per_node: Vec<(String, PathBuf)>,
}

/// Two StorageClasses, both `rancher.io/local-path`:
/// - `standard` (the default): Immediate binding, a hostPath volume in a directory every node
///   sees, so a pod keeps its data wherever it is scheduled again.
/// - `local-path`: WaitForFirstConsumer, a volume on the node the scheduler picked, pinned there
///   by node affinity (most managed clusters' default class binds this way). Its volumes are
///   `local` PersistentVolumes, not hostPath ones, so the kubelet reports their usage
///   (`kubelet_volume_stats_*`, the host file system's figures), as it does for a cloud disk.
///
/// Both allow expansion, so a claim's request may grow; the provisioner does not resize, so the
/// claim's capacity stays what it was.
pub fn local_path_manifest(dirs: &VolumeDirs) -> String {
    let node_paths: Vec<String> = dirs
        .per_node
        .iter()
        .map(|(node, dir)| format!(r#"{{"node": "{node}", "paths": ["{}"]}}"#, dir.display()))
        .collect();
    format!(
        r#"apiVersion: v1
kind: Namespace
metadata:
  name: local-path-storage
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: local-path-provisioner
  namespace: local-path-storage
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: local-path-provisioner
  namespace: local-path-storage
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch, create, patch, update, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: local-path-provisioner
  namespace: local-path-storage
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: local-path-provisioner}}
subjects:
- {{kind: ServiceAccount, name: local-path-provisioner, namespace: local-path-storage}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: local-path-provisioner
rules:
- apiGroups: [""]
  resources: [nodes, persistentvolumeclaims, configmaps, pods, pods/log]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [persistentvolumes]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [storage.k8s.io]
  resources: [storageclasses]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: local-path-provisioner
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: local-path-provisioner}}
subjects:
- {{kind: ServiceAccount, name: local-path-provisioner, namespace: local-path-storage}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: local-path-config
  namespace: local-path-storage
data:
  config.json: |-
    {{
      "nodePathMap": [],
      "storageClassConfigs": {{
        "standard": {{"sharedFileSystemPath": "{shared}"}},
        "local-path": {{"nodePathMap": [{node_paths}]}}
      }}
    }}
  setup: |-
    #!/bin/sh
    set -eu
    mkdir -m 0777 -p "$VOL_DIR"
  teardown: |-
    #!/bin/sh
    set -eu
    rm -rf "$VOL_DIR"
  helperPod.yaml: |-
    apiVersion: v1
    kind: Pod
    metadata:
      name: helper-pod
    spec:
      priorityClassName: system-node-critical
      tolerations:
      - {{key: node.kubernetes.io/disk-pressure, operator: Exists, effect: NoSchedule}}
      containers:
      - name: helper-pod
        image: busybox:1.36
        imagePullPolicy: IfNotPresent
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: local-path-provisioner
  namespace: local-path-storage
spec:
  replicas: 1
  selector:
    matchLabels: {{app: local-path-provisioner}}
  template:
    metadata:
      labels: {{app: local-path-provisioner}}
    spec:
      serviceAccountName: local-path-provisioner
      priorityClassName: system-cluster-critical
      containers:
      - name: local-path-provisioner
        image: {LOCAL_PATH_PROVISIONER_IMAGE}
        imagePullPolicy: IfNotPresent
        # Each volume is a helper pod the provisioner waits for; its default of 4 at a time
        # kept three test clusters' brokers without claims (and pods) for minutes.
        command: [local-path-provisioner, start, --config, /etc/config/config.json, --worker-threads, "32"]
        env:
        - name: POD_NAMESPACE
          valueFrom: {{fieldRef: {{fieldPath: metadata.namespace}}}}
        - {{name: CONFIG_MOUNT_PATH, value: /etc/config/}}
        # Its helper pods (which make and remove the directories) run as this account too.
        - {{name: SERVICE_ACCOUNT_NAME, value: local-path-provisioner}}
        resources:
          requests: {{cpu: 10m, memory: 32Mi}}
        volumeMounts:
        - {{name: config, mountPath: /etc/config/}}
      volumes:
      - name: config
        configMap: {{name: local-path-config}}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: rancher.io/local-path
reclaimPolicy: Delete
volumeBindingMode: Immediate
allowVolumeExpansion: true
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-path
  annotations:
    defaultVolumeType: local
provisioner: rancher.io/local-path
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
allowVolumeExpansion: true
"#,
        shared = dirs.shared.display(),
        node_paths = node_paths.join(", "),
    )
}

/// MetalLB's namespace, where its controller and speakers run.
pub const METALLB_NAMESPACE: &str = "metallb-system";

/// MetalLB as its release installs it (`config/manifests/metallb-native.yaml`), without the
/// admission webhooks: the test bed writes MetalLB's configuration itself, and the webhooks'
/// certificates would need a rotation loop for nothing. The controller is told so.
pub fn metallb_manifest(released: &str) -> Result<String> {
    let documents: Vec<&str> = released
        .split("\n---\n")
        .filter(|document| !document.lines().any(|line| line == "kind: ValidatingWebhookConfiguration"))
        .collect();
    let manifest = documents.join("\n---\n");
    let controller_args = "        - --tls-min-version=VersionTLS12\n";
    if manifest.matches(controller_args).count() != 1 {
        bail!("MetalLB's manifest changed: no single controller argument list to extend");
    }
    Ok(manifest.replacen(controller_args, &format!("{controller_args}        - --webhook-mode=disabled\n"), 1))
}

/// MetalLB's configuration: one layer-2 pool, `pool` (a range on the node network).
pub fn metallb_pool_manifest(pool: &str) -> String {
    format!(
        r#"apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: testbed
  namespace: {METALLB_NAMESPACE}
spec:
  addresses:
  - {pool}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: testbed
  namespace: {METALLB_NAMESPACE}
spec:
  ipAddressPools:
  - testbed
"#
    )
}

/// cert-manager's namespace and every CRD file in `crds_dir` (cert-manager's released
/// `deploy/crds`), as one manifest.
pub fn cert_manager_manifest(crds_dir: &Path, namespace: &str) -> Result<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(crds_dir)
        .with_context(|| format!("failed to list {}", crds_dir.display()))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<std::io::Result<_>>()?;
    files.retain(|path| path.extension().is_some_and(|ext| ext == "yaml"));
    files.sort();
    if files.is_empty() {
        bail!("{} holds no CRDs; re-run e2e/bootstrap/bootstrap.sh cert-manager", crds_dir.display());
    }
    let mut manifest = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {namespace}\n");
    for file in files {
        let text = std::fs::read_to_string(&file).with_context(|| format!("failed to read {}", file.display()))?;
        manifest.push_str("---\n");
        manifest.push_str(&text);
        if !text.ends_with('\n') {
            manifest.push('\n');
        }
    }
    Ok(manifest)
}

/// `kubectl apply --server-side` of `manifest`, as the test bed's admin.
pub fn apply(kubectl: &Path, kubeconfig: &Path, manifest: &str) -> Result<()> {
    let mut child = Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["apply", "--server-side", "--force-conflicts", "--field-manager=testbed", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("failed to run kubectl apply")?;
    child.stdin.take().expect("stdin is piped").write_all(manifest.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!("kubectl apply failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

/// `kubectl wait` until `what` meets `condition`.
pub fn wait(kubectl: &Path, kubeconfig: &Path, args: &[&str]) -> Result<()> {
    let output = Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("wait")
        .args(args)
        .output()
        .context("failed to run kubectl wait")?;
    if !output.status.success() {
        bail!("kubectl wait {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_go_to_the_test_beds_directories() {
        let dirs = VolumeDirs {
            shared: PathBuf::from("/t/volumes"),
            per_node: vec![("n1".into(), PathBuf::from("/t/nodes/n1/volumes"))],
        };
        let manifest = local_path_manifest(&dirs);
        assert!(manifest.contains(r#""standard": {"sharedFileSystemPath": "/t/volumes"}"#));
        assert!(
            manifest.contains(r#""local-path": {"nodePathMap": [{"node": "n1", "paths": ["/t/nodes/n1/volumes"]}]}"#)
        );
        assert!(manifest.contains("volumeBindingMode: WaitForFirstConsumer"));
    }

    #[test]
    fn cert_manager_manifest_is_the_namespace_then_every_crd_file_in_name_order() {
        let dir = std::env::temp_dir().join(format!("testbed-crds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("b.yaml"), "---\nkind: B").expect("write");
        std::fs::write(dir.join("a.yaml"), "kind: A\n").expect("write");
        std::fs::write(dir.join(".complete"), "").expect("write");
        let manifest = cert_manager_manifest(&dir, "cert-manager");
        std::fs::remove_dir_all(&dir).expect("cleanup");
        assert_eq!(
            manifest.expect("manifest"),
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: cert-manager\n---\nkind: A\n---\n---\nkind: B\n"
        );
        assert!(cert_manager_manifest(Path::new("/nonexistent-crds"), "cert-manager").is_err());
    }

    #[test]
    fn the_dns_service_sits_where_kubelets_point_pods() {
        let settings = Settings { slot: 1 };
        let manifest = coredns_manifest(&settings);
        assert!(manifest.contains("clusterIP: 100.82.0.10\n"));
        assert!(manifest.contains(&format!("image: {COREDNS_IMAGE}\n")));
    }
}
