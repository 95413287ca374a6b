package dtlstransport

import "fmt"

// Role is a DTLS role as in mediasoup's dtlsParameters.role.
type Role string

// DTLS roles.
const (
	RoleAuto   Role = "auto"
	RoleClient Role = "client"
	RoleServer Role = "server"
)

// Validate reports whether r is one of the three roles ("" counts as auto).
func (r Role) Validate() error {
	switch r {
	case "", RoleAuto, RoleClient, RoleServer:
		return nil
	}
	return fmt.Errorf("%w: %q", ErrInvalidRole, string(r))
}

// LocalRole returns the local role for a remote one, with mediasoup's rule:
// a remote client makes us server; a remote server or auto makes us client,
// since the ICE-lite side is ICE-controlled.
func LocalRole(remote Role) Role {
	if remote == RoleClient {
		return RoleServer
	}
	return RoleClient
}

// Parameters are mediasoup's dtlsParameters.
type Parameters struct {
	Role         Role          `json:"role,omitempty"`
	Fingerprints []Fingerprint `json:"fingerprints"`
}
