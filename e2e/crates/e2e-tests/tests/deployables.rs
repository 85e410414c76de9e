//! Each of the four deployables starts against the real apiserver, becomes ready once its
//! CRDs are Established, serves /healthz and /metrics, and exits 0 promptly on SIGTERM.

use std::time::Duration;

use anyhow::{Context, Result, ensure};

use e2e_tests::controller_process::ControllerProcess;
use e2e_tests::wait::{self, Check};
use e2e_tests::{crds, namespace, testbed};

const DEPLOYABLES: [&str; 4] = ["cluster-controller", "topic-controller", "cruise-control-runner", "alert-receiver"];

async fn http_get(port: u16, path: &str) -> Result<(u16, String)> {
    let output = tokio::process::Command::new("curl")
        .args(["-s", "-o", "-", "-w", "\n%{http_code}", &format!("http://127.0.0.1:{port}{path}")])
        .output()
        .await?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    Ok((code.trim().parse().unwrap_or(0), body.to_owned()))
}

#[tokio::test]
async fn every_deployable_becomes_ready_and_stops_cleanly_on_sigterm() -> Result<()> {
    crds::install(&testbed::client().await?).await?;
    namespace::run_isolated("deployables", async |ns| {
        for (index, name) in DEPLOYABLES.iter().enumerate() {
            let port = 18_400 + index as u16;
            let metrics = format!("127.0.0.1:{port}");
            let mut extra = vec!["--metrics-addr", metrics.as_str()];
            if *name == "cluster-controller" {
                extra.extend(["--grpc-addr", "127.0.0.1:0"]);
            }
            let token_file = e2e_tests::alerting::write_token(&ns.name)?.0.display().to_string();
            if *name == "alert-receiver" {
                extra.extend(["--listen-addr", "127.0.0.1:0", "--token-file", token_file.as_str()]);
            }
            let mut process = ControllerProcess::start_with(name, &ns.name, &extra).await?;
            wait::eventually(&format!("{name} is ready"), Duration::from_secs(60), || async {
                let (code, body) = http_get(port, "/readyz").await?;
                Ok(if code == 200 { Check::Done(()) } else { Check::Pending(format!("{code}: {body}")) })
            })
            .await?;
            ensure!(http_get(port, "/healthz").await?.0 == 200, "{name}: /healthz");
            let (code, metrics) = http_get(port, "/metrics").await?;
            ensure!(code == 200 && metrics.contains("# EOF"), "{name}: /metrics is not an exposition");

            process.terminate()?;
            let exit = process.wait_for_exit(Duration::from_secs(10)).await;
            let status = exit.with_context(|| format!("{name} on SIGTERM:\n{}", process.log_tail(20)))?;
            ensure!(status == Some(0), "{name} exited with {status:?} on SIGTERM:\n{}", process.log_tail(20));
        }
        Ok(())
    })
    .await
}
