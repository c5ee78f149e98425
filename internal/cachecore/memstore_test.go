package cachecore

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// memStore is a Store in memory, shared by several Cores as processes share a directory. It
// counts what it is asked, and a hook can block or fail a call.
type memStore struct {
	mu       sync.Mutex
	blobs    map[string][]byte
	versions map[string]string
	next     int
	locks    map[string]chan struct{}

	loads, reads, saves atomic.Int32 // reads: loads that returned a blob
	beforeSave          func(key string)
}

func newMemStore() *memStore {
	return &memStore{blobs: map[string][]byte{}, versions: map[string]string{}, locks: map[string]chan struct{}{}}
}

func (s *memStore) lockChan(key string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locks[key] == nil {
		s.locks[key] = make(chan struct{}, 1)
	}
	return s.locks[key]
}

func (s *memStore) Lock(ctx context.Context, key string) (func(), error) {
	ch := s.lockChan(key)
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *memStore) Load(ctx context.Context, key, since string) ([]byte, string, error) {
	s.loads.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.versions[key]
	if v == "" {
		return nil, "", nil
	}
	if v == since {
		return nil, v, nil
	}
	s.reads.Add(1)
	return slices.Clone(s.blobs[key]), v, nil
}

func (s *memStore) Save(ctx context.Context, key string, data []byte, prev string) (string, error) {
	if s.beforeSave != nil {
		s.beforeSave(key)
	}
	s.saves.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.versions[key] != prev {
		return "", fmt.Errorf("%w: %s", ErrConflict, key)
	}
	s.next++
	v := fmt.Sprint("v", s.next)
	s.blobs[key], s.versions[key] = slices.Clone(data), v
	return v, nil
}

func (s *memStore) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.blobs, key)
	delete(s.versions, key)
	return nil
}

func (s *memStore) List(ctx context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.blobs {
		keys = append(keys, k)
	}
	return keys, nil
}
