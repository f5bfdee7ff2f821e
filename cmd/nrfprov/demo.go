package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/provision"
	"github.com/nrfprov/nrfprov/internal/sim"
)

func (a *app) newDemoCmd() *cobra.Command {
	var socket bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Provision a virtual board left broken by an earlier tool, then run again to show nothing is rewritten",
		Long: `Start a virtual nRF9160 DK (nrfsim, in this process, on a real pseudo-terminal) in the state of the
field report behind nrfprov (on Windows and macOS the board's UART is a loopback TCP port
reached through the tcp transport instead): a root CA listed but holding only part of its bytes, and a key
write that hung with the AT host stuck inside quotes. Then provision it from a manifest of
throwaway test credentials (generated now, not secret), with progress, recovery through the
board's debugger (reset), and verification; then provision again, which writes nothing.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.demo(cmd.Context(), demoUsesSocket(socket)) },
	}
	cmd.Flags().BoolVar(&socket, "socket", false, "give the board a loopback TCP port instead of a pseudo-terminal (the Windows and macOS way)")
	_ = cmd.Flags().MarkHidden("socket")
	return cmd
}

func (a *app) demo(ctx context.Context, socket bool) error {
	dir, err := os.MkdirTemp("", "nrfprov-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	board, err := sim.StartBoard(ctx, sim.BoardConfig{RunDir: filepath.Join(dir, "run"), Log: a.log, Listen: demoListen(socket), ReadyDelay: demoReadyDelay(socket)})
	if err != nil {
		return err
	}
	defer board.Close()
	if err := board.WaitReady(ctx); err != nil {
		return err
	}
	creds, err := demoCredentials(dir)
	if err != nil {
		return err
	}
	transport, port := demoLink(board)
	a.notef("demo: virtual nRF9160 DK %s on %s", board.SerialNumber(), port)
	if err := breakLikeTheFieldReport(ctx, board, creds.ca); err != nil {
		return fmt.Errorf("demo: preparing the broken board: %w", err)
	}
	a.notef("demo: the board is broken like the field report: a partial root CA is listed, and a key write hung (its AT host is stuck inside quotes)")

	a.bf.transport, a.bf.port = transport, port
	if transport == "tcp" {
		if err := a.pinDemoTransport(); err != nil {
			return err
		}
	}
	reset := provision.ResetFunc(func(ctx context.Context) error { return board.Reset(ctx) })
	pf := provisionFlags{manifest: creds.manifest, maxRecoveries: 2}
	a.notef("\ndemo: nrfprov provision -m %s", filepath.Base(creds.manifest))
	var runs []reportResult
	for i, note := range []string{"", "\ndemo: and once more: the modem already holds exactly the manifest, so nothing is written"} {
		if i > 0 {
			a.notef("%s", note)
		}
		rep, err := a.provisionBoard(ctx, pf, reset)
		if err == nil {
			err = outcomeErr(rep)
		}
		if rep != nil {
			runs = append(runs, reportResult{Report: rep})
		}
		if err != nil {
			a.print("demo", demoResult{Runs: runs})
			return err
		}
	}
	return a.print("demo", demoResult{Runs: runs})
}

type demoFiles struct {
	manifest string
	ca       string
}

// demoCredentials writes a throwaway CA, client certificate and key, and a manifest for them.
func demoCredentials(dir string) (demoFiles, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return demoFiles{}, err
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "nrfprov demo CA (throwaway, not secret)"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	for i := 0; i < 40; i++ {
		caTmpl.DNSNames = append(caTmpl.DNSNames, fmt.Sprintf("demo-%02d.nrfprov.invalid", i))
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return demoFiles{}, err
	}
	devKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return demoFiles{}, err
	}
	devTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "nrfprov demo device"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	devDER, err := x509.CreateCertificate(rand.Reader, devTmpl, caTmpl, &devKey.PublicKey, caKey)
	if err != nil {
		return demoFiles{}, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(devKey)
	if err != nil {
		return demoFiles{}, err
	}
	files := map[string][]byte{
		"ca.pem":         pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		"client.pem":     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: devDER}),
		"client-key.pem": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		"manifest.yaml": []byte(`# nrfprov demo: throwaway credentials generated for this run; not secret.
version: 1
line_endings: lf
credentials:
  - {sec_tag: 16842753, type: ROOT_CA_CERT, file: ca.pem}
  - {sec_tag: 16842753, type: CLIENT_CERT, file: client.pem}
  - {sec_tag: 16842753, type: CLIENT_KEY, file: client-key.pem}
prune: [16842753]
`),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return demoFiles{}, err
		}
	}
	return demoFiles{manifest: filepath.Join(dir, "manifest.yaml"), ca: filepath.Join(dir, "ca.pem")}, nil
}

// breakLikeTheFieldReport plays an earlier tool's run over the board's port: it writes only
// the first part of the root CA, and dies in the middle of the key write, leaving the AT host
// inside an open quote.
func breakLikeTheFieldReport(ctx context.Context, b *sim.Board, caPath string) error {
	ca, err := os.ReadFile(caPath)
	if err != nil {
		return err
	}
	p, err := openDemoLink(b)
	if err != nil {
		return err
	}
	defer p.Close()
	s := at.NewSession(p, at.Config{Timing: at.Timing{Latency: time.Second}})
	if err := s.Sync(ctx, at.SyncOptions{}); err != nil {
		return err
	}
	partial := strings.TrimSpace(string(ca[:len(ca)/2]))
	for _, c := range []string{"AT+CFUN=4", `AT%CMNG=0,16842753,0,"` + partial + `"`} {
		if _, err := s.Exec(ctx, at.Cmd{Text: c, Writes: true}); err != nil {
			return err
		}
	}
	// The key write that hung: the line ends before its closing quote ever came.
	return s.SendRaw("AT%CMNG=0,16842753,2,\"-----BEGIN PRIVATE KEY-----\n(the tool died here)\r")
}
