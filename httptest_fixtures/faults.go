package entratest

import (
	"net"
	"net/http"
	"strconv"
	"time"
)

// Fault is a failure injected into the next token requests.
type Fault struct {
	Status      int         // answer with this status and Body instead of the real answer
	Header      http.Header // extra headers, e.g. Retry-After
	Body        string      // the body to send with Status; empty: an Entra-like temporarily_unavailable error
	ContentType string      // default application/json
	// Delay waits before answering (before the real answer when nothing else is set).
	Delay time.Duration
	// Hang never answers: the request ends when the client gives up or the server closes.
	Hang bool
	// Reset closes the connection with a TCP reset instead of answering.
	Reset bool
	// TruncateAfter sends the real answer's headers and only this many body bytes, then resets.
	TruncateAfter int
	// Times is how many token requests the fault applies to; 0 means 1.
	Times int
}

// FailNext queues a fault for the next token requests. Queued faults apply in order.
func (s *Handler) FailNext(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, f)
}

func (s *Handler) popFault() *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return nil
	}
	f := s.faults[0]
	s.faults[0].Times--
	if s.faults[0].Times == 0 {
		s.faults = s.faults[1:]
	}
	return &f
}

func (s *Handler) writeFault(w http.ResponseWriter, r *http.Request, f *Fault) {
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	body := f.Body
	ct := f.ContentType
	if body == "" {
		body = `{"error":"temporarily_unavailable","error_description":"AADSTS90033: A transient error has occurred. Please try again.","error_codes":[90033]}`
		if ct == "" {
			ct = "application/json; charset=utf-8"
		}
	}
	if ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(f.Status)
	_, _ = w.Write([]byte(body))
}

// reset closes the request's connection with a TCP RST.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := underlyingTCP(conn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func underlyingTCP(c net.Conn) (*net.TCPConn, bool) {
	type netConner interface{ NetConn() net.Conn }
	for i := 0; i < 4; i++ {
		if tc, ok := c.(*net.TCPConn); ok {
			return tc, true
		}
		nc, ok := c.(netConner)
		if !ok {
			return nil, false
		}
		c = nc.NetConn()
	}
	return nil, false
}

// noteRetryAfter remembers, for the throttling mode, the wait an answer's Retry-After (seconds)
// or retry-after-ms asks of the requesting client.
func (s *Handler) noteRetryAfter(r *http.Request, h http.Header) {
	var wait time.Duration
	if n, err := strconv.Atoi(h.Get("Retry-After")); err == nil && n > 0 {
		wait = time.Duration(n) * time.Second
	} else if n, err := strconv.Atoi(h.Get("Retry-After-Ms")); err == nil && n > 0 {
		wait = time.Duration(n) * time.Millisecond
	}
	if wait == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notBefore[r.PostForm.Get("client_id")] = s.now().Add(wait)
}

// throttle returns, in the throttling mode, the seconds a client that came back before the
// wait its last Retry-After asked for must still wait (at least 1), and 0 for a client that
// waited; the wait starts again, as a throttling service's does.
func (s *Handler) throttle(r *http.Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.opts.Throttle {
		return 0
	}
	client := r.PostForm.Get("client_id")
	until, ok := s.notBefore[client]
	now := s.now()
	if !ok {
		return 0
	}
	if !now.Before(until) {
		delete(s.notBefore, client)
		return 0
	}
	s.throttled++
	secs := int((until.Sub(now) + time.Second - 1) / time.Second)
	s.notBefore[client] = now.Add(time.Duration(secs) * time.Second)
	return secs
}

// ThrottledRequests counts the token requests the throttling mode refused: requests of a client
// that did not wait as long as a Retry-After asked.
func (s *Handler) ThrottledRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}
