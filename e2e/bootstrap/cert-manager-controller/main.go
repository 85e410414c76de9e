// cert-manager's controller for the test bed, built from the Go module
// github.com/cert-manager/cert-manager: the module's own controllers, started the way
// cert-manager starts them. cert-manager's cmd/controller is a nested module without tags, so
// the Go module proxy does not serve it; this small main takes its place.
//
// Runs the controllers a CA chain needs: Certificates (trigger, key manager, request manager,
// issuing, readiness, revision manager, metrics), CertificateRequests for CA and self-signed
// issuers and their approver, Issuers and ClusterIssuers. No ACME, Vault, Venafi, ingress or
// Gateway shims, no leader election (one replica on the test bed).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	controllerpkg "github.com/cert-manager/cert-manager/pkg/controller"
	crapprover "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	crca "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	crselfsigned "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	certmetrics "github.com/cert-manager/cert-manager/pkg/controller/certificates/metrics"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	"github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	"github.com/cert-manager/cert-manager/pkg/controller/issuers"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
)

var controllers = []string{
	trigger.ControllerName,
	keymanager.ControllerName,
	requestmanager.ControllerName,
	issuing.ControllerName,
	readiness.ControllerName,
	revisionmanager.ControllerName,
	certmetrics.ControllerName,
	crapprover.ControllerName,
	crca.CRControllerName,
	crselfsigned.CRControllerName,
	issuers.ControllerName,
	clusterissuers.ControllerName,
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster")
	clusterResourceNamespace := flag.String("cluster-resource-namespace", "cert-manager",
		"namespace where ClusterIssuers find their Secrets")
	workers := flag.Int("workers", 2, "workers per controller")
	flag.Parse()

	logf.InitLogs()
	defer logf.FlushLogs()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := logf.Log.WithName("cert-manager-controller")
	ctx = logf.NewContext(ctx, log)

	factory, err := controllerpkg.NewContextFactory(ctx, controllerpkg.ContextOptions{
		Kubeconfig:         *kubeconfig,
		KubernetesAPIQPS:   20,
		KubernetesAPIBurst: 50,
		IssuerOptions:      controllerpkg.IssuerOptions{ClusterResourceNamespace: *clusterResourceNamespace},
		CertificateOptions: controllerpkg.CertificateOptions{
			// cert-manager's defaults (its --certificate-request-minimum-backoff-duration and
			// the fixed maximum).
			CertificateRequestMinimumBackoffDuration: time.Hour,
			CertificateRequestMaximumBackoffDuration: 32 * time.Hour,
		},
	})
	if err != nil {
		fail("building the controller context", err)
	}

	// Constructing a controller registers its informers; they start once all are built.
	known := controllerpkg.Known()
	var running []controllerpkg.Interface
	for _, name := range controllers {
		construct, ok := known[name]
		if !ok {
			fail("looking up controller "+name, fmt.Errorf("not registered"))
		}
		controller, err := construct(factory)
		if err != nil {
			fail("constructing controller "+name, err)
		}
		running = append(running, controller)
	}
	shared, err := factory.Build()
	if err != nil {
		fail("building the shared context", err)
	}
	shared.KubeSharedInformerFactory.Start(ctx.Done())
	shared.SharedInformerFactory.Start(ctx.Done())
	shared.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())

	var wait sync.WaitGroup
	for i, controller := range running {
		wait.Add(1)
		go func(name string, controller controllerpkg.Interface) {
			defer wait.Done()
			log.Info("starting controller", "controller", name)
			if err := controller.Run(*workers, ctx); err != nil {
				log.Error(err, "controller stopped", "controller", name)
				stop()
			}
		}(controllers[i], controller)
	}
	wait.Wait()
}

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "cert-manager-controller: %s: %v\n", what, err)
	os.Exit(1)
}
