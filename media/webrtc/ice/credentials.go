package ice

import "crypto/rand"

// Credential lengths, as mediasoup's worker generates them (both 32
// characters of [a-z0-9], above RFC 8445's minimum of 4 and 22).
const (
	UfragLength    = 32
	PasswordLength = 32
)

const credentialAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// RandomString returns n random characters of [a-z0-9].
func RandomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails since Go 1.24
	for i := range b {
		b[i] = credentialAlphabet[int(b[i])%len(credentialAlphabet)]
	}
	return string(b)
}

// Parameters are mediasoup's iceParameters.
type Parameters struct {
	UsernameFragment string `json:"usernameFragment"`
	Password         string `json:"password"`
	ICELite          bool   `json:"iceLite"`
}
