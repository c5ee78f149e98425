package credential

import (
	"context"
	"sync"
)

// inflight runs one call per key at a time and shares its result with every caller of that key
// who arrives while it runs (a single-flight). Entries live only while a call is under way, so
// its map holds at most one entry per concurrent call, whatever keys callers send.
type inflight[V any] struct {
	mu    sync.Mutex
	calls map[string]*call[V]
}

type call[V any] struct {
	done chan struct{}
	val  V
	err  error
}

// do returns the result of fn for key, running fn unless a call for key is under way, in which
// case it waits for that call's result. A waiter whose ctx ends stops waiting with ctx's error;
// when the running call failed because its own caller's context ended (retry reports true),
// the waiters that still have time run it again themselves.
func (f *inflight[V]) do(ctx context.Context, key string, retry func(error) bool, fn func() (V, error)) (V, error) {
	for {
		f.mu.Lock()
		if c, ok := f.calls[key]; ok {
			f.mu.Unlock()
			select {
			case <-c.done:
				if c.err != nil && retry(c.err) && ctx.Err() == nil {
					continue
				}
				return c.val, c.err
			case <-ctx.Done():
				var zero V
				return zero, ctx.Err()
			}
		}
		if f.calls == nil {
			f.calls = map[string]*call[V]{}
		}
		c := &call[V]{done: make(chan struct{})}
		f.calls[key] = c
		f.mu.Unlock()

		c.val, c.err = fn()

		f.mu.Lock()
		delete(f.calls, key)
		f.mu.Unlock()
		close(c.done)
		return c.val, c.err
	}
}
