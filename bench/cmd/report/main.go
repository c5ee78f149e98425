// Command report runs entrakit's benchmarks against MSAL Go, azidentity, x/oauth2 and bare
// net/http in one run, and prints a Markdown table of ns/op, B/op and allocs/op with the ratios
// of entrakit to each opponent, the token requests 1,000 concurrent callers cause, and binary
// sizes. It writes the chart to chart.svg (a hand-written SVG: no plotting dependency).
//
//	cd bench && go run ./cmd/report [-chart chart.svg] [-skip-size]
package main

import (
	"flag"
	"fmt"
	"html"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/entrakit/entrakit/bench"
)

type row struct {
	name     string
	ns       float64
	bytes    int64
	allocs   int64
	fraction string // what it measures
}

// tb adapts the helpers' TB to a program: failures end it.
type tb struct{}

func (tb) Helper()           {}
func (tb) Fatal(args ...any) { fmt.Fprintln(os.Stderr, args...); os.Exit(1) }
func (tb) Error(args ...any) { fmt.Fprintln(os.Stderr, args...); os.Exit(1) }

func run(name, what string, f func(*testing.B)) row {
	fmt.Fprintf(os.Stderr, "running %s...\n", name)
	r := testing.Benchmark(f)
	return row{name: name, ns: float64(r.T.Nanoseconds()) / float64(r.N), bytes: r.AllocedBytesPerOp(), allocs: r.AllocsPerOp(), fraction: what}
}

func main() {
	chart := flag.String("chart", "chart.svg", "where to write the SVG chart")
	skipSize := flag.Bool("skip-size", false, "skip the binary size builds")
	flag.Parse()

	cached := []row{
		run("entrakit", "cached GetToken, 1 key", bench.CachedEntrakit),
		run("entrakit (10,000 keys)", "cached GetToken, 10,000 keys in the cache", bench.CachedEntrakit10000Keys),
		run("MSAL Go", "AcquireTokenSilent with the account", bench.CachedMSAL),
		run("MSAL Go (1,000 accounts)", "the same, 1,000 other accounts cached", bench.CachedMSAL1000Accounts),
		run("azidentity", "ClientSecretCredential.GetToken, cached", bench.CachedAzidentity),
		run("x/oauth2", "ReuseTokenSource.Token, valid token", bench.CachedOAuth2),
	}
	cold := []row{
		run("entrakit", "new credential, code redemption", bench.ColdEntrakit),
		run("net/http", "POST + JSON decode of the same grant", bench.ColdNetHTTP),
	}

	fmt.Println("### Cached token (the hot path)")
	fmt.Println()
	fmt.Println("| library | measures | ns/op | B/op | allocs/op | entrakit ÷ this |")
	fmt.Println("|---|---|---:|---:|---:|---:|")
	for _, r := range cached {
		fmt.Printf("| %s | %s | %.0f | %d | %d | %.2f |\n", r.name, r.fraction, r.ns, r.bytes, r.allocs, cached[0].ns/r.ns)
	}
	fmt.Println()
	fmt.Printf("10,000 keys ÷ 1 key: %.2f\n\n", cached[1].ns/cached[0].ns)

	fmt.Println("### Cold code redemption (loopback TLS fake)")
	fmt.Println()
	fmt.Println("| client | measures | ns/op | B/op | allocs/op |")
	fmt.Println("|---|---|---:|---:|---:|")
	for _, r := range cold {
		fmt.Printf("| %s | %s | %.0f | %d | %d |\n", r.name, r.fraction, r.ns, r.bytes, r.allocs)
	}
	fmt.Printf("\nentrakit ÷ bare net/http: %.2f\n\n", cold[0].ns/cold[1].ns)

	fmt.Fprintln(os.Stderr, "running the stampede...")
	counts := bench.Stampede(tb{}, 1000)
	fmt.Println("### 1,000 concurrent callers on a token that needs refreshing")
	fmt.Println()
	fmt.Println("| library | token requests sent |")
	fmt.Println("|---|---:|")
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Printf("| %s | %d |\n", n, counts[n])
	}
	fmt.Println()

	if !*skipSize {
		sizes()
	}
	if err := os.WriteFile(*chart, []byte(svg(cached)), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "wrote %s\n", *chart)
}

// sizes builds the three minimal programs with -ldflags='-s -w' and prints their sizes.
func sizes() {
	dir, err := os.MkdirTemp("", "entrakit-size")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	fmt.Println("### Binary size (`go build -ldflags='-s -w'`)")
	fmt.Println()
	fmt.Println("| program | bytes | MiB | over net/http |")
	fmt.Println("|---|---:|---:|---:|")
	var base int64
	for _, p := range []string{"nethttp", "entrakit", "azidentity"} {
		out := filepath.Join(dir, p)
		cmd := exec.Command("go", "build", "-ldflags=-s -w", "-o", out, "./size/"+p)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building", p, err)
			os.Exit(1)
		}
		fi, err := os.Stat(out)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if p == "nethttp" {
			base = fi.Size()
		}
		fmt.Printf("| %s | %d | %.2f | %+.2f MiB |\n", p, fi.Size(), float64(fi.Size())/(1<<20), float64(fi.Size()-base)/(1<<20))
	}
	fmt.Println()
}

// svg draws the cached-token ns/op as horizontal bars on a log scale.
func svg(rows []row) string {
	const width, left, barH, gap = 880, 190, 26, 12
	height := 60 + len(rows)*(barH+gap)
	max := 0.0
	for _, r := range rows {
		max = maxf(max, r.ns)
	}
	logScale := func(v float64) float64 { // 1 ns .. max -> 0 .. width-left-190 (room for the label)
		return (width - left - 190) * log10(maxf(v, 1)) / log10(maxf(max, 10))
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="13">`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="10" y="22" font-size="15" font-weight="bold">Cached token: ns/op (log scale, lower is better)</text>`+"\n")
	for i, r := range rows {
		y := 40 + i*(barH+gap)
		w := logScale(r.ns)
		color := "#9aa5b1"
		if strings.HasPrefix(r.name, "entrakit") {
			color = "#2b6cb0"
		}
		fmt.Fprintf(&b, `<text x="10" y="%d">%s</text>`+"\n", y+barH-8, html.EscapeString(r.name))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", left, y, w, barH, color)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%.0f ns, %d allocs</text>`+"\n", float64(left)+w+6, y+barH-8, r.ns, r.allocs)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func maxf(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}

func log10(v float64) float64 { return math.Log10(v) }
