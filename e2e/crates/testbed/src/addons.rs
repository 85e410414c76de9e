//! What a cluster has besides its nodes: cluster DNS (CoreDNS as a Deployment on the nodes,
//! behind the `kube-dns` Service at the address kubelets hand to pods).

use std::io::Write;
use std::path::Path;
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
    use crate::settings::NodeRuntime;

    #[test]
    fn the_dns_service_sits_where_kubelets_point_pods() {
        let settings = Settings { runtime: NodeRuntime::Kubelet, slot: 1 };
        let manifest = coredns_manifest(&settings);
        assert!(manifest.contains("clusterIP: 100.82.0.10\n"));
        assert!(manifest.contains(&format!("image: {COREDNS_IMAGE}\n")));
    }
}
