// Package bench holds entrakit's benchmarks. It is a nested module so that the libraries it
// compares against never enter the root module's dependencies. Run:
//
//	cd bench && go test -run '^$' -bench . -benchmem
package bench
