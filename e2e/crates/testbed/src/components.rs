//! The control-plane components, their flags and health endpoints, in start order.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use std::net::Ipv4Addr;

use crate::health::Probe;
use crate::layout::Layout;
use crate::pki::{FRONT_PROXY_CLIENT_NAME, Pki};
use crate::process::Launch;
use crate::settings::Settings;
use crate::toolchain::Toolchain;

/// Every controller the operator's tests rely on, and nothing that needs a cloud.
const CONTROLLERS: &[&str] = &[
    "garbage-collector-controller",
    "deployment-controller",
    "replicaset-controller",
    "statefulset-controller",
    // MetalLB's speakers run one per node.
    "daemonset-controller",
    "job-controller",
    "endpoints-controller",
    "endpointslice-controller",
    "endpointslice-mirroring-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "root-ca-certificate-publisher-controller",
    "persistentvolume-binder-controller",
    "persistentvolume-expander-controller",
    // Without these, a deleted PVC or PV keeps its protection finalizer forever.
    "persistentvolumeclaim-protection-controller",
    "persistentvolume-protection-controller",
    "node-lifecycle-controller",
    "taint-eviction-controller",
    "pod-garbage-collector-controller",
    "disruption-controller",
    "clusterrole-aggregation-controller",
];

/// Stop order and SIGTERM grace period of the control plane (after the nodes), in reverse
/// start order.
pub const CONTROL_PLANE_STOP_ORDER: [(&str, Duration); 4] = [
    ("kube-scheduler", Duration::from_secs(10)),
    ("kube-controller-manager", Duration::from_secs(10)),
    ("kube-apiserver", Duration::from_secs(15)),
    ("etcd", Duration::from_secs(15)),
];

pub struct Component {
    pub name: String,
    pub launch: Launch,
    pub probe: Probe,
    /// How long to wait for a healthy answer after starting.
    pub startup_timeout: Duration,
}

/// The control plane's niceness. Each node's pods share one cgroup whose CPU weight is that of
/// several busy threads (`cgroups::NODE_CPU_SHARES`), while the control plane's threads each
/// weigh one: without a lead, a few clusters' JVMs starting at once starved etcd and the
/// apiserver (requests timed out with 504, clients could not connect). -5 weighs each of their
/// threads about three times a default one.
const CONTROL_PLANE_NICE: i32 = -5;

/// etcd, kube-apiserver, kube-controller-manager, kube-scheduler, in that order.
pub fn control_plane(layout: &Layout, pki: &Pki, toolchain: &Toolchain, settings: &Settings) -> Result<Vec<Component>> {
    let path = |p: &PathBuf| p.display().to_string();
    let launch = |name: &str, program: PathBuf, args: Vec<String>| Launch {
        program,
        args,
        working_dir: layout.root.clone(),
        log_file: layout.log_file(name),
        pid_file: layout.pid_file(name),
        namespaces_of: None,
        nice: CONTROL_PLANE_NICE,
    };
    let local = Ipv4Addr::LOCALHOST;
    let etcd_port = settings.etcd_client_port();
    let apiserver_port = settings.apiserver_port();
    let controller_manager_port = settings.controller_manager_port();
    let scheduler_port = settings.scheduler_port();

    let etcd_client_url = format!("http://127.0.0.1:{etcd_port}");
    let etcd_peer_url = format!("http://127.0.0.1:{}", settings.etcd_peer_port());
    let etcd = Component {
        name: "etcd".into(),
        launch: launch(
            "etcd",
            toolchain.binary("ETCD")?,
            vec![
                "--name=testbed".into(),
                format!("--data-dir={}", path(&layout.etcd_data())),
                format!("--listen-client-urls={etcd_client_url}"),
                format!("--advertise-client-urls={etcd_client_url}"),
                format!("--listen-peer-urls={etcd_peer_url}"),
                format!("--initial-advertise-peer-urls={etcd_peer_url}"),
                format!("--initial-cluster=testbed={etcd_peer_url}"),
                // Test data is disposable; fsync on every write would slow the apiserver.
                "--unsafe-no-fsync=true".into(),
                "--log-level=warn".into(),
            ],
        ),
        probe: Probe::Http { address: local, port: etcd_port, path: "/health" },
        startup_timeout: Duration::from_secs(30),
    };

    let apiserver_address = settings.apiserver_address();
    let mut apiserver_args: Vec<String> = vec![
        format!("--etcd-servers={etcd_client_url}"),
        format!("--bind-address={apiserver_address}"),
        format!("--advertise-address={apiserver_address}"),
        format!("--secure-port={apiserver_port}"),
        format!("--cert-dir={}", path(&layout.pki())),
        format!("--tls-cert-file={}", path(&pki.apiserver.cert)),
        format!("--tls-private-key-file={}", path(&pki.apiserver.key)),
        format!("--client-ca-file={}", path(&pki.ca.cert)),
        format!("--service-cluster-ip-range={}", settings.service_cidr()),
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
        format!("--service-account-key-file={}", path(&pki.service_account_public_key)),
        format!("--service-account-signing-key-file={}", path(&pki.service_account_key)),
        "--authorization-mode=Node,RBAC".into(),
        // Controller-manager and scheduler read the request-header CA from the
        // extension-apiserver-authentication ConfigMap and log errors without it.
        format!("--requestheader-client-ca-file={}", path(&pki.ca.cert)),
        format!("--requestheader-allowed-names={FRONT_PROXY_CLIENT_NAME}"),
        "--requestheader-username-headers=X-Remote-User".into(),
        "--requestheader-group-headers=X-Remote-Group".into(),
        "--requestheader-extra-headers-prefix=X-Remote-Extra-".into(),
        format!("--proxy-client-cert-file={}", path(&pki.front_proxy_client.cert)),
        format!("--proxy-client-key-file={}", path(&pki.front_proxy_client.key)),
        "--allow-privileged=true".into(),
        "--profiling=false".into(),
    ];
    // Kubelets serve logs, exec and port-forward on their node address with a certificate
    // from our CA, and let the apiserver in with its own client certificate.
    apiserver_args.extend([
        format!("--kubelet-certificate-authority={}", path(&pki.ca.cert)),
        format!("--kubelet-client-certificate={}", path(&pki.apiserver_kubelet_client.cert)),
        format!("--kubelet-client-key={}", path(&pki.apiserver_kubelet_client.key)),
        "--kubelet-preferred-address-types=InternalIP".into(),
    ]);
    let apiserver = Component {
        name: "kube-apiserver".into(),
        launch: launch("kube-apiserver", toolchain.binary("KUBE_APISERVER")?, apiserver_args),
        probe: Probe::Https { address: apiserver_address, port: apiserver_port, path: "/readyz" },
        startup_timeout: Duration::from_secs(90),
    };

    let controller_manager_kubeconfig = path(&layout.kubeconfigs().join("kube-controller-manager.kubeconfig"));
    let controller_manager = Component {
        name: "kube-controller-manager".into(),
        launch: launch(
            "kube-controller-manager",
            toolchain.binary("KUBE_CONTROLLER_MANAGER")?,
            vec![
                format!("--kubeconfig={controller_manager_kubeconfig}"),
                format!("--authentication-kubeconfig={controller_manager_kubeconfig}"),
                format!("--authorization-kubeconfig={controller_manager_kubeconfig}"),
                "--bind-address=127.0.0.1".into(),
                format!("--secure-port={controller_manager_port}"),
                format!("--tls-cert-file={}", path(&pki.controller_manager_serving.cert)),
                format!("--tls-private-key-file={}", path(&pki.controller_manager_serving.key)),
                format!("--client-ca-file={}", path(&pki.ca.cert)),
                format!("--controllers={}", CONTROLLERS.join(",")),
                format!("--cluster-cidr={}", settings.cluster_cidr()),
                "--allocate-node-cidrs=false".into(),
                format!("--service-cluster-ip-range={}", settings.service_cidr()),
                "--cluster-name=testbed".into(),
                format!("--root-ca-file={}", path(&pki.ca.cert)),
                format!("--service-account-private-key-file={}", path(&pki.service_account_key)),
                "--use-service-account-credentials=true".into(),
                format!("--cluster-signing-cert-file={}", path(&pki.ca.cert)),
                format!("--cluster-signing-key-file={}", path(&pki.ca.key)),
                // One instance only: skipping leader election saves its lease wait at startup.
                "--leader-elect=false".into(),
            ],
        ),
        probe: Probe::Https { address: local, port: controller_manager_port, path: "/healthz" },
        startup_timeout: Duration::from_secs(60),
    };

    let scheduler_kubeconfig = path(&layout.kubeconfigs().join("kube-scheduler.kubeconfig"));
    let scheduler = Component {
        name: "kube-scheduler".into(),
        launch: launch(
            "kube-scheduler",
            toolchain.binary("KUBE_SCHEDULER")?,
            vec![
                format!("--kubeconfig={scheduler_kubeconfig}"),
                format!("--authentication-kubeconfig={scheduler_kubeconfig}"),
                format!("--authorization-kubeconfig={scheduler_kubeconfig}"),
                "--bind-address=127.0.0.1".into(),
                format!("--secure-port={scheduler_port}"),
                format!("--tls-cert-file={}", path(&pki.scheduler_serving.cert)),
                format!("--tls-private-key-file={}", path(&pki.scheduler_serving.key)),
                format!("--client-ca-file={}", path(&pki.ca.cert)),
                "--leader-elect=false".into(),
            ],
        ),
        probe: Probe::Https { address: local, port: scheduler_port, path: "/readyz" },
        startup_timeout: Duration::from_secs(60),
    };

    Ok(vec![etcd, apiserver, controller_manager, scheduler])
}

/// Namespace of cert-manager's controller: where ClusterIssuers find their Secrets, as in a
/// cert-manager installed by its chart.
pub const CERT_MANAGER_NAMESPACE: &str = "cert-manager";

/// cert-manager's controller (e2e/bootstrap/cert-manager-controller) as a host process with the
/// admin kubeconfig, like the control plane; `None` when the bootstrap has not built it. It
/// serves no endpoint: alive for a second counts as started, so it does not slow `up` down.
pub fn cert_manager(layout: &Layout, toolchain: &Toolchain) -> Option<Component> {
    let program = toolchain.binary("CERT_MANAGER_CONTROLLER").ok()?;
    let args = vec![
        format!("--kubeconfig={}", layout.admin_kubeconfig().display()),
        format!("--cluster-resource-namespace={CERT_MANAGER_NAMESPACE}"),
    ];
    Some(Component {
        name: "cert-manager".into(),
        launch: Launch {
            program,
            args,
            working_dir: layout.root.clone(),
            log_file: layout.log_file("cert-manager"),
            pid_file: layout.pid_file("cert-manager"),
            namespaces_of: None,
            nice: 0,
        },
        probe: Probe::Alive,
        startup_timeout: Duration::from_secs(1),
    })
}
