package ice

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/stun/v3"
)

var (
	local  = netip.MustParseAddrPort("127.0.0.1:40000")
	peerA  = Tuple{Protocol: UDP, Local: local, Remote: netip.MustParseAddrPort("127.0.0.1:50000")}
	peerB  = Tuple{Protocol: UDP, Local: local, Remote: netip.MustParseAddrPort("127.0.0.1:50001")}
	t0     = time.Unix(1_700_000_000, 0)
	creds  = Options{UsernameFragment: "localufrag", Password: "localpassword0123456789"}
	prioOK = stun.RawAttribute{Type: stun.AttrPriority, Value: []byte{0x6e, 0, 1, 0xff}}
)

// request builds a Binding request as a controlling browser sends it.
func request(t testing.TB, user, pwd string, extra ...stun.Setter) []byte {
	t.Helper()
	setters := []stun.Setter{stun.TransactionID, stun.BindingRequest, stun.NewUsername(user), prioOK,
		stun.RawAttribute{Type: stun.AttrICEControlling, Value: make([]byte, 8)}}
	setters = append(setters, extra...)
	if pwd != "" {
		setters = append(setters, stun.NewShortTermIntegrity(pwd))
	}
	setters = append(setters, stun.Fingerprint)
	m, err := stun.Build(setters...)
	if err != nil {
		t.Fatal(err)
	}
	return m.Raw
}

var useCandidate = stun.RawAttribute{Type: stun.AttrUseCandidate}

func nominationAttr(v uint32) stun.Setter {
	return stun.RawAttribute{Type: attrNomination, Value: binary.BigEndian.AppendUint32(nil, v)}
}

func TestProcessValidCheck(t *testing.T) {
	t.Parallel()
	s := NewServer(&creds)
	r, err := s.Process(request(t, "localufrag:remote", creds.Password), peerA, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Valid || !r.NewTuple || !r.StateChanged || r.State != StateConnected || !r.SelectedChanged || r.Selected != peerA {
		t.Fatalf("result %+v", r)
	}
	resp := &stun.Message{Raw: r.Response}
	if err := resp.Decode(); err != nil {
		t.Fatal(err)
	}
	if resp.Type != stun.BindingSuccess {
		t.Fatalf("response type %v", resp.Type)
	}
	if err := stun.NewShortTermIntegrity(creds.Password).Check(resp); err != nil {
		t.Fatalf("response integrity: %v", err)
	}
	if err := stun.Fingerprint.Check(resp); err != nil {
		t.Fatalf("response fingerprint: %v", err)
	}
	var xor stun.XORMappedAddress
	if err := xor.GetFrom(resp); err != nil || xor.Port != 50000 || !xor.IP.Equal([]byte{127, 0, 0, 1}) {
		t.Fatalf("xor-mapped-address %v %v", xor, err)
	}
	r, err = s.Process(request(t, "localufrag:remote", creds.Password, useCandidate), peerA, t0)
	if err != nil || r.NewTuple || r.State != StateCompleted || r.SelectedChanged {
		t.Fatalf("nomination: %+v %v", r, err)
	}
}

func TestProcessRejects(t *testing.T) {
	t.Parallel()
	s := NewServer(&creds)
	noFP, _ := stun.Build(stun.TransactionID, stun.BindingRequest, stun.NewUsername("localufrag:r"), prioOK,
		stun.NewShortTermIntegrity(creds.Password))
	noPrio, _ := stun.Build(stun.TransactionID, stun.BindingRequest, stun.NewUsername("localufrag:r"),
		stun.NewShortTermIntegrity(creds.Password), stun.Fingerprint)
	alloc, _ := stun.Build(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest), stun.Fingerprint)
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"garbage", []byte("definitely not stun at all......"), ErrNotSTUN},
		{"wrong ufrag", request(t, "otherufrag:remote", creds.Password), ErrUnauthorized},
		{"wrong password", request(t, "localufrag:remote", "wrongpassword0123456789"), ErrUnauthorized},
		{"no integrity", request(t, "localufrag:remote", ""), ErrMissingAttributes},
		{"no colon", request(t, "localufrag", creds.Password), ErrUnauthorized},
		{"no fingerprint", noFP.Raw, ErrNoFingerprint},
		{"no priority", noPrio.Raw, ErrMissingAttributes},
		{"allocate", alloc.Raw, ErrNotBinding},
	}
	for _, c := range cases {
		r, err := s.Process(c.in, peerA, t0)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
		if r.Response != nil || r.Valid {
			t.Errorf("%s: answered %+v", c.name, r)
		}
	}
	if s.State() != StateNew || s.IsValidTuple(peerA) {
		t.Fatal("rejected checks changed the server")
	}
	ind, _ := stun.Build(stun.TransactionID, stun.NewType(stun.MethodBinding, stun.ClassIndication))
	if r, err := s.Process(ind.Raw, peerA, t0); err != nil || r.Valid {
		t.Fatalf("indication: %+v %v", r, err)
	}
}

func TestNominationSwitchesTuple(t *testing.T) {
	t.Parallel()
	s := NewServer(&creds)
	user := "localufrag:remote"
	mustProcess(t, s, request(t, user, creds.Password, useCandidate), peerA)
	r := mustProcess(t, s, request(t, user, creds.Password), peerB)
	if !r.NewTuple || r.SelectedChanged {
		t.Fatalf("plain check on B: %+v", r)
	}
	r = mustProcess(t, s, request(t, user, creds.Password, useCandidate), peerB)
	if !r.SelectedChanged || r.Selected != peerB {
		t.Fatalf("USE-CANDIDATE on B: %+v", r)
	}
	// Renomination: a newer value switches, an older one does not.
	r = mustProcess(t, s, request(t, user, creds.Password, nominationAttr(5)), peerA)
	if !r.SelectedChanged || r.Selected != peerA {
		t.Fatalf("nomination 5 on A: %+v", r)
	}
	r = mustProcess(t, s, request(t, user, creds.Password, nominationAttr(3)), peerB)
	if r.SelectedChanged {
		t.Fatalf("stale nomination 3 switched: %+v", r)
	}
	r = mustProcess(t, s, request(t, user, creds.Password, nominationAttr(6)), peerB)
	if !r.SelectedChanged || r.Selected != peerB {
		t.Fatalf("nomination 6 on B: %+v", r)
	}
}

func TestConsentTimeout(t *testing.T) {
	t.Parallel()
	o := creds
	o.ConsentTimeout = time.Second
	s := NewServer(&o)
	mustProcess(t, s, request(t, "localufrag:r", o.Password, useCandidate), peerA)
	if r, next := s.CheckConsent(t0.Add(500 * time.Millisecond)); r.StateChanged || next != 500*time.Millisecond {
		t.Fatalf("early check: %+v %v", r, next)
	}
	r, _ := s.CheckConsent(t0.Add(time.Second))
	if r.State != StateDisconnected || len(r.Removed) != 1 || s.IsValidTuple(peerA) {
		t.Fatalf("expiry: %+v", r)
	}
	if _, ok := s.SelectedTuple(); ok {
		t.Fatal("selected tuple after expiry")
	}
	r, _ = s.Process(request(t, "localufrag:r", o.Password), peerB, t0.Add(2*time.Second))
	if r.State != StateConnected || r.Selected != peerB {
		t.Fatalf("reconnect: %+v", r)
	}
}

func TestRestartKeepsOldCredentialsUntilUsed(t *testing.T) {
	t.Parallel()
	s := NewServer(&creds)
	p := s.Restart("", "")
	if p.UsernameFragment == creds.UsernameFragment || len(p.Password) != PasswordLength {
		t.Fatalf("restart %+v", p)
	}
	mustProcess(t, s, request(t, "localufrag:r", creds.Password), peerA)
	mustProcess(t, s, request(t, p.UsernameFragment+":r", p.Password), peerA)
	if _, err := s.Process(request(t, "localufrag:r", creds.Password), peerA, t0); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("old credentials after new ones were used: %v", err)
	}
}

func TestRemoveTuple(t *testing.T) {
	t.Parallel()
	s := NewServer(&creds)
	mustProcess(t, s, request(t, "localufrag:r", creds.Password), peerA)
	mustProcess(t, s, request(t, "localufrag:r", creds.Password, useCandidate), peerB)
	r := s.RemoveTuple(peerB)
	if !r.SelectedChanged || r.Selected != peerA {
		t.Fatalf("remove selected: %+v", r)
	}
	r = s.RemoveTuple(peerA)
	if r.State != StateDisconnected {
		t.Fatalf("remove last: %+v", r)
	}
	if r := s.Close(); r.State != StateClosed {
		t.Fatalf("close: %+v", r)
	}
	if _, err := s.Process(request(t, "localufrag:r", creds.Password), peerA, t0); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func TestLocalUfrag(t *testing.T) {
	b := request(t, "abc:def", "pwd")
	if got := string(LocalUfrag(b)); got != "abc" {
		t.Fatalf("LocalUfrag = %q", got)
	}
	for _, bad := range [][]byte{nil, b[:19], request(t, ":def", "pwd"), append([]byte{0x80}, b[1:]...)} {
		if got := LocalUfrag(bad); got != nil {
			t.Errorf("LocalUfrag(bad) = %q", got)
		}
	}
	if n := testing.AllocsPerRun(100, func() { LocalUfrag(b) }); n != 0 {
		t.Errorf("LocalUfrag allocates %v", n)
	}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	js, err := peerA.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"localAddress":"127.0.0.1","localPort":40000,"remoteIp":"127.0.0.1","remotePort":50000,"protocol":"udp"}`
	if string(js) != want {
		t.Fatalf("tuple JSON %s", js)
	}
	if StateCompleted.String() != "completed" || TCP.String() != "tcp" || State(42).String() != "unknown" {
		t.Fatal("names")
	}
}

func mustProcess(t *testing.T, s *Server, b []byte, tup Tuple) Result {
	t.Helper()
	r, err := s.Process(b, tup, t0)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// FuzzDemuxSTUN feeds arbitrary bytes to the STUN path: it must never
// panic, and only authenticated checks may be answered.
func FuzzDemuxSTUN(f *testing.F) {
	f.Add(request(f, "localufrag:remote", creds.Password, useCandidate))
	f.Add(request(f, "localufrag:remote", "wrong"))
	f.Add([]byte{0, 1, 0, 4, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 6, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := NewServer(&creds)
		_ = LocalUfrag(b)
		r, err := s.Process(b, peerA, t0)
		if err != nil && (r.Valid || r.Response != nil) {
			t.Fatalf("error %v with result %+v", err, r)
		}
	})
}
