// Package redisstore keeps an entrakit token cache in Redis, so that a fleet of service instances
// (web apps behind a load balancer, workers) shares its users' tokens and refreshes each
// account's refresh token once for the whole fleet, whatever Entra's rotation does.
//
// It is a cache.Store: each partition (one account's tokens) is one Redis key, hash-tagged so
// that it and its lease live in one slot of a Redis Cluster. Only one instance at a time redeems
// an account's refresh token: the cache takes the partition's lease (SET NX PX with a random
// token, renewed while held, released by compare-and-delete) around every refresh, and the
// others wait, then read the new token. A holder that outlives its lease cannot overwrite a
// newer rotation: a save is a compare-and-swap on the partition's version, and checks the lease,
// in one Lua script. A crashed holder blocks the others for at most the lease. Partitions are
// sealed with AES-256-GCM (cache.EncryptedStore): a key is required, unless the options opt out
// by name (cache.InsecurePlaintext).
//
// When Redis is down or slow, the store fails open, loudly: its calls end within Options.Timeout
// (and the caller's deadline) with an error wrapping cache.ErrUnavailable, the cache works from
// memory and logs it, and sharing resumes when Redis is back. While Redis is down, instances
// refresh without the fleet's lease; with Entra, whose rotated-away refresh tokens stay valid for
// a while, that costs nothing. The design is explained in docs/PROTOCOL.md.
//
// # Security considerations
//
// Redis holds the fleet's refresh tokens, sealed with a key kept outside Redis (give every
// instance the same key, from a mounted secret: cache.KeyFromFile or cache.KeyFromEnv). Use
// Redis with TLS and authentication; a Redis user who can read the keys still cannot read a
// token without the key, or move one account's partition to another (the partition is bound to
// its key). Errors and logs never include a token or the key.
package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/entrakit/entrakit/cache"
)

// Options configure a Store; nil means defaults, except Keys, which is required.
type Options struct {
	// Keys seal the partitions (see cache.EncryptionOptions): every instance of a fleet needs
	// the same key, e.g. cache.KeyFromFile of a mounted secret. Required; to store tokens
	// unencrypted, say so by name with []cache.KeySource{cache.InsecurePlaintext}.
	Keys []cache.KeySource
	// Prefix starts every Redis key; default "entrakit:".
	Prefix string
	// Lease is how long a partition's lock lasts unless its holder renews it (it does, while it
	// holds it): the longest a crashed holder blocks the fleet. Default 15 s.
	Lease time.Duration
	// IdleTTL expires a partition unused for this long (each use slides it). Default 90 days,
	// the lifetime of an Entra refresh token that is not used.
	IdleTTL time.Duration
	// TombstoneTTL is how long a removed partition is remembered, so that an instance whose lease
	// ran out cannot write it back. Default 24 hours.
	TombstoneTTL time.Duration
	// Timeout bounds each Redis call (the caller's deadline bounds it too). Default 2 s.
	Timeout time.Duration
	// RetryDown: after Redis could not be reached, calls fail at once (and the cache works from
	// memory) for this long before Redis is tried again. Default 5 s.
	RetryDown time.Duration
	// OnFailure, when set, is called with each failure to reach Redis (it holds no secret).
	OnFailure func(error)
	// Logger receives the sealing key's source (never the key); nil is silent.
	Logger *slog.Logger
}

// Store is a cache.Store in Redis: the sealing store (cache.EncryptedStore) over the raw one.
type Store struct {
	*cache.EncryptedStore
	raw *raw
}

var _ cache.Store = (*Store)(nil)

// New returns a Store on rdb (a *redis.Client, *redis.ClusterClient or other
// redis.UniversalClient). It does no I/O.
func New(rdb redis.UniversalClient, opts *Options) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("redisstore: New needs a Redis client")
	}
	if opts == nil || len(opts.Keys) == 0 {
		return nil, errors.New("redisstore: Options.Keys is required (the key that seals the tokens; cache.InsecurePlaintext to store them unencrypted)")
	}
	o := *opts
	defaults := []struct {
		d *time.Duration
		v time.Duration
	}{{&o.Lease, 15 * time.Second}, {&o.IdleTTL, 90 * 24 * time.Hour}, {&o.TombstoneTTL, 24 * time.Hour}, {&o.Timeout, 2 * time.Second}, {&o.RetryDown, 5 * time.Second}}
	for _, d := range defaults {
		if *d.d <= 0 {
			*d.d = d.v
		}
	}
	if o.Prefix == "" {
		o.Prefix = "entrakit:"
	}
	r := &raw{rdb: rdb, o: o, leases: map[string]string{}}
	sealed, err := cache.NewEncryptedStore(r, &cache.EncryptionOptions{Keys: o.Keys, Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	return &Store{EncryptedStore: sealed, raw: r}, nil
}

// raw is the unsealed store: partitions as Redis hashes {v: version, d: blob}, leases as
// strings.
type raw struct {
	rdb redis.UniversalClient
	o   Options

	mu     sync.Mutex
	leases map[string]string // partition key -> this process's lease token, while held

	downUntil atomic.Int64 // unix nanoseconds: Redis is not tried before then
}

func (r *raw) dataKey(key string) string  { return r.o.Prefix + "{" + key + "}" }
func (r *raw) leaseKey(key string) string { return r.o.Prefix + "{" + key + "}:lease" }

// call bounds one Redis call by Timeout, and turns a failure to reach Redis into an error
// wrapping cache.ErrUnavailable (opening the circuit for RetryDown).
func (r *raw) call(ctx context.Context, f func(context.Context) error) error {
	if until := r.downUntil.Load(); until != 0 && time.Now().UnixNano() < until {
		return fmt.Errorf("%w: redis: not reachable a moment ago; retrying in %s", cache.ErrUnavailable, time.Until(time.Unix(0, until)).Round(time.Millisecond))
	}
	cctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	err := f(cctx)
	switch {
	case err == nil || errors.Is(err, redis.Nil) || isScriptError(err):
		return err
	case ctx.Err() != nil:
		return ctx.Err() // the caller gave up: that says nothing about Redis
	}
	r.downUntil.Store(time.Now().Add(r.o.RetryDown).UnixNano())
	err = fmt.Errorf("%w: redis: %v", cache.ErrUnavailable, err)
	if r.o.OnFailure != nil {
		r.o.OnFailure(err)
	}
	return err
}

func isScriptError(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "ENTRAKIT_CONFLICT") || strings.Contains(err.Error(), "ENTRAKIT_LEASE"))
}

// Lock takes the partition's lease, waiting (polling with backoff) until it is free or ctx ends,
// and renews it while it is held.
func (r *raw) Lock(ctx context.Context, key string) (func(), error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	delay := 2 * time.Millisecond
	for {
		var ok bool
		err := r.call(ctx, func(c context.Context) (err error) {
			ok, err = r.rdb.SetNX(c, r.leaseKey(key), token, r.o.Lease).Result()
			return err
		})
		if err != nil {
			return nil, err
		}
		if ok {
			break
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("redisstore: waiting for the lease of a partition (another instance is refreshing it): %w", ctx.Err())
		case <-t.C:
		}
		delay = min(delay*2, 50*time.Millisecond)
	}
	r.mu.Lock()
	r.leases[key] = token
	r.mu.Unlock()
	stop, stopped := make(chan struct{}), make(chan struct{})
	go r.renew(key, token, stop, stopped)
	return func() {
		close(stop)
		<-stopped
		r.mu.Lock()
		delete(r.leases, key)
		r.mu.Unlock()
		_ = r.call(context.Background(), func(c context.Context) error {
			return release.Run(c, r.rdb, []string{r.leaseKey(key)}, token).Err()
		})
	}, nil
}

// renew extends a held lease every third of its time until stop closes.
func (r *raw) renew(key, token string, stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	t := time.NewTicker(r.o.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			_ = r.call(context.Background(), func(c context.Context) error {
				return extend.Run(c, r.rdb, []string{r.leaseKey(key)}, token, r.o.Lease.Milliseconds()).Err()
			})
		}
	}
}

// Load implements cache.Store: one round trip, which also slides the partition's idle expiry.
func (r *raw) Load(ctx context.Context, key, since string) ([]byte, string, error) {
	var res []any
	err := r.call(ctx, func(c context.Context) (err error) {
		res, err = load.Run(c, r.rdb, []string{r.dataKey(key)}, since, r.o.IdleTTL.Milliseconds()).Slice()
		return err
	})
	if err != nil {
		return nil, "", err
	}
	version, _ := res[0].(string)
	data, _ := res[1].(string)
	if data == "" {
		return nil, version, nil // absent, unchanged since, or a tombstone
	}
	return []byte(data), version, nil
}

// Save implements cache.Store: a compare-and-swap on the version that also requires this
// process's lease to be the partition's current one (fencing).
func (r *raw) Save(ctx context.Context, key string, data []byte, prev string) (string, error) {
	r.mu.Lock()
	token := r.leases[key]
	r.mu.Unlock()
	version := newVersion()
	err := r.call(ctx, func(c context.Context) error {
		return save.Run(c, r.rdb, []string{r.dataKey(key), r.leaseKey(key)}, prev, version, data, token, r.o.IdleTTL.Milliseconds()).Err()
	})
	switch {
	case err != nil && strings.Contains(err.Error(), "ENTRAKIT_CONFLICT"):
		return "", fmt.Errorf("%w: another instance saved the partition since it was read", cache.ErrConflict)
	case err != nil && strings.Contains(err.Error(), "ENTRAKIT_LEASE"):
		return "", fmt.Errorf("%w: the lease ran out before the save (another instance may be refreshing)", cache.ErrConflict)
	case err != nil:
		return "", err
	}
	return version, nil
}

// Delete implements cache.Store: the partition becomes a tombstone that expires after
// TombstoneTTL, so that a save based on its older version fails.
func (r *raw) Delete(ctx context.Context, key string) error {
	return r.call(ctx, func(c context.Context) error {
		return remove.Run(c, r.rdb, []string{r.dataKey(key)}, newVersion(), r.o.TombstoneTTL.Milliseconds()).Err()
	})
}

// List implements cache.Store (tombstones included: they load as absent).
func (r *raw) List(ctx context.Context) ([]string, error) {
	var keys []string
	var mu sync.Mutex
	scan := func(c context.Context, client redis.UniversalClient) error {
		it := client.Scan(c, 0, r.o.Prefix+"{*}", 1000).Iterator()
		for it.Next(c) {
			k := strings.TrimSuffix(strings.TrimPrefix(it.Val(), r.o.Prefix+"{"), "}")
			mu.Lock()
			keys = append(keys, k)
			mu.Unlock()
		}
		return it.Err()
	}
	err := r.call(ctx, func(c context.Context) error {
		if cc, ok := r.rdb.(*redis.ClusterClient); ok {
			return cc.ForEachMaster(c, func(c context.Context, m *redis.Client) error { return scan(c, m) })
		}
		return scan(c, r.rdb)
	})
	return keys, err
}

func newVersion() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// The Lua scripts: each runs atomically on the server, on keys of one hash slot.
var (
	// load: KEYS[1] data; ARGV since, idle TTL (ms) -> {version or false, blob or false}.
	load = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return {false, false} end
local d = redis.call('HGET', KEYS[1], 'd')
if d ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if v == ARGV[1] then return {v, false} end
return {v, d}`)

	// save: KEYS data, lease; ARGV prev, new version, blob, lease token, idle TTL (ms).
	save = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], 'v') or ''
if v ~= ARGV[1] then return redis.error_reply('ENTRAKIT_CONFLICT') end
if redis.call('GET', KEYS[2]) ~= ARGV[4] then return redis.error_reply('ENTRAKIT_LEASE') end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`)

	// remove: KEYS data; ARGV version, tombstone TTL (ms).
	remove = redis.NewScript(`
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', '')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`)

	// release: KEYS lease; ARGV token: delete the lease if it is still ours.
	release = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

	// extend: KEYS lease; ARGV token, lease (ms): renew the lease if it is still ours.
	extend = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`)
)
