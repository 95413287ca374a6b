package media

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorsIs(t *testing.T) {
	t.Parallel()
	pe := &ParamError{Field: "rtpParameters.codecs[0].payloadType", Reason: "must be 0..127"}
	tests := []struct {
		name     string
		err      error
		target   error
		want     bool
		wantName string
	}{
		{"closed is invalid state", ErrClosed, ErrInvalidState, true, NameInvalidStateError},
		{"invalid state is not closed", ErrInvalidState, ErrClosed, false, NameInvalidStateError},
		{"param error", pe, ErrInvalidParams, true, NameTypeError},
		{"wrapped param error", fmt.Errorf("produce: %w", pe), ErrInvalidParams, true, NameTypeError},
		{"param error not unsupported", pe, ErrUnsupported, false, NameTypeError},
		{"new error", NewError(ErrNotFound, "producer %q not found", "x"), ErrNotFound, true, NameNotFoundError},
		{"from wire", ErrorFromWire(CodeClosed, "transport closed"), ErrInvalidState, true, NameInvalidStateError},
		{"from wire unknown", ErrorFromWire("weird", "x"), ErrInvalidState, false, NameError},
		{"duplicate", fmt.Errorf("x: %w", ErrDuplicateID), ErrDuplicateID, true, NameDuplicateIDError},
		{"plain", errors.New("x"), ErrNotFound, false, NameError},
		{"send buffer full is invalid state", ErrorFromWire(CodeSctpSendBufferFull, "sctpsendbufferfull"), ErrInvalidState, true, NameError},
		{"send buffer full from wire", ErrorFromWire(CodeSctpSendBufferFull, "sctpsendbufferfull"), ErrSctpSendBufferFull, true, NameError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Errorf("errors.Is(%v, %v) = %v, want %v", tt.err, tt.target, got, tt.want)
			}
			if got := ErrorName(tt.err); got != tt.wantName {
				t.Errorf("ErrorName = %q, want %q", got, tt.wantName)
			}
		})
	}
	if got, want := pe.Error(), "rtpParameters.codecs[0].payloadType: must be 0..127"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestErrorCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		code string
	}{
		{fmt.Errorf("x: %w", ErrClosed), CodeClosed},
		{&ParamError{Field: "f", Reason: "r"}, CodeInvalidParams},
		{NewError(ErrUnsupported, "no"), CodeUnsupported},
		{errors.New("plain"), ""},
	}
	for _, tt := range tests {
		if got := ErrorCode(tt.err); got != tt.code {
			t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.code)
		}
	}
	back := ErrorFromWire(ErrorCode(ErrDuplicateID), "dup")
	if !errors.Is(back, ErrDuplicateID) || back.Name() != NameDuplicateIDError || back.Error() != "dup" {
		t.Errorf("wire round trip lost identity: %v %s", back, back.Name())
	}
	if errors.Is(ErrNotFound, errors.New("not found")) {
		t.Error("matched a foreign error")
	}
	if (&ParamError{Reason: "only reason"}).Error() != "only reason" {
		t.Error("ParamError without field")
	}
}
