package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the trace excerpts in docs/PROTOCOL.md from the demo")

const protocolDoc = "../../docs/PROTOCOL.md"

// normalize replaces what changes from run to run (ports, random IDs, times, random strings)
// with stable placeholders, so that the trace can be compared with the document.
func normalize(s string) string {
	type rule struct {
		re   *regexp.Regexp
		with string
	}
	rules := []rule{
		{regexp.MustCompile(`https://127\.0\.0\.1:\d+`), "https://127.0.0.1:PORT"},
		{regexp.MustCompile(`"(exp|iat|nbf)": \d+`), `"$1": <unix time>`},
		{regexp.MustCompile(`"uti": "[0-9a-f]+"`), `"uti": "<random>"`},
		{regexp.MustCompile(`state=[A-Z2-7]+`), "state=<random>"},
		{regexp.MustCompile(`code_challenge=[A-Za-z0-9_-]{43}`), "code_challenge=<S256 of the verifier>"},
		{regexp.MustCompile(`\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z`), "<timestamp>"},
		{regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z`), "<time>"},
	}
	for _, r := range rules {
		s = r.re.ReplaceAllString(s, r.with)
	}
	// The digests of issued tokens become numbered, so that a rotated token shows as a new one.
	digests := map[string]string{}
	s = regexp.MustCompile(`#[0-9a-f]{6}>`).ReplaceAllStringFunc(s, func(d string) string {
		if _, ok := digests[d]; !ok {
			digests[d] = fmt.Sprintf("#%d>", len(digests)+1)
		}
		return digests[d]
	})
	// Random UUIDs (request, trace and correlation IDs) become numbered placeholders, so that
	// the echo of a client-request-id stays visible; the demo's fixed IDs stay as they are.
	fixed := map[string]bool{
		"7f0c1b4e-3a5d-4c2b-9e8f-1a2b3c4d5e6f": true, demoClientID: true,
		"0b7d5c7a-6f3e-4a8c-b2d1-9c8e7f6a5b4c": true, "c1a1b2c3-0000-4000-8000-000000000001": true,
	}
	seen := map[string]string{}
	uuid := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	return uuid.ReplaceAllStringFunc(s, func(u string) string {
		if fixed[u] {
			return u
		}
		if p, ok := seen[u]; ok {
			return p
		}
		seen[u] = fmt.Sprintf("<uuid-%d>", len(seen)+1)
		return seen[u]
	})
}

// traceSections runs demo --trace and returns each step's exchanges (without the JSON result),
// keyed by the step's number.
func traceSections(t *testing.T) map[string]string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"demo", "--trace"}, &out, &errOut); code != 0 {
		t.Fatalf("demo --trace: exit %d: %s", code, errOut.String())
	}
	sections := map[string]string{}
	for _, part := range strings.Split(normalize(out.String()), "\n### ")[1:] {
		heading, body, _ := strings.Cut(part, "\n")
		num, _, _ := strings.Cut(heading, ".")
		if i := strings.Index(body, "    result:"); i >= 0 {
			body = body[:i]
		}
		sections[num] = "### " + heading + "\n" + strings.TrimRight(body, "\n") + "\n"
	}
	return sections
}

var block = regexp.MustCompile("(?s)<!-- trace:(\\d+) -->\n```text\n(.*?)```\n<!-- /trace -->")

// TestProtocolDocTraces keeps docs/PROTOCOL.md true: its trace excerpts must be what the demo
// prints now. Run "go test ./cmd/entratoken -run ProtocolDoc -update" after a protocol change.
func TestProtocolDocTraces(t *testing.T) {
	sections := traceSections(t)
	if len(sections) != 7 {
		t.Fatalf("the demo traced %d steps, want 7", len(sections))
	}
	doc, err := os.ReadFile(protocolDoc)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	var stale []string
	updated := block.ReplaceAllStringFunc(string(doc), func(m string) string {
		sub := block.FindStringSubmatch(m)
		num, text := sub[1], sub[2]
		found[num] = true
		want, ok := sections[num]
		if !ok {
			stale = append(stale, num+" (no such step)")
			return m
		}
		if text != want {
			stale = append(stale, num)
		}
		return "<!-- trace:" + num + " -->\n```text\n" + want + "```\n<!-- /trace -->"
	})
	for num := range sections {
		if !found[num] {
			stale = append(stale, num+" (missing from the document)")
		}
	}
	if *update {
		if err := os.WriteFile(protocolDoc, []byte(updated), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if len(stale) > 0 {
		t.Errorf("%s is out of date for trace excerpts %v; if the protocol change is intended, run\n\tgo test ./cmd/entratoken -run ProtocolDoc -update\nand review the diff", filepath.Base(protocolDoc), stale)
	}
}

// TestTraceIsStable guards the golden comparison itself: two runs normalise to the same text.
func TestTraceIsStable(t *testing.T) {
	a, b := traceSections(t), traceSections(t)
	for num := range a {
		if a[num] != b[num] {
			t.Errorf("step %s differs between runs after normalisation:\n%s\n---\n%s", num, a[num], b[num])
		}
	}
}
