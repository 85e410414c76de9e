//! The control-plane components, their flags and health endpoints, in start order.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use crate::health::Probe;
use crate::layout::Layout;
use crate::pki::{FRONT_PROXY_CLIENT_NAME, Pki};
use crate::process::Launch;
use crate::toolchain::Toolchain;

pub const ETCD_CLIENT_PORT: u16 = 12379;
pub const ETCD_PEER_PORT: u16 = 12380;
pub const APISERVER_PORT: u16 = 16443;
pub const CONTROLLER_MANAGER_PORT: u16 = 10257;
pub const SCHEDULER_PORT: u16 = 10259;

/// Services get ClusterIPs here, pods (if anyone allocates them) addresses there. Both sit
/// in 100.64.0.0/10 (shared address space) because 10/8, 172.16/12 and 192.168/16 are
/// off limits on this machine.
pub const SERVICE_CLUSTER_IP_RANGE: &str = "100.96.0.0/16";
pub const CLUSTER_CIDR: &str = "100.64.0.0/12";

/// Every controller the operator's tests rely on, and nothing that needs a cloud.
const CONTROLLERS: &[&str] = &[
    "garbage-collector-controller",
    "deployment-controller",
    "replicaset-controller",
    "statefulset-controller",
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

/// Stop order and SIGTERM grace period: the node agent first, because it stops the pods
/// (and needs the apiserver to report it), then the control plane in reverse start order.
pub const STOP_ORDER: [(&str, Duration); 5] = [
    ("node-agent", Duration::from_secs(60)),
    ("kube-scheduler", Duration::from_secs(10)),
    ("kube-controller-manager", Duration::from_secs(10)),
    ("kube-apiserver", Duration::from_secs(15)),
    ("etcd", Duration::from_secs(15)),
];

pub struct Component {
    pub name: &'static str,
    pub launch: Launch,
    pub probe: Probe,
    /// How long to wait for a healthy answer after starting.
    pub startup_timeout: Duration,
}

pub fn apiserver_url() -> String {
    format!("https://127.0.0.1:{APISERVER_PORT}")
}

/// etcd, kube-apiserver, kube-controller-manager, kube-scheduler, in that order.
pub fn control_plane(layout: &Layout, pki: &Pki, toolchain: &Toolchain) -> Result<Vec<Component>> {
    let path = |p: &PathBuf| p.display().to_string();
    let launch = |name: &str, program: PathBuf, args: Vec<String>| Launch {
        program,
        args,
        working_dir: layout.root.clone(),
        log_file: layout.log_file(name),
        pid_file: layout.pid_file(name),
    };

    let etcd_client_url = format!("http://127.0.0.1:{ETCD_CLIENT_PORT}");
    let etcd_peer_url = format!("http://127.0.0.1:{ETCD_PEER_PORT}");
    let etcd = Component {
        name: "etcd",
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
        probe: Probe::Http { port: ETCD_CLIENT_PORT, path: "/health" },
        startup_timeout: Duration::from_secs(30),
    };

    let apiserver = Component {
        name: "kube-apiserver",
        launch: launch(
            "kube-apiserver",
            toolchain.binary("KUBE_APISERVER")?,
            vec![
                format!("--etcd-servers={etcd_client_url}"),
                "--bind-address=127.0.0.1".into(),
                "--advertise-address=127.0.0.1".into(),
                format!("--secure-port={APISERVER_PORT}"),
                format!("--cert-dir={}", path(&layout.pki())),
                format!("--tls-cert-file={}", path(&pki.apiserver.cert)),
                format!("--tls-private-key-file={}", path(&pki.apiserver.key)),
                format!("--client-ca-file={}", path(&pki.ca.cert)),
                format!("--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}"),
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
                // The apiserver listens on 127.0.0.1, which Endpoints validation rejects for
                // the `kubernetes` Service; pods get the real address from the node agent.
                "--endpoint-reconciler-type=none".into(),
                "--allow-privileged=true".into(),
                "--profiling=false".into(),
            ],
        ),
        probe: Probe::Https { port: APISERVER_PORT, path: "/readyz" },
        startup_timeout: Duration::from_secs(90),
    };

    let controller_manager_kubeconfig = path(&layout.kubeconfigs().join("kube-controller-manager.kubeconfig"));
    let controller_manager = Component {
        name: "kube-controller-manager",
        launch: launch(
            "kube-controller-manager",
            toolchain.binary("KUBE_CONTROLLER_MANAGER")?,
            vec![
                format!("--kubeconfig={controller_manager_kubeconfig}"),
                format!("--authentication-kubeconfig={controller_manager_kubeconfig}"),
                format!("--authorization-kubeconfig={controller_manager_kubeconfig}"),
                "--bind-address=127.0.0.1".into(),
                format!("--secure-port={CONTROLLER_MANAGER_PORT}"),
                format!("--tls-cert-file={}", path(&pki.controller_manager_serving.cert)),
                format!("--tls-private-key-file={}", path(&pki.controller_manager_serving.key)),
                format!("--client-ca-file={}", path(&pki.ca.cert)),
                format!("--controllers={}", CONTROLLERS.join(",")),
                format!("--cluster-cidr={CLUSTER_CIDR}"),
                "--allocate-node-cidrs=false".into(),
                format!("--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}"),
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
        probe: Probe::Https { port: CONTROLLER_MANAGER_PORT, path: "/healthz" },
        startup_timeout: Duration::from_secs(60),
    };

    let scheduler_kubeconfig = path(&layout.kubeconfigs().join("kube-scheduler.kubeconfig"));
    let scheduler = Component {
        name: "kube-scheduler",
        launch: launch(
            "kube-scheduler",
            toolchain.binary("KUBE_SCHEDULER")?,
            vec![
                format!("--kubeconfig={scheduler_kubeconfig}"),
                format!("--authentication-kubeconfig={scheduler_kubeconfig}"),
                format!("--authorization-kubeconfig={scheduler_kubeconfig}"),
                "--bind-address=127.0.0.1".into(),
                format!("--secure-port={SCHEDULER_PORT}"),
                format!("--tls-cert-file={}", path(&pki.scheduler_serving.cert)),
                format!("--tls-private-key-file={}", path(&pki.scheduler_serving.key)),
                format!("--client-ca-file={}", path(&pki.ca.cert)),
                "--leader-elect=false".into(),
            ],
        ),
        probe: Probe::Https { port: SCHEDULER_PORT, path: "/readyz" },
        startup_timeout: Duration::from_secs(60),
    };

    Ok(vec![etcd, apiserver, controller_manager, scheduler])
}

/// The node agent (e2e/crates/node-agent) when its binary was built next to ours.
/// It runs the pods, so it starts last and stops first, with time to stop them.
pub fn node_agent(layout: &Layout) -> Option<Component> {
    let program = std::env::current_exe().ok()?.parent()?.join("node-agent");
    if !program.is_file() {
        return None;
    }
    let args = vec![
        "--kubeconfig".into(),
        layout.admin_kubeconfig().display().to_string(),
        "--state-dir".into(),
        layout.agent_state().display().to_string(),
        "--images".into(),
        layout.root.join("e2e").join("images.yaml").display().to_string(),
        "--nodes".into(),
        "testbed-node-1=zone-a,testbed-node-2=zone-b,testbed-node-3=zone-c".into(),
    ];
    Some(Component {
        name: "node-agent",
        launch: Launch {
            program,
            args,
            working_dir: layout.root.clone(),
            log_file: layout.log_file("node-agent"),
            pid_file: layout.pid_file("node-agent"),
        },
        probe: Probe::Alive,
        startup_timeout: Duration::from_secs(2),
    })
}
